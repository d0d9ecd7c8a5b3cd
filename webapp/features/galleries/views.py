"""Your people: the galleries pages (``/galleries``, ``/galleries/NAME``) and their JSON API
(``/api/v1/galleries``...): list, create, see, add people, remove people, delete. Creating a
gallery and adding a person are jobs (kind ``enrol``): the form goes to the job's page
(``/galleries/jobs/JOB``), the API answers 202 with its status URL."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from webapp.core import jobs
from webapp.core.accounts import require_account
from webapp.core.api import queued
from webapp.core.errors import UserError
from webapp.core.galleries import describe, listing, shown_name
from webapp.core.kinds import FileUrl
from webapp.core.pages import kind_page
from webapp.core.status import thumbnail_url
from webapp.features.galleries import store

bp = Blueprint("galleries", __name__)
api_bp = Blueprint("galleries_api", __name__, url_prefix="/api/v1")
bp.before_request(require_account)  # what it stores is the user's alone
api_bp.before_request(require_account)


def gallery_urls(info: dict) -> dict:
    """A gallery description with thumbnail and page URLs filled in."""

    def person(p: dict) -> dict:
        return {**p, "photo_url": thumbnail_url(info["name"], p.get("thumbnail"))}

    out = {**info, "url": url_for("galleries_api.gallery", gallery=info["name"]),
           "page_url": url_for("galleries.gallery", gallery=info["name"])}
    for key in ("people", "preview"):
        if key in out:
            out[key] = [person(p) for p in out[key]]
    return out


def form(error: str | None, status: int = 200):
    """The page whose form was posted, with the error: the gallery's, else the list."""
    name = request.view_args.get("gallery") if request.view_args else None
    if name and request.endpoint != "galleries.create":
        try:
            return render_template("gallery.html", error=error,
                                   gallery=gallery_urls(describe(name))), status
        except UserError:
            pass
    return render_template("galleries.html", error=error,
                           galleries=[gallery_urls(g) for g in listing()]), status


def result_urls(job: jobs.Job, result: dict, file_url: FileUrl) -> dict:
    """What the synchronous answer was, under names no other kind's result uses: ``after``, the
    gallery as it is now (None once deleted), with its URLs; ``added``, what became of the
    photos; ``message``, that in words."""
    name = shown_name(result["gallery"])
    try:
        after = gallery_urls(describe(name))
    except UserError:  # deleted since
        after = None
    message = added_message(result["added"])
    if result["created"]:
        message += f" Gallery '{name}' is ready."
    return {"after": after, "added": result["added"], "message": message}


def added_message(added: dict) -> str:
    text = f"Added {added['person']} from {added['used']} of {added['photos']} photos."
    if added["no_face"]:
        text += f" No face in: {', '.join(added['no_face'])}."
    if added["several_faces"]:
        text += f" Several faces (the likeliest was used) in: {', '.join(added['several_faces'])}."
    return text


# -- pages -----------------------------------------------------------------------------------


@bp.get("/galleries")
def galleries_page():
    return render_template("galleries.html", error=None,
                           galleries=[gallery_urls(g) for g in listing()])


@bp.post("/galleries")
def create():
    job = store.create(request.form.get("name", ""), request.form.get("person", ""),
                       request.files.getlist("photos"), request.form.get("drawn", ""))
    return redirect(url_for("galleries.enrol_job", job_id=job.id), 303)


@bp.get("/galleries/jobs/<job_id>")
def enrol_job(job_id: str):
    return kind_page(job_id, "enrol")


@bp.get("/galleries/<gallery>")
def gallery(gallery: str):
    return render_template("gallery.html", error=None, gallery=gallery_urls(describe(gallery)))


@bp.post("/galleries/<gallery>/people")
def add_person(gallery: str):
    job = store.add_person(gallery, request.form.get("name", ""),
                           request.files.getlist("photos"))
    return redirect(url_for("galleries.enrol_job", job_id=job.id), 303)


@bp.post("/galleries/<gallery>/people/<person>/delete")
def remove_person(gallery: str, person: str):
    removed = store.remove_person(gallery, person)
    flash(f"{removed} was removed from '{gallery}'.")
    return redirect(url_for("galleries.gallery", gallery=gallery), 303)


@bp.post("/galleries/<gallery>/delete")
def delete_gallery(gallery: str):
    store.delete(gallery)
    flash(f"The gallery '{gallery}' was deleted.")
    return redirect(url_for("galleries.galleries_page"), 303)


# -- JSON API --------------------------------------------------------------------------------


@api_bp.get("/galleries")
def list_all():
    return jsonify(galleries=[gallery_urls(g) for g in listing()])


@api_bp.post("/galleries")
def create_gallery():
    return queued(store.create(request.form.get("name", ""), request.form.get("person", ""),
                               request.files.getlist("photos"), request.form.get("drawn", "")),
                  "galleries.enrol_job")


@api_bp.get("/galleries/<gallery>", endpoint="gallery")
def gallery_info(gallery: str):
    return jsonify(gallery_urls(describe(gallery)))


@api_bp.delete("/galleries/<gallery>")
def gallery_delete(gallery: str):
    store.delete(gallery)
    return "", 204


@api_bp.post("/galleries/<gallery>/people")
def people_add(gallery: str):
    return queued(store.add_person(gallery, request.form.get("name", ""),
                                   request.files.getlist("photos")), "galleries.enrol_job")


@api_bp.delete("/galleries/<gallery>/people/<person>")
def people_remove(gallery: str, person: str):
    store.remove_person(gallery, person)
    return "", 204
