"""Login pages and the JSON auth API."""

from __future__ import annotations

from flask import Response, after_this_request, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from ..api import PUBLIC, acting, documented
from ..core.accounts import (
    active_tokens,
    authenticate,
    change_password,
    issue_api_token,
    log_in,
    refresh_api_token,
    remember_device,
    revoke_api_token,
    revoke_own_token,
    token_views,
)
from ..core.audit import record
from ..core.errors import ApiError, BadRequest, Unauthorized
from ..extensions import csrf_exempt, current_settings, db
from ..schemas import CsrfReply, Login, LoginReply, PasswordChange, Reply, TokenList, WhoAmI
from . import bp
from .sessions import bearer_token

MAX_SECRET = 256
DEVICE_COOKIE = "webide_device"
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie
PAGE_ERRORS = {400: None, 401: None, 429: None}


@bp.get("/login")
@documented("pages", other={302: None}, security=PUBLIC)
def login_page() -> str | Response:
    """The login page (bots: product ID and password; people: username and password)."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    mode = request.args.get("mode", "device")
    identifier = request.args.get("product_id", "")[:MAX_SECRET] if mode == "device" else ""
    return render_template("auth/login.html", mode=mode, error=None, identifier=identifier)


@bp.post("/login")
@documented("pages", status=302, other=PAGE_ERRORS, security=PUBLIC)
def login_submit() -> str | Response | tuple[str, int]:
    """Log in from the form; sets the session cookie and goes to the start page."""
    mode = "user" if request.form.get("mode") == "user" else "device"
    identifier = request.form.get("identifier", "").strip()[:MAX_SECRET]
    password = request.form.get("password", "")[:MAX_SECRET]
    try:
        if not identifier or not password:
            raise BadRequest("Enter both fields")
        principal = log_in(mode, identifier, password, request.remote_addr, request.cookies.get(DEVICE_COOKIE))
    except ApiError as error:
        db.session.commit()  # the failed attempt counts
        return render_template("auth/login.html", mode=mode, error=error.message, identifier=identifier), error.status
    db.session.commit()
    login_user(principal)
    remember_this_browser(mode, identifier)
    return redirect(url_for("home.index"))


@bp.post("/logout")
@documented("pages", status=302)
def logout() -> Response:
    """End the browser session."""
    logout_user()
    return redirect(url_for("auth.login_page"))


@bp.post("/api/auth/login")
@csrf_exempt  # JSON-only (a cross-site form cannot send it); the only cookie it sets is the device cookie
@documented("auth", LoginReply, errors=(400, 401, 429), security=PUBLIC)
def api_login(json: Login) -> dict:
    """Get an API token: a bot logs in with product ID and password, a person with username and password.

    Failed logins are throttled per account and client address, and per account for clients without a device
    cookie (set on success, it gives a client that logged in before its own allowance); a 429 says when to try
    again (Retry-After).
    """
    if json.product_id is not None:
        kind, identifier = "device", json.product_id
    elif json.username is not None:
        kind, identifier = "user", json.username
    else:
        raise BadRequest("Missing field: product_id or username")
    try:
        principal = log_in(kind, identifier, json.password, request.remote_addr, request.cookies.get(DEVICE_COOKIE))
    finally:
        db.session.commit()  # a failed attempt counts
    token = issue_api_token(principal)
    db.session.commit()
    remember_this_browser(kind, identifier)
    return {"success": True, "token": token, "kind": principal.kind}


@bp.post("/api/auth/refresh")
@csrf_exempt  # bearer tokens only: a cross-site form cannot send one
@documented("auth", LoginReply, errors=(401,), security=[{"apiToken": []}])
def api_refresh() -> dict:
    """A new API token for the still-valid one this request carries; the old one is revoked at once."""
    token = bearer_token()
    if token is None:
        raise Unauthorized("Send the token to refresh as Authorization: Bearer <token>")
    principal, new_token = refresh_api_token(token)
    db.session.commit()
    return {"success": True, "token": new_token, "kind": principal.kind}


@bp.post("/api/auth/logout")
@login_required
@documented("auth", Reply, errors=(400, 401))
def api_logout() -> dict:
    """Revoke the API token this request carries (or end the browser session)."""
    token = bearer_token()
    if token:
        revoke_api_token(token)
        db.session.commit()
    else:
        logout_user()
    return {"success": True}


@bp.get("/api/auth/csrf")
@documented("auth", CsrfReply, security=PUBLIC)
def csrf_token() -> dict:
    """The token browser scripts send as X-CSRFToken (pages also carry it in a meta tag)."""
    return {"success": True, "csrf_token": generate_csrf()}


@bp.get("/api/auth/me")
@login_required
@documented("auth", WhoAmI, errors=(401,))
def whoami() -> dict:
    """Who is logged in."""
    return {
        "success": True,
        "kind": current_user.kind,
        "name": current_user.display_name,
        "role": getattr(current_user, "role", "device"),
    }


@bp.post("/api/auth/password")
@login_required
@documented("auth", Reply, errors=(400, 401, 429))
def api_change_password(json: PasswordChange) -> dict:
    """Change the caller's password; every other session and API token ends."""
    try:
        authenticate(
            current_user.kind,
            current_user.display_name,
            json.current_password,
            request.remote_addr,
            request.cookies.get(DEVICE_COOKIE),
        )
    finally:
        db.session.commit()  # a failed attempt counts
    change_password(current_user, json.new_password)
    record(acting(), "account.password_change", current_user._get_current_object())
    db.session.commit()
    if bearer_token() is None:
        login_user(current_user._get_current_object())  # keep this browser signed in; every other session ends
    return {"success": True}


@bp.get("/api/auth/tokens")
@login_required
@documented("auth", TokenList, errors=(401,))
def list_tokens() -> dict:
    """The caller's own API tokens that still work (creation and expiry; the tokens themselves are never shown)."""
    return {"success": True, "tokens": token_views(active_tokens(current_user), bearer_token())}


@bp.delete("/api/auth/tokens/<int:token_id>")
@login_required
@documented("auth", Reply, errors=(400, 401, 404))
def revoke_token(token_id: int) -> dict:
    """Revoke one of the caller's own API tokens (a script or device that uses it must log in again)."""
    token = revoke_own_token(current_user._get_current_object(), token_id)
    record(acting(), "account.token_revoke", current_user._get_current_object(), token_id=token.id)
    db.session.commit()
    return {"success": True}


@bp.get("/account")
@login_required
@documented("pages", other={200: None}, errors=(401,))
def account_page() -> str:
    """Every account's own page: change the password, see and revoke API tokens."""
    tokens = token_views(active_tokens(current_user), None)
    return render_template("auth/account.html", tokens=tokens)


def remember_this_browser(kind: str, identifier: str) -> None:
    """Give the response the device cookie that names this account (OWASP's defence against lockout abuse)."""
    cookie = remember_device(request.cookies.get(DEVICE_COOKIE), kind, identifier)

    @after_this_request
    def set_device_cookie(response: Response) -> Response:
        response.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=DEVICE_COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="Lax",
            secure=current_settings().secure_cookies,
            path="/",
        )
        return response
