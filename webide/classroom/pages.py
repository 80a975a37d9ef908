"""The classroom console's pages: the classes, one class's roster, and its printable credential cards.

The pages are rendered here from the same domain functions as the JSON API; the console script (frontend/,
bundled into static/dist/console.js) sends every change through that API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template
from flask_login import current_user, login_required

from ..api import documented
from ..core.accounts import require_staff
from ..core.cards import credential_cards
from ..core.classes import class_summaries, visible_classroom, visible_classrooms
from ..core.hosts import is_loopback_host
from ..core.people import all_users
from ..core.presenters import board_names, device_summaries
from ..core.roster import class_devices
from ..core.toolchain import available_boards, default_board
from ..extensions import current_settings, public_base_url
from ..models import Role
from . import bp

PAGE_ERRORS = (401, 403, 404)


@bp.get("/classes")
@login_required
@documented("pages", other={200: None}, errors=(401, 403), access="staff")
def classes_page() -> str:
    """Instructors' and admins' start page: their classes (empty ones too), created, renamed, archived, deleted."""
    user = require_staff(current_user)
    instructors = (
        [person.username for person in all_users() if person.role in (Role.INSTRUCTOR.value, Role.ADMIN.value)]
        if user.is_admin
        else []
    )
    return render_template(
        "classroom/classes.html", classes=class_summaries(visible_classrooms(user)), instructors=instructors
    )


@bp.get("/classes/<class_name>")
@login_required
@documented("pages", other={200: None}, errors=PAGE_ERRORS, access="staff")
def roster_page(class_name: str) -> str:
    """One class's bots: add, import, export, reset, block, move, delete; links to the cards."""
    user = require_staff(current_user)
    classroom = visible_classroom(user, class_name)
    settings = current_settings()
    others = [c.name for c in visible_classrooms(user) if c.id != classroom.id and not c.archived]
    return render_template(
        "classroom/roster.html",
        classroom=class_summaries([classroom])[0],
        bots=device_summaries(class_devices(classroom), settings),
        board_names=board_names(settings),
        boards=available_boards(settings),
        default_fqbn=default_board(settings),
        other_classes=others,
        max_rows=settings.max_roster_rows,
    )


@bp.get("/classes/<class_name>/cards")
@login_required
@documented("pages", other={200: None}, errors=PAGE_ERRORS, access="staff")
def cards_page(class_name: str) -> str:
    """Printable credential cards: product ID, login address and its QR code; a password only right after it was set
    in this browser (passwords are stored hashed, so the page can never show one again)."""
    classroom = visible_classroom(require_staff(current_user), class_name)
    base_url = public_base_url(current_settings())
    cards = credential_cards(class_devices(classroom), base_url)
    loopback = is_loopback_host(urlsplit(base_url).hostname or "")
    return render_template("classroom/cards.html", classroom=classroom, cards=cards, loopback=loopback)
