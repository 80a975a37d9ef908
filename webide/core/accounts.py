"""Accounts: logging in with throttling, password rules, API tokens, and who may act on which bot."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import current_secret_key, current_settings, db
from ..models import ApiToken, Device, User, as_utc, utcnow
from .errors import BadRequest, NotFound, TooManyRequests, Unauthorized
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
    return LoginThrottler(LoginLimits(
        per_client=ThrottlePolicy(settings.login_free_attempts, settings.login_max_lockout_s),
        unknown_clients=ThrottlePolicy(settings.login_unknown_free_attempts, settings.login_max_lockout_s),
        accounts_per_address=ThrottlePolicy(settings.login_ip_free_attempts, settings.login_max_lockout_s),
    ))


def device_cookies() -> DeviceCookies:
    return DeviceCookies(current_secret_key())


def account_name(kind: str, identifier: str) -> str:
    """The account a login names, as throttling and device cookies know it (names are case-insensitive)."""
    return f"{kind}:{identifier.lower()}"


def find_principal(kind: str, identifier: str) -> Principal | None:
    if kind == "device":
        return db.session.scalar(select(Device).where(Device.product_id == identifier))
    return db.session.scalar(select(User).where(User.username == identifier))


def authenticate(kind: str, identifier: str, password: str, client_address: str | None,
                 device_cookie: str | None = None) -> Principal:
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
        raise Unauthorized("This bot is blocked; ask your instructor")
    gate.record_success(attempt)
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
    principal.session_version += 1
    owner = ApiToken.device_id if isinstance(principal, Device) else ApiToken.user_id
    for token in db.session.scalars(select(ApiToken).where(owner == principal.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def accessible_device(principal: Principal, product_id: str) -> Device:
    """The bot with this product ID if the caller may act on it; otherwise 404, so existence does not leak."""
    device = db.session.scalar(select(Device).where(Device.product_id == product_id))
    if device is None or not principal.can_access(device):
        raise NotFound(f"No bot named {product_id!r}")
    return device
