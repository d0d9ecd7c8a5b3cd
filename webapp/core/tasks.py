"""What every task shares: the job folder in and out, stage-by-stage progress, failures as
messages, galleries opened once per process, models loaded at worker start, and the sweep.

Imported by workers only (``webapp.worker``): the web process sends tasks by name.

Tasks themselves live with their features and stay thin: a function from a job to ``ml`` and
back, run through ``run_job``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

import numpy as np
from celery import Task, shared_task
from celery.signals import worker_process_init
from flask import current_app
from PIL import Image

import ml
from ml.errors import GalleryBuilding, GalleryNotFound, LookalikeError
from ml.galleries.prepare import build_status, prepare_default_gallery
from ml.galleries.store import DEFAULT_GALLERY, Gallery, gallery_path
from ml.images import open_image
from webapp.core import jobs
from webapp.core.galleries import shown_name
from webapp.core.kinds import kinds

log = logging.getLogger(__name__)

MAX_SIDE = 1600  # photos are analysed and shown at most this big (faces stay large enough)
GALLERY_WAIT = 3 * 3600  # seconds a job waits for the default gallery's first version

_galleries: dict[str, tuple[Path, Gallery]] = {}


def wait_for_gallery(task: Task, name: str, stages: tuple[str, ...]) -> Gallery:
    """The gallery; while the default gallery is still being prepared, the job waits (stage
    ``gallery``, with the build's progress as ``detail``) instead of failing. Any other
    missing gallery fails the job at once, with the reason."""
    deadline = time.monotonic() + GALLERY_WAIT
    while True:
        try:
            return gallery(name)
        except GalleryNotFound:
            status = build_status(name)
            if status["state"] == "failed":
                raise GalleryNotFound(f"the '{name}' gallery could not be built: "
                                      f"{status['error']}") from None
            prepared = name == DEFAULT_GALLERY  # the only gallery built in the background
            if (not prepared or status["state"] not in ("building", "waiting")
                    or time.monotonic() > deadline):
                raise
        detail = "Preparing the celebrity gallery"
        if status["total"]:
            detail += f": {status['done']:,} of {status['total']:,} photos"
        show_progress(task, {"stage": "gallery", "step": stages.index("gallery") + 1,
                             "steps": len(stages), "detail": detail})
        time.sleep(2.0)


@shared_task(name="webapp.tasks.prepare_gallery")
def prepare_gallery() -> dict:
    """Build (or resume building) the default gallery when the app uses it and it is not
    complete: started by ``make run`` and by beat, so a crashed build resumes by itself."""
    name = current_app.config["GALLERY"]
    if name != DEFAULT_GALLERY or build_status(name)["state"] == "ready":
        return {"state": "ready" if name == DEFAULT_GALLERY else "not the default gallery"}
    try:
        people = prepare_default_gallery()
    except GalleryBuilding:
        return {"state": "building elsewhere"}
    return {"state": "ready", "identities": len(people.identities)}


def gone_gallery(name: str) -> str:
    return (f"the gallery '{shown_name(name)}' no longer exists (it was deleted); choose "
            "another one and try again")


def gallery(name: str) -> Gallery:
    """The gallery, opened once per process and reopened when a rebuild swaps its version."""
    version = gallery_path(name).resolve()
    cached = _galleries.get(name)
    if cached is None or cached[0] != version:
        _galleries[name] = (version, Gallery.open(name))
    return _galleries[name][1]


@worker_process_init.connect
def load_models(**_: object) -> None:
    """Warm up every job kind in this worker process (its tasks module's ``warm_up``: the
    networks it runs), so the first user's task does not pay for loading them."""
    from celery import current_app as celery

    app = celery.flask_app
    start = time.time()
    with app.app_context():
        for kind in kinds(app).values():
            warm_up = getattr(import_module(kind.tasks), "warm_up", None)
            if warm_up is not None:
                warm_up()
    log.info("models loaded in %.1f s", time.time() - start)


def warm_faces() -> None:
    """Load the face detector and embedder (what every kind runs)."""
    ml.detect(np.zeros((64, 64, 3), np.uint8))
    ml.get_embedder()


class Reporter:
    """Moves the task's state from stage to stage, timing each (``timings``, seconds)."""

    def __init__(self, task: Task, stages: tuple[str, ...]) -> None:
        self.task, self.stages = task, stages
        self.timings: dict[str, float] = {}
        self.stage: str | None = None
        self.since = time.perf_counter()

    def __call__(self, stage: str | None) -> None:
        now = time.perf_counter()
        if self.stage is not None:
            self.timings[self.stage] = round(now - self.since, 3)
        self.stage, self.since = stage, now
        if stage is not None:
            show_progress(self.task, {"stage": stage, "step": self.stages.index(stage) + 1,
                                      "steps": len(self.stages)})


def show_progress(task: Task, meta: dict) -> None:
    """Publish the task's progress; best effort: a result store that is down for a moment
    (Redis restarting) must not fail the work, whose result is written to the job's folder."""
    try:
        task.update_state(state="PROGRESS", meta=meta)
    except Exception:
        log.warning("progress of %s not published: the result store is unreachable",
                    task.request.id, exc_info=True)


def save(image: Image.Image, path: Path, **options: object) -> None:
    """Write a picture atomically: a re-run task never shows a reader half a file."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if path.suffix == ".jpg" else "PNG", **options)
    jobs.write_file(path, buffer.getvalue())


def load_photo(path: Path) -> Image.Image:
    """The upload, upright RGB, shrunk to ``MAX_SIDE``: what is analysed and shown."""
    image = open_image(path)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def run_job(task: Task, job_id: str, work: Callable[[Task, jobs.Job], dict]) -> dict:
    """Run ``work`` on the job; a deleted job ends quietly, a library error becomes a message
    the user sees (error.json) instead of a bare "failed"."""
    try:
        job = jobs.open_job(current_app.config["DATA_DIR"], job_id)
    except jobs.JobNotFound:
        return {"deleted": True}
    try:
        try:
            return work(task, job)
        except LookalikeError as exc:  # (an upload deleted under us reads as "no such file")
            job.write_error(str(exc))
            return {"error": str(exc)}
    except (jobs.JobNotFound, FileNotFoundError):  # deleted (or expired) while we worked
        if job.dir.exists():
            raise
        return {"deleted": True}


@shared_task(name="webapp.tasks.sweep")
def sweep() -> int:
    """Delete expired jobs (run by Celery beat every ``SWEEP_INTERVAL`` seconds)."""
    return jobs.sweep(current_app.config["DATA_DIR"],
                      scratch=tuple(current_app.extensions.get("scratch", ())))
