"""`/api/admin`: people, every bot, and the audit log (instructors see the entries of their own classes)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response
from flask_login import current_user, login_required

from ..api import acting, documented
from ..core.accounts import person_password, require_admin, require_staff, reset_password, set_blocked
from ..core.audit import ActivityFilter, activity_scope, entries_csv, entry_views, find_entries, record
from ..core.people import all_users, check_not_self, user_by_id, user_views
from ..core.presenters import device_summaries
from ..core.registry import create_user
from ..core.roster import search_devices
from ..extensions import current_settings, db
from ..schemas import (
    ActivityList,
    ActivityQuery,
    BlockReply,
    BlockRequest,
    DeviceList,
    DeviceSearch,
    PasswordReply,
    PasswordReset,
    UserCreate,
    UserCreated,
    UserList,
)
from . import bp

ADMIN_ERRORS = (400, 401, 403, 404)


@bp.get("/api/admin/users")
@login_required
@documented("admin", UserList, errors=(401, 403), access="admin")
def list_users() -> dict:
    """Every instructor and admin, with the classes each owns."""
    return {"success": True, "users": user_views(all_users())}


@bp.post("/api/admin/users")
@login_required
@documented("admin", UserCreated, status=201, errors=(*ADMIN_ERRORS, 409), access="admin")
def new_user(json: UserCreate) -> tuple[dict, int]:
    """Create an instructor or admin; without a password one is generated and returned once."""
    password = json.password or person_password()
    user = create_user(json.username, password, json.role)
    record(acting(), "user.create", user, role=json.role)
    db.session.commit()
    return {"success": True, **user_views([user])[0], "password": None if json.password else password}, 201


@bp.post("/api/admin/user/<int:user_id>/password")
@login_required
@documented("admin", PasswordReply, errors=ADMIN_ERRORS, access="admin")
def reset_user_password(user_id: int, json: PasswordReset) -> dict:
    """Give a person a new password (generated unless given), shown once; their sessions and tokens end."""
    user = user_by_id(user_id)
    password = reset_password(user, json.password)
    record(acting(), "user.password_reset", user)
    db.session.commit()
    return {"success": True, "password": password}


@bp.post("/api/admin/user/<int:user_id>/block")
@login_required
@documented("admin", BlockReply, errors=ADMIN_ERRORS, access="admin")
def block_user(user_id: int, json: BlockRequest) -> dict:
    """Block (no login; every session and token ends at once) or unblock a person."""
    admin = require_admin(current_user)
    user = user_by_id(user_id)
    check_not_self(admin, user, "block")
    if set_blocked(user, json.blocked):
        record(acting(), "user.block" if json.blocked else "user.unblock", user)
    db.session.commit()
    return {"success": True, "blocked": user.blocked}


@bp.get("/api/admin/devices")
@login_required
@documented("admin", DeviceList, errors=(400, 401, 403), access="admin")
def list_all_devices(query: DeviceSearch) -> dict:
    """Every bot (at most 1000), or those whose product ID, name or class contains ``q``."""
    return {"success": True, "devices": device_summaries(search_devices(query.q), current_settings())}


def activity_filter(query: ActivityQuery) -> ActivityFilter:
    viewer = require_staff(current_user)
    return ActivityFilter(
        actor=query.actor,
        target=query.target,
        action=query.action,
        since=utc(query.since),
        until=utc(query.until),
        before_id=query.before,
        limit=query.limit,
        classroom_ids=activity_scope(viewer),
    )


def utc(moment: datetime | None) -> datetime | None:
    """Times without a zone are UTC; stored times are compared in UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@bp.get("/api/admin/activity")
@login_required
@documented("admin", ActivityList, errors=(400, 401, 403), access="staff")
def activity(query: ActivityQuery) -> dict:
    """The audit log, newest first: admins see every entry, instructors those of their own classes."""
    entries = find_entries(activity_filter(query))
    return {
        "success": True,
        "entries": entry_views(entries),
        "next_before": entries[-1].id if len(entries) == query.limit else None,
    }


@bp.get("/api/admin/activity.csv")
@login_required
@documented("admin", other={200: None}, errors=(400, 401, 403), access="staff")
def activity_csv(query: ActivityQuery) -> Response:
    """The same entries as CSV (cells that a spreadsheet would run as formulas start with a quote)."""
    response = Response(entries_csv(find_entries(activity_filter(query))), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=activity.csv"
    response.headers["Cache-Control"] = "no-store"
    return response
