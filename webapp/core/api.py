"""The core of the JSON API under ``/api/v1``: any job's status, files and deletion, gallery
thumbnails, and the OpenAPI document. Features add their own routes (``/analyze``, ...).

JSON clients send no CSRF token (``webapp.core.security`` refuses cross-site changes). A
visitor's job is reached by its random id alone; a signed-in user's job by its owner alone.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, request, send_file, url_for
from werkzeug.exceptions import NotFound

from ml.galleries.prepare import build_status
from webapp.core import jobs
from webapp.core.accounts import current_owner
from webapp.core.galleries import existing, protected, stored_name
from webapp.core.kinds import kinds
from webapp.core.openapi import document
from webapp.core.status import job_status

bp = Blueprint("api", __name__, url_prefix="/api/v1")

THUMB_FILE = re.compile(r"[a-z0-9_]{1,120}\.jpg")
GONE = "no such job: it was deleted, it expired, or the id is wrong"


def open_job(job_id: str) -> jobs.Job:
    """The job, if the current user may see it: a visitor's job is anyone's who has its id; a
    signed-in user's is theirs alone (404 to everyone else)."""
    try:
        job = jobs.open_job(current_app.config["DATA_DIR"], job_id)
    except jobs.JobNotFound:
        abort(404, description=GONE)
    owner = job.meta.get("owner")
    if owner is not None and owner != current_owner():
        abort(404, description=GONE)
    return job


def delete_job_now(job_id: str) -> bool:
    """Delete the job the current user may see; False if there is none."""
    try:
        open_job(job_id)
    except NotFound:
        return False
    if not jobs.delete(current_app.config["DATA_DIR"], job_id):
        return False
    current_app.extensions["celery"].AsyncResult(job_id).forget()
    return True


def queued(job: jobs.Job, page: str = "pages.job"):
    """202 with where to poll the job and where its page is."""
    url = url_for("api.job", job_id=job.id)
    return jsonify(job=job.id, status_url=url, page_url=url_for(page, job_id=job.id)), \
        202, {"Location": url}


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    return jsonify(job_status(open_job(job_id)))


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str):
    if not delete_job_now(job_id):
        abort(404, description=GONE)
    return "", 204


@bp.get("/jobs/<job_id>/files/<name>")
def job_file(job_id: str, name: str):
    job = open_job(job_id)
    kind = kinds().get(job.kind)
    try:
        path = job.file(name, kind.files if kind else "(?!)")
    except jobs.JobNotFound:
        abort(404, description="no such file")
    if not path.is_file():
        abort(404, description="no such file (yet)")
    download = request.args.get("download") == "1"
    return send_file(path, as_attachment=download,
                     download_name=f"lookalike-{name}" if download else None, max_age=0)


@bp.get("/galleries/<gallery>/thumbs/<file>")
def thumbnail(gallery: str, file: str):
    """A gallery identity's thumbnail; only gallery names and thumbnail names are accepted.
    A shared gallery's may be cached by anyone; a user's own are never cached (the same URL
    shows each user their own family: ``private, no-store`` from ``security``)."""
    if not THUMB_FILE.fullmatch(file):
        abort(404, description="no such thumbnail")
    path = existing(gallery).resolve() / "thumbs" / file
    if not path.is_file():
        abort(404, description="no such thumbnail")
    return send_file(path, max_age=3600 if gallery in protected() else None)


@bp.get("/galleries/<gallery>/build")
def gallery_build(gallery: str):
    """Where a gallery's build stands (the default gallery is prepared in the background)."""
    # the built-in ones exist before they are built; any other must be the user's (404)
    return jsonify(build_status(gallery if gallery in protected() else stored_name(gallery)))


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
