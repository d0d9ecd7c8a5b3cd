"""The enrolment task: a person's photos → their faces found and embedded → the gallery written
(a new gallery, or a person added), under the gallery's write lock like every writer.

The request has judged everything that needs no model (``store``); what only the faces can say
(no face in a photo, in any photo) is the job's result or its error, naming the photos.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from celery import Task, shared_task
from flask import current_app

from ml.errors import GalleryBuilding, GalleryNotFound, LookalikeError, NoFaces
from ml.galleries.build import add, build
from ml.galleries.store import display_name, gallery_lock, gallery_path
from webapp.core import jobs
from webapp.core.galleries import shown_name
from webapp.core.tasks import Reporter, run_job, warm_faces
from webapp.features.galleries import STAGES, TASK

# How long a job waits for another writer of the same gallery (a CLI build may take long).
LOCK_WAIT = 600.0
# The library's progress stages, as the job's stages.
STAGE_OF = {"embedding": "faces", "indexing": "gallery", "thumbnails": "gallery"}


@shared_task(bind=True, name=TASK)
def enrol(self, job_id: str) -> dict:
    """A person's photos into one of the user's galleries (created with them, or added to)."""
    return run_job(self, job_id, _enrol)


def _enrol(task: Task, job: jobs.Job) -> dict:
    if job.result() is not None:  # re-delivered after it finished: the inputs are gone
        return {"done": True}
    options = job.meta["options"]
    stored, folder, name = options["gallery"], options["person"], shown_name(options["gallery"])
    person = display_name(folder)
    report = Reporter(task, STAGES)
    report("faces")

    def progress(stage: str, done: int, total: int) -> None:
        if STAGE_OF.get(stage, report.stage) != report.stage:
            report(STAGE_OF[stage])

    try:
        with gallery_lock(stored, wait=LOCK_WAIT), staged(job, folder) as (root, labels):
            if options["create"]:
                if gallery_path(stored).is_symlink():  # made meanwhile (another job, the CLI)
                    raise LookalikeError(f"a gallery named '{name}' already exists")
                try:
                    written = build(stored, [root], progress=progress,
                                    embedder="drawn" if options.get("drawn") else None)
                except NoFaces:  # no face in any photo: build writes nothing
                    raise NoFaces(f"no face was found in {photo_list(labels.values())} of "
                                  f"{person}: the gallery '{name}' was not created") from None
            else:
                if not gallery_path(stored).is_symlink():
                    raise GalleryNotFound(f"the gallery '{name}' no longer exists (it was "
                                          "deleted): nobody was added")
                written = add(stored, [root], progress=progress)
            added = enrolment(person, labels, written.report)
    except GalleryBuilding:
        raise LookalikeError(f"the gallery '{name}' is being changed by another process: try "
                             "again in a few minutes") from None
    finally:
        for n in range(job.meta["inputs"]):  # the photos are in the gallery now (or refused)
            job.input(n).unlink(missing_ok=True)
    report(None)
    job.write_result({"gallery": stored, "created": options["create"], "added": added})
    return {"used": added["used"]}


@contextmanager
def staged(job: jobs.Job, folder: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """The job's photos as ``<tmp>/<Person_Name>/photo-N.ext`` (the layout build/add read) in
    the ``enrol`` scratch folder, with the user's file name of each; removed after."""
    root = Path(current_app.config["DATA_DIR"]) / "enrol" / secrets.token_hex(8)
    person = root / folder
    person.mkdir(parents=True, mode=0o700)
    labels = {}
    options = job.meta["options"]
    try:
        for n, (suffix, label) in enumerate(zip(options["suffixes"], options["labels"],
                                                strict=True)):
            path = person / f"photo-{n + 1}{suffix}"
            shutil.copyfile(job.input(n), path)
            labels[str(path)] = label
        yield root, labels
    finally:
        shutil.rmtree(root, ignore_errors=True)


def photo_list(labels) -> str:
    labels = list(labels)
    return f"the photo {labels[0]}" if len(labels) == 1 else f"any photo ({', '.join(labels)})"


def enrolment(person: str, labels: dict[str, str], report: dict) -> dict:
    """What became of the uploaded photos, from the gallery report (which lists sources by
    path): the user's file names of the photos with no face, unreadable, with several faces."""
    def ours(items: list[str]) -> list[str]:
        return [label for item in items for path, label in labels.items()
                if item.startswith(path)]

    no_face = ours(report.get("no_face", []))
    unreadable = ours(report.get("unreadable", []))
    used = len(labels) - len(no_face) - len(unreadable)
    if used <= 0:
        raise NoFaces(f"no face was found in {photo_list(labels.values())} of {person}: "
                      "nobody was added")
    return {"person": person, "photos": len(labels), "used": used, "no_face": no_face,
            "unreadable": unreadable, "several_faces": ours(report.get("ambiguous", []))}


warm_up = warm_faces  # once per worker process: the detector and embedder
