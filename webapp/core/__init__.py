"""The job core: what every feature stands on, knowing none of them.

- ``jobs``: the job store (one folder per random id, TTL, delete-now, sweep);
- ``kinds``: the registry of job kinds (task, queue, stages, result URLs, result page) and
  ``enqueue``; ``status``: where a job stands;
- ``celery_app``: Celery as in Celery's Flask guide, routing from the registry; ``tasks``: what
  every task shares (progress, failures as messages, models loaded once per worker);
- ``errors``: ``UserError(status)`` and the one table from library errors to HTTP statuses;
- ``security``: CSRF on forms, same-site on API changes, CSP and other headers, for every route;
- ``accounts``: users, sessions, API keys (the database and its migrations); ``limits``: rate
  limits on uploads and sign-ins (``init_limits``, after every feature registered);
- ``uploads``: checking an uploaded image in the request;
- ``api``, ``pages``, ``openapi``: job status, files and deletion, thumbnails, the API document.
"""

from __future__ import annotations

from flask import Flask

from webapp.core import accounts, api, errors, limits, pages, security
from webapp.core.celery_app import celery_init_app


def init_app(app: Flask) -> None:
    celery_init_app(app)
    security.init_app(app)
    accounts.init_app(app)
    errors.register(app)
    limits.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)


def init_limits(app: Flask) -> None:
    """Rate limits on every upload endpoint: call once the features have registered."""
    limits.limit_uploads(app)
