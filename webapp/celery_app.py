"""Celery set up the way Celery's "Using Celery with Flask" guide does (``celery_init_app``).

With nothing configured, the broker and the result backend are SQLite files in the data
directory (kombu's SQLAlchemy transport): one machine, no servers. Production sets
``LOOKALIKE_BROKER_URL`` / ``LOOKALIKE_RESULT_BACKEND`` to Redis.

Analysis tasks go to the queue named by the ``QUEUE`` setting (``gpu`` on CUDA machines, else
``cpu``); the periodic sweep goes to ``cpu``. GPU workers consume ``gpu,cpu``; CPU workers ``cpu``.
Screen time (minutes per video) goes to ``video``, served by a worker of its own (``-Q video``),
so photos never wait behind a film.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from kombu import Exchange, Queue
from kombu.transport import sqlalchemy as kombu_sqlalchemy

# How often an idle worker polls the SQLite broker (kombu's default is 1 s, a visible lag).
# A class attribute: passing it in broker_transport_options crashes kombu (docs/PRODUCT.md).
kombu_sqlalchemy.Transport.polling_interval = 0.2


def celery_config(app: Flask) -> dict:
    config = app.config
    options = {}
    if config["BROKER_URL"].startswith(("redis://", "rediss://")):
        options["visibility_timeout"] = config["VISIBILITY_TIMEOUT"]
    return {
        "broker_url": config["BROKER_URL"],
        "result_backend": config["RESULT_BACKEND"],
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": False,
        "task_track_started": True,
        "result_extended": True,
        "result_expires": config["JOB_TTL"],
        # A task is acknowledged when it finishes, and re-queued if its worker dies mid-way.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Child processes load the models at start (webapp.tasks.load_models): give them time.
        "worker_proc_alive_timeout": 120,
        "task_default_queue": "cpu",
        "task_queues": tuple(Queue(name, Exchange(name), routing_key=name)
                             for name in ("gpu", "cpu", "video")),
        "task_routes": {"webapp.tasks.analyze": {"queue": config["QUEUE"]},
                        "webapp.tasks.family": {"queue": config["QUEUE"]},
                        "webapp.tasks.sweep": {"queue": "cpu"},
                        # Screen time gets its own queue and worker: long videos wait for
                        # each other, never photos for them (webapp/people_tasks.py).
                        "webapp.people_tasks.identify": {"queue": config["QUEUE"]},
                        "webapp.people_tasks.screentime": {"queue": "video"}},
        "beat_schedule": {"sweep-expired-jobs": {"task": "webapp.tasks.sweep",
                                                 "schedule": float(config["SWEEP_INTERVAL"])}},
        "beat_schedule_filename": str(config["DATA_DIR"] / "celerybeat-schedule"),
        "include": ["webapp.tasks", "webapp.people_tasks"],
        "worker_hijack_root_logger": False,
    }


def celery_init_app(app: Flask) -> Celery:
    """A Celery app whose tasks run inside the Flask app context, stored in app.extensions."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(app))
    celery_app.set_default()
    celery_app.flask_app = app  # for signal handlers, which run outside any task
    app.extensions["celery"] = celery_app
    return celery_app
