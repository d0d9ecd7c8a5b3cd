"""Abuse limits (Flask-Limiter): uploads per IP and per user, sign-in attempts per account and
per IP. Counts live in Redis when the app has one (every web process shares them), else in
memory. A request over a limit is 429 with ``Retry-After`` and a message saying when to retry.

Every endpoint that takes an upload (``security.upload_limit``) is limited here once the
features have registered; features limit anything else with ``limit(app, endpoint, ...)``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, current_app, jsonify, render_template
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from webapp.core.accounts import current_username
from webapp.core.errors import wants_json


def limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["lookalike_limiter"]


def limit(app: Flask, endpoint: str, value: Callable[[], str], key: Callable[[], str],
          **options) -> None:
    """Limit the view of ``endpoint`` (wrapped in place, after it was registered)."""
    view = app.view_functions[endpoint]
    app.view_functions[endpoint] = limiter(app).limit(value, key_func=key, **options)(view)


def user_key() -> str:
    return f"user:{current_username()}"


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
              exempt_when=lambda: current_username() is None)


def init_app(app: Flask) -> None:
    """The app's limiter (before the features, which may limit their endpoints)."""
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "lookalike-limits")
    app.extensions["lookalike_limiter"] = Limiter(get_remote_address, app=app)

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
