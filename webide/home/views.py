"""`/`: where each kind of user starts."""

from __future__ import annotations

from itertools import groupby

from flask import Response, current_app, render_template, send_from_directory
from flask_login import current_user, login_required

from ..api import PUBLIC, documented
from ..core.presenters import device_summaries, with_summary_rows
from ..editor.views import render_editor
from ..extensions import current_settings, db
from . import bp


@bp.get("/")
@login_required
@documented("pages", other={200: None, 302: None})
def index() -> str:
    """Where each kind of user starts: a bot's editor, or the instructor's bots by class."""
    if current_user.kind == "device":
        return render_editor(current_user._get_current_object())
    devices = db.session.scalars(with_summary_rows(current_user.visible_devices())).all()
    bots = device_summaries(devices, current_settings())
    bots.sort(key=lambda bot: (bot["class_name"] or "", bot["product_id"]))
    groups = [
        {"name": name, "devices": list(members)} for name, members in groupby(bots, key=lambda bot: bot["class_name"])
    ]
    return render_template("home/dashboard.html", groups=groups)


@bp.get("/favicon.ico")
@documented("assets", other={200: None}, security=PUBLIC)
def favicon() -> Response:
    """The tab icon for clients that ask for it by its customary name instead of reading the page's <link>."""
    return send_from_directory(current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400)
