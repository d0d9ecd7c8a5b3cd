"""The Lookalike web app: Flask pages and a JSON API that queue work for Celery workers.

The web process only validates uploads, stores them under random job ids, enqueues tasks, polls
their state and renders results; the face models run in the workers. A job core
(``webapp.core``) carries one package per feature (``webapp.features``), which never import
each other; the README's "How the code is laid out" shows how to add one.

    create_app()                    settings from LOOKALIKE_* environment variables
    create_app({"TESTING": True})   tests override any setting (by its config name) or key
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path

from flask import Flask

from webapp import core, settings
from webapp.features import FEATURES


def secret_key(data_dir: Path) -> str:
    """A random key kept in the data directory, so every web process signs sessions alike."""
    path = data_dir / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it a moment ago
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """The app factory (flaskr's pattern): settings, the job core, then every feature. Keys of
    ``test_config`` that name a setting (``JOB_TTL``) override it; the rest go to Flask."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    test_config = dict(test_config or {})
    web = settings.from_environment(settings.data_dir(test_config.pop("DATA_DIR", None)))
    web = web.overridden(test_config)
    web.data_dir.mkdir(parents=True, exist_ok=True)
    if not web.secret_key:
        web = replace(web, secret_key=secret_key(web.data_dir))
    app.extensions["settings"] = web
    app.config.from_mapping(web.config())
    named = {name.upper() for name in web.__dataclass_fields__}
    app.config.update({key: value for key, value in test_config.items() if key not in named})
    (web.data_dir / "jobs").mkdir(exist_ok=True)
    core.init_app(app)
    for feature in FEATURES:
        feature.init_app(app)
    core.init_limits(app)
    return app
