"""Login pages and the JSON auth API."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from ..core.accounts import (
    authenticate,
    change_password,
    issue_api_token,
    revoke_api_token,
)
from ..core.errors import ApiError, BadRequest
from ..core.rules import required_str
from ..extensions import csrf_exempt, db
from ..request_input import json_body
from . import bp
from .sessions import bearer_token

MAX_SECRET = 256


@bp.get("/login")
def login_page() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return render_template("auth/login.html", mode=request.args.get("mode", "device"), error=None)


@bp.post("/login")
def login_submit() -> str | Response:
    mode = "user" if request.form.get("mode") == "user" else "device"
    identifier = request.form.get("identifier", "").strip()[:MAX_SECRET]
    password = request.form.get("password", "")[:MAX_SECRET]
    try:
        if not identifier or not password:
            raise BadRequest("Enter both fields")
        principal = authenticate(mode, identifier, password, request.remote_addr)
    except ApiError as error:
        db.session.commit()  # the failed attempt counts
        return render_template("auth/login.html", mode=mode, error=error.message, identifier=identifier), error.status
    db.session.commit()
    login_user(principal)
    return redirect(url_for("home.index"))


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login_page"))


@bp.post("/api/auth/login")
@csrf_exempt  # JSON-only (a cross-site form cannot send it) and it sets no cookie
def api_login() -> tuple[dict, int]:
    body = json_body()
    if "product_id" in body:
        kind, identifier = "device", required_str(body, "product_id", 64)
    elif "username" in body:
        kind, identifier = "user", required_str(body, "username", 64)
    else:
        raise BadRequest("Missing field: product_id or username")
    password = required_str(body, "password", MAX_SECRET)
    try:
        principal = authenticate(kind, identifier, password, request.remote_addr)
    finally:
        db.session.commit()  # a failed attempt counts
    token = issue_api_token(principal)
    db.session.commit()
    return {"success": True, "token": token, "kind": principal.kind}, 200


@bp.post("/api/auth/logout")
@login_required
def api_logout() -> dict:
    token = bearer_token()
    if token:
        revoke_api_token(token)
        db.session.commit()
    else:
        logout_user()
    return {"success": True}


@bp.get("/api/auth/csrf")
def csrf_token() -> dict:
    """The token browser scripts send as X-CSRFToken (pages also carry it in a meta tag)."""
    return {"success": True, "csrf_token": generate_csrf()}


@bp.get("/api/auth/me")
@login_required
def whoami() -> dict:
    return {"success": True, "kind": current_user.kind, "name": current_user.display_name,
            "role": getattr(current_user, "role", "device")}


@bp.post("/api/auth/password")
@login_required
def api_change_password() -> dict:
    body = json_body()
    current = required_str(body, "current_password", MAX_SECRET)
    new = required_str(body, "new_password", MAX_SECRET)
    try:
        authenticate(current_user.kind, current_user.display_name, current, request.remote_addr)
    finally:
        db.session.commit()  # a failed attempt counts
    change_password(current_user, new)
    db.session.commit()
    if bearer_token() is None:
        login_user(current_user._get_current_object())  # keep this browser signed in; every other session ends
    return {"success": True}

