"""Benchmarks: `python -m bench [compile|ota]` (or `make bench`). They measure and print; they assert nothing."""
