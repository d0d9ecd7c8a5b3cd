"""Screen time: a video and a gallery (``/screentime``, ``POST /api/v1/screentime``); the result
page ``/screentime/JOB`` shows seconds and appearances per person, the timeline, a contact sheet.

Videos are checked in the request (``ml.video.probe.open_video`` on the saved upload: a
video OpenCV decodes, with frames, no longer than ``MAX_VIDEO_SECONDS``), so bad input is a 4xx
with a message, never a failed job.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from ml.errors import VideoError
from webapp.core import jobs
from webapp.core.accounts import require_account
from webapp.core.api import queued
from webapp.core.errors import UserError, user_error, wants_json
from webapp.core.galleries import chosen, shown_name
from webapp.core.kinds import FileUrl, enqueue
from webapp.core.pages import gallery_form, kind_page
from webapp.core.uploads import form_field, number_field, yes_or_no

bp = Blueprint("screentime", __name__)
api_bp = Blueprint("screentime_api", __name__, url_prefix="/api/v1")
bp.before_request(require_account)  # what it stores is the user's alone
api_bp.before_request(require_account)

DEFAULT_FPS = 2.0
MAX_FPS = 10.0


def start(form: MultiDict, files: MultiDict) -> jobs.Job:
    """Save the video under a random name, check it decodes and is short enough, queue it."""
    config = current_app.config
    name = chosen(form)
    fps = number_field(form, "fps", DEFAULT_FPS, 0.1, MAX_FPS, float, " frames per second")
    bodies = yes_or_no(form.get("bodies"), "bodies", default=True)
    upload: FileStorage | None = next(
        (f for f in files.getlist("video") if f.filename or f.content_length), None)
    if upload is None:
        raise UserError("The video: no file given, choose a video")
    staging = Path(config["DATA_DIR"]) / "uploads"
    staging.mkdir(exist_ok=True)
    temp = staging / f"video-{secrets.token_hex(16)}"
    try:
        upload.save(temp)
        if temp.stat().st_size == 0:
            raise UserError("The video: the file is empty")
        from ml.video.probe import open_video  # OpenCV (16 MB): on the first video only

        try:
            video = open_video(temp, config["MAX_VIDEO_SECONDS"])
        except VideoError as exc:
            error = user_error(exc)
            raise UserError(str(exc).replace(f"{temp}: ", "The video: "), error.status) from None
        filename = Path(upload.filename or "video").name[:80] or "video"
        options = {"gallery": name, "fps": fps, "bodies": bodies, "filename": filename,
                   "duration": round(video.duration, 2),
                   "max_seconds": config["MAX_VIDEO_SECONDS"]}
        # Time to work through the video on a slow CPU, on top of the usual time to look.
        job = enqueue("screentime", [], options,
                      ttl=config["JOB_TTL"] + int(video.duration * fps))
        os.replace(temp, job.input())
    finally:
        temp.unlink(missing_ok=True)
    return job


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    result["timeline_url"] = file_url("timeline.png")
    result["sheet_url"] = file_url("contact.jpg")
    result["csv_url"] = file_url("screentime.csv")
    result["gallery"] = shown_name(result["gallery"])
    return result


def form(error: str | None, status: int = 200):
    return gallery_form("screentime.html", error, form_field("gallery"), status)


def too_large(_: RequestEntityTooLarge):
    message = f"The video is too large: the limit is {current_app.config['MAX_VIDEO_MB']} MB."
    return (jsonify(error=message), 413) if wants_json() else form(message, 413)


bp.register_error_handler(RequestEntityTooLarge, too_large)
api_bp.register_error_handler(RequestEntityTooLarge, too_large)


@bp.get("/screentime")
def screentime():
    return gallery_form("screentime.html", asked=request.args.get("gallery"))


@bp.post("/screentime")
def screentime_post():
    job = start(request.form, request.files)
    return redirect(url_for("screentime.screentime_job", job_id=job.id), 303)


@bp.get("/screentime/<job_id>")
def screentime_job(job_id: str):
    return kind_page(job_id, "screentime")


@api_bp.post("/screentime")
def screentime_api():
    return queued(start(request.form, request.files), "screentime.screentime_job")
