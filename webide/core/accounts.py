"""Accounts: logging in with throttling, password rules, API tokens, and who may act on which bot."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..extensions import current_secret_key, current_settings, db
from ..models import ApiToken, Device, User, as_utc, iso, utcnow
from .audit import Actor, record
from .errors import ApiError, BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from .metrics import LOGIN_FAILURES
from .rules import MAX_PASSWORD, MIN_PASSWORD
from .security import (
    DeviceCookies,
    LoginAttempt,
    LoginLimits,
    LoginThrottler,
    ThrottlePolicy,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

Principal = User | Device
LOGIN_KINDS = ("device", "user")


def throttler() -> LoginThrottler:
    settings = current_settings()
    return LoginThrottler(
        LoginLimits(
            per_client=ThrottlePolicy(settings.login_free_attempts, settings.login_max_lockout_s),
            unknown_clients=ThrottlePolicy(settings.login_unknown_free_attempts, settings.login_max_lockout_s),
            accounts_per_address=ThrottlePolicy(settings.login_ip_free_attempts, settings.login_max_lockout_s),
        )
    )


def device_cookies() -> DeviceCookies:
    return DeviceCookies(current_secret_key())


def account_name(kind: str, identifier: str) -> str:
    """The account a login names, as throttling and device cookies know it (names are case-insensitive)."""
    return f"{kind}:{identifier.lower()}"


def find_principal(kind: str, identifier: str) -> Principal | None:
    if kind == "device":
        return db.session.scalar(select(Device).where(Device.product_id == identifier))
    return db.session.scalar(select(User).where(User.username == identifier))


def authenticate(
    kind: str, identifier: str, password: str, client_address: str | None, device_cookie: str | None = None
) -> Principal:
    """Check a login, throttled so that guessing is slowed but the owner is never locked out; raise on failure.

    ``device_cookie`` is the browser's device cookie (see :class:`DeviceCookies`): an entry for this account gives
    the browser its own allowance. Unknown names and wrong passwords get the same answer and cost the same time.
    A failure is recorded in the caller's transaction, which must be committed even though this raises.
    """
    account = account_name(kind, identifier)
    attempt = LoginAttempt(account, client_address or "unknown", device_cookies().nonce_for(device_cookie, account))
    gate = throttler()
    wait = gate.retry_after(attempt)
    if wait:
        raise TooManyRequests(f"Too many failed logins; try again in {wait} s", retry_after=wait)
    principal = find_principal(kind, identifier)
    stored_hash = principal.password_hash if principal else None
    # Nothing is written before this point: end the read so the database connection goes back to the pool while
    # Argon2 runs in a worker process (twenty logins at once must not hold the connections bots need).
    db.session.rollback()
    valid = verify_password(stored_hash, password)
    if principal is None or not valid:
        gate.record_failure(attempt)
        raise Unauthorized("Wrong product ID or password" if kind == "device" else "Wrong username or password")
    if not principal.is_active:
        raise Unauthorized(
            "This bot is blocked; ask your instructor"
            if kind == "device"
            else "This account is blocked; ask an administrator"
        )
    gate.record_success(attempt)
    return principal


def log_in(
    kind: str,
    identifier: str,
    password: str,
    address: str | None,
    device_cookie: str | None = None,
) -> Principal:
    """:func:`authenticate`, with the outcome in the audit log (the caller commits either way).

    Attempts refused by the throttle (429) are not logged one by one: the password was not even checked, and a
    flood of them must not become a flood of rows.
    """
    account_kind = "device" if kind == "device" else "user"
    try:
        principal = authenticate(kind, identifier, password, address, device_cookie)
    except TooManyRequests:
        LOGIN_FAILURES.labels(account_kind, "throttled").inc()
        raise
    except ApiError as error:
        LOGIN_FAILURES.labels(account_kind, "rejected").inc()
        known = find_principal(kind, identifier)
        record(
            Actor("anonymous", "", address),
            "login.failed",
            known if known is not None else identifier,
            target_kind=kind if known is None else None,
            reason=error.message,
        )
        raise
    record(Actor.of(principal, address), "login.ok", principal)
    return principal


def remember_device(device_cookie: str | None, kind: str, identifier: str) -> str:
    """The device cookie to set after a successful login: this browser now has its own allowance for the account."""
    return device_cookies().remember(device_cookie, account_name(kind, identifier))


def issue_api_token(principal: Principal) -> str:
    token = new_token()
    ttl = timedelta(seconds=current_settings().api_token_ttl_s)
    row = ApiToken(token_hash=token_digest(token), expires_at=utcnow() + ttl)
    if isinstance(principal, Device):
        row.device_id = principal.id
    else:
        row.user_id = principal.id
    db.session.add(row)
    return token


def principal_for_api_token(token: str) -> Principal | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    expires = as_utc(row.expires_at) if row is not None else None
    if row is None or row.revoked_at is not None or expires is None or expires <= utcnow():
        return None
    principal = row.device or row.user
    return principal if principal is not None and principal.is_active else None


def revoke_api_token(token: str) -> None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def check_new_password(password: str) -> str:
    """A password must have MIN_PASSWORD to MAX_PASSWORD characters (a classroom PIN of digits is allowed)."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"password is longer than {MAX_PASSWORD} characters")
    return password


def change_password(principal: Principal, new_password: str) -> None:
    """Set a new password and end every session and API token the principal had."""
    principal.password_hash = hash_password(check_new_password(new_password))
    end_sessions(principal)


def end_sessions(principal: Principal) -> None:
    """Sign the principal out everywhere: browser sessions (by their version) and every API token."""
    principal.session_version += 1
    owner = owner_column(principal)
    for token in db.session.scalars(select(ApiToken).where(owner == principal.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def generated_password(principal: Principal) -> str:
    """A fresh password to hand over once: a 6-digit PIN for a bot (typed by children), 12 characters for a person."""
    return f"{secrets.randbelow(10**6):06d}" if isinstance(principal, Device) else person_password()


def person_password() -> str:
    return secrets.token_urlsafe(9)


def reset_password(principal: Principal, password: str | None = None) -> str:
    """Set the given or a generated password, ending every session and token; returns it (shown once)."""
    password = password or generated_password(principal)
    change_password(principal, password)
    return password


def set_blocked(principal: Principal, blocked: bool) -> bool:
    """Block or unblock; a block also ends every session and API token at once. Returns whether anything changed."""
    if principal.blocked == blocked:
        return False
    principal.blocked = blocked
    if blocked:
        end_sessions(principal)
    return True


def refresh_api_token(token: str) -> tuple[Principal, str]:
    """A new API token for a still-valid one, which is revoked (a stolen token cannot be refreshed once used)."""
    principal = principal_for_api_token(token)
    if principal is None:
        raise Unauthorized("The token is expired, revoked or unknown; log in again")
    revoke_api_token(token)
    return principal, issue_api_token(principal)


def require_staff(principal: Principal) -> User:
    """The caller as an instructor or admin; bots may not use the classroom console."""
    if not isinstance(principal, User):
        raise Forbidden("Only instructors and admins may do this")
    return principal


def require_admin(principal: Principal) -> User:
    user = require_staff(principal)
    if not user.is_admin:
        raise Forbidden("Only admins may do this")
    return user


def accessible_device(principal: Principal, product_id: str) -> Device:
    """The bot with this product ID if the caller may act on it; otherwise 404, so existence does not leak."""
    device = db.session.scalar(select(Device).where(Device.product_id == product_id))
    if device is None or not principal.can_access(device):
        raise NotFound(f"No bot named {product_id!r}")
    return device


def owner_column(principal: Principal) -> Any:
    """The API token column that points at this kind of principal."""
    return ApiToken.device_id if isinstance(principal, Device) else ApiToken.user_id


def active_tokens(principal: Principal) -> list[ApiToken]:
    """The principal's API tokens that still work (not revoked, not expired), newest first."""
    query = (
        select(ApiToken)
        .where(owner_column(principal) == principal.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
        .order_by(ApiToken.id.desc())
    )
    return list(db.session.scalars(query))


def token_views(tokens: list[ApiToken], current_token: str | None) -> list[dict[str, object]]:
    """Tokens as their owner sees them: never the token itself (only its hash is stored)."""
    current_hash = token_digest(current_token) if current_token else None
    return [
        {
            "id": token.id,
            "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at),
            "current": token.token_hash == current_hash,
        }
        for token in tokens
    ]


def revoke_own_token(principal: Principal, token_id: int) -> ApiToken:
    """Revoke one of the principal's working tokens; anyone else's (or an unknown id) is a 404."""
    token = db.session.get(ApiToken, token_id) if 0 < token_id < 2**63 else None
    owner = None if token is None else (token.device_id if isinstance(principal, Device) else token.user_id)
    if token is None or owner != principal.id or token.revoked_at is not None:
        raise NotFound(f"No token with id {token_id}")
    token.revoked_at = utcnow()
    return token
