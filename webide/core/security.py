"""Password hashing, token generation and failed-login throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete

from ..extensions import db
from ..models import LoginThrottle, as_utc, utcnow
from .offload import run_cpu_bound

_hasher = PasswordHasher()
# Verified against when an account does not exist, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """Argon2id hash of a password (or of a device password such as a classroom's short PIN).

    Argon2 is slow on purpose (tenths of a second of CPU), so it runs in a worker process, off the web server's
    event loop.
    """
    return run_cpu_bound(argon2_hash, password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an absent hash costs the same time (and fails). Runs in a worker process."""
    return run_cpu_bound(argon2_verify, stored_hash or _DUMMY_HASH, password) and stored_hash is not None


def argon2_hash(password: str) -> str:
    return _hasher.hash(password)


def argon2_verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh random secret for API tokens and device tokens (shown once, stored hashed)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are long random strings, so an unsalted SHA-256 is the right (and indexable) storage form."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(stored_digest: str, token: str) -> bool:
    return hmac.compare_digest(stored_digest, token_digest(token))


# A counter nobody has failed against for this long starts again from zero, so no address or account carries
# yesterday's mistakes (and the table does not keep growing with them).
FORGET_FAILURES_AFTER = timedelta(hours=24)
PRUNE_ONE_IN = 100  # failures that also delete forgotten counters (cheap on average, bounded table)
DEVICE_COOKIE_SALT = "webide device cookie"
DEVICE_COOKIE_ENTRIES = 16  # accounts one browser is remembered for (a shared lab computer serves several bots)


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int
    max_lockout_s: int

    def lockout_for(self, failures: int) -> timedelta | None:
        """Doubling lockout once the free attempts are used: 1 s, 2 s, 4 s … up to the cap."""
        over = failures - self.free_attempts
        if over < 0:
            return None
        return timedelta(seconds=min(2 ** min(over, 30), self.max_lockout_s))


@dataclass(frozen=True)
class LoginLimits:
    """The four budgets of failed logins (OWASP's "device cookie" scheme, with per account+address counting).

    ``per_client``: one account from one address, or from one browser holding a device cookie for it.
    ``unknown_clients``: one account from every client without a device cookie, together (a slower budget: an
    attacker with many addresses still gets only this many guesses). ``accounts_per_address``: distinct accounts
    with failed logins from one address, by clients without a device cookie (password spraying).
    """

    per_client: ThrottlePolicy
    unknown_clients: ThrottlePolicy
    accounts_per_address: ThrottlePolicy


@dataclass(frozen=True)
class LoginAttempt:
    """Who tries to log in to which account: the client's address and its device cookie's entry for the account."""

    account: str
    address: str
    device_nonce: str | None = None


def throttle_key(scope: str, *parts: str) -> str:
    """A counter's row key: the scope readable, the account/address/nonce hashed (bounded length; no addresses
    or account names stored in the throttle table)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:48]
    return f"{scope}:{digest}"


class LoginThrottler:
    """Counts failed logins in the database, so limits hold across every web process and survive restarts.

    A client presenting a valid device cookie for the account (issued at an earlier successful login) is counted
    only against its own cookie, so an attacker elsewhere can neither lock the owner out nor use up the owner's
    allowance. Every other client is counted per account+address pair, against the account's shared budget for
    unknown clients, and (once per account) against its address. A device cookie that is itself locked out counts
    as unknown.
    """

    def __init__(self, limits: LoginLimits):
        self.limits = limits

    def retry_after(self, attempt: LoginAttempt, now: datetime | None = None) -> int:
        """Seconds until this client may try this account again (0 = allowed now)."""
        now = now or utcnow()
        if self._trusted(attempt, now):
            return 0
        keys = (self._pair(attempt), throttle_key("unknown", attempt.account), throttle_key("address", attempt.address))
        return max(_wait(db.session.get(LoginThrottle, key), now) for key in keys)

    def record_failure(self, attempt: LoginAttempt) -> None:
        now = utcnow()
        if self._trusted(attempt, now):
            self._count(self._device(attempt), self.limits.per_client, now)
            return
        if self._count(self._pair(attempt), self.limits.per_client, now) == 1:
            self._count(throttle_key("address", attempt.address), self.limits.accounts_per_address, now)
        self._count(throttle_key("unknown", attempt.account), self.limits.unknown_clients, now)
        if secrets.randbelow(PRUNE_ONE_IN) == 0:
            forget_old_failures(now)

    def record_success(self, attempt: LoginAttempt) -> None:
        """The right password clears this client's own counters (never the shared ones an attacker fills)."""
        keys = [self._pair(attempt)] + ([self._device(attempt)] if attempt.device_nonce else [])
        for key in keys:
            row = db.session.get(LoginThrottle, key)
            if row is not None:
                db.session.delete(row)

    def _trusted(self, attempt: LoginAttempt, now: datetime) -> bool:
        if attempt.device_nonce is None:
            return False
        return _wait(db.session.get(LoginThrottle, self._device(attempt)), now) == 0

    @staticmethod
    def _pair(attempt: LoginAttempt) -> str:
        return throttle_key("client", attempt.account, attempt.address)

    @staticmethod
    def _device(attempt: LoginAttempt) -> str:
        return throttle_key("device", attempt.account, attempt.device_nonce or "")

    @staticmethod
    def _count(key: str, policy: ThrottlePolicy, now: datetime) -> int:
        """One more failure on counter ``key``; locks it per ``policy``; returns the failures counted."""
        row = db.session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0)
            db.session.add(row)
        last = as_utc(row.last_failure_at)
        if last is not None and now - last > FORGET_FAILURES_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lockout = policy.lockout_for(row.failures)
        row.locked_until = now + lockout if lockout else None
        return row.failures


def _wait(row: LoginThrottle | None, now: datetime) -> int:
    locked_until = as_utc(row.locked_until) if row else None
    if locked_until is None or locked_until <= now:
        return 0
    return int((locked_until - now).total_seconds()) + 1


def forget_old_failures(now: datetime) -> None:
    """Delete counters with no failure for a day (their lockouts have long ended)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET_FAILURES_AFTER))


class DeviceCookies:
    """Signed "device cookies": a browser that logged in to an account gets an entry naming the account.

    The cookie holds up to DEVICE_COOKIE_ENTRIES (account, nonce) pairs, signed with a key derived from the app's
    secret, so it cannot be forged or moved to another account. The nonce makes each browser's allowance its own
    counter.
    """

    def __init__(self, secret_key: str):
        self.signer = URLSafeSerializer(secret_key, salt=DEVICE_COOKIE_SALT)

    def entries(self, cookie: str | None) -> list[list[str]]:
        """The cookie's (account, nonce) pairs; an absent, tampered or malformed cookie has none."""
        if not cookie:
            return []
        try:
            entries = self.signer.loads(cookie)
        except BadSignature:
            return []
        if not isinstance(entries, list):
            return []
        return [e for e in entries if isinstance(e, list) and len(e) == 2 and all(isinstance(v, str) for v in e)]

    def nonce_for(self, cookie: str | None, account: str) -> str | None:
        """The nonce this browser was given for ``account`` if its cookie is genuine and names it, else None."""
        return next((nonce for name, nonce in self.entries(cookie) if name == account), None)

    def remember(self, cookie: str | None, account: str) -> str:
        """The cookie after a successful login to ``account`` (a kept nonce stays; the newest entries are kept)."""
        entries = self.entries(cookie)
        nonce = self.nonce_for(cookie, account) or secrets.token_urlsafe(16)
        kept = [[account, nonce]] + [e for e in entries if e[0] != account]
        return self.signer.dumps(kept[:DEVICE_COOKIE_ENTRIES])
