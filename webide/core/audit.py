"""The audit log: every state-changing action, written in the same transaction as the change it records.

Views name the actor (who is logged in and from which address) once per request with :class:`Actor`; the domain
functions that change state call :func:`record`. Nothing here commits: an action that is rolled back leaves no entry,
and an entry cannot exist without its action.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from ..extensions import db
from ..models import AuditEntry, Classroom, Device, User, iso, utcnow
from .csvfiles import csv_text

log = logging.getLogger(__name__)

MAX_NAME = 64
MAX_PAGE = 500
CSV_COLUMNS = ("time", "actor_kind", "actor", "action", "target_kind", "target", "class", "client_address", "details")


@dataclass(frozen=True)
class Actor:
    """Who acts: an account, a bot, or nobody logged in (a failed login), and the client address they came from."""

    kind: str
    name: str
    address: str | None = None

    @classmethod
    def of(cls, principal: User | Device | None, address: str | None) -> Actor:
        if principal is None or not getattr(principal, "is_authenticated", False):
            return cls("anonymous", "", address)
        return cls(principal.kind, principal.display_name, address)


SYSTEM = Actor("system", "")


def record(
    actor: Actor,
    action: str,
    target: User | Device | Classroom | str | None = None,
    classroom_id: int | None = None,
    target_kind: str | None = None,
    **details: Any,
) -> AuditEntry:
    """Add one entry to the caller's transaction; a bot target scopes the entry to its class unless told otherwise."""
    kind, name = describe(target)
    kind = target_kind or kind
    if classroom_id is None:
        if isinstance(target, Device):
            classroom_id = target.classroom_id
        elif isinstance(target, Classroom):
            classroom_id = target.id
    entry = AuditEntry(
        created_at=utcnow(),
        actor_kind=actor.kind,
        actor_name=actor.name[:MAX_NAME],
        action=action,
        target_kind=kind,
        target_name=name[:MAX_NAME],
        classroom_id=classroom_id,
        client_address=(actor.address or None) and actor.address[:64],
        details=details,
    )
    db.session.add(entry)
    return entry


def describe(target: User | Device | Classroom | str | None) -> tuple[str, str]:
    if isinstance(target, User):
        return "user", target.username
    if isinstance(target, Device):
        return "device", target.product_id
    if isinstance(target, Classroom):
        return "class", target.name
    return ("", "") if target is None else ("", target)


@dataclass(frozen=True)
class ActivityFilter:
    """What to show: each given field narrows the list (names match exactly, case-insensitively for people)."""

    actor: str | None = None
    target: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # paging: entries older than this one
    limit: int = 100
    classroom_ids: Sequence[int] | None = field(default=None)  # None: every entry (admins)


def activity_scope(viewer: User) -> list[int] | None:
    """Which classes' entries the viewer may read: None for an admin (everything), else their own classes."""
    if viewer.is_admin:
        return None
    return list(db.session.scalars(select(Classroom.id).where(Classroom.instructor_id == viewer.id)))


def find_entries(wanted: ActivityFilter) -> list[AuditEntry]:
    """Newest first, at most ``wanted.limit`` (≤ 500) entries."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(max(wanted.limit, 1), MAX_PAGE))
    if wanted.classroom_ids is not None:
        query = query.where(AuditEntry.classroom_id.in_(list(wanted.classroom_ids)))
    if wanted.actor:
        query = query.where(AuditEntry.actor_name == wanted.actor)
    if wanted.target:
        query = query.where(AuditEntry.target_name == wanted.target)
    if wanted.action:
        # "class" matches every class.* action; "class.create" only that one
        query = query.where(or_(AuditEntry.action == wanted.action, AuditEntry.action.like(f"{wanted.action}.%")))
    if wanted.since:
        query = query.where(AuditEntry.created_at >= wanted.since)
    if wanted.until:
        query = query.where(AuditEntry.created_at < wanted.until)
    if wanted.before_id:
        query = query.where(AuditEntry.id < wanted.before_id)
    return list(db.session.scalars(query))


def class_names(entries: Sequence[AuditEntry]) -> dict[int, str]:
    ids = {entry.classroom_id for entry in entries if entry.classroom_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Classroom.id, Classroom.name).where(Classroom.id.in_(ids))).all())


def entry_views(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Entries as the API shows them (two queries whatever their number)."""
    names = class_names(entries)
    return [
        {
            "id": e.id,
            "time": iso(e.created_at),
            "actor_kind": e.actor_kind,
            "actor": e.actor_name,
            "action": e.action,
            "target_kind": e.target_kind,
            "target": e.target_name,
            "class_name": names.get(e.classroom_id) if e.classroom_id is not None else None,
            "client_address": e.client_address,
            "details": e.details or {},
        }
        for e in entries
    ]


def entries_csv(entries: Sequence[AuditEntry]) -> str:
    """The entries as CSV; cells a spreadsheet would run as formulas are quoted (see ``csvfiles.safe_cell``)."""
    rows = [
        (
            v["time"],
            v["actor_kind"],
            v["actor"],
            v["action"],
            v["target_kind"],
            v["target"],
            v["class_name"],
            v["client_address"],
            json.dumps(v["details"], sort_keys=True) if v["details"] else "",
        )
        for v in entry_views(entries)
    ]
    return csv_text(CSV_COLUMNS, rows)


def purge_expired(retention_days: int) -> int:
    """Delete entries older than the retention period (0 keeps everything); returns how many went."""
    if retention_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=retention_days)
    result = db.session.execute(delete(AuditEntry).where(AuditEntry.created_at < cutoff))
    removed = int(getattr(result, "rowcount", 0) or 0)  # a DELETE's CursorResult has it
    if removed:
        log.info("Removed %s audit entries older than %s days", removed, retention_days)
    return removed
