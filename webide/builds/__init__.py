"""Builds: Verify and Upload requests, their progress, results and cancellation."""

from flask import Blueprint

bp = Blueprint("builds", __name__)

from . import views  # noqa: E402,F401
