"""The browser IDE: the editor page and the sketch API (files, revisions, import/export)."""

from flask import Blueprint

bp = Blueprint("editor", __name__)

from . import api, views  # noqa: E402,F401
