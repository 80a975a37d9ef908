"""Password hashing, token generation and failed-login throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..extensions import db
from ..models import LoginThrottle, as_utc, utcnow

_hasher = PasswordHasher()
# Verified against when an account does not exist, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """Argon2id hash of a password (or of a device password such as a classroom's short PIN)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
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


class LoginThrottler:
    """Counts failed logins per key (account name, client address) in the database.

    Living in SQL makes the limit hold across every web process and survive restarts.
    """

    def __init__(self, account_policy: ThrottlePolicy, address_policy: ThrottlePolicy):
        self.policies = {"account": account_policy, "address": address_policy}

    def retry_after(self, keys: dict[str, str], now: datetime | None = None) -> int:
        """Seconds until the given keys may try again (0 = allowed now)."""
        now = now or utcnow()
        wait = 0
        for kind, key in keys.items():
            row = db.session.get(LoginThrottle, f"{kind}:{key}")
            locked_until = as_utc(row.locked_until) if row else None
            if locked_until and locked_until > now:
                wait = max(wait, int((locked_until - now).total_seconds()) + 1)
        return wait

    def record_failure(self, keys: dict[str, str]) -> None:
        now = utcnow()
        for kind, key in keys.items():
            row = db.session.get(LoginThrottle, f"{kind}:{key}")
            if row is None:
                row = LoginThrottle(key=f"{kind}:{key}", failures=0)
                db.session.add(row)
            row.failures += 1
            row.last_failure_at = now
            lockout = self.policies[kind].lockout_for(row.failures)
            row.locked_until = now + lockout if lockout else None

    def record_success(self, account_key: str) -> None:
        row = db.session.get(LoginThrottle, f"account:{account_key}")
        if row is not None:
            db.session.delete(row)
