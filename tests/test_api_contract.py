"""The API keeps its generated contract under generated input: schemathesis sends requests built from the OpenAPI
document to a live server (gunicorn with eventlet, a Celery worker, Redis) and checks every answer: never a 5xx,
only documented status codes, and each body matching its documented schema.

Path parameters name a real bot and a real build, so requests reach the code behind the 404s; the bodies, queries
and the rest are generated (about 25 examples per operation).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveService, live_processes, scratch_app
from webide.core.registry import create_device, create_user, get_or_create_class
from webide.extensions import db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOT, PASSWORD = "bot_001", "12345"


class Target:
    """The live service and credentials for each kind of caller."""

    def __init__(self, service: LiveService, device_token: str):
        self.base_url = service.base_url
        self.device_token = device_token
        self.user_token: str | None = None
        self.update_id = self.post("/api/devices/bot_001/builds", {"deploy": False})["update_id"]

    def token(self) -> str:
        """The instructor's API token (a new one after a generated request logged it out)."""
        if self.user_token is None:
            response = requests.post(
                f"{self.base_url}/api/auth/login", json={"username": "teacher", "password": "teacher pw"}, timeout=30
            )
            response.raise_for_status()
            self.user_token = response.json()["token"]
        return self.user_token

    def post(self, path: str, body: dict) -> dict:
        response = requests.post(
            self.base_url + path, json=body, headers={"Authorization": f"Bearer {self.token()}"}, timeout=30
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Target]:
    folder, service_settings, app = scratch_app(tmp_path_factory, redis_url, 5, "contract")
    with app.app_context():
        teacher = create_user("teacher", "teacher pw", "instructor")
        get_or_create_class("lab", teacher)
        device_token = create_device(BOT, PASSWORD, "", service_settings.default_fqbn, "lab").device_token
        db.session.commit()
    # generated requests include wrong passwords by the hundred: no lockout may stop the run
    with live_processes(
        service_settings, folder, WEBIDE_LOGIN_FREE_ATTEMPTS="1000000", WEBIDE_LOGIN_IP_FREE_ATTEMPTS="1000000"
    ) as service:
        yield Target(service, device_token)


def test_every_answer_is_documented_and_no_input_breaks_the_server(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.base_url}/api/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the document lists every route"
    for operation in operations:
        try:
            exercise(operation, target)
        except (Exception, BaseExceptionGroup) as failure:  # hypothesis re-raises the failing examples, shrunk
            failures[operation.label] = f"{type(failure).__name__}: {failure}"[:2000]
    assert not failures, "\n\n".join(f"{label}\n{reason}" for label, reason in failures.items())


def exercise(operation, target: Target) -> None:  # type: ignore[no-untyped-def]
    """Send generated requests to one operation and check every answer."""

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def send(case) -> None:  # type: ignore[no-untyped-def]
        parameters = case.path_parameters or {}
        if "product_id" in parameters:
            parameters["product_id"] = BOT
        if "update_id" in parameters:
            parameters["update_id"] = target.update_id
        token = target.device_token if "device" in (operation.tags or []) else target.token()
        case.call_and_validate(base_url=target.base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        if case.path == "/api/auth/logout":
            target.user_token = None

    send()
