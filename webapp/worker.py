"""The Celery app for workers and beat: ``celery -A webapp.worker worker -Q cpu``.

A module of its own because ``webapp.core.celery_app`` is imported by ``create_app`` itself. The
task bodies (and the ``ml`` models they run) are imported here, in workers only: the web process
sends tasks by name and never loads torch.
"""

from importlib import import_module

from webapp import create_app
from webapp.core.kinds import kinds

flask_app = create_app()
celery = flask_app.extensions["celery"]
import_module("webapp.core.tasks")  # the sweep, the default gallery's build, model warm-up
for kind in kinds(flask_app).values():
    import_module(kind.tasks)
