"""The web app's settings: one frozen, typed object (``Settings``), read once from the
LOOKALIKE_* environment variables when the app is made (never at import time) and kept on the
app (``of(app)``). ``app.config`` is Flask's view of it: each field under its upper-case name
(``job_ttl`` → ``JOB_TTL``), for Flask, its extensions, templates and the OpenAPI document.
Every variable is in the README's configuration table; the library's own are ``ml.settings``.

A new setting is a field below and its line in ``from_environment``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from flask import Flask

from ml.device import gpu_present
from ml.paths import home
from ml.settings import settings as ml_settings


@dataclass(frozen=True)
class Settings:
    data_dir: Path  # jobs, SQLite broker/results, the session key (LOOKALIKE_WEB_DIR)
    max_upload_mb: float  # request size limit
    max_video_mb: float  # screen time: video upload size limit
    max_video_seconds: float  # LOOKALIKE_MAX_VIDEO_SECONDS, shared with the CLI (ml.settings)
    job_ttl: int  # seconds until a job's files are deleted
    sweep_interval: int  # seconds between beat sweeps
    default_k: int
    max_k: int
    max_faces: int
    default_blur: int
    max_blur: int
    max_gallery_photos: int  # photos per upload to a gallery
    gallery: str  # the gallery lookalikes come from
    queue: str  # where analyses go: gpu or cpu
    broker_url: str
    result_backend: str
    visibility_timeout: int  # Redis only: a dead worker's task is redelivered after this
    secret_key: str | None  # None: a random key kept in the data directory (create_app)
    session_cookie_samesite: str  # a cross-site form post carries no session
    database_url: str  # accounts (webapp.core.accounts): any SQLAlchemy URL
    signup: str  # open, invite or closed
    require_login: bool
    upload_limit: str  # abuse limits (webapp.core.limits): Flask-Limiter's "N per minute"
    login_limit: str
    login_ip_limit: str
    password_limit: str  # current-password checks per account (password change, deletion)
    # None: the broker if it is Redis, else the accounts database (webapp.core.limits)
    ratelimit_storage_uri: str | None
    https: bool  # behind a TLS proxy: Secure cookies (webapp.core.security)
    proxies: int  # trust this many proxies' X-Forwarded-For/-Proto/-Host headers
    base_url: str  # where invite links point (https://lookalike.example); "": a path here

    def config(self) -> dict:
        """Flask's view: every field by its upper-case name, and the request size limit."""
        return {**{name.upper(): value for name, value in asdict(self).items()},
                "MAX_CONTENT_LENGTH": int(self.max_upload_mb * 1024 * 1024)}

    def overridden(self, config: dict) -> Settings:
        """These settings with those ``config`` names by upper-case name (tests, embedders)."""
        names = {f.name.upper(): f.name for f in fields(self)}
        return replace(self, **{names[key]: value for key, value in config.items()
                                if key in names})


def of(app: Flask) -> Settings:
    """The app's settings (made by ``create_app``)."""
    return app.extensions["settings"]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def env_flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def default_queue() -> str:
    """Analysis goes to the ``gpu`` queue when this machine has a GPU, else to ``cpu`` (asked
    of the driver: the web process never loads torch)."""
    return "gpu" if gpu_present() else "cpu"


def data_dir(configured: str | os.PathLike | None = None) -> Path:
    return Path(configured or os.environ.get("LOOKALIKE_WEB_DIR") or home() / "web")


def from_environment(data: Path) -> Settings:
    """Every setting, with the embedded defaults (SQLite broker in the data directory)."""
    env = os.environ.get
    return Settings(
        data_dir=data,
        max_upload_mb=env_int("LOOKALIKE_MAX_UPLOAD_MB", 20),
        max_video_mb=env_int("LOOKALIKE_MAX_VIDEO_MB", 200),
        max_video_seconds=ml_settings().max_video_seconds,
        job_ttl=env_int("LOOKALIKE_JOB_TTL", 3600),
        sweep_interval=env_int("LOOKALIKE_SWEEP_INTERVAL", 300),
        default_k=env_int("LOOKALIKE_K", 5),
        max_k=20,
        max_faces=env_int("LOOKALIKE_MAX_FACES", 10),
        default_blur=env_int("LOOKALIKE_BLUR", 12),
        max_blur=40,
        max_gallery_photos=20,
        gallery=env("LOOKALIKE_GALLERY", "celebrities"),
        queue=env("LOOKALIKE_QUEUE") or default_queue(),
        broker_url=env("LOOKALIKE_BROKER_URL") or f"sqla+sqlite:///{data / 'broker.sqlite'}",
        result_backend=env("LOOKALIKE_RESULT_BACKEND")
        or f"db+sqlite:///{data / 'results.sqlite'}",
        visibility_timeout=env_int("LOOKALIKE_VISIBILITY_TIMEOUT", 300),
        secret_key=env("LOOKALIKE_SECRET_KEY") or None,
        session_cookie_samesite="Lax",
        database_url=env("LOOKALIKE_DATABASE_URL") or f"sqlite:///{data / 'lookalike.db'}",
        signup=signup_mode(env("LOOKALIKE_SIGNUP", "open")),
        require_login=env_flag("LOOKALIKE_REQUIRE_LOGIN"),
        upload_limit=env("LOOKALIKE_UPLOAD_LIMIT", "60 per minute"),
        login_limit=env("LOOKALIKE_LOGIN_LIMIT", "5 per 15 minutes"),
        login_ip_limit=env("LOOKALIKE_LOGIN_IP_LIMIT", "30 per 15 minutes"),
        password_limit=env("LOOKALIKE_PASSWORD_LIMIT", "5 per 15 minutes"),
        ratelimit_storage_uri=env("LOOKALIKE_RATELIMIT_STORAGE") or None,
        https=env_flag("LOOKALIKE_HTTPS"),
        proxies=env_int("LOOKALIKE_PROXIES", 0),
        base_url=env("LOOKALIKE_BASE_URL", ""),
    )


def signup_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("open", "closed", "invite"):
        raise ValueError(f"LOOKALIKE_SIGNUP must be open, closed or invite, not {value!r}")
    return mode
