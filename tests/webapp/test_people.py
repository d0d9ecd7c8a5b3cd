"""Issue 7 in the web app: own galleries, identify and screen time, through the JSON API, real
Celery workers (the embedded default, plus the ``video`` queue's own worker) and a browser.
Enrolling people (a new gallery, a person added) is a job run by the worker; what needs no model
is refused in the request.

Real models, real LFW photos, a generated clip with known screen time; nothing is mocked.
"""

from __future__ import annotations

import csv
import io
import shutil
import stat
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.clip import make_clip
from ml.galleries.store import delete_gallery, gallery_path, list_galleries
from ml.paths import home
from tests.support import BLACK, BLUE, PINK, RED, actors, cartoon, lfw, stills_of
from tests.webapp.support import (
    ARTIFACTS,
    DESKTOP,
    PHONE,
    browser_sign_up,
    owner_id,
    sign_up,
    wait_done,
)

CAST = ["Tony_Blair", "Colin_Powell", "Serena_Williams"]
ENROL = range(2, 5)  # photos enrolled; photo 1 and 10 are held out


def photos(person: str, numbers=ENROL) -> list[tuple]:
    return [(open(lfw(person, n), "rb"), f"{person}_{n}.jpg") for n in numbers]


def versions(name: str) -> list[Path]:
    return [p for p in (home() / "galleries").glob(f".*@{name}.*")]


@pytest.fixture
def client(app):
    """Galleries, identify and screen time need an account: the admin's (who also sees the
    server's own galleries, such as the test gallery)."""
    return sign_up(app.test_client())


@pytest.fixture
def cast_name():
    """A fresh gallery name; whatever the test leaves behind is removed."""
    name = f"webcast-{uuid.uuid4().hex[:8]}"
    yield name
    for stored in list_galleries():
        if stored.endswith(f"@{name}"):
            delete_gallery(stored)
    for version in versions(name):
        shutil.rmtree(version, ignore_errors=True)


def enrolled(client, response, outcome: str = "done") -> dict:
    """The enrolment job a 202 answer queued, once the worker has finished it."""
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"] == response.get_json()["status_url"]
    status = wait_done(client, response.get_json()["status_url"], timeout=180)
    assert status["status"] == outcome, status
    assert status["kind"] == "enrol"
    return status


def create_cast(client, name: str) -> dict:
    """The cast gallery as a user makes it: create with the first person, add the others; the
    last job's result."""
    enrolled(client, client.post("/api/v1/galleries", data={
        "name": name, "person": "Tony Blair", "photos": photos("Tony_Blair")}))
    for person in CAST[1:]:
        added = enrolled(client, client.post(f"/api/v1/galleries/{name}/people", data={
            "name": person.replace("_", " "), "photos": photos(person)}))
    return added["result"]


@pytest.fixture
def member(embedded_stack):
    """A signed-in client of an app served by the embedded stack's real worker."""
    return sign_up(embedded_stack.app().test_client())


def no_jobs(app) -> bool:
    root = Path(app.config["DATA_DIR"]) / "jobs"
    return not root.exists() or not list(root.iterdir())


def sky() -> io.BytesIO:
    """A photo with no face in it."""
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 120, 160)).save(blank, "JPEG")
    blank.seek(0)
    return blank


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """10 s at 10 fps: Blair alone, an empty shot, Powell beside Williams, a stranger."""
    shots = [(3, [("Tony Blair", lfw("Tony_Blair", 10))]),
             (2, []),
             (3, [("Colin Powell", lfw("Colin_Powell", 10)),
                  ("Serena Williams", lfw("Serena_Williams", 10))]),
             (2, [("stranger", lfw("Hugo_Chavez", 1))])]
    path = tmp_path_factory.mktemp("clip") / "scene.mp4"
    truth = make_clip(shots, path)
    return path, {name: sum(b - a for a, b in spans) for name, spans in truth.items()}


@pytest.fixture(scope="module")
def video_worker(embedded_stack):
    """Starts (once) the worker of the ``video`` queue beside the embedded stack's worker."""
    started = []

    def start():
        if not started:
            started.append(embedded_stack.start_worker("video", queues="video"))
        return started[0]

    yield start
    for process in started:
        embedded_stack.kill(process)


# -- galleries: enrolment by the worker, the rest in the request -----------------------------


def test_gallery_lifecycle_through_the_api(member, embedded_stack, cast_name):
    client = member
    result = create_cast(client, cast_name)
    info = result["after"]
    assert result["message"] == "Added Serena Williams from 3 of 3 photos."
    assert info["name"] == cast_name and not info["protected"]
    assert [p["name"] for p in info["people"]] == ["Colin Powell", "Serena Williams",
                                                   "Tony Blair"]
    assert all(p["photos"] == len(ENROL) for p in info["people"])
    assert result["added"] == {"person": "Serena Williams", "photos": 3, "used": 3,
                               "no_face": [], "unreadable": [], "several_faces": []}
    thumb = client.get(info["people"][0]["photo_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"

    listed = client.get("/api/v1/galleries").get_json()["galleries"]
    mine = next(g for g in listed if g["name"] == cast_name)
    assert mine["count"] == 3 and len(mine["preview"]) == 3
    assert client.get(mine["url"]).get_json()["people"] == info["people"]
    assert not list((embedded_stack.data_dir / "enrol").iterdir())  # staged photos are gone

    # More photos of someone already there are merged by name.
    more = enrolled(client, client.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "tony  blair", "photos": photos("Tony_Blair", [5])}))["result"]
    blair = next(p for p in more["after"]["people"] if p["key"] == "tony_blair")
    assert blair["photos"] == len(ENROL) + 1

    assert client.delete(f"/api/v1/galleries/{cast_name}/people/Colin Powell").status_code == 204
    left = client.get(f"/api/v1/galleries/{cast_name}").get_json()["people"]
    assert [p["key"] for p in left] == ["serena_williams", "tony_blair"]
    assert client.delete(f"/api/v1/galleries/{cast_name}/people/nobody").status_code == 404
    assert client.delete(f"/api/v1/galleries/{cast_name}/people/tony_blair").status_code == 204
    last = client.delete(f"/api/v1/galleries/{cast_name}/people/serena_williams")
    assert last.status_code == 409 and "delete the gallery" in last.get_json()["error"]

    assert client.delete(f"/api/v1/galleries/{cast_name}").status_code == 204
    assert client.get(f"/api/v1/galleries/{cast_name}").status_code == 404
    assert not gallery_path(f"{owner_id(client)}@{cast_name}").is_symlink()
    assert not versions(cast_name)
    assert client.delete(f"/api/v1/galleries/{cast_name}").status_code == 404


@pytest.mark.parametrize("form, status, words", [
    ({"name": "../etc", "person": "A B"}, 400, "name the gallery"),
    ({"name": "ok-name", "person": "../../x"}, 400, "give the person a name"),
    ({"name": "ok-name", "person": "A B", "photos": []}, 400, "at least one photo"),
    ({"name": "ok-name", "person": "A B", "photos": "text"}, 400, "not an image"),
    ({"name": "ok-name", "person": "A B", "photos": "21"}, 400, "at most 20 photos"),
    ({"name": "n" * 41, "person": "A B"}, 400, "name the gallery with 1-40"),
    ({"name": "ok-name", "person": "A" * 61}, 400, "a name of up to 60"),
    ({"name": "ok-name", "person": ""}, 400, "give the person a name"),
    ({"name": "celebrities", "person": "A B"}, 409, "already exists"),
    ({"name": "ok-name", "person": "A B", "drawn": "maybe"}, 400, "drawn must be 1 or 0"),
])
def test_gallery_bad_input_is_a_clear_4xx(client, app, form, status, words, tmp_path):
    """What needs no model is judged in the request: a 4xx at once, and no job."""
    form = dict(form)
    if form.get("photos") == "text":
        form["photos"] = [(io.BytesIO(b"not a photo"), "x.jpg")]
    elif form.get("photos") == "21":
        form["photos"] = photos("Tony_Blair", range(1, 22))
    elif "photos" not in form:
        form["photos"] = photos("Tony_Blair", [2])
    response = client.post("/api/v1/galleries", data=form)
    assert response.status_code == status, response.get_json()
    assert words in response.get_json()["error"]
    assert not gallery_path(f"{owner_id(client)}@ok-name").exists()
    assert no_jobs(app)


def test_built_in_galleries_are_refused(client, app, web_gallery):
    for name in ("celebrities", web_gallery):  # the default and the one the app uses
        refused = [client.delete(f"/api/v1/galleries/{name}"),
                   client.post(f"/api/v1/galleries/{name}/people",
                               data={"name": "X Y", "photos": photos("Tony_Blair", [2])}),
                   client.delete(f"/api/v1/galleries/{name}/people/tony_blair")]
        for response in refused:
            assert response.status_code == 403, response.get_json()
            assert "built in" in response.get_json()["error"]
    assert gallery_path(web_gallery).exists()
    page = client.post(f"/galleries/{web_gallery}/delete",
                       data={"csrf_token": csrf(client)})
    assert page.status_code == 403 and b"built in" in page.data
    other_site = client.delete(f"/api/v1/galleries/{web_gallery}",
                               headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403 and "other sites" in other_site.get_json()["error"]


def test_identify_bad_input_is_a_clear_4xx(client, app, web_gallery):
    def post(**form):
        response = client.post("/api/v1/identify", data=form)
        return response.status_code, response.get_json()["error"]

    photo = lambda: (open(lfw("Tony_Blair", 1), "rb"), "p.jpg")  # noqa: E731
    assert post(image=(io.BytesIO(b"text"), "p.jpg"), gallery=web_gallery)[0] == 400
    status, message = post(gallery=web_gallery)
    assert status == 400 and "choose a photo" in message
    assert post(image=photo()) == (400, "choose a gallery")
    assert post(image=photo(), gallery="no-such") == (404, "no gallery named 'no-such'")
    assert post(image=photo(), gallery="../x")[0] == 404
    assert not list((app.config["DATA_DIR"] / "jobs").iterdir())
    page = client.post("/identify", data={"csrf_token": csrf(client), "gallery": web_gallery})
    assert page.status_code == 400 and b"choose a photo" in page.data


def csrf(client) -> str:
    client.get("/galleries")
    with client.session_transaction() as session:
        return session["csrf"]


def test_page_forms_need_the_csrf_token(client, web_gallery):
    response = client.post("/galleries", data={"name": "x", "person": "A B"})
    assert response.status_code == 400 and b"CSRF" in response.data


def test_enrolment_is_a_job_and_identify_then_finds_the_person(member, cast_name):
    """Creating a gallery answers 202 at once; the worker enrols the person (stage by stage);
    the result is what the synchronous answer was; identify then names that person."""
    client = member
    queued = client.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Serena Williams", "photos": photos("Serena_Williams")})
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert body["page_url"] == f"/galleries/jobs/{body['job']}"
    page = client.get(body["page_url"])
    assert page.status_code == 200 and b'data-kind="enrol"' in page.data
    assert page.headers["Cache-Control"] == "private, no-store"
    status = enrolled(client, queued)
    assert status["stages"] == ["faces", "gallery"]
    result = status["result"]
    assert result["added"] == {"person": "Serena Williams", "photos": 3, "used": 3,
                               "no_face": [], "unreadable": [], "several_faces": []}
    assert result["message"] == (f"Added Serena Williams from 3 of 3 photos. Gallery "
                                 f"'{cast_name}' is ready.")
    assert [p["name"] for p in result["after"]["people"]] == ["Serena Williams"]
    assert result["after"]["page_url"] == f"/galleries/{cast_name}"
    job = Path(client.application.config["DATA_DIR"]) / "jobs" / body["job"]
    assert not list(job.glob("input-*"))  # the photos are gone once the gallery is written
    version = gallery_path(f"{owner_id(client)}@{cast_name}").resolve()
    assert stat.S_IMODE(version.stat().st_mode) == 0o700  # written by the worker, privately
    assert {stat.S_IMODE(p.stat().st_mode) for p in version.rglob("*") if p.is_file()} == {0o600}

    named = client.post("/api/v1/identify", data={
        "image": (open(lfw("Serena_Williams", 1), "rb"), "photo.jpg"), "gallery": cast_name})
    found = wait_done(client, named.get_json()["status_url"])
    assert found["status"] == "done", found
    assert [(f["name"], f["known"]) for f in found["result"]["faces"]] == [
        ("Serena Williams", True)]


def jpeg(image: np.ndarray, name: str) -> tuple:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=92)
    buffer.seek(0)
    return buffer, name


def test_stills_of_one_film_name_the_person_seen_from_behind(member, cast_name):
    """Two stills: Ada and Ben facing the camera, then Ada from behind beside Ben. The job names
    both faces, and Ada's body in the second still by her face in the first; each still comes
    back drawn, privately. More than 12 stills is a clear 400."""
    client = member
    cast = actors()
    enrolled(client, client.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Ada", "photos": [jpeg(cast["Ada"][0], "ada.jpg")]}))
    enrolled(client, client.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Ben", "photos": [jpeg(cast["Ben"][0], "ben.jpg")]}))
    stills = stills_of(cast, [[("Ada", "F"), ("Ben", "F")], [("Ada", "B"), ("Ben", "F")]])
    queued = client.post("/api/v1/identify", data={
        "image": [jpeg(still, f"still{n}.jpg") for n, still in enumerate(stills, 1)],
        "gallery": cast_name})
    done = wait_done(client, queued.get_json()["status_url"], timeout=180)
    assert done["status"] == "done", done
    result = done["result"]
    assert [(f["still"], f["name"]) for f in result["faces"]] == [
        (1, "Ada"), (1, "Ben"), (2, "Ben")]
    assert [(b["still"], b["name"], b["by"]) for b in result["bodies"]] == [(2, "Ada", "body")]
    assert [(s["faces"], s["bodies"]) for s in result["stills"]] == [(2, 0), (1, 1)]
    for still in result["stills"]:
        drawn = client.get(still["drawn_url"])
        assert drawn.status_code == 200 and drawn.mimetype == "image/jpeg"
        assert drawn.headers["Cache-Control"] == "private, no-store"
    too_many = client.post("/api/v1/identify", data={
        "image": [jpeg(stills[0], f"s{n}.jpg") for n in range(13)], "gallery": cast_name})
    assert too_many.status_code == 400
    assert "at most 12 stills" in too_many.get_json()["error"]


def drawing(hair, eyes, name: str, **change) -> tuple:
    buffer = io.BytesIO()
    Image.fromarray(cartoon(hair, eyes, **change)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer, name


def test_a_gallery_of_drawn_characters_in_the_browser_api(member, cast_name):
    """A gallery of drawings (the form's "These are drawings"): one drawing of each character
    enrols them, where a photo gallery finds no face; identify then names a new drawing of
    each, found the drawn way because the gallery says so."""
    client = member
    made = enrolled(client, client.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Pink Hair", "drawn": "1",
        "photos": [drawing(PINK, BLUE, "pink.png")]}))["result"]
    assert made["after"]["drawn"] is True
    assert made["added"]["used"] == 1
    enrolled(client, client.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Dark Hair", "photos": [drawing(BLACK, RED, "dark.png")]}))
    page = client.get(f"/galleries/{cast_name}")
    assert b"drawings</span>" in page.data
    for name, hair, eyes in (("Pink Hair", PINK, BLUE), ("Dark Hair", BLACK, RED)):
        named = client.post("/api/v1/identify", data={
            "image": drawing(hair, eyes, "new.png", shift=12, scale=0.9),
            "gallery": cast_name})
        found = wait_done(client, named.get_json()["status_url"])
        assert found["status"] == "done", found
        assert [(f["name"], f["known"]) for f in found["result"]["faces"]] == [(name, True)]


def test_a_photo_with_no_face_is_named_in_the_job(member, cast_name):
    """No face in any photo: the job fails and says which photo; a faceless photo among good
    ones is listed in the result; the gallery is never made from nothing."""
    client = member
    failed = enrolled(client, client.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Tony Blair", "photos": [(sky(), "sky.jpg")]}), "failed")
    assert failed["error"] == ("no face was found in the photo sky.jpg of Tony Blair: the "
                               f"gallery '{cast_name}' was not created")
    assert not gallery_path(f"{owner_id(client)}@{cast_name}").is_symlink()

    enrolled(client, client.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Tony Blair", "photos": photos("Tony_Blair", [2])}))
    mixed = enrolled(client, client.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Colin Powell", "photos": [*photos("Colin_Powell", [2]), (sky(), "sky.jpg")]}))
    assert mixed["result"]["added"]["no_face"] == ["sky.jpg"]
    assert mixed["result"]["message"] == \
        "Added Colin Powell from 1 of 2 photos. No face in: sky.jpg."
    nobody = enrolled(client, client.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Hugo Chavez", "photos": [(sky(), "blue.jpg"), (sky(), "sky.jpg")]}), "failed")
    assert nobody["error"] == ("no face was found in any photo (blue.jpg, sky.jpg) of Hugo "
                               "Chavez: nobody was added")
    people = client.get(f"/api/v1/galleries/{cast_name}").get_json()["people"]
    assert [p["name"] for p in people] == ["Colin Powell", "Tony Blair"]


def test_another_account_cannot_enrol_into_or_see_a_gallery(embedded_stack, cast_name):
    app = embedded_stack.app()
    alice, bob = sign_up(app.test_client(), "alice"), sign_up(app.test_client(), "bob")
    made = enrolled(alice, alice.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Tony Blair", "photos": photos("Tony_Blair", [2])}))
    jobs_before = sorted((embedded_stack.data_dir / "jobs").iterdir())

    into = bob.post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Colin Powell", "photos": photos("Colin_Powell", [2])})
    assert into.status_code == 404 and into.get_json()["error"] == f"no gallery named '{cast_name}'"
    page = bob.post(f"/galleries/{cast_name}/people", data={
        "csrf_token": csrf(bob), "name": "Colin Powell", "photos": photos("Colin_Powell", [2])})
    assert page.status_code == 404
    assert sorted((embedded_stack.data_dir / "jobs").iterdir()) == jobs_before  # nothing queued
    assert bob.get(f"/api/v1/galleries/{cast_name}").status_code == 404
    assert bob.get(f"/api/v1/jobs/{made['job']}").status_code == 404  # nor alice's enrolment
    assert bob.get(f"/galleries/jobs/{made['job']}").status_code == 404
    listed = bob.get("/api/v1/galleries").get_json()["galleries"]
    assert cast_name not in [g["name"] for g in listed]
    visitor = app.test_client().post(f"/api/v1/galleries/{cast_name}/people", data={
        "name": "Colin Powell", "photos": photos("Colin_Powell", [2])})
    assert visitor.status_code == 401

    # bob's own gallery of that name is his; alice's stays as it was
    enrolled(bob, bob.post("/api/v1/galleries", data={
        "name": cast_name, "person": "Colin Powell", "photos": photos("Colin_Powell", [2])}))
    assert [p["name"] for p in alice.get(f"/api/v1/galleries/{cast_name}").get_json()["people"]] \
        == ["Tony Blair"]
    assert alice.get(f"/api/v1/jobs/{made['job']}").headers["Cache-Control"] == \
        "private, no-store"


# -- videos are checked in the request -------------------------------------------------------


def odd_videos(folder: Path) -> dict[str, bytes]:
    """Files people upload by mistake, each with what must happen."""
    avi = folder / "blank.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for _ in range(5):
        writer.write(np.zeros((64, 64, 3), np.uint8))
    writer.release()
    empty = folder / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64)).release()
    return {"text": b"this is not a video",
            "codec": avi.read_bytes().replace(b"MJPG", b"ZZZZ"),  # a codec nobody decodes
            "no frames": empty.read_bytes(),
            "empty": b""}


@pytest.mark.parametrize("case, status, words", [
    ("text", 415, "not a video"),
    ("codec", 415, "codec this build cannot decode"),
    ("no frames", 400, "no frames"),
    ("empty", 400, "The video: the file is empty"),
])
def test_bad_videos_are_refused_before_queueing(client, app, web_gallery, tmp_path, case,
                                                status, words):
    data = odd_videos(tmp_path)[case]
    response = client.post("/api/v1/screentime", data={
        "video": (io.BytesIO(data), "clip.mp4"), "gallery": web_gallery})
    assert response.status_code == status, response.get_json()
    assert words in response.get_json()["error"]
    assert str(tmp_path) not in response.get_json()["error"]
    data_dir = app.config["DATA_DIR"]
    assert not list((data_dir / "jobs").iterdir()) and not list((data_dir / "uploads").iterdir())


def test_too_long_too_large_and_bad_options(tmp_path, web_gallery, clip):
    from webapp import create_app

    path, _ = clip
    base = {"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery, "QUEUE": "cpu",
            "TESTING": True}
    short = sign_up(create_app({**base, "MAX_VIDEO_SECONDS": 5}).test_client())

    def post(client, **form):
        return client.post("/api/v1/screentime", data={
            "video": (open(path, "rb"), "scene.mp4"), "gallery": web_gallery, **form})

    long = post(short)
    assert long.status_code == 400 and "lasts 10 s; the limit is 5 s" in long.get_json()["error"]
    assert post(short, fps="fast").status_code == 400
    assert "between 0.1 and 10" in post(short, fps="50").get_json()["error"]
    assert "bodies must be 1 or 0" in post(short, bodies="maybe").get_json()["error"]
    assert post(short, gallery="no-such").status_code == 404
    tiny = sign_up(create_app({**base, "MAX_VIDEO_MB": 0.01}).test_client())
    large = post(tiny)
    assert large.status_code == 413 and "video is too large" in large.get_json()["error"]
    page = tiny.post("/screentime", data={"video": (open(path, "rb"), "scene.mp4")})
    assert page.status_code == 413 and b"too large" in page.data


# -- with workers ----------------------------------------------------------------------------


def test_identify_and_screen_time_with_real_workers(embedded_stack, video_worker, clip,
                                                    cast_name):
    app = embedded_stack.app()
    client = sign_up(app.test_client())
    create_cast(client, cast_name)

    # The video is queued first, with no video worker yet: photos are not held up behind it.
    path, truth = clip
    video = client.post("/api/v1/screentime", data={
        "video": (open(path, "rb"), "scene.mp4"), "gallery": cast_name, "fps": "2"})
    assert video.status_code == 202, video.get_json()
    video = video.get_json()
    assert video["page_url"].startswith("/screentime/")

    named = {}
    for person, n in (("Tony_Blair", 1), ("Serena_Williams", 1), ("Hugo_Chavez", 1)):
        queued = client.post("/api/v1/identify", data={
            "image": (open(lfw(person, n), "rb"), "photo.jpg"), "gallery": cast_name})
        assert queued.status_code == 202, queued.get_json()
        status = wait_done(client, queued.get_json()["status_url"], timeout=120)
        assert status["status"] == "done", status
        result = status["result"]
        assert len(result["faces"]) == 1
        named[person] = result["faces"][0]
    assert named["Tony_Blair"]["name"] == "Tony Blair" and named["Tony_Blair"]["known"]
    assert named["Serena_Williams"]["name"] == "Serena Williams"
    assert named["Hugo_Chavez"]["name"] == "unknown" and not named["Hugo_Chavez"]["known"]
    assert client.get(named["Tony_Blair"]["photo_url"]).mimetype == "image/jpeg"
    drawn = client.get(result["drawn_url"] + "?download=1")
    assert "attachment" in drawn.headers["Content-Disposition"]
    assert Image.open(io.BytesIO(drawn.data)).size == (result["width"], result["height"])
    assert client.get(video["status_url"]).get_json()["status"] == "queued"

    video_worker()
    seen = []
    deadline = time.time() + 180
    while time.time() < deadline:
        status = client.get(video["status_url"]).get_json()
        seen.append(status)
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert status["status"] == "done", status
    result = status["result"]
    assert result["video"] == "scene.mp4" and abs(result["duration"] - 10) < 0.01
    seconds = {p["name"]: p["seconds"] for p in result["people"]}
    assert set(seconds) == {"Tony Blair", "Colin Powell", "Serena Williams"}, seconds
    for name, true in truth.items():
        if name != "stranger":
            assert abs(seconds[name] - true) <= 0.5, (name, seconds[name], true)
    assert result["unknown_seconds"] > 1  # the stranger
    frames = [s for s in seen if s.get("stage") == "frames"]
    assert all(s["steps"] == 20 and 0 <= s["progress"] <= 1 for s in frames), frames

    rows = list(csv.DictReader(io.StringIO(client.get(result["csv_url"]).text)))
    assert {r["name"] for r in rows} == set(seconds)
    chart = Image.open(io.BytesIO(client.get(result["timeline_url"]).data))
    sheet = Image.open(io.BytesIO(client.get(result["sheet_url"]).data))
    assert chart.format == "PNG" and sheet.format == "JPEG"

    assert client.delete(f"/api/v1/jobs/{video['job']}").status_code == 204
    assert client.get(video["status_url"]).status_code == 404

    # A gallery deleted while a photo waits: the job says so.
    assert client.delete(f"/api/v1/galleries/{cast_name}").status_code == 204
    gone = client.post("/api/v1/identify", data={
        "image": (open(lfw("Tony_Blair", 1), "rb"), "photo.jpg"), "gallery": cast_name})
    assert gone.status_code == 404 and "no gallery named" in gone.get_json()["error"]


# -- in a browser ----------------------------------------------------------------------------


def make_pair(folder: Path) -> Path:
    """Powell (enrolled) beside Chavez (a stranger to the cast gallery), side by side."""
    left, right = (Image.open(lfw(p, 1)).convert("RGB") for p in ("Colin_Powell", "Hugo_Chavez"))
    pair = Image.new("RGB", (left.width + right.width, left.height))
    pair.paste(left, (0, 0))
    pair.paste(right, (left.width, 0))
    path = folder / "pair.jpg"
    pair.save(path, quality=92)
    return path


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_people_pages_in_a_browser(server, browser, video_worker, clip, cast_name,  # noqa: F811
                                   tmp_path):
    video_worker()
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    browser_sign_up(page, server)  # (a 409 when the account exists: not this page's error)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server + "/galleries")
    page.fill("input[name=name]", cast_name)
    page.fill("input[name=person]", "Tony Blair")
    page.set_input_files("input[name=photos]", [str(lfw("Tony_Blair", n)) for n in ENROL])
    page.click("text=Create the gallery")
    page.wait_for_selector("#enrolled", timeout=90_000)  # the job's page, once the worker is done
    assert "/galleries/jobs/" in page.url
    assert page.locator("#enrolled").inner_text() == (
        f"Added Tony Blair from 3 of 3 photos. Gallery '{cast_name}' is ready.")
    shot(page, "people-enrolled-desktop")
    for person in CAST[1:]:
        page.click(f"text=Open {cast_name}")
        page.fill("input[name=name]", person.replace("_", " "))
        page.set_input_files("input[name=photos]", [str(lfw(person, n)) for n in ENROL])
        page.click("button:text-is('Add')")
        page.wait_for_selector(f"#enrolled:has-text('Added {person.replace('_', ' ')}')",
                               timeout=90_000)
    page.click(f"text=Open {cast_name}")
    blank = tmp_path / "sky.jpg"  # no face: the job's page says so, naming the photo
    blank.write_bytes(sky().getvalue())
    page.fill("input[name=name]", "Nobody Here")
    page.set_input_files("input[name=photos]", [str(blank)])
    page.click("button:text-is('Add')")
    page.wait_for_selector("#job-error", state="visible", timeout=90_000)
    assert page.locator("#job-error").inner_text() == (
        "no face was found in the photo sky.jpg of Nobody Here: nobody was added")
    page.click(f"text=Back to {cast_name}")
    assert page.locator(".people-grid .person img").count() == 3
    page.wait_for_load_state("networkidle")
    shot(page, "people-gallery-desktop")

    page.click("main >> text=Who is who?")
    page.set_input_files("input[name=image]", str(make_pair(tmp_path)))
    assert page.locator("select[name=gallery]").input_value() == cast_name
    shot(page, "people-identify-form-desktop")
    page.click("text=Name the faces")
    page.wait_for_selector(".identified .name", timeout=90_000)
    names = page.locator(".identified .name").all_text_contents()
    assert sorted(names) == ["Colin Powell", "unknown"], names
    page.wait_for_load_state("networkidle")
    shot(page, "people-identify-desktop")
    with page.expect_download() as download:
        page.click("text=Download the named photo")
    saved = tmp_path / "named.jpg"
    download.value.save_as(saved)
    assert Image.open(saved).format == "JPEG"

    # stills of one film: Ada facing in one, from behind in the other, named by her body
    cast = actors()
    files = {}
    for name, image in [("ada.jpg", cast["Ada"][0]),
                        *zip(("still1.jpg", "still2.jpg"),
                             stills_of(cast, [[("Ada", "F")], [("Ada", "B")]]), strict=True)]:
        files[name] = tmp_path / name
        Image.fromarray(image).save(files[name], quality=92)
    page.goto(server + f"/galleries/{cast_name}")
    page.fill("input[name=name]", "Ada")
    page.set_input_files("input[name=photos]", [str(files["ada.jpg"])])
    page.click("button:text-is('Add')")
    page.wait_for_selector("#enrolled:has-text('Added Ada')", timeout=90_000)
    page.goto(server + f"/identify?gallery={cast_name}")
    page.set_input_files("input[name=image]", [str(files["still1.jpg"]), str(files["still2.jpg"])])
    page.click("text=Name the faces")
    page.wait_for_selector("#drawn-2", timeout=90_000)
    assert page.locator(".identified .name").all_text_contents() == ["Ada", "Ada (body)"]
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.getElementById('drawn-2').naturalWidth") == 1280
    shot(page, "people-identify-stills-desktop")

    page.goto(server + f"/screentime?gallery={cast_name}")
    path, _ = clip
    page.set_input_files("input[name=video]", str(path))
    shot(page, "people-screentime-form-desktop")
    page.click("text=Measure screen time")
    page.wait_for_selector(".screen-table", timeout=120_000)
    table = page.locator(".screen-table").inner_text()
    assert "Tony Blair" in table and "Serena Williams" in table
    assert "By body alone" in table  # bodies are followed by default
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.getElementById('timeline').naturalWidth") > 0
    shot(page, "people-screentime-desktop")
    with page.expect_download() as download:
        page.click("text=CSV")
    assert "name,start_s,end_s,seconds" in Path(download.value.path()).read_text()
    phone = browser.new_page(viewport=PHONE)
    browser_sign_up(phone, server)
    phone.goto(page.url)
    phone.wait_for_selector(".screen-table", timeout=30_000)
    phone.wait_for_load_state("networkidle")
    shot(phone, "people-screentime-phone")
    phone.goto(server + f"/galleries/{cast_name}")
    shot(phone, "people-gallery-phone")

    page.goto(server + f"/galleries/{cast_name}")
    page.click(".person:has-text('Colin Powell') button")
    page.wait_for_selector(".flash:has-text('Colin Powell was removed')")
    assert page.locator(".people-grid .person").count() == 3  # Blair, Williams and Ada
    page.click("text=Delete this gallery")
    page.wait_for_selector(".flash:has-text('was deleted')")
    assert cast_name not in page.locator("main").inner_text().replace(
        page.locator(".flash").inner_text(), "")
    shot(page, "people-galleries-desktop")
    assert not errors, errors


def test_a_bad_video_is_a_message_in_the_browser(server, browser, web_gallery,  # noqa: F811
                                                 tmp_path):
    page = browser.new_page(viewport=PHONE)
    browser_sign_up(page, server)
    page.goto(server + f"/screentime?gallery={web_gallery}")
    bad = tmp_path / "holiday.mp4"
    bad.write_text("this is not a video")
    page.set_input_files("input[name=video]", str(bad))
    page.click("text=Measure screen time")
    assert "not a video" in page.locator(".error").first.inner_text()
    assert page.locator("select[name=gallery]").input_value() == web_gallery
    shot(page, "people-screentime-error-phone")

