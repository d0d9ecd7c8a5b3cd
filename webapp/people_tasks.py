"""Celery tasks for issue 7: identify faces in a photo, measure screen time in a video.

``identify`` is a photo's worth of work and goes to the analysis queue (``QUEUE``) like the
lookalike task. ``screentime`` can run for minutes per video, so it goes to a queue of its own
(``VIDEO_QUEUE``, default ``video``) served by its own worker process: a long video never holds
up a photo behind it (``make run`` starts that worker; see the README).

Both reuse ``webapp.tasks``: models loaded at worker start, galleries opened once per process
and reopened when an edit swaps their version.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from celery import shared_task

from webapp import jobs
from webapp.tasks import gallery, load_photo, run_job

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes to the result backend


def gone_gallery(name: str) -> str:
    return (f"the gallery '{name}' no longer exists (it was deleted); choose another one and "
            "try again")


@shared_task(bind=True, name="webapp.people_tasks.identify")
def identify(self, job_id: str) -> dict:
    """One photo → every face named from the chosen gallery or "unknown", drawn on the photo."""
    return run_job(self, job_id, _identify)


def _identify(task, job: jobs.Job) -> dict:
    from ml.galleries.identify import identify, open_set_rule
    from ml.galleries.store import GalleryNotFound
    from ml.render.identified import draw_identifications

    name = job.meta["options"]["gallery"]
    task.update_state(state="PROGRESS", meta={"stage": "identify", "step": 1, "steps": 1})
    try:
        people = gallery(name)
    except GalleryNotFound:
        job.write_error(gone_gallery(name))
        return {"faces": 0}
    image = load_photo(job.input())
    image.save(job.dir / "photo.jpg", quality=90)
    array = np.asarray(image)
    found = identify(array, people)
    draw_identifications(array, found).save(job.dir / "identified.jpg", quality=92)
    thumbs = {i.name: i.thumbnail for i in people.identities}
    faces = [{**f.to_dict(), "thumbnail": thumbs.get(f.name) if f.known else None}
             for f in sorted(found, key=lambda f: f.box[0])]  # left to right, as people read
    notes = [] if found else ["No face was found in this photo."]
    job.write_result({"gallery": name, "width": image.width, "height": image.height,
                      "faces": faces, "known": sum(f.known for f in found),
                      "threshold": open_set_rule(people.embedder).distance, "notes": notes})
    return {"faces": len(faces)}


@shared_task(bind=True, name="webapp.people_tasks.screentime")
def screentime(self, job_id: str) -> dict:
    """One video → seconds on screen and appearances per gallery person, chart, sheet, CSV."""
    return run_job(self, job_id, _screentime)


def _screentime(task, job: jobs.Job) -> dict:
    from ml.galleries.store import GalleryNotFound
    from ml.video.screentime import VideoError, contact_sheet, screentime, timeline_chart, write_csv

    options = job.meta["options"]
    try:
        people = gallery(options["gallery"])
    except GalleryNotFound:
        job.write_error(gone_gallery(options["gallery"]))
        return {"people": 0}
    last = 0.0

    def progress(stage: str, done: int, total: int) -> None:
        """Frames done of total, as the stage/step/steps the job status reads (step - 1 =
        frames done); stops the work when the user deletes the job."""
        nonlocal last
        if not job.dir.exists():
            raise jobs.JobNotFound(job.id)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY or done == total:
            last = now
            task.update_state(state="PROGRESS", meta={"stage": stage, "step": done + 1,
                                                      "steps": max(1, total)})

    try:
        result = screentime(job.input(), people, fps=options["fps"],
                            max_seconds=options["max_seconds"], progress=progress)
    except VideoError as exc:
        job.write_error(str(exc).replace(f"{job.input()}: ", "The video: "))
        return {"people": 0}
    result.video = options["filename"]  # shown in the chart title and the JSON, never a path
    write_csv(result, job.dir / "screentime.csv")
    timeline_chart(result).save(job.dir / "timeline.png")
    contact_sheet(result).save(job.dir / "contact.jpg", quality=88)
    job.write_result({"gallery": options["gallery"], **result.to_dict()})
    return {"people": len(result.people)}
