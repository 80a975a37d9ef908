"""Errors in one place: views raise, this module turns exceptions into JSON or HTML responses."""

from __future__ import annotations

import logging

import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .core.errors import ApiError

log = logging.getLogger(__name__)


MACHINE_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})  # read by scrapers and orchestrators


def wants_json() -> bool:
    """API paths, device paths and clients that prefer JSON get JSON; browsers get a page."""
    if (
        request.path.startswith(("/api/", "/ota-update", "/ota-configure"))
        or request.path.endswith(".bin")
        or request.path in MACHINE_PATHS
    ):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: object) -> Response:
    if wants_json():
        response = jsonify({"success": False, "error": message, **extra})
    else:
        response = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def storage_problem(detail: str) -> str:
    """What to tell a user when the database cannot write, from the driver's message."""
    if "full" in detail:
        return "The server's disk is full, so nothing could be saved; ask the administrator to free some space"
    if "readonly" in detail or "read-only" in detail:
        return "The server's database is read-only right now, so nothing could be saved; ask the administrator"
    return "The server's database is unavailable right now; nothing was saved, try again shortly"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        headers = {}
        if "retry_after" in error.extra:
            headers["Retry-After"] = str(error.extra["retry_after"])
        if error.status == 401 and "www_authenticate" in error.extra:
            headers["WWW-Authenticate"] = str(error.extra.pop("www_authenticate"))
        return error_response(error.status, error.message, headers, **error.extra)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> Response:
        return error_response(400, f"CSRF check failed: {error.description}")

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        message = error.description or error.name
        if error.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"Request too large (limit {limit} bytes)"
        return error_response(error.code or 500, message)

    @app.errorhandler(redis.exceptions.ConnectionError)
    def handle_redis_down(error: Exception) -> Response:
        log.warning("Redis unavailable: %s", error)
        return error_response(503, "The build queue is unavailable right now; try again shortly")

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    def handle_storage_unavailable(error: Exception) -> Response:
        # A full disk, a read-only or locked database: say so plainly; nothing was half-written (rolled back).
        log.error("Storage unavailable on %s %s: %s", request.method, request.path, error)
        return error_response(503, storage_problem(str(error)))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
        return error_response(500, "Internal server error")
