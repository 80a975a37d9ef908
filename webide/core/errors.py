"""The domain's errors: each carries the HTTP status it maps to and a message meant for the user.

Views and tasks let them propagate; ``webide.errors`` turns them into JSON or HTML responses in one place.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with a status code and a message meant for the user."""

    status = 400

    def __init__(self, message: str, status: int | None = None, **extra: object):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class RangeNotSatisfiable(ApiError):
    status = 416


class TooManyRequests(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503
