"""Is this process ready to serve? The database answers, Redis answers and a toolchain can build; each check is
short and bounded, and a failing one says why."""

from __future__ import annotations

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from compiler import CompilerError

from ..config import Settings
from ..extensions import db
from .toolchain import available_boards

REDIS_TIMEOUT_S = 1.0
OK = "ok"


def database_check() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return f"the database does not answer: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
    db.session.rollback()
    return OK


def redis_check(settings: Settings) -> str:
    if not settings.redis_url:
        return "no Redis configured (REDIS_URL)"
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        return f"Redis does not answer: {str(error)[:200]}"
    finally:
        client.close()
    return OK


def toolchain_check(settings: Settings) -> str:
    try:
        boards = available_boards(settings)
    except CompilerError as error:
        return f"no usable toolchain: {str(error)[:200]}"
    return OK if boards else "no toolchain installed (see `webide doctor`)"


def readiness(settings: Settings) -> dict[str, str]:
    """Each dependency's verdict: "ok" or the reason it is not."""
    return {
        "database": database_check(),
        "redis": redis_check(settings),
        "toolchain": toolchain_check(settings),
    }
