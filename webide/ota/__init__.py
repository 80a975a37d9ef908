"""The device-facing OTA path: static firmware URL, update manifest, status reports and heartbeats."""

from flask import Blueprint

bp = Blueprint("ota", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
