"""The hostile-input corpus (``tests/hostile.py``) sent to every upload route of the API, with
hostile file names, names and numbers: each answer is a 4xx with a message or a normal result,
never a 5xx or a traceback, and the server answers the next valid request normally.

Real app; jobs (gallery enrolment too) are queued, not run (the workers' side of bad input is
covered in ``test_workers.py`` and, for enrolment, ``test_people.py``).
"""

from __future__ import annotations

import io
import uuid

import pytest

from ml.galleries.build import build
from ml.galleries.store import delete_gallery, list_galleries
from tests import hostile
from tests.support import enrol, lfw
from tests.webapp.support import sign_up
from webapp import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return {**hostile.images(folder / "images"), **hostile.videos(folder / "videos")}


@pytest.fixture
def member(tmp_path, web_gallery):
    """A signed-in client of a fresh app (uploads not rate-limited: the corpus is long)."""
    app = create_app({"DATA_DIR": tmp_path / "data", "GALLERY": web_gallery, "QUEUE": "cpu",
                      "TESTING": True, "UPLOAD_LIMIT": "100000 per minute"})
    suffix = uuid.uuid4().hex[:6]
    yield sign_up(app.test_client()), app, suffix
    for stored in list_galleries():
        if "@" in stored and stored.endswith(suffix):
            delete_gallery(stored)


def photo() -> bytes:
    return lfw("Tony_Blair", 1).read_bytes()


def sane(response, tmp_path) -> None:
    """A normal answer, or a 4xx with a message for the user (no traceback, no path)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert body and body.get("error"), response.get_data(as_text=True)[:300]
        assert "Traceback" not in body["error"] and str(tmp_path) not in body["error"]


def routes(client, web_gallery: str, suffix: str, folder):
    """Every upload route of the API, as a function of one uploaded file."""
    gallery = f"target-{suffix}"
    owner = client.get("/api/v1/account").get_json()["owner_id"]
    build(f"{owner}@{gallery}", [enrol(folder, ["Colin_Powell"], photos=[1, 2])])
    counter = iter(range(10**6))
    return {
        "analyze": lambda f: client.post("/api/v1/analyze", data={"image": f}),
        "family": lambda f: client.post("/api/v1/family", data={
            "image": [f, (io.BytesIO(photo()), "mum.jpg")], "name": ["child", "mum"]}),
        "galleries": lambda f: client.post("/api/v1/galleries", data={
            "name": f"g{next(counter)}-{suffix}", "person": "Some One", "photos": f}),
        "gallery person": lambda f: client.post(f"/api/v1/galleries/{gallery}/people", data={
            "name": f"Person {next(counter)}", "photos": f}),
        "identify": lambda f: client.post("/api/v1/identify", data={
            "image": f, "gallery": web_gallery}),
        "screen time": lambda f: client.post("/api/v1/screentime", data={
            "video": f, "gallery": web_gallery}),
    }


def test_every_hostile_file_on_every_upload_route(member, corpus, web_gallery, tmp_path):
    client, app, suffix = member
    answered: dict[tuple[str, str], int] = {}
    for route, post in routes(client, web_gallery, suffix, tmp_path / "src").items():
        for name, path in corpus.items():
            response = post((open(path, "rb"), name))
            sane(response, tmp_path)
            answered[route, name] = response.status_code
    # What must be refused is refused, everywhere a photo is expected.
    for route in ("analyze", "family", "galleries", "gallery person", "identify"):
        for name in ("not-an-image.jpg", "empty.jpg", "truncated.jpg", "header-only.jpg",
                     "header-only.png", "3.6-gigapixels.png", "drawing.svg", "no-frames.mp4",
                     "four-hours.mp4"):
            assert 400 <= answered[route, name] < 500, (route, name, answered[route, name])
        assert answered[route, "25-megabytes.jpg"] == 413, route
    # ... and what a phone may send is a normal result (a queued job).
    for route in ("analyze", "identify", "galleries", "gallery person"):
        for name in [f"exif-orientation-{n}.jpg" for n in range(1, 9)] + [
                "cmyk.jpg", "16-bit.png", "animated.gif", "face-at-the-border.jpg"]:
            assert answered[route, name] == 202, (route, name, answered[route, name])
    assert answered["analyze", "60-faces.jpg"] == 202
    assert answered["analyze", "1x1.png"] == 202  # a photo: its result will say "no face"
    assert answered["galleries", "1x1.png"] == 202  # a photo: its job will say "no face"
    assert answered["screen time", "four-hours.mp4"] == 400  # longer than the limit
    # OpenCV plays an animated GIF as a (2-frame) video; nothing else here is one.
    assert all(answered["screen time", name] in (400, 415) for name in corpus
               if name != "animated.gif")
    # The server answers the next valid request normally.
    after = client.post("/api/v1/analyze", data={"image": (io.BytesIO(photo()), "me.jpg")})
    assert after.status_code == 202 and client.get("/").status_code == 200


def test_hostile_file_names_never_reach_a_path(member, tmp_path):
    client, app, _ = member
    for name in hostile.FILE_NAMES:
        response = client.post("/api/v1/analyze", data={"image": (io.BytesIO(photo()), name)})
        assert response.status_code == 202, (name, response.get_json())
        job = app.config["DATA_DIR"] / "jobs" / response.get_json()["job"]
        assert sorted(p.name for p in job.iterdir()) == ["input-0", "meta.json"]
    every = [str(p) for p in app.config["DATA_DIR"].rglob("*")]
    assert not [p for p in every if any(bit in p for bit in ("passwd", "boot", ".exe", "😀",
                                                             "xxxx", "//"))]


def test_hostile_names_and_numbers_are_4xx(member, web_gallery, tmp_path):
    client, _, suffix = member
    for name in hostile.NAMES:
        answers = [
            client.post("/api/v1/galleries", data={
                "name": name, "person": "A B", "photos": (io.BytesIO(photo()), "p.jpg")}),
            client.post("/api/v1/galleries", data={
                "name": f"n-{suffix}", "person": name,
                "photos": (io.BytesIO(photo()), "p.jpg")}),
            client.post("/api/v1/identify", data={
                "image": (io.BytesIO(photo()), "p.jpg"), "gallery": name}),
            client.get(f"/api/v1/galleries/{name}"),
            client.delete(f"/api/v1/galleries/{name}"),
            client.get(f"/api/v1/galleries/{name}/thumbs/x.jpg"),
        ]
        for response in answers:
            sane(response, tmp_path)
            # (308: a URL path the router normalises, "%2e%2e%2f" -> "../")
            assert response.status_code in (308, 400, 404, 405, 409), (name, response.status_code)
        family = client.post("/api/v1/family", data={
            "image": [(io.BytesIO(photo()), "a.jpg"), (io.BytesIO(photo()), "b.jpg")],
            "name": [name, "mum"]})
        sane(family, tmp_path)
    for field, values in {"k": ["0", "21", "-1", "abc", "1e9", "nan", "inf", "5.5"],
                          "blur": ["-1", "41", "x", "1e99"]}.items():
        for value in values:
            response = client.post("/api/v1/analyze", data={
                "image": (io.BytesIO(photo()), "p.jpg"), field: value})
            sane(response, tmp_path)
            assert response.status_code == 400, (field, value)
    video = lfw("Tony_Blair", 1)  # the fps check comes before the file is read as a video
    for value in ["0", "11", "x", "nan", "inf", "-2"]:
        response = client.post("/api/v1/screentime", data={
            "video": (open(video, "rb"), "v.mp4"), "gallery": web_gallery, "fps": value})
        sane(response, tmp_path)
        assert response.status_code == 400, value
