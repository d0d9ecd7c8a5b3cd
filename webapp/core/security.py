"""The same protection for every route: CSRF tokens on page forms, a same-site check on API
calls that change something with a cookie's authority (API-key calls need none), strict
response headers (CSP: no inline script; nothing a user owns cached anywhere), Secure cookies
and the proxy's headers when behind HTTPS, and files on disk readable by this user alone."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.core.errors import UserError

PRIVATE = "private, no-store"  # selfies are biometric: no shared cache, no disk cache
CSP = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every form POST to a page carries the session's token."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site (CSRF check "
                               "failed). Reload the page and try again.")


def check_same_site() -> None:
    """Browsers name the page that sent a request; an API call that changes something from
    another site is refused (a multipart POST needs no CORS preflight). JSON clients send no
    Origin and are let through: they hold no cookie's authority."""
    origin = request.headers.get("Origin")
    # Hosts, not schemes: behind a TLS proxy the app itself may see http://.
    if origin and urlsplit(origin).netloc != request.host:
        raise UserError("requests from other sites may not change galleries or queue work", 403)


def upload_limit(app: Flask, endpoint: str, megabytes: int | None = None) -> None:
    """``endpoint`` takes uploads (rate-limited by ``webapp.core.limits``), at most this large
    (None: ``MAX_UPLOAD_MB``; videos are larger than photos)."""
    size = megabytes * 1024 * 1024 if megabytes is not None else None
    app.extensions.setdefault("upload_limits", {})[endpoint] = size


def private_files(app: Flask) -> None:
    """Everything the app writes from now on (the user database, uploads, job files, gallery
    versions) is 0600 in 0700 folders: other local users read none of it. The data directory
    made before this, and a database from an older version, are closed too."""
    os.umask(0o077)
    data = Path(app.config["DATA_DIR"])
    for path in (data, data / "jobs", data / "lookalike.db", data / "secret_key"):
        if path.exists() and path.stat().st_uid == os.getuid():
            path.chmod(0o700 if path.is_dir() else 0o600)


def behind_https(app: Flask) -> None:
    """``HTTPS``: cookies only over TLS; ``PROXIES``: trust that many proxies' X-Forwarded-*
    headers (the client's address for limits, the scheme and host for URLs)."""
    if app.config.get("HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    proxies = int(app.config.get("PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def init_app(app: Flask) -> None:
    private_files(app)
    behind_https(app)
    app.jinja_env.globals["csrf_token"] = csrf_token
    limits = app.extensions.setdefault("upload_limits", {})

    @app.before_request
    def protect() -> None:
        if limits.get(request.endpoint) is not None:  # before anything reads the body
            request.max_content_length = limits[request.endpoint]
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.path.startswith("/api/") and "Authorization" in request.headers:
            return  # an API key: no cookie's authority, no cross-site risk (checked next)
        if request.path.startswith("/api/"):
            check_same_site()
        else:
            check_csrf()

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if app.config.get("HTTPS"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        # Only static files and what a view marks public (the shared gallery's thumbnails)
        # may be cached; everything else may show someone's face or data.
        if request.endpoint != "static" and not response.cache_control.public:
            response.headers["Cache-Control"] = PRIVATE
        return response
