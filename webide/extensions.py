"""Flask extensions, created unbound at import time and bound to an app in :func:`webide.create_app`."""

from flask import current_app
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
socketio = SocketIO()


def csrf_exempt(view):  # type: ignore[no-untyped-def]
    """Mark a view that authenticates in a way a cross-site page cannot forge (e.g. a JSON-only login)."""
    view.csrf_exempt = True
    return view


def current_settings():  # type: ignore[no-untyped-def]
    """The running app's :class:`webide.config.Settings` (request, task and Socket.IO handler code)."""
    return current_app.config["SETTINGS"]
