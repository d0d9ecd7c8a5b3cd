"""Which celebrity do you look like: the upload page, ``POST /analyze`` (page and API) and the
portrait re-blurred at another strength."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from PIL import Image

from ml.galleries.ranking import MAX_PROFILE_PHOTOS
from webapp.core import jobs
from webapp.core.api import GONE, open_job, queued
from webapp.core.errors import UserError
from webapp.core.kinds import FileUrl, enqueue
from webapp.core.status import thumbnail_url
from webapp.core.uploads import number_field, read_image

bp = Blueprint("lookalikes", __name__)
api_bp = Blueprint("lookalikes_api", __name__, url_prefix="/api/v1")

TRUE = {"1", "true", "yes", "on"}


def analyze_options(form) -> dict:
    config = current_app.config
    return {"k": number_field(form, "k", config["DEFAULT_K"], 1, config["MAX_K"]),
            "actors_only": form.get("actors_only", "").strip().lower() in TRUE,
            "blur": number_field(form, "blur", config["DEFAULT_BLUR"], 0, config["MAX_BLUR"]),
            "gallery": config["GALLERY"], "max_faces": config["MAX_FACES"]}


def start_analysis(form, files) -> jobs.Job:
    """Validate the upload and the options, store them as a job, queue the task."""
    options = analyze_options(form)
    chosen = [f for f in files.getlist("image") + files.getlist("camera")  # camera: the page's
              if f.filename or f.content_length]                           # selfie button
    if len(chosen) > MAX_PROFILE_PHOTOS:
        raise UserError(f"{len(chosen)} photos: give at most {MAX_PROFILE_PHOTOS} photos of one "
                        "person (several people: one photo at a time)")
    if len(chosen) <= 1:
        uploads = [read_image(chosen[0] if chosen else None)]
    else:
        uploads = [read_image(f, f"Photo {n}") for n, f in enumerate(chosen, 1)]
    options["photos"] = len(uploads)
    return enqueue("analyze", uploads, options)


def form(error: str | None, status: int = 200):
    return render_template("index.html", error=error,
                           max_profile_photos=MAX_PROFILE_PHOTOS), status


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    """Thumbnails of the lookalikes, the photo, the portrait and its downloads."""

    def lookalike(m: dict) -> dict:
        return {"name": m["name"], "similarity": m["similarity"], "actor": m["actor"],
                "photo_url": thumbnail_url(m["gallery"], m.get("thumbnail"))}

    faces = []
    for face in result["faces"]:
        faces.append({**face,
                      "lookalikes": [lookalike(m) for m in face["lookalikes"]],
                      "actor_lookalikes": [lookalike(m) for m in face["actor_lookalikes"]],
                      "share_card_url": file_url(face.get("share_card"))})
        if job.meta["options"]["actors_only"]:  # the asked-for list is `lookalikes`
            faces[-1]["lookalikes"] = faces[-1]["actor_lookalikes"]
            faces[-1]["no_close_match"] = face["actor_no_close_match"]
    result["faces"] = faces
    result["photo_url"] = file_url("photo.jpg")
    result["portrait_url"] = file_url("portrait.jpg")
    has_portrait = result["portrait_url"] is not None
    again = url_for("lookalikes_api.reblur", job_id=job.id) if has_portrait else None
    result["cutout_url"] = url_for("lookalikes_api.cutout", job_id=job.id) if has_portrait else None
    result["reblur_url"] = again  # + ?strength=0-40&format=jpeg|png
    result["portrait_png_url"] = f"{again}?format=png" if again else None
    return result


@bp.get("/")
def index():
    return form(None)


@bp.post("/analyze")
def analyze():
    job = start_analysis(request.form, request.files)
    return redirect(url_for("pages.job", job_id=job.id), 303)


@api_bp.post("/analyze")
def analyze_api():
    return queued(start_analysis(request.form, request.files))


@api_bp.get("/jobs/<job_id>/portrait")
def reblur(job_id: str):
    """The portrait re-blurred at ``strength`` (0-40) as JPEG or PNG, from the stored mask.

    Re-blurring is one filter over the stored person mask (no network), cheap enough to answer
    in the request, so the strength slider responds at once; each variant is cached in the job.
    """
    job = open_job(job_id)
    strength = number_field(request.args, "strength", job.meta["options"]["blur"], 0,
                         current_app.config["MAX_BLUR"])
    fmt = request.args.get("format", "jpeg")
    if fmt not in ("jpeg", "png"):
        abort(400, description="'format' must be jpeg or png")
    ext = "jpg" if fmt == "jpeg" else "png"
    path = job.dir / f"portrait-s{strength}.{ext}"
    if not path.exists():
        from ml.portrait.blur import blur_background  # OpenCV (16 MB): on first use only

        photo, mask = stored_portrait(job)
        keep(path, Image.fromarray(blur_background(photo, mask, strength, False)))
    return picture(path, f"lookalike-portrait.{ext}")


@api_bp.get("/jobs/<job_id>/cutout")
def cutout(job_id: str):
    """The person on transparency (PNG), made from the stored mask when first asked for: the
    worker's time goes to what the result page shows."""
    job = open_job(job_id)
    path = job.dir / "cutout.png"
    if not path.exists():
        from ml.portrait.blur import cutout as person_cutout  # (OpenCV: on first use only)

        keep(path, person_cutout(*stored_portrait(job)))
    return picture(path, "lookalike-cutout.png")


def stored_portrait(job: jobs.Job) -> tuple[np.ndarray, np.ndarray]:
    """The job's photo (RGB uint8) and person mask (float32 in [0, 1]); 404 without them."""
    mask_path, photo_path = job.dir / "mask.png", job.dir / "photo.jpg"
    if not mask_path.exists() or not photo_path.exists():
        abort(404, description="this job has no portrait")
    return (np.asarray(Image.open(photo_path).convert("RGB")),
            np.asarray(Image.open(mask_path), np.float32) / 255.0)


def keep(path: Path, image: Image.Image) -> None:
    """Store a picture made on request in its job (JPEG or PNG by the name)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if path.suffix == ".jpg" else "PNG", quality=92,
               compress_level=1)
    try:
        jobs.write_file(path, buffer.getvalue())
    except jobs.JobNotFound:
        abort(404, description=GONE)


def picture(path: Path, download_name: str):
    download = request.args.get("download") == "1"
    return send_file(path, as_attachment=download,
                     download_name=download_name if download else None, max_age=0)
