"""Administration: people (instructors and admins), every bot, and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import pages, views  # noqa: E402,F401
