"""Submitting while Redis is down: a clear 503, nothing left pending, the sketch kept."""

from __future__ import annotations

import pytest

from webide import create_app
from webide.database import migrate_database
from webide.runner import free_port

from .conftest import AVR_FQBN, bearer


@pytest.fixture
def app_without_redis(settings):  # type: ignore[no-untyped-def]
    application = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    migrate_database(application)
    return application


def test_submit_answers_503_and_records_nothing_running(app_without_redis):
    from .conftest import Accounts

    accounts = Accounts(app_without_redis)
    accounts.bot("bot_1", "12345", fqbn=AVR_FQBN)
    client = app_without_redis.test_client()
    token = accounts.api_token(client, product_id="bot_1", password="12345")
    files = [{"name": "bot_1.ino", "content": "void setup(){}\nvoid loop(){}\n"}]
    response = client.post("/api/devices/bot_1/builds", json={"files": files}, headers=bearer(token))
    assert response.status_code == 503
    assert response.get_json() == {
        "success": False,
        "error": "The build queue is unavailable right now; try again shortly",
    }
    assert client.get("/api/devices/bot_1/builds", headers=bearer(token)).get_json()["builds"] == []
    sketch = client.get("/api/devices/bot_1/sketch", headers=bearer(token)).get_json()
    assert sketch["files"] == files and sketch["revision"] == 2  # saved before queueing: nothing typed is lost
