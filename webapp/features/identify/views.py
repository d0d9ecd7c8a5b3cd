"""Who is who: pick a gallery and a photo, or up to ``MAX_STILLS`` stills of one film
(``/identify``, ``POST /api/v1/identify``, ``image`` repeated); every face is named or "unknown"
on the result page ``/identify/JOB``, and across stills, people seen without a face are named
by their bodies."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from webapp.core import jobs
from webapp.core.accounts import require_account
from webapp.core.api import queued
from webapp.core.errors import UserError
from webapp.core.galleries import chosen, shown_name
from webapp.core.kinds import FileUrl, enqueue
from webapp.core.pages import gallery_form, kind_page
from webapp.core.status import thumbnail_url
from webapp.core.uploads import form_field, read_image

bp = Blueprint("identify", __name__)
api_bp = Blueprint("identify_api", __name__, url_prefix="/api/v1")
bp.before_request(require_account)  # what it stores is the user's alone
api_bp.before_request(require_account)


MAX_STILLS = 12


def start(form: MultiDict, files: MultiDict) -> jobs.Job:
    picked = [f for f in files.getlist("image") if f.filename or f.content_length]
    if len(picked) > MAX_STILLS:
        raise UserError(f"{len(picked)} photos: give at most {MAX_STILLS} stills at a time")
    if len(picked) <= 1:
        uploads = [read_image(picked[0] if picked else None)]
    else:
        uploads = [read_image(f, f"Photo {n}") for n, f in enumerate(picked, 1)]
    return enqueue("identify", uploads, {"gallery": chosen(form), "stills": len(uploads)})


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    stills = result.get("stills") or [{}]  # results written before stills came: one photo
    named = "{}-{}.jpg" if "stills" in result else "{}.jpg"
    for n, still in enumerate(stills, 1):
        still["photo_url"] = file_url(named.format("photo", n))
        still["drawn_url"] = file_url(named.format("identified", n))
    result["stills"] = stills
    result["photo_url"], result["drawn_url"] = stills[0]["photo_url"], stills[0]["drawn_url"]
    for key in ("faces", "bodies"):
        result[key] = [{**f, "photo_url": thumbnail_url(result["gallery"], f.get("thumbnail"))}
                       for f in result.get(key, [])]
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
