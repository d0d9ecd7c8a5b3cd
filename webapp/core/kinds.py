"""The registry of job kinds: what the core needs to queue, route, report and show any job.

A feature registers its kind once (``register(app, JobKind(...))`` in its ``init_app``); the core
then queues it (``enqueue``), routes its task to its queue (``webapp.core.celery_app``), reports
its stages (``webapp.core.status``) and serves its result page, without knowing the feature.

The kind carries everything the core needs, so adding one touches only its feature package:
its task and the module defining it, as strings (the web process sends the task by name and
never imports that module, so it never loads torch or a model; workers import it, in
``webapp.worker``, and run its ``warm_up()``, if it has one, once per process), its queue, its
stages and how people read them, the files its jobs may serve, whether it needs an account, its
result page (title, template or a page of its own) and the URLs its result gets. Its nav entry
is the feature's (``webapp.core.pages.nav``): not every feature is a kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import Flask, current_app
from flask_login import current_user
from kombu.exceptions import OperationalError

from webapp.core import jobs
from webapp.core.accounts import current_owner
from webapp.core.errors import UserError

FileUrl = Callable[[str | None], str | None]


@dataclass(frozen=True)
class JobKind:
    name: str  # stored in the job's meta ("analyze", "family", ...)
    task: str  # the Celery task's name; it is sent with the job id
    tasks: str  # the module defining the task, imported by workers only
    stages: tuple[str, ...]  # the progress stages it reports, in order (shown by the page)
    files: str  # a regex: the file names its jobs serve (/api/v1/jobs/<id>/files/<name>)
    stage_text: Mapping[str, str] = field(default_factory=dict)  # how people read a stage
    title: str = "Your results"  # the heading of its result page
    needs_account: bool = False  # only a signed-in user may start one
    queue: str = "analysis"  # "analysis" = the QUEUE setting (gpu or cpu), or a queue name
    page: str | None = None  # endpoint of its own result page; None: the core's /jobs/<id>
    template: str = "job.html"  # the template of the core's result page
    # The stored result plus URLs of its files and thumbnails (the worker knows no URLs).
    result_urls: Callable[[jobs.Job, dict, FileUrl], dict] = field(
        default=lambda job, result, file_url: result)


def register(app: Flask, kind: JobKind) -> None:
    re.compile(kind.files)  # a mistyped pattern fails at start, not on the first download
    app.extensions.setdefault("job_kinds", {})[kind.name] = kind


def kinds(app: Flask | None = None) -> dict[str, JobKind]:
    return (app or current_app).extensions.get("job_kinds", {})


def queue_of(app: Flask, kind: JobKind) -> str:
    return app.config["QUEUE"] if kind.queue == "analysis" else kind.queue


def enqueue(kind: str, uploads: list[bytes], options: dict, ttl: int | None = None) -> jobs.Job:
    """Store the uploads as a new job and queue its task (routed by the Celery app)."""
    config = current_app.config
    if kinds()[kind].needs_account and not current_user.is_authenticated:
        raise UserError("sign in (or send an API key) to do this", 401)
    job = jobs.create(config["DATA_DIR"], kind, uploads, options, ttl or config["JOB_TTL"],
                      owner=current_owner())
    try:
        celery = current_app.extensions["celery"]
        celery.send_task(kinds()[kind].task, args=[job.id], task_id=job.id)
    except OperationalError:  # the broker is down (restarting, say): keep nothing, say so
        jobs.delete(config["DATA_DIR"], job.id)
        raise UserError("The work queue cannot be reached just now, so nothing was kept: "
                        "please try again in a minute.", 503) from None
    return job
