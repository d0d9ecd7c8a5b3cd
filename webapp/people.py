"""Issue 7 in the web app: your own galleries, identify, screen time (pages and JSON API).

Two blueprints, registered by ``init_app`` (called from ``create_app``):

* ``people`` (pages): ``/galleries``, ``/galleries/NAME``, ``/identify``, ``/screentime`` and
  their result pages ``/identify/JOB`` and ``/screentime/JOB``; forms use the pages' CSRF token.
* ``people_api`` (``/api/v1``): ``/galleries`` (list, create), ``/galleries/NAME`` (read,
  delete), ``/galleries/NAME/people`` (add), ``/galleries/NAME/people/PERSON`` (remove),
  ``/identify`` and ``/screentime`` (202 + a job polled at ``/api/v1/jobs/JOB`` like every job).

Videos are checked in the request (``ml.video.screentime.open_video`` on the saved upload: a video
OpenCV decodes, with frames, no longer than ``MAX_VIDEO_SECONDS``) so bad input is a 4xx with a
message, never a failed job. API calls that change a gallery are refused when a browser says
they come from another site (``Origin``), so a page elsewhere cannot edit your galleries.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from ml.galleries.store import list_galleries
from webapp import api, galleries, jobs
from webapp.uploads import UploadError, read_image

bp = Blueprint("people", __name__)
api_bp = Blueprint("people_api", __name__, url_prefix="/api/v1")

KINDS = ("identify", "screentime")
DEFAULT_FPS = 2.0
MAX_FPS = 10.0
VIDEO_QUEUE = "video"  # served by a worker of its own (``-Q video``); see celery_app
VIDEO_ENDPOINTS = {"people.screentime_post", "people_api.screentime_api"}


def init_app(app: Flask) -> None:
    """Settings (LOOKALIKE_* environment variables) and both blueprints."""
    from ml.video.screentime import MAX_VIDEO_SECONDS

    max_mb = int(os.environ.get("LOOKALIKE_MAX_VIDEO_MB") or 200)
    app.config.setdefault("MAX_VIDEO_MB", max_mb)
    app.config.setdefault("MAX_VIDEO_SECONDS", MAX_VIDEO_SECONDS)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


# -- the work shared by pages and API --------------------------------------------------------


def gallery_choice(form: MultiDict) -> str:
    name = (form.get("gallery") or "").strip()
    if not name:
        raise UploadError("choose a gallery")
    galleries.existing(name)
    return name


def fps_choice(form: MultiDict) -> float:
    raw = (form.get("fps") or "").strip()
    if not raw:
        return DEFAULT_FPS
    try:
        fps = float(raw)
    except ValueError:
        raise UploadError(f"'fps' must be a number, got {raw!r}") from None
    if not 0.1 <= fps <= MAX_FPS:
        raise UploadError(f"'fps' must be between 0.1 and {MAX_FPS:g} frames per second")
    return fps


def queue(job: jobs.Job, queue_name: str) -> jobs.Job:
    current_app.extensions["celery"].send_task(f"webapp.people_tasks.{job.kind}", args=[job.id],
                                               task_id=job.id, queue=queue_name)
    return job


def start_identify(form: MultiDict, files: MultiDict) -> jobs.Job:
    chosen = [f for f in files.getlist("image") if f.filename or f.content_length]
    data = read_image(chosen[0] if chosen else None)
    name = gallery_choice(form)
    config = current_app.config
    job = jobs.create(config["DATA_DIR"], "identify", [data], {"gallery": name},
                      config["JOB_TTL"])
    return queue(job, config["QUEUE"])


def start_screentime(form: MultiDict, files: MultiDict) -> jobs.Job:
    """Save the video under a random name, check it decodes and is short enough, queue it."""
    from ml.video.screentime import VideoError, open_video

    config = current_app.config
    name = gallery_choice(form)
    fps = fps_choice(form)
    upload: FileStorage | None = next(
        (f for f in files.getlist("video") if f.filename or f.content_length), None)
    if upload is None:
        raise UploadError("The video: no file given, choose a video")
    staging = Path(config["DATA_DIR"]) / "uploads"
    staging.mkdir(exist_ok=True)
    temp = staging / f"video-{secrets.token_hex(16)}"
    try:
        upload.save(temp)
        if temp.stat().st_size == 0:
            raise UploadError("The video: the file is empty")
        try:
            video = open_video(temp, config["MAX_VIDEO_SECONDS"])
        except VideoError as exc:
            message = str(exc).replace(f"{temp}: ", "The video: ")
            status = 415 if "not a video" in message else 400
            raise UploadError(message, status) from None
        filename = Path(upload.filename or "video").name[:80] or "video"
        options = {"gallery": name, "fps": fps, "filename": filename,
                   "duration": round(video.duration, 2),
                   "max_seconds": config["MAX_VIDEO_SECONDS"]}
        # Time to work through the video on a slow CPU, on top of the usual time to look.
        ttl = config["JOB_TTL"] + int(video.duration * fps)
        job = jobs.create(config["DATA_DIR"], "screentime", [], options, ttl)
        os.replace(temp, job.input())
    finally:
        temp.unlink(missing_ok=True)
    return queue(job, VIDEO_QUEUE)


def with_urls(job: jobs.Job, result: dict,
              file_url: Callable[[str | None], str | None]) -> dict:
    """URLs for an identify or screen-time result (called by ``api.with_urls``)."""
    out = dict(result)
    if job.kind == "identify":
        out["photo_url"] = file_url("photo.jpg")
        out["drawn_url"] = file_url("identified.jpg")
        out["faces"] = [{**f, "photo_url": url_for("api.thumbnail", gallery=result["gallery"],
                                                   file=f["thumbnail"])
                         if f.get("thumbnail") else None} for f in result["faces"]]
    else:
        out["timeline_url"] = file_url("timeline.png")
        out["sheet_url"] = file_url("contact.jpg")
        out["csv_url"] = file_url("screentime.csv")
    return out


def gallery_urls(info: dict) -> dict:
    """A gallery description with thumbnail and page URLs filled in."""
    def person(p: dict) -> dict:
        photo = (url_for("api.thumbnail", gallery=info["name"], file=p["thumbnail"])
                 if p.get("thumbnail") else None)
        return {**p, "photo_url": photo}

    out = {**info, "url": url_for("people_api.gallery", gallery=info["name"]),
           "page_url": url_for("people.gallery", gallery=info["name"])}
    for key in ("people", "preview"):
        if key in out:
            out[key] = [person(p) for p in out[key]]
    return out


@bp.before_request
@api_bp.before_request
def video_limit() -> None:
    """Videos may be larger than photos: the request's own limit, before the form is read."""
    if request.endpoint in VIDEO_ENDPOINTS:
        request.max_content_length = int(current_app.config["MAX_VIDEO_MB"] * 1024 * 1024)


def too_large() -> str:
    config = current_app.config
    if request.endpoint in VIDEO_ENDPOINTS:
        return f"The video is too large: the limit is {config['MAX_VIDEO_MB']} MB."
    return f"The upload is too large: the limit is {config['MAX_UPLOAD_MB']} MB per request."


# -- pages -----------------------------------------------------------------------------------


@bp.before_request
def check_csrf() -> None:
    from webapp.pages import check_csrf

    check_csrf()


def choices() -> list[str]:
    return list_galleries()


def default_choice(asked: str | None) -> str | None:
    """The gallery asked for, else the first of the user's own, else the app's."""
    if asked:
        return asked
    own = [g["name"] for g in galleries.listing(preview=0) if not g["protected"]]
    return own[0] if own else current_app.config["GALLERY"]


def posted(name: str) -> str | None:
    """A form field, or None when the form itself cannot be read (too large)."""
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        return None


def form_page(error: str | None = None, status: int = 200):
    """The page whose form was posted, with the error; galleries pages show their lists."""
    endpoint = request.endpoint or ""
    if endpoint.startswith("people.identify"):
        return render_template("identify.html", error=error, job=None, galleries=choices(),
                               chosen=default_choice(posted("gallery"))), status
    if endpoint.startswith("people.screentime"):
        return render_template("screentime.html", error=error, job=None, galleries=choices(),
                               chosen=default_choice(posted("gallery"))), status
    name = request.view_args.get("gallery") if request.view_args else None
    if name and endpoint != "people.create":
        try:
            return render_template("gallery.html", error=error,
                                   gallery=gallery_urls(galleries.describe(name))), status
        except UploadError:
            pass
    return render_template("galleries.html", error=error,
                           galleries=[gallery_urls(g) for g in galleries.listing()]), status


@bp.errorhandler(UploadError)
def page_error(exc: UploadError):
    return form_page(str(exc), exc.status)


@bp.errorhandler(RequestEntityTooLarge)
def page_too_large(_: RequestEntityTooLarge):
    return form_page(too_large(), 413)


@bp.get("/galleries")
def galleries_page():
    return render_template("galleries.html", error=None,
                           galleries=[gallery_urls(g) for g in galleries.listing()])


@bp.post("/galleries")
def create():
    info = galleries.create(request.form.get("name", ""), request.form.get("person", ""),
                            request.files.getlist("photos"))
    flash(added_message(info["added"]) + f" Gallery '{info['name']}' is ready.")
    return redirect(url_for("people.gallery", gallery=info["name"]), 303)


@bp.get("/galleries/<gallery>")
def gallery(gallery: str):
    return render_template("gallery.html", error=None,
                           gallery=gallery_urls(galleries.describe(gallery)))


@bp.post("/galleries/<gallery>/people")
def add_person(gallery: str):
    info = galleries.add_person(gallery, request.form.get("name", ""),
                                request.files.getlist("photos"))
    flash(added_message(info["added"]))
    return redirect(url_for("people.gallery", gallery=gallery), 303)


def added_message(added: dict) -> str:
    text = f"Added {added['person']} from {added['used']} of {added['photos']} photos."
    if added["no_face"]:
        text += f" No face in: {', '.join(added['no_face'])}."
    if added["several_faces"]:
        text += f" Several faces (the likeliest was used) in: {', '.join(added['several_faces'])}."
    return text


@bp.post("/galleries/<gallery>/people/<person>/delete")
def remove_person(gallery: str, person: str):
    removed = galleries.remove_person(gallery, person)
    flash(f"{removed} was removed from '{gallery}'.")
    return redirect(url_for("people.gallery", gallery=gallery), 303)


@bp.post("/galleries/<gallery>/delete")
def delete_gallery(gallery: str):
    galleries.delete(gallery)
    flash(f"The gallery '{gallery}' was deleted.")
    return redirect(url_for("people.galleries_page"), 303)


@bp.get("/identify")
def identify():
    return render_template("identify.html", error=None, job=None, galleries=choices(),
                           chosen=default_choice(request.args.get("gallery")))


@bp.post("/identify")
def identify_post():
    job = start_identify(request.form, request.files)
    return redirect(url_for("people.identify_job", job_id=job.id), 303)


@bp.get("/identify/<job_id>")
def identify_job(job_id: str):
    return job_page(job_id, "identify")


@bp.get("/screentime")
def screentime():
    return render_template("screentime.html", error=None, job=None, galleries=choices(),
                           chosen=default_choice(request.args.get("gallery")))


@bp.post("/screentime")
def screentime_post():
    job = start_screentime(request.form, request.files)
    return redirect(url_for("people.screentime_job", job_id=job.id), 303)


@bp.get("/screentime/<job_id>")
def screentime_job(job_id: str):
    return job_page(job_id, "screentime")


def job_page(job_id: str, kind: str):
    found = api.open_job(job_id)
    if found.kind != kind:
        if found.kind in KINDS:
            return redirect(url_for(f"people.{found.kind}_job", job_id=found.id))
        return redirect(url_for("pages.job", job_id=found.id))
    return render_template(f"{kind}.html", error=None, job=found,
                           status_url=url_for("api.job", job_id=found.id))


# -- JSON API --------------------------------------------------------------------------------


@api_bp.before_request
def same_site_only() -> None:
    """Browsers name the page that sent a request; a gallery edit from another site is
    refused (a multipart POST needs no CORS preflight)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("Origin")
    # Hosts, not schemes: behind a TLS proxy the app itself may see http://.
    if origin and urlsplit(origin).netloc != request.host:
        raise UploadError("requests from other sites may not change galleries or queue work",
                          403)


@api_bp.errorhandler(UploadError)
def api_error(exc: UploadError):
    return jsonify(error=str(exc)), exc.status


@api_bp.errorhandler(RequestEntityTooLarge)
def api_too_large(_: RequestEntityTooLarge):
    return jsonify(error=too_large()), 413


@api_bp.get("/galleries")
def list_all():
    return jsonify(galleries=[gallery_urls(g) for g in galleries.listing()])


@api_bp.post("/galleries")
def create_gallery():
    info = galleries.create(request.form.get("name", ""), request.form.get("person", ""),
                            request.files.getlist("photos"))
    url = url_for("people_api.gallery", gallery=info["name"])
    return jsonify(gallery_urls(info)), 201, {"Location": url}


@api_bp.get("/galleries/<gallery>", endpoint="gallery")
def gallery_info(gallery: str):
    return jsonify(gallery_urls(galleries.describe(gallery)))


@api_bp.delete("/galleries/<gallery>")
def gallery_delete(gallery: str):
    galleries.delete(gallery)
    return "", 204


@api_bp.post("/galleries/<gallery>/people")
def people_add(gallery: str):
    info = galleries.add_person(gallery, request.form.get("name", ""),
                                request.files.getlist("photos"))
    return jsonify(gallery_urls(info)), 201


@api_bp.delete("/galleries/<gallery>/people/<person>")
def people_remove(gallery: str, person: str):
    galleries.remove_person(gallery, person)
    return "", 204


@api_bp.post("/identify")
def identify_api():
    job = start_identify(request.form, request.files)
    return api.queued(job, "people.identify_job")


@api_bp.post("/screentime")
def screentime_api():
    job = start_screentime(request.form, request.files)
    return api.queued(job, "people.screentime_job")

