"""Who does the child look like: the family page and ``POST /family`` (page and API)."""

from __future__ import annotations

from itertools import zip_longest

from flask import Blueprint, redirect, render_template, request, url_for

from ml.family.kinship import kinship_about
from webapp.core import jobs
from webapp.core.api import queued
from webapp.core.errors import UserError
from webapp.core.kinds import FileUrl, enqueue
from webapp.core.uploads import read_image

bp = Blueprint("family", __name__)
api_bp = Blueprint("family_api", __name__, url_prefix="/api/v1")


def start_family(form, files) -> jobs.Job:
    """2-6 photos, each with a name; the first is the person asked about (the child)."""
    # Row by row: the page sends every row's file field, empty ones included, so names and
    # files pair up by position; rows without a photo are left out.
    rows = zip_longest(files.getlist("image"), form.getlist("name")[:12])
    rows = [(f, (name or "").strip()[:40]) for f, name in rows
            if f is not None and (f.filename or f.content_length)]
    if not 2 <= len(rows) <= 6:
        raise UserError(f"upload 2 to 6 photos (got {len(rows)})")
    uploads = [f for f, _ in rows]
    names = [name or f"person {n + 1}" for n, (_, name) in enumerate(rows)]
    if len(set(names)) != len(names):
        raise UserError("give each person a different name")
    data = [read_image(f, f"{name}'s photo") for f, name in zip(uploads, names, strict=True)]
    return enqueue("family", data, {"names": names})


def form(error: str | None, status: int = 200):
    return render_template("family.html", error=error, kinship_about=kinship_about()), status


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    result["people"] = [{**p, "photo_url": file_url(p["photo"])} for p in result["people"]]
    return result


@bp.get("/family")
def page():
    return form(None)


@bp.post("/family")
def post():
    job = start_family(request.form, request.files)
    return redirect(url_for("pages.job", job_id=job.id), 303)


@api_bp.post("/family")
def family_api():
    return queued(start_family(request.form, request.files))
