"""`/healthz`, `/readyz` and `/metrics`: public or token-guarded, and never about one person or bot."""

from __future__ import annotations

import hmac

from flask import Response, request
from prometheus_client import CONTENT_TYPE_LATEST

from ..api import METRICS, PUBLIC, documented
from ..config import Settings
from ..core.errors import Forbidden, Unauthorized
from ..core.hosts import is_loopback_host
from ..core.metrics import exposition
from ..core.readiness import OK, readiness
from ..extensions import current_settings
from ..schemas import HealthReply, NotReadyReply, ReadyReply
from . import bp


@bp.get("/healthz")
@documented("operations", HealthReply, security=PUBLIC)
def healthz() -> dict:
    """The process is up and answers. Checks nothing else, so a restart is never triggered by a dependency."""
    return {"success": True, "status": "ok"}


@bp.get("/readyz")
@documented("operations", ReadyReply, security=PUBLIC, other={503: NotReadyReply})
def readyz() -> tuple[dict, int]:
    """Ready to serve: the database and Redis answer and a toolchain is installed; 503 naming what is not."""
    checks = readiness(current_settings())
    failing = [f"{name}: {verdict}" for name, verdict in checks.items() if verdict != OK]
    if failing:
        return {"success": False, "error": "Not ready: " + "; ".join(failing), "checks": checks}, 503
    return {"success": True, "ready": True, "checks": checks}, 200


@bp.get("/metrics")
@documented("operations", other={200: None}, errors=(401, 403), security=METRICS)
def metrics() -> Response:
    """Prometheus metrics (text format). With WEBIDE_METRICS_TOKEN set, the scraper sends it as a bearer token;
    without one, only clients on this machine that did not come through a proxy may read them."""
    allow_scrape(current_settings())
    return Response(exposition(current_settings()), mimetype=None, content_type=CONTENT_TYPE_LATEST)


def allow_scrape(settings: Settings) -> None:
    if settings.metrics_token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise Unauthorized("Send the metrics token as Authorization: Bearer <WEBIDE_METRICS_TOKEN>")
        return
    if "X-Forwarded-For" in request.headers or not is_loopback_host(request.remote_addr or ""):
        raise Forbidden("Metrics are served only on this machine; set WEBIDE_METRICS_TOKEN to scrape from elsewhere")
