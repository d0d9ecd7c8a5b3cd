"""Where a job stands, for the API and the pages' progress bars: from its folder (result or
error file) and its Celery task state, with its kind's stages and result URLs."""

from __future__ import annotations

import logging

from flask import current_app, url_for

from webapp.core import jobs
from webapp.core.galleries import shown_name
from webapp.core.kinds import kinds

log = logging.getLogger(__name__)


def job_status(job: jobs.Job) -> dict:
    kind = kinds().get(job.kind)
    body: dict = {"job": job.id, "kind": job.kind, "expires": round(job.meta["expires"]),
                  "options": job.meta["options"], "progress": None, "result": None,
                  "stages": list(kind.stages) if kind else []}
    if finished(job, body):
        return body
    task = current_app.extensions["celery"].AsyncResult(job.id)
    try:
        meta = task.backend.get_task_meta(task.id)  # state and info in one read, not two
    except Exception:  # the result store is down (Redis restarting): the job itself is kept
        log.warning("job %s: the result store cannot be reached", job.id, exc_info=True)
        body.update(status="queued", progress=0.0,
                    detail="the work queue cannot be reached just now; your job is kept")
        return body
    state, info = meta["status"], meta.get("result")
    if state == "PROGRESS" and isinstance(info, dict) and "stage" in info:
        body.update(status="running", stage=info["stage"],
                    progress=round((info["step"] - 1) / info["steps"], 3),
                    step=info["step"], steps=info["steps"])
        if info.get("detail"):
            body["detail"] = info["detail"]
    elif state == "RETRY":
        body.update(status="running", stage="starting", progress=0.0)
    elif state == "FAILURE":
        body.update(status="failed", error="the analysis failed unexpectedly; please try again")
    elif state == "SUCCESS":
        # Read the files again: the task may have written its result after the first read.
        if not finished(job, body):  # deleted meanwhile, or a lost file
            body.update(status="failed", error="the job finished without a result")
    else:
        body.update(status="queued", progress=0.0)
    return body


def finished(job: jobs.Job, body: dict) -> bool:
    """Fill ``body`` from the job's result or error file; False while it has neither."""
    result, error = job.result(), job.error()
    if result is not None:
        body.update(status="done", progress=1.0, result=with_urls(job, result))
    elif error is not None:
        body.update(status="failed", error=error["error"])
    return result is not None or error is not None


def with_urls(job: jobs.Job, result: dict) -> dict:
    """The stored result plus the URLs of its pictures (its kind knows which)."""

    def file_url(name: str | None) -> str | None:
        if name is None or not (job.dir / name).exists():
            return None
        return url_for("api.job_file", job_id=job.id, name=name)

    kind = kinds().get(job.kind)
    return kind.result_urls(job, dict(result), file_url) if kind else dict(result)


def thumbnail_url(gallery: str, file: str | None) -> str | None:
    """Where a gallery person's thumbnail is served (lookalikes, identify, galleries); the
    gallery by its stored name or the one its owner sees."""
    return url_for("api.thumbnail", gallery=shown_name(gallery), file=file) if file else None
