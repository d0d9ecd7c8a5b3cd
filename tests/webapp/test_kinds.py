"""A job kind is one place: registering it (and a nav entry) is all a new feature does for the
core to queue it, gate it, show its page with its own words and serve only its own files."""

from __future__ import annotations

import os
import time

from flask import Blueprint, request

from tests.support import lfw
from tests.webapp.support import sign_up
from webapp import create_app
from webapp.core import jobs
from webapp.core.api import queued
from webapp.core.kinds import JobKind, enqueue, register
from webapp.core.pages import nav
from webapp.core.uploads import read_image


def blur_feature(app) -> None:
    """A feature package's ``init_app``, as the README's "Adding a job kind" writes one."""
    bp = Blueprint("blur", __name__)

    @bp.get("/blur")
    def page():
        return "the blur page"

    @bp.post("/api/v1/blur")
    def start():
        return queued(enqueue("blur", [read_image(request.files.get("image"))], {}))

    register(app, JobKind("blur", "tests.blur.run", __name__, ("blur", "encode"),
                          files=r"blurred\.jpg", stage_text={"blur": "Blurring the photo"},
                          title="Your blurred photo", needs_account=True))
    app.register_blueprint(bp)
    nav(app, "Blur", "blur.page")


def test_a_new_kind_needs_only_its_registration(tmp_path, web_gallery):
    app = create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery, "QUEUE": "cpu",
                      "TESTING": True})
    blur_feature(app)
    client = app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/blur">Blur</a>' in home  # after the built-in features' entries
    assert home.index("Which celebrity?") < home.index("Your people") < home.index(">Blur<")

    def upload():
        with open(lfw("Tony_Blair", 1), "rb") as photo:
            return client.post("/api/v1/blur", data={"image": (photo, "me.jpg")})

    visitor = upload()
    assert visitor.status_code == 401 and "sign in" in visitor.get_json()["error"]
    assert not list((tmp_path / "data" / "jobs").iterdir())  # nothing kept for a visitor

    sign_up(client)
    started = upload()
    assert started.status_code == 202
    job_id = started.get_json()["job"]
    status = client.get(started.get_json()["status_url"]).get_json()
    assert (status["kind"], status["stages"], status["status"]) == ("blur", ["blur", "encode"],
                                                                    "queued")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "<h1>Your blurred photo</h1>" in page
    assert """data-stage-text='{"blur": "Blurring the photo"}'""" in page

    folder = tmp_path / "data" / "jobs" / job_id
    (folder / "blurred.jpg").write_bytes(b"\xff\xd8 a picture")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8 another kind's name")
    files = f"/api/v1/jobs/{job_id}/files"
    assert client.get(f"{files}/blurred.jpg").status_code == 200
    assert client.get(f"{files}/photo.jpg").status_code == 404  # not a file this kind serves
    assert client.get(f"{files}/..%2Fmeta.json").status_code == 404


def test_the_sweep_clears_the_scratch_folders_features_register(app):
    data = app.config["DATA_DIR"]
    old = data / "enrol" / "killed-mid-write"  # the galleries feature's, registered as scratch
    old.mkdir(parents=True)
    elsewhere = data / "not-registered" / "kept"
    elsewhere.mkdir(parents=True)
    hour_ago = time.time() - 3700
    for folder in (old, elsewhere):
        os.utime(folder, (hour_ago, hour_ago))
    with app.app_context():
        assert "enrol" in app.extensions["scratch"]
        jobs.sweep(data, scratch=tuple(app.extensions["scratch"]))
    assert not old.exists() and elsewhere.exists()
