"""A fresh install serves at once: the default gallery is prepared in the background by a
worker (actors first), its progress is on the page and in the API, a photo uploaded meanwhile
waits and completes, and a build killed mid-way resumes from the face cache, never twice at once.

Each test has an empty LOOKALIKE_HOME of its own (weights linked) and a small gallery source
from ../shared/data in place of the 20,000 photos of the real default gallery.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ml.errors import GalleryBuilding
from ml.galleries.prepare import build_status, prepare_default_gallery
from ml.paths import home
from tests.support import enrol, lfw
from tests.webapp.support import DESKTOP, Stack, wait_done
from webapp.core.tasks import prepare_gallery

pytestmark = pytest.mark.integration

ACTORS = ["Tom_Hanks", "Nicole_Kidman", "Halle_Berry"]
OTHERS = ["Tony_Blair", "Colin_Powell", "Hugo_Chavez", "Serena_Williams", "Jennifer_Capriati"]


@pytest.fixture
def first_run(tmp_path, monkeypatch):
    """An empty home and a small default-gallery source; the test process and its workers
    both see them."""
    fresh = tmp_path / "home"
    fresh.mkdir()
    (fresh / "weights").symlink_to(home() / "weights", target_is_directory=True)
    source = enrol(tmp_path / "source", ACTORS + OTHERS, photos=range(2, 6))
    actors = tmp_path / "actors.txt"
    actors.write_text("\n".join(ACTORS) + "\n")
    env = {"LOOKALIKE_HOME": str(fresh), "LOOKALIKE_GALLERY_SOURCES": str(source),
           "LOOKALIKE_GALLERY_ACTORS": str(actors)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    data = tmp_path / "web"
    data.mkdir()
    stack = Stack(data, "celebrities", f"sqla+sqlite:///{data / 'broker.sqlite'}",
                  f"db+sqlite:///{data / 'results.sqlite'}", extra_env=env)
    yield stack
    stack.stop()


def test_the_app_serves_at_once_and_a_photo_waits_for_the_gallery(first_run):
    app = first_run.app()
    client = app.test_client()
    page = client.get("/")  # no gallery, no worker: the page is served anyway
    assert page.status_code == 200 and b'id="gallery-build"' in page.data
    assert client.get("/api/v1/galleries/celebrities/build").get_json()["state"] == "waiting"

    with lfw("Tom_Hanks", 1).open("rb") as photo:
        queued = client.post("/api/v1/analyze", data={"image": (photo, "me.jpg")})
    assert queued.status_code == 202  # accepted before there is any gallery

    # As `make run` does: photos on one worker, the build on the video worker (a photo that
    # waits for the gallery must not hold up the build).
    first_run.start_worker("main", queues="cpu,gpu")
    first_run.start_worker("video", queues="video")
    with app.app_context():
        prepare_gallery.apply_async()
    status = wait_done(client, queued.get_json()["status_url"], timeout=300)
    assert status["status"] == "done", status
    result = status["result"]
    assert result["gallery"]["name"] == "celebrities"
    names = {m["name"] for face in result["faces"] for m in face["lookalikes"]}
    assert "Tom Hanks" in names  # another photo of him is in the gallery

    deadline = time.time() + 120
    while build_status()["state"] != "ready" and time.time() < deadline:
        time.sleep(0.5)
    built = client.get("/api/v1/galleries/celebrities/build").get_json()
    assert built["state"] == "ready" and built["done"] == built["total"] == 32
    assert built["identities"] == len(ACTORS + OTHERS)


def test_a_killed_build_resumes_from_the_cache_and_never_runs_twice(first_run, tmp_path,
                                                                    monkeypatch):
    many = enrol(tmp_path / "many", ["George_W_Bush"], photos=range(1, 301))
    monkeypatch.setenv("LOOKALIKE_GALLERY_SOURCES", str(many))
    monkeypatch.setenv("LOOKALIKE_GALLERY_ACTORS", str(tmp_path / "none.txt"))
    (tmp_path / "none.txt").write_text("")
    first_run.extra_env.update(LOOKALIKE_GALLERY_SOURCES=str(many),
                               LOOKALIKE_GALLERY_ACTORS=str(tmp_path / "none.txt"))
    app = first_run.app()
    worker = first_run.start_worker("builder", queues="video")
    with app.app_context():
        prepare_gallery.apply_async()

    deadline = time.time() + 120
    while build_status()["done"] < 64 and time.time() < deadline:  # a batch is cached
        time.sleep(0.1)
    assert build_status()["state"] == "building"
    with pytest.raises(GalleryBuilding):  # a second build waits for the first: never two
        prepare_default_gallery()
    first_run.kill(worker, signal.SIGKILL)
    deadline = time.time() + 20  # the pool child holding the lock may take a moment to go
    while build_status()["state"] == "building" and time.time() < deadline:
        time.sleep(0.2)
    assert build_status()["state"] == "waiting"  # the kernel released the dead builder's lock

    cache = next((Path(home()) / "cache").glob("faces-*.sqlite"))
    before = dict(sqlite3.connect(cache).execute("SELECT hash, rowid FROM faces").fetchall())
    assert 64 <= len(before) < 300
    first_run.start_worker("resumer", queues="video")
    with app.app_context():
        prepare_gallery.apply_async()
    deadline = time.time() + 180
    while build_status()["state"] != "ready" and time.time() < deadline:
        time.sleep(0.5)
    assert build_status()["state"] == "ready"
    after = dict(sqlite3.connect(cache).execute("SELECT hash, rowid FROM faces").fetchall())
    assert len(after) == 300
    assert all(after[key] == rowid for key, rowid in before.items())  # none embedded again


def test_a_person_sees_the_gallery_being_prepared_then_their_lookalikes(first_run, browser):
    httpd = make_server("127.0.0.1", 0, first_run.app(), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(f"http://127.0.0.1:{httpd.server_port}/")
        banner = page.locator("#gallery-build")
        banner.wait_for(state="visible", timeout=15_000)
        assert "Preparing the celebrity gallery" in banner.inner_text()
        page.set_input_files("#image", str(lfw("Nicole_Kidman", 1)))
        page.click("button[type=submit]")
        page.wait_for_selector("#stage", timeout=15_000)
        first_run.start_worker("main", queues="cpu,gpu")
        first_run.start_worker("video", queues="video")
        with first_run.app().app_context():
            prepare_gallery.apply_async()
        page.wait_for_selector(".lookalike .name", timeout=240_000)
        names = page.locator(".lookalike .name").all_text_contents()
        assert "Nicole Kidman" in names
    finally:
        httpd.shutdown()
