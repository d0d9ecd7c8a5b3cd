"""The web app's settings, read once from LOOKALIKE_* environment variables when the app is
made (never at import time); templates and the OpenAPI document read their limits from here.
Every variable is in the README's configuration table."""

from __future__ import annotations

import os
from pathlib import Path

from ml.device import gpu_present
from ml.paths import home
from ml.settings import settings as ml_settings


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def default_queue() -> str:
    """Analysis goes to the ``gpu`` queue when this machine has a GPU, else to ``cpu`` (asked
    of the driver: the web process never loads torch)."""
    return "gpu" if gpu_present() else "cpu"


def data_dir(configured: str | os.PathLike | None = None) -> Path:
    return Path(configured or os.environ.get("LOOKALIKE_WEB_DIR") or home() / "web")


def from_environment(data: Path) -> dict:
    """Every setting, with the embedded defaults (SQLite broker in the data directory)."""
    max_mb = env_int("LOOKALIKE_MAX_UPLOAD_MB", 20)
    return {
        "DATA_DIR": data,
        "MAX_UPLOAD_MB": max_mb,
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        "MAX_VIDEO_MB": env_int("LOOKALIKE_MAX_VIDEO_MB", 200),
        # LOOKALIKE_MAX_VIDEO_SECONDS, shared with the CLI
        "MAX_VIDEO_SECONDS": ml_settings().max_video_seconds,
        "JOB_TTL": env_int("LOOKALIKE_JOB_TTL", 3600),
        "SWEEP_INTERVAL": env_int("LOOKALIKE_SWEEP_INTERVAL", 300),
        "DEFAULT_K": env_int("LOOKALIKE_K", 5),
        "MAX_K": 20,
        "MAX_FACES": env_int("LOOKALIKE_MAX_FACES", 10),
        "DEFAULT_BLUR": env_int("LOOKALIKE_BLUR", 12),
        "MAX_BLUR": 40,
        "MAX_GALLERY_PHOTOS": 20,  # photos per upload to a gallery
        "GALLERY": os.environ.get("LOOKALIKE_GALLERY", "celebrities"),
        "QUEUE": os.environ.get("LOOKALIKE_QUEUE") or default_queue(),
        "BROKER_URL": os.environ.get("LOOKALIKE_BROKER_URL")
        or f"sqla+sqlite:///{data / 'broker.sqlite'}",
        "RESULT_BACKEND": os.environ.get("LOOKALIKE_RESULT_BACKEND")
        or f"db+sqlite:///{data / 'results.sqlite'}",
        # Redis only: an unacknowledged task (its worker was killed) is redelivered after this.
        "VISIBILITY_TIMEOUT": env_int("LOOKALIKE_VISIBILITY_TIMEOUT", 300),
        "SECRET_KEY": os.environ.get("LOOKALIKE_SECRET_KEY"),
        "SESSION_COOKIE_SAMESITE": "Lax",  # a cross-site form post carries no session
        # Accounts (webapp.core.accounts): SQLite in the data directory, or any SQLAlchemy URL.
        "DATABASE_URL": os.environ.get("LOOKALIKE_DATABASE_URL")
        or f"sqlite:///{data / 'lookalike.db'}",
        "SIGNUP": signup_mode(os.environ.get("LOOKALIKE_SIGNUP", "open")),
        "REQUIRE_LOGIN": os.environ.get("LOOKALIKE_REQUIRE_LOGIN", "0").lower()
        in ("1", "true", "yes", "on"),
        # Abuse limits (webapp.core.limits): Flask-Limiter's "N per minute" strings.
        "UPLOAD_LIMIT": os.environ.get("LOOKALIKE_UPLOAD_LIMIT", "60 per minute"),
        "LOGIN_LIMIT": os.environ.get("LOOKALIKE_LOGIN_LIMIT", "5 per 15 minutes"),
        "LOGIN_IP_LIMIT": os.environ.get("LOOKALIKE_LOGIN_IP_LIMIT", "30 per 15 minutes"),
        "RATELIMIT_STORAGE_URI": os.environ.get("LOOKALIKE_RATELIMIT_STORAGE")
        or limiter_storage(os.environ.get("LOOKALIKE_BROKER_URL", "")),
    }


def signup_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in ("open", "closed", "invite"):
        raise ValueError(f"LOOKALIKE_SIGNUP must be open, closed or invite, not {value!r}")
    return mode


def limiter_storage(broker: str) -> str:
    """Redis when the app has one (limits shared by every web process), else in memory."""
    return broker if broker.startswith(("redis://", "rediss://")) else "memory://"
