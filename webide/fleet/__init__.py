"""Fleet updates: firmware releases (and the rollouts built on them)."""

from flask import Blueprint

bp = Blueprint("fleet", __name__)

from . import pages, rollouts, seed, views  # noqa: E402,F401
