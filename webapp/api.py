"""The JSON API under ``/api/v1``: queue analyses and family comparisons, poll them, delete them.

Every route is listed in ``openapi.json`` (``webapp/openapi.py``); a test walks the URL map and
the document both ways. JSON clients send no CSRF token: the API takes no cookies' word for
anything, a job id is the only key to a job.
"""

from __future__ import annotations

import io
import re
from itertools import zip_longest

import numpy as np
from flask import Blueprint, abort, current_app, jsonify, request, send_file, url_for
from PIL import Image

from webapp import jobs
from webapp.uploads import UploadError, read_image

bp = Blueprint("api", __name__, url_prefix="/api/v1")

THUMB_FILE = re.compile(r"[a-z0-9_]{1,120}\.jpg")
MAX_BLUR = 40
TRUE = {"1", "true", "yes", "on"}


class BadRequest(ValueError):
    """A parameter is wrong; answered as 400 with the message."""


def int_param(form, name: str, default: int, low: int, high: int) -> int:
    raw = form.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be between {low} and {high}, got {value}")
    return value


def analyze_options(form) -> dict:
    config = current_app.config
    return {"k": int_param(form, "k", config["DEFAULT_K"], 1, config["MAX_K"]),
            "actors_only": form.get("actors_only", "").strip().lower() in TRUE,
            "blur": int_param(form, "blur", config["DEFAULT_BLUR"], 0, MAX_BLUR),
            "gallery": config["GALLERY"], "max_faces": config["MAX_FACES"]}


def start_analysis(form, files) -> jobs.Job:
    """Validate the upload and the options, store them as a job, queue the task."""
    options = analyze_options(form)
    chosen = [f for f in files.getlist("image") + files.getlist("camera")  # camera: the page's
              if f.filename or f.content_length]                           # selfie button
    data = read_image(chosen[0] if chosen else None)
    return enqueue("analyze", [data], options)


def start_family(form, files) -> jobs.Job:
    """2-6 photos, each with a name; the first is the person asked about (the child)."""
    # Row by row: the page sends every row's file field, empty ones included, so names and
    # files pair up by position; rows without a photo are left out.
    rows = zip_longest(files.getlist("image"), form.getlist("name")[:12])
    rows = [(f, (name or "").strip()[:40]) for f, name in rows
            if f is not None and (f.filename or f.content_length)]
    if not 2 <= len(rows) <= 6:
        raise BadRequest(f"upload 2 to 6 photos (got {len(rows)})")
    uploads = [f for f, _ in rows]
    names = [name or f"person {n + 1}" for n, (_, name) in enumerate(rows)]
    if len(set(names)) != len(names):
        raise BadRequest("give each person a different name")
    data = [read_image(f, f"{name}'s photo") for f, name in zip(uploads, names, strict=True)]
    return enqueue("family", data, {"names": names})


def enqueue(kind: str, uploads: list[bytes], options: dict) -> jobs.Job:
    config = current_app.config
    job = jobs.create(config["DATA_DIR"], kind, uploads, options, config["JOB_TTL"])
    celery = current_app.extensions["celery"]
    celery.send_task(f"webapp.tasks.{kind}", args=[job.id], task_id=job.id,
                     queue=config["QUEUE"])
    return job


def open_job(job_id: str) -> jobs.Job:
    try:
        return jobs.open_job(current_app.config["DATA_DIR"], job_id)
    except jobs.JobNotFound:
        abort(404, description="no such job: it was deleted, it expired, or the id is wrong")


def job_status(job: jobs.Job) -> dict:
    """Where the job stands, from its folder (result/error files) and its Celery task state."""
    body: dict = {"job": job.id, "kind": job.kind, "expires": round(job.meta["expires"]),
                  "options": job.meta["options"], "progress": None, "result": None}
    result, error = job.result(), job.error()
    if result is not None:
        body.update(status="done", progress=1.0, result=with_urls(job, result))
        return body
    if error is not None:
        body.update(status="failed", error=error["error"])
        return body
    task = current_app.extensions["celery"].AsyncResult(job.id)
    meta = task.backend.get_task_meta(task.id)  # state and info in one read, not two
    state, info = meta["status"], meta.get("result")
    if state == "PROGRESS" and isinstance(info, dict) and "stage" in info:
        body.update(status="running", stage=info["stage"],
                    progress=round((info["step"] - 1) / info["steps"], 3),
                    step=info["step"], steps=info["steps"])
    elif state in ("STARTED", "RETRY"):
        body.update(status="running", stage="starting", progress=0.0)
    elif state == "FAILURE":
        body.update(status="failed", error="the analysis failed unexpectedly; please try again")
    elif state == "SUCCESS":  # finished but wrote nothing: deleted meanwhile, or a lost file
        body.update(status="failed", error="the job finished without a result")
    else:
        body.update(status="queued", progress=0.0)
    return body


def with_urls(job: jobs.Job, result: dict) -> dict:
    """The stored result plus the URLs of its pictures (the worker knows no URLs)."""
    out = dict(result)

    def file_url(name: str | None) -> str | None:
        if name is None or not (job.dir / name).exists():
            return None
        return url_for("api.job_file", job_id=job.id, name=name)

    def lookalike(m: dict) -> dict:
        photo = (url_for("api.thumbnail", gallery=m["gallery"], file=m["thumbnail"])
                 if m.get("thumbnail") else None)
        return {"name": m["name"], "similarity": m["similarity"], "actor": m["actor"],
                "photo_url": photo}

    if job.kind == "analyze":
        faces = []
        for face in result["faces"]:
            faces.append({**face,
                          "lookalikes": [lookalike(m) for m in face["lookalikes"]],
                          "actor_lookalikes": [lookalike(m) for m in face["actor_lookalikes"]],
                          "share_card_url": file_url(face.get("share_card"))})
            if job.meta["options"]["actors_only"]:  # the asked-for list is `lookalikes`
                faces[-1]["lookalikes"] = faces[-1]["actor_lookalikes"]
                faces[-1]["no_close_match"] = face["actor_no_close_match"]
        out["faces"] = faces
        out["photo_url"] = file_url("photo.jpg")
        out["portrait_url"] = file_url("portrait.jpg")
        out["cutout_url"] = file_url("cutout.png")
        reblur = url_for("api.reblur", job_id=job.id) if out["portrait_url"] else None
        out["reblur_url"] = reblur  # + ?strength=0-40&format=jpeg|png
        out["portrait_png_url"] = f"{reblur}?format=png" if reblur else None
    elif job.kind == "family":
        out["people"] = [{**p, "photo_url": file_url(p["photo"])} for p in result["people"]]
    else:  # identify, screentime (webapp/people.py)
        from webapp.people import with_urls as people_urls

        out = people_urls(job, result, file_url)
    return out


def queued(job: jobs.Job, page: str = "pages.job"):
    """202 with where to poll the job and where its page is."""
    url = url_for("api.job", job_id=job.id)
    return jsonify(job=job.id, status_url=url, page_url=url_for(page, job_id=job.id)), \
        202, {"Location": url}


@bp.post("/analyze")
def analyze():
    return queued(start_analysis(request.form, request.files))


@bp.post("/family")
def family():
    return queued(start_family(request.form, request.files))


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    return jsonify(job_status(open_job(job_id)))


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str):
    if not jobs.delete(current_app.config["DATA_DIR"], job_id):
        abort(404, description="no such job: it was deleted, it expired, or the id is wrong")
    current_app.extensions["celery"].AsyncResult(job_id).forget()
    return "", 204


@bp.get("/jobs/<job_id>/files/<name>")
def job_file(job_id: str, name: str):
    job = open_job(job_id)
    try:
        path = job.file(name)
    except jobs.JobNotFound:
        abort(404, description="no such file")
    if not path.is_file():
        abort(404, description="no such file (yet)")
    download = request.args.get("download") == "1"
    return send_file(path, as_attachment=download,
                     download_name=f"lookalike-{name}" if download else None, max_age=0)


@bp.get("/jobs/<job_id>/portrait")
def reblur(job_id: str):
    """The portrait re-blurred at ``strength`` (0-40) as JPEG or PNG, from the stored mask.

    Re-blurring is one filter over the stored person mask (no network), cheap enough to answer
    in the request, so the strength slider responds at once; each variant is cached in the job.
    """
    job = open_job(job_id)
    try:
        strength = int_param(request.args, "strength", job.meta["options"]["blur"], 0, MAX_BLUR)
    except BadRequest as exc:
        abort(400, description=str(exc))
    fmt = request.args.get("format", "jpeg")
    if fmt not in ("jpeg", "png"):
        abort(400, description="'format' must be jpeg or png")
    ext = "jpg" if fmt == "jpeg" else "png"
    path = job.dir / f"portrait-s{strength}.{ext}"
    if not path.exists():
        mask_path, photo_path = job.dir / "mask.png", job.dir / "photo.jpg"
        if not mask_path.exists() or not photo_path.exists():
            abort(404, description="this job has no portrait")
        from ml.portrait.model import blur_background

        mask = np.asarray(Image.open(mask_path), np.float32) / 255.0
        out = blur_background(np.asarray(Image.open(photo_path).convert("RGB")), mask, strength,
                              False)
        picture = Image.fromarray(out) if isinstance(out, np.ndarray) else out
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG" if ext == "jpg" else "PNG", quality=92,
                                    compress_level=1)
        try:
            jobs.write_file(path, buffer.getvalue())
        except jobs.JobNotFound:
            abort(404, description="no such job: it was deleted, it expired, or the id is wrong")
    download = request.args.get("download") == "1"
    return send_file(path, as_attachment=download,
                     download_name=f"lookalike-portrait.{ext}" if download else None, max_age=0)


@bp.get("/galleries/<gallery>/thumbs/<file>")
def thumbnail(gallery: str, file: str):
    """A gallery identity's thumbnail; only gallery names and thumbnail names are accepted."""
    from ml.galleries.store import gallery_path

    if not THUMB_FILE.fullmatch(file):
        abort(404, description="no such thumbnail")
    try:
        folder = gallery_path(gallery).resolve() / "thumbs"
    except ValueError:
        abort(404, description="no such gallery")
    path = folder / file
    if not path.is_file():
        abort(404, description="no such thumbnail")
    return send_file(path, max_age=3600)


@bp.get("/openapi.json")
def openapi():
    from webapp.openapi import document

    return jsonify(document())


@bp.errorhandler(UploadError)
def upload_error(exc: UploadError):
    return jsonify(error=str(exc)), exc.status


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest):
    return jsonify(error=str(exc)), 400
