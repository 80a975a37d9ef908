"""The admin pages (people, every bot) and the audit log page (admins: every entry; instructors: their classes)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user, login_required
from pydantic import ValidationError

from ..api import documented
from ..core.audit import entry_views, find_entries
from ..core.errors import BadRequest
from ..core.people import all_users, user_views
from ..core.presenters import board_names, device_summaries
from ..core.roster import search_devices
from ..extensions import current_settings
from ..schemas import ActivityQuery
from . import bp
from .views import activity_filter

ACTIVITY_FIELDS = ("actor", "target", "action", "since", "until")


@bp.get("/admin")
@login_required
@documented("pages", other={200: None}, errors=(401, 403), access="admin")
def users_page() -> str:
    """Instructors and admins: create them, reset their passwords, block or unblock them."""
    return render_template("admin/users.html", users=user_views(all_users()), me=current_user.id)


@bp.get("/admin/devices")
@login_required
@documented("pages", other={200: None}, errors=(400, 401, 403), access="admin")
def devices_page() -> str:
    """Every bot, searchable by product ID, name or class."""
    query = request.args.get("q", "").strip()[:64]
    settings = current_settings()
    return render_template(
        "admin/devices.html",
        q=query,
        bots=device_summaries(search_devices(query or None), settings),
        board_names=board_names(settings),
    )


def activity_query() -> ActivityQuery:
    """The audit page's filter form: empty fields are no filter; a bad date or number is a 400 naming the field."""
    given: dict[str, Any] = {name: value for name, value in request.args.items() if value.strip()}
    try:
        return ActivityQuery.model_validate(given)
    except ValidationError as error:
        fields = ", ".join(str(problem["loc"][0]) for problem in error.errors() if problem["loc"])
        raise BadRequest(f"Check the filter field(s): {fields}") from None


@bp.get("/admin/activity")
@login_required
@documented("pages", other={200: None}, errors=(400, 401, 403), access="staff")
def activity_page() -> str:
    """The audit log with filters (actor, target, action, time) and a CSV export of the same entries."""
    query = activity_query()
    entries = find_entries(activity_filter(query))
    filters = {name: request.args.get(name, "").strip() for name in ACTIVITY_FIELDS}
    given = {name: value for name, value in filters.items() if value}
    return render_template(
        "admin/activity.html",
        entries=entry_views(entries),
        filters=filters,
        given=given,
        older=entries[-1].id if len(entries) == query.limit else None,
    )
