"""Bot lists cost a constant number of SQL queries, however many bots there are (no query per bot)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from tests.conftest import ESP32_FQBN, bearer
from tests.ota_support import deploy_image
from webide.extensions import db
from webide.models import Device


@contextmanager
def counted_queries(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_bots(app, accounts, first: int, count: int) -> None:  # type: ignore[no-untyped-def]
    for n in range(first, first + count):
        accounts.bot(f"bot_{n:03d}", "12345", class_name="lab", fqbn=ESP32_FQBN)
        if n % 2:
            deploy_image(app, f"bot_{n:03d}", size=4096, seed=n)  # half of them have a target and a flash state


@pytest.mark.parametrize(
    "path",
    ["/api/devices", "/api/classes/lab", "/classes/lab", "/classes", "/api/dashboard", "/api/classes/lab/dashboard"],
)
def test_a_fifty_bot_list_costs_what_a_five_bot_list_costs(app, client, accounts, path):
    accounts.instructor("teacher", "teacher pw", classes=("lab",))
    token = accounts.api_token(client, username="teacher", password="teacher pw")
    add_bots(app, accounts, 1, 5)
    with counted_queries(app) as small:
        assert client.get(path, headers=bearer(token)).status_code == 200
    add_bots(app, accounts, 6, 45)
    with counted_queries(app) as large:
        response = client.get(path, headers=bearer(token))
    assert response.status_code == 200
    with app.app_context():
        assert len(db.session.scalars(select(Device)).all()) == 50
    if path.startswith("/api/"):
        bots = response.get_json().get("devices") or response.get_json()["bots"]
        assert len(bots) == 50 and sum(1 for bot in bots if bot["flash"]) == 25
    elif path == "/classes/lab":
        assert response.get_data(as_text=True).count("<tr data-product-id=") == 50
    assert len(large) == len(small), f"{len(small)} queries for 5 bots but {len(large)} for 50"
