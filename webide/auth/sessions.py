"""Who is calling, for Flask-Login: a session cookie or a bearer token, never both."""

from __future__ import annotations

from flask import request

from ..core.accounts import Principal, principal_for_api_token
from ..extensions import db
from ..models import Device, User


def load_session_principal(session_id: str) -> Principal | None:
    """Flask-Login's user loader: 'kind:id:version', where a stale version means the password has changed."""
    if bearer_token() is not None:
        return None  # a request that brings a token is judged by the token alone, never by a cookie
    try:
        kind, raw_id, version = session_id.split(":")
        model = {"device": Device, "user": User}[kind]
        principal = db.session.get(model, int(raw_id))
    except (ValueError, KeyError):
        return None
    if principal is None or str(principal.session_version) != version:
        return None
    return principal


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def load_request_principal(_request: object) -> Principal | None:
    token = bearer_token()
    return principal_for_api_token(token) if token else None
