"""The screen-time task: one video → seconds on screen and appearances per gallery person, a
timeline chart, a contact sheet and a CSV. It can run for minutes, so its kind has a queue of its
own (``video``) served by its own worker: a long video never holds up a photo behind it."""

from __future__ import annotations

import time

from celery import shared_task

from ml.errors import GalleryNotFound, VideoError
from ml.video.screentime import contact_sheet, timeline_chart, write_csv
from ml.video.screentime import screentime as measure
from webapp.core import jobs
from webapp.core.tasks import gallery, gone_gallery, run_job, show_progress, warm_faces
from webapp.features.screentime import TASK

PROGRESS_EVERY = 0.5  # seconds between progress writes to the result backend


@shared_task(bind=True, name=TASK)
def screentime(self, job_id: str) -> dict:
    """One video → seconds on screen and appearances per gallery person, chart, sheet, CSV."""
    return run_job(self, job_id, _screentime)


def _screentime(task, job: jobs.Job) -> dict:
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
            show_progress(task, {"stage": stage, "step": done + 1, "steps": max(1, total)})

    try:
        result = measure(job.input(), people, fps=options["fps"],
                         max_seconds=options["max_seconds"],
                         bodies=options.get("bodies", True), progress=progress)
    except VideoError as exc:
        job.write_error(str(exc).replace(f"{job.input()}: ", "The video: "))
        return {"people": 0}
    result.video = options["filename"]  # shown in the chart title and the JSON, never a path
    write_csv(result, job.dir / "screentime.csv")
    timeline_chart(result).save(job.dir / "timeline.png")
    contact_sheet(result).save(job.dir / "contact.jpg", quality=88)
    job.write_result({"gallery": options["gallery"], **result.to_dict()})
    return {"people": len(result.people)}


warm_up = warm_faces  # once per worker process: the detector and embedder
