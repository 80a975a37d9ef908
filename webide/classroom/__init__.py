"""Classes of bots for instructors: overview of who runs what, and pushing one sketch to every bot."""

from flask import Blueprint

bp = Blueprint("classroom", __name__)

from . import assignments, dashboard, pages, views  # noqa: E402,F401
