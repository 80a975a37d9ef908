"""The bots: listing and showing them, within what the caller may see."""

from flask import Blueprint

bp = Blueprint("devices", __name__)

from . import views  # noqa: E402,F401
