"""Login, logout and API tokens for people (admins, instructors) and bots (product ID + password)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
