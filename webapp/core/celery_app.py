"""Celery set up the way Celery's "Using Celery with Flask" guide does (``celery_init_app``).

With nothing configured, the broker and the result backend are SQLite files in the data
directory (kombu's SQLAlchemy transport): one machine, no servers. Production sets
``LOOKALIKE_BROKER_URL`` / ``LOOKALIKE_RESULT_BACKEND`` to Redis.

Each job kind's task goes to its kind's queue (``route``, from the registry in
``webapp.core.kinds``): analyses to the queue named by the ``QUEUE`` setting (``gpu`` on CUDA
machines, else ``cpu``), screen time (minutes per video) to ``video``, served by a worker of its
own (``-Q video``), so photos never wait behind a film; the periodic sweep goes to ``cpu``. GPU
workers consume ``gpu,cpu``; CPU workers ``cpu``.
"""

from __future__ import annotations

from celery import Celery, Task, current_app
from flask import Flask
from kombu import Exchange, Queue
from kombu.transport import sqlalchemy as kombu_sqlalchemy

from webapp.core.kinds import kinds, queue_of

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
        # No result-store write before a task's body: one that fails (Redis restarting just
        # then) marks a job that never ran as failed. The first stage's progress says running.
        "task_track_started": False,
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
        # Routing in one place: each job kind's task to its kind's queue (core/kinds.py).
        "task_routes": (route,),
        "beat_schedule": {"sweep-expired-jobs": {"task": "webapp.tasks.sweep",
                                                 "schedule": float(config["SWEEP_INTERVAL"])},
                          "prepare-default-gallery": {"task": "webapp.tasks.prepare_gallery",
                                                      "schedule": 300.0}},
        "beat_schedule_filename": str(config["DATA_DIR"] / "celerybeat-schedule"),
        "worker_hijack_root_logger": False,
    }


# The core's own tasks: the sweep is quick; preparing the gallery is long work, kept off the
# queue that photos use.
CORE_QUEUES = {"webapp.tasks.sweep": "cpu", "webapp.tasks.prepare_gallery": "video"}


def route(name: str, args, kwargs, options, task=None, **_: object) -> dict | None:
    """The queue of a task: its job kind's (analysis: the QUEUE setting, or e.g. ``video``),
    else the core's table, else ``cpu``."""
    app = current_app.flask_app
    for kind in kinds(app).values():
        if kind.task == name:
            return {"queue": queue_of(app, kind)}
    return {"queue": CORE_QUEUES.get(name, "cpu")}


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
