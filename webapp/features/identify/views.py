"""Who is who: pick a gallery and a photo (``/identify``, ``POST /api/v1/identify``); every face
is named or "unknown" on the result page ``/identify/JOB``."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from webapp.core import jobs
from webapp.core.accounts import require_account
from webapp.core.api import queued
from webapp.core.galleries import chosen, shown_name
from webapp.core.kinds import FileUrl, enqueue
from webapp.core.pages import gallery_form, kind_page
from webapp.core.status import thumbnail_url
from webapp.core.uploads import form_field, read_image

bp = Blueprint("identify", __name__)
api_bp = Blueprint("identify_api", __name__, url_prefix="/api/v1")
bp.before_request(require_account)  # what it stores is the user's alone
api_bp.before_request(require_account)


def start(form: MultiDict, files: MultiDict) -> jobs.Job:
    picked = [f for f in files.getlist("image") if f.filename or f.content_length]
    data = read_image(picked[0] if picked else None)
    return enqueue("identify", [data], {"gallery": chosen(form)})


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    result["photo_url"] = file_url("photo.jpg")
    result["drawn_url"] = file_url("identified.jpg")
    result["faces"] = [{**f, "photo_url": thumbnail_url(result["gallery"], f.get("thumbnail"))}
                       for f in result["faces"]]
    result["gallery"] = shown_name(result["gallery"])
    return result


def form(error: str | None, status: int = 200):
    return gallery_form("identify.html", error, form_field("gallery"), status)


@bp.get("/identify")
def identify():
    return gallery_form("identify.html", asked=request.args.get("gallery"))


@bp.post("/identify")
def identify_post():
    job = start(request.form, request.files)
    return redirect(url_for("identify.identify_job", job_id=job.id), 303)


@bp.get("/identify/<job_id>")
def identify_job(job_id: str):
    return kind_page(job_id, "identify")


@api_bp.post("/identify")
def identify_api():
    return queued(start(request.form, request.files), "identify.identify_job")
