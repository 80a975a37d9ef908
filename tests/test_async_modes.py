"""The web server's async mode is one setting: eventlet, gevent and threading all serve pages, logins and live events."""

from __future__ import annotations

import sys

import pytest

from webide.core.events import EventLog
from webide.realtime import NAMESPACE
from webide.runner import free_port

from .conftest import running, service_env, wait_for_http
from .live import ApiClient, RoomListener

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_web_server_runs_in_every_async_mode(app, accounts, settings, tmp_path, mode):
    accounts.bot("bot_1", "12345")
    port = free_port()
    env = dict(service_env(settings), WEBIDE_ASYNC_MODE=mode)
    argv = [sys.executable, "-m", "webide.cli", "web", "--port", str(port)]
    with running(argv, env, tmp_path / "web.log") as web:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/login", web, tmp_path / "web.log")
        api = ApiClient(base, product_id="bot_1", password="12345")
        assert api.get("/api/devices").json()["devices"][0]["product_id"] == "bot_1"
        listener = RoomListener(base, api.token, "bot_1")
        try:
            EventLog(settings.redis_url, NAMESPACE).publish(
                "bot_1", "line", update_id="x", stream="compile", text=f"hello from {mode}"
            )
            listener.wait_for(lambda events: any(e.get("text") == f"hello from {mode}" for e in events))
        finally:
            listener.close()
