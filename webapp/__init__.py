"""The Lookalike web app: Flask pages and a JSON API that queue work for Celery workers.

The web process only validates uploads, stores them under random job ids, enqueues tasks, polls
their state and renders results; the face models run in the workers (``webapp.tasks``).

    create_app()                    config from LOOKALIKE_* environment variables
    create_app({"TESTING": True})   tests override any key
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, request

from ml.paths import home


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def default_queue() -> str:
    """Analysis goes to the ``gpu`` queue when this machine has CUDA, else to ``cpu``."""
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def default_config(data_dir: Path) -> dict:
    """Every setting, from LOOKALIKE_* environment variables, with the embedded defaults."""
    max_mb = env_int("LOOKALIKE_MAX_UPLOAD_MB", 20)
    return {
        "DATA_DIR": data_dir,
        "MAX_UPLOAD_MB": max_mb,
        "MAX_CONTENT_LENGTH": max_mb * 1024 * 1024,
        "JOB_TTL": env_int("LOOKALIKE_JOB_TTL", 3600),
        "SWEEP_INTERVAL": env_int("LOOKALIKE_SWEEP_INTERVAL", 300),
        "DEFAULT_K": env_int("LOOKALIKE_K", 5),
        "MAX_K": 20,
        "MAX_FACES": env_int("LOOKALIKE_MAX_FACES", 10),
        "DEFAULT_BLUR": env_int("LOOKALIKE_BLUR", 12),
        "GALLERY": os.environ.get("LOOKALIKE_GALLERY", "celebrities"),
        "QUEUE": os.environ.get("LOOKALIKE_QUEUE") or default_queue(),
        "BROKER_URL": os.environ.get("LOOKALIKE_BROKER_URL")
        or f"sqla+sqlite:///{data_dir / 'broker.sqlite'}",
        "RESULT_BACKEND": os.environ.get("LOOKALIKE_RESULT_BACKEND")
        or f"db+sqlite:///{data_dir / 'results.sqlite'}",
        # Redis only: an unacknowledged task (its worker was killed) is redelivered after this.
        "VISIBILITY_TIMEOUT": env_int("LOOKALIKE_VISIBILITY_TIMEOUT", 300),
        "SECRET_KEY": os.environ.get("LOOKALIKE_SECRET_KEY"),
        "SESSION_COOKIE_SAMESITE": "Lax",  # the session only holds the CSRF token
    }


def secret_key(data_dir: Path) -> str:
    """A random key kept in the data directory, so every web process signs sessions alike."""
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """The app factory (flaskr's pattern): config, blueprints, Celery, security headers."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    test_config = dict(test_config or {})
    data_dir = Path(test_config.pop("DATA_DIR", None) or os.environ.get("LOOKALIKE_WEB_DIR")
                    or home() / "web")
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(default_config(data_dir))
    app.config.update(test_config)
    if "MAX_UPLOAD_MB" in test_config and "MAX_CONTENT_LENGTH" not in test_config:
        app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    if not app.config["SECRET_KEY"]:
        try:
            app.config["SECRET_KEY"] = secret_key(data_dir)
        except FileExistsError:  # another process wrote it a moment ago
            app.config["SECRET_KEY"] = secret_key(data_dir)
    (data_dir / "jobs").mkdir(exist_ok=True)

    from webapp.celery_app import celery_init_app

    celery_init_app(app)

    from webapp import api, errors, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    errors.register(app)
    from webapp import people  # issue 7: own galleries, identify, screen time

    people.init_app(app)

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
            "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/jobs/") or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
