"""Abuse limits (Flask-Limiter over ``limits``): uploads per address and per user, sign-in and
password attempts (``count``). Counts are shared by every web process: in Redis when the app has
one, else in the accounts database (``rate_limits``, ``DatabaseStorage``), never in one process's
memory. Every count is one atomic increment that also answers whether the limit is passed, so a
parallel burst cannot slip between a check and a count. A request over a limit is 429 with
``Retry-After`` and a message saying when to retry.

Every endpoint that takes an upload (``security.upload_limit``) is limited here once the
features have registered; features limit anything else with ``limit(app, endpoint, ...)``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from flask import Flask, current_app, jsonify, render_template
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    case,
    create_engine,
    delete,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from webapp.core.accounts import current_owner, engine_options
from webapp.core.errors import UserError, answer, wants_json

log = logging.getLogger(__name__)

DB_SCHEME = "lookalike+db"
RATE_LIMITS = Table("rate_limits", MetaData(),  # made by migration 0002
                    Column("key", String(255), primary_key=True),
                    Column("count", Integer, nullable=False),
                    Column("expires", Float, nullable=False))


class DatabaseStorage(Storage):
    """Fixed-window counts in the accounts database (SQLite or PostgreSQL): one row per key,
    incremented by a single ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``."""

    STORAGE_SCHEME = [DB_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 database_url: str = "", **options) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        self.engine = create_engine(database_url, **engine_options(database_url))
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            raise ValueError("abuse-limit counts live in Redis, SQLite or PostgreSQL: set "
                             "LOOKALIKE_RATELIMIT_STORAGE to a redis:// URL")
        self.insert = insert
        self.swept = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        live = RATE_LIMITS.c.expires > now
        statement = self.insert(RATE_LIMITS).values(key=key, count=amount, expires=now + expiry)
        statement = statement.on_conflict_do_update(index_elements=[RATE_LIMITS.c.key], set_={
            "count": case((live, RATE_LIMITS.c.count + amount), else_=amount),
            "expires": case((live, RATE_LIMITS.c.expires), else_=now + expiry),
        }).returning(RATE_LIMITS.c.count)
        with self.engine.begin() as connection:
            count = connection.execute(statement).scalar_one()
            if now - self.swept > 60:  # forget windows long over, once a minute per process
                self.swept = now
                connection.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.expires < now))
        return count

    def _row(self, key: str):
        with self.engine.connect() as connection:
            return connection.execute(select(RATE_LIMITS.c.count, RATE_LIMITS.c.expires).where(
                RATE_LIMITS.c.key == key, RATE_LIMITS.c.expires > time.time())).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires if row else time.time()

    def check(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(delete(RATE_LIMITS)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.key == key))


class TooMany(Exception):
    """Over a limit counted with ``count``: 429, ``wait`` seconds until the window ends."""

    def __init__(self, message: str, wait: int) -> None:
        super().__init__(message)
        self.wait = wait


def limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["lookalike_limiter"]


def limit(app: Flask, endpoint: str, value: Callable[[], str], key: Callable[[], str],
          **options) -> None:
    """Limit the view of ``endpoint`` (wrapped in place, after it was registered)."""
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = limiter(app).limit(value, key_func=key, **options)(view)


def count(value: str, scope: str, *ids: str, message: str) -> None:
    """Count one attempt now, before it is judged (one atomic increment); ``TooMany`` once the
    count is over ``value`` ("5 per 15 minutes"). ``message`` may say ``{wait}``."""
    storage = limiter().storage
    item, strategy = parse(value), FixedWindowRateLimiter(storage)
    try:
        allowed = strategy.hit(item, scope, *ids)
        reset = 0.0 if allowed else strategy.get_window_stats(item, scope, *ids).reset_time
    except storage.base_exceptions:  # the store is down: refuse rather than count nothing
        log.exception("abuse-limit store unreachable")
        raise UserError("This cannot be checked right now: please try again in a minute.",
                        503) from None
    if not allowed:
        wait = max(1, math.ceil(reset - time.time()))
        raise TooMany(message.replace("{wait}", wait_words(wait)), wait)


def forget(value: str, scope: str, *ids: str) -> None:
    """Start the count again (the attempt proved who it was); a store that is down is no
    reason to fail the request that proved it."""
    storage = limiter().storage
    try:
        FixedWindowRateLimiter(storage).clear(parse(value), scope, *ids)
    except storage.base_exceptions:
        log.exception("abuse-limit store unreachable")


def user_key() -> str:
    return f"user:{current_owner()}"


def retry_after() -> int:
    """Seconds until the breached limit lets the next request through."""
    current = limiter().current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current else 60


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def limit_uploads(app: Flask) -> None:
    """Every endpoint that takes an upload: per address, and per user when signed in."""
    uploads = lambda: current_app.config["UPLOAD_LIMIT"]  # noqa: E731 (read at request time)
    for endpoint in app.extensions.get("upload_limits", {}):
        limit(app, endpoint, uploads, get_remote_address, scope="uploads-ip")
        limit(app, endpoint, uploads, user_key, scope="uploads-user",
              exempt_when=lambda: current_owner() is None)


def storage_uri(config: dict) -> str:
    """``LOOKALIKE_RATELIMIT_STORAGE`` if set; else the broker when it is Redis; else the
    accounts database. Either way every web process shares the counts."""
    configured = config.get("RATELIMIT_STORAGE_URI")
    if configured:
        return configured
    broker = config.get("BROKER_URL") or ""
    return broker if broker.startswith(("redis://", "rediss://")) else f"{DB_SCHEME}://"


def init_app(app: Flask) -> None:
    """The app's limiter (before the features, which may limit their endpoints)."""
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(app.config)
    if app.config["RATELIMIT_STORAGE_URI"].startswith(DB_SCHEME):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                              {"database_url": app.config["DATABASE_URL"]})
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")  # what ``count`` uses too
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "lookalike-limits")
    # Redis down: uploads are limited per process until it is back (then 503 from the queue).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.extensions["lookalike_limiter"] = Limiter(get_remote_address, app=app)

    @app.errorhandler(TooMany)
    def over(exc: TooMany):
        response = app.make_response(answer(str(exc), 429))
        response.headers["Retry-After"] = str(exc.wait)
        return response

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        wait = retry_after()
        message = exc.description if exc.limit.error_message else (
            f"Too many requests: please wait {wait_words(wait)} and try again.")
        message = message.replace("{wait}", wait_words(wait))
        if wants_json():
            response = jsonify(error=message)
        else:
            response = app.make_response(render_template(
                "error.html", code=429, title="Too many requests", message=message))
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
        return response
