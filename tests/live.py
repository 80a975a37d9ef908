"""Helpers for tests against a live service: an API client and a Socket.IO listener, both over real sockets."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
import socketio


class ApiClient:
    """Logs in over HTTP and calls the JSON API with the bearer token, like a script would."""

    def __init__(self, base_url: str, **credentials: str):
        self.base_url = base_url
        self.http = requests.Session()
        response = self.http.post(f"{base_url}/api/auth/login", json=credentials, timeout=10)
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.post(self.base_url + path, timeout=30, **kwargs)

    def submit(self, product_id: str, files: list[dict[str, str]] | None = None, deploy: bool = False,
               **extra: Any) -> str:
        body: dict[str, Any] = {"deploy": deploy, **extra}
        if files is not None:
            body["files"] = files
        response = self.post(f"/api/devices/{product_id}/builds", json=body)
        assert response.status_code == 202, response.text
        return response.json()["update_id"]

    def wait(self, update_id: str, timeout: float = 240, until: tuple[str, ...] = ("complete", "error")) -> dict:
        """Poll the progress endpoint the way the documented OTA client does, then return the build's details."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            progress = self.get(f"/ota-update-progress/{update_id}").json()
            if progress["status"] in until:
                return self.get(f"/api/builds/{update_id}").json()
            time.sleep(0.2)
        raise AssertionError(f"build {update_id} still {progress} after {timeout} s")


class RoomListener:
    """A Socket.IO client in a bot's room on /ota-update, recording every event it receives."""

    def __init__(self, base_url: str, token: str, product_id: str, since: int = 0):
        self.events: list[dict[str, Any]] = []
        self.errors: list[Any] = []
        self.arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("ota_event", self.record, namespace="/ota-update")
        self.client.on("error", self.errors.append, namespace="/ota-update")
        self.client.connect(base_url, namespaces=["/ota-update"], auth={"token": token}, transports=["websocket"],
                            wait_timeout=10)
        ack = self.client.call("join", {"product_id": product_id, "since": since}, namespace="/ota-update",
                               timeout=10)
        assert ack["success"], ack
        self.ack = ack

    def record(self, event: dict[str, Any]) -> None:
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def lines(self, update_id: str | None = None) -> list[str]:
        return [e["text"] for e in self.events
                if e["type"] == "line" and (update_id is None or e.get("update_id") == update_id)]

    def wait_for(self, predicate, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
        with self.arrived:
            if self.arrived.wait_for(lambda: predicate(self.events), timeout):
                return
        raise AssertionError(f"event not seen in {timeout} s; last events: {self.events[-5:]}")

    def close(self) -> None:
        self.client.disconnect()
