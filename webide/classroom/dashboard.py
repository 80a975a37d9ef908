"""The live class dashboard: its page, its data, the class error map and the bots' sensor series."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..api import documented
from ..core.classes import visible_classroom
from ..core.dashboard import dashboard_rows, sensor_series
from ..core.deployments import STATE_LINES
from ..core.errormap import error_map
from ..core.linkstatus import device_link_state
from ..core.roster import class_devices
from ..extensions import current_settings
from ..models import Classroom
from ..schemas import ClassDashboard, ErrorMapReply, SeriesQuery, SeriesReply
from . import bp

ERRORS = (400, 401, 404)


def class_dashboard(classroom: Classroom) -> dict[str, Any]:
    settings = current_settings()
    bots = dashboard_rows(class_devices(classroom), settings)
    return {
        "success": True,
        "name": classroom.name,
        "archived": classroom.archived,
        "offline_after_s": settings.device_offline_s,
        "total": len(bots),
        "online": sum(1 for bot in bots if bot["online"]),
        "bots": bots,
        "errors": error_map(bots),
    }


@bp.get("/api/classes/<class_name>/dashboard")
@login_required
@documented("classes", ClassDashboard, errors=ERRORS)
def dashboard_data(class_name: str) -> dict:
    """Every bot of the class: presence, running build vs target and sketch ("N edits behind"), last compile,
    flash state, heartbeat telemetry; and the class error map. Live changes follow on the class's Socket.IO room."""
    return class_dashboard(visible_classroom(current_user, class_name))


@bp.get("/api/classes/<class_name>/errors")
@login_required
@documented("classes", ErrorMapReply, errors=ERRORS)
def class_errors(class_name: str) -> dict:
    """The class error map: each distinct compile error (normalised) of the bots' latest compiles, how many bots
    have it and which; how many compile clean."""
    classroom = visible_classroom(current_user, class_name)
    rows = dashboard_rows(class_devices(classroom), current_settings())
    return {"success": True, "name": classroom.name, **error_map(rows)}


@bp.get("/api/classes/<class_name>/series")
@login_required
@documented("classes", SeriesReply, errors=ERRORS)
def class_series(class_name: str, query: SeriesQuery) -> dict:
    """Each bot's sensor series: every numeric heartbeat field, newest samples last (bounded by
    WEBIDE_SENSOR_RETENTION_S, WEBIDE_SENSOR_MAX_SAMPLES and WEBIDE_SENSOR_MAX_BYTES)."""
    classroom = visible_classroom(current_user, class_name)
    settings = current_settings()
    series = sensor_series(class_devices(classroom), query.newest, settings)
    return {"success": True, "name": classroom.name, "retention_s": settings.sensor_retention_s, **series}


@bp.get("/classes/<class_name>/dashboard")
@login_required
@documented("pages", other={200: None}, errors=(401, 404))
def dashboard_page(class_name: str) -> str:
    """The live class dashboard page."""
    classroom = visible_classroom(current_user, class_name)
    page_config = {
        "className": classroom.name,
        "dataUrl": url_for("classroom.dashboard_data", class_name=classroom.name),
        "seriesUrl": url_for("classroom.class_series", class_name=classroom.name),
        "editorUrl": url_for("editor.page", product_id="__product_id__"),
        "socketPath": "/socket.io",
        "rules": {"flashStates": STATE_LINES},
        "csrfToken": generate_csrf(),
        "deviceLink": device_link_state(),
    }
    return render_template("classroom/dashboard.html", classroom=classroom, page_config=page_config)
