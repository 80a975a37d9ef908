"""Helpers for tests against a live service: an API client and a Socket.IO listener, both over real sockets."""

from __future__ import annotations

import threading
import time
from typing import Any

import engineio
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

    def submit(
        self, product_id: str, files: list[dict[str, str]] | None = None, deploy: bool = False, **extra: Any
    ) -> str:
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


class InOrderEngineIOClient(engineio.Client):
    """Engine.IO client that hands incoming messages on in arrival order, on its reading thread.

    python-socketio's client starts a new thread per incoming message (``_trigger_event(..., run_async=True)``),
    which reorders them before any handler runs; a browser's socket.io-client handles them in order. This keeps
    the arrival order observable, so a test can check the order the server sends in.
    """

    def _trigger_event(self, event, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    def _engineio_client_class(self):  # type: ignore[no-untyped-def]
        return InOrderEngineIOClient


class RoomListener:
    """A Socket.IO client in a bot's room on /ota-update that follows the documented client contract
    (``webide/realtime/namespace.py``): it joins with the last sequence number it applied after every connect,
    applies events strictly by ``seq``, drops duplicates, holds early ones and fetches a gap that stays open.

    ``events`` are the applied events in order; ``applied_at`` the wall-clock time (s) each was applied, for latency
    figures; ``arrivals`` the sequence numbers of live events in the order they arrived, one list per connection.
    """

    GAP_WAIT_S = 0.5

    def __init__(self, base_url: str, token: str, product_id: str, since: int = 0):
        self.base_url, self.token, self.product_id = base_url, token, product_id
        self.cursor = since
        self.held: dict[int, tuple[dict[str, Any], float]] = {}
        self.events: list[dict[str, Any]] = []
        self.applied_at: list[float] = []
        self.arrivals: list[list[int]] = []
        self.errors: list[Any] = []
        self.duplicates = self.gap_fetches = self.unexpected_disconnects = 0
        self.dropping = False
        self.arrived = threading.RLock()  # guards the cursor, held and applied events
        self.joining = threading.Lock()
        self.closed = threading.Event()
        self.client: socketio.Client | None = None
        self.ack = self.connect()
        threading.Thread(target=self.watch_gaps, daemon=True).start()

    def connect(self) -> dict[str, Any]:
        """Connect (again) and join from the cursor; returns the first join's answer."""
        self.arrivals.append([])
        self.client = InOrderClient(reconnection=False)
        self.client.on("ota_event", self.receive, namespace="/ota-update")
        self.client.on("error", self.errors.append, namespace="/ota-update")
        self.client.on("disconnect", self.on_disconnect, namespace="/ota-update")
        self.client.connect(
            self.base_url,
            namespaces=["/ota-update"],
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=10,
        )
        return self.join()

    def join(self) -> dict[str, Any]:
        """``join {since: cursor}`` and apply the answer, page after page while it says ``more``."""
        with self.joining:
            first = None
            while True:
                assert self.client is not None
                ack = self.client.call(
                    "join", {"product_id": self.product_id, "since": self.cursor}, namespace="/ota-update", timeout=30
                )
                assert ack["success"], ack
                first = first or ack
                self.apply_join(ack)
                if not ack["more"]:
                    return first

    def apply_join(self, ack: dict[str, Any]) -> None:
        with self.arrived:
            if ack["reset"]:
                self.cursor, self.held = ack["after"], {}
            else:
                self.cursor = max(self.cursor, ack["after"])
            for event in ack["events"]:
                self.hold(event)
            self.apply_ready()

    def receive(self, event: dict[str, Any]) -> None:
        with self.arrived:
            self.arrivals[-1].append(event["seq"])
            self.hold(event)
            self.apply_ready()

    def hold(self, event: dict[str, Any]) -> None:
        if event.get("product_id") != self.product_id:
            return
        if event["seq"] <= self.cursor or event["seq"] in self.held:
            self.duplicates += 1
        else:
            self.held[event["seq"]] = (event, time.monotonic())

    def apply_ready(self) -> None:
        while self.cursor + 1 in self.held:
            event, _ = self.held.pop(self.cursor + 1)
            self.cursor += 1
            self.events.append(event)
            self.applied_at.append(time.time())

    def watch_gaps(self) -> None:
        """A held event waiting longer than GAP_WAIT_S means a gap: fetch the missing range."""
        while not self.closed.wait(0.1):
            with self.arrived:
                oldest = min((arrived for _, arrived in self.held.values()), default=None)
            if oldest is None or time.monotonic() - oldest < self.GAP_WAIT_S or self.joining.locked():
                continue
            try:
                self.gap_fetches += 1
                self.join()
            except Exception:  # disconnected meanwhile: the next connect joins from the cursor anyway
                continue

    def on_disconnect(self, *_reason: Any) -> None:
        """Connections the test did not drop itself come back at once, as a browser's would (counted)."""
        if self.closed.is_set() or self.dropping:
            return
        self.unexpected_disconnects += 1
        threading.Thread(target=self.connect, daemon=True).start()

    def drop(self) -> None:
        """Lose the connection (like a network drop); events published meanwhile must come back on reconnect."""
        assert self.client is not None
        self.dropping = True
        self.client.disconnect()

    def reconnect(self) -> None:
        self.dropping = False
        self.connect()

    def lines(self, update_id: str | None = None) -> list[str]:
        with self.arrived:
            return [
                e["text"]
                for e in self.events
                if e["type"] == "line" and (update_id is None or e.get("update_id") == update_id)
            ]

    def wait_for(self, predicate, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
        """Wait until ``predicate(events)`` holds; checked 20 times a second rather than after every event, so a
        predicate that scans tens of thousands of events never slows the reading thread down."""
        deadline = time.monotonic() + timeout
        while True:
            with self.arrived:
                if predicate(self.events):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"event not seen in {timeout} s; last events: {self.events[-5:]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.closed.set()
        if self.client is not None:
            self.client.disconnect()
