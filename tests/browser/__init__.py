"""Browser tests: the editor page driven in a real headless Chromium against a live service."""
