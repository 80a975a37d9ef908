"""The start page: a bot lands on its editor, an instructor on their classes."""

from flask import Blueprint

bp = Blueprint("home", __name__)

from . import views  # noqa: E402,F401
