"""`/`: where each kind of user starts, and the time and board names every page shows."""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, redirect, send_from_directory, url_for
from flask_login import current_user, login_required

from ..api import PUBLIC, documented
from ..core.presenters import board_label, readable_time
from ..editor.views import render_editor
from . import bp


@bp.get("/")
@login_required
@documented("pages", other={200: None, 302: None})
def index() -> str | Response:
    """Where each kind of user starts: a bot's editor; instructors and admins go to their classes."""
    if current_user.kind == "device":
        return render_editor(current_user._get_current_object())
    return redirect(url_for("classroom.classes_page"))


@bp.app_template_filter("readable_time")
def readable_time_filter(moment: str | datetime | None) -> str:
    """An ISO time (as the API shows it) or a datetime, to the minute, for pages; scripts make it relative."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return readable_time(moment)


@bp.app_template_filter("board_name")
def board_name_filter(fqbn: str, names: dict[str, str]) -> str:
    return board_label(names, fqbn)


@bp.get("/favicon.ico")
@documented("assets", other={200: None}, security=PUBLIC)
def favicon() -> Response:
    """The tab icon for clients that ask for it by its customary name instead of reading the page's <link>."""
    return send_from_directory(current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400)
