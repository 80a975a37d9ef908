"""Builds: queued by the web side (``queue``), run by the workers (``worker``), moved only forward (``status``)."""
