"""The Celery app for workers and beat: ``celery -A webapp.worker worker -Q cpu``.

A module of its own because ``webapp.core.celery_app`` is imported by ``create_app`` itself.
"""

from webapp import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
