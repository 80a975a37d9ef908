"""Errors in one place: views raise, this module turns exceptions into JSON or HTML responses."""

from __future__ import annotations

import logging

import redis.exceptions
from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .core.errors import ApiError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    """API paths, device paths and clients that prefer JSON get JSON; browsers get a page."""
    if request.path.startswith(("/api/", "/ota-update-progress/")) or request.path.endswith(".bin"):
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

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
        return error_response(500, "Internal server error")
