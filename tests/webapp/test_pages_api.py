"""Pages and API through Flask's test client: bad input, CSRF, OpenAPI, delete-now, TTL sweep.

No worker runs here: accepted jobs stay queued, which is all these tests need.
"""

from __future__ import annotations

import io
import re
import struct
import time
import zlib

import pytest
from PIL import Image

from tests.support import lfw
from webapp import create_app
from webapp.core import jobs, pages
from webapp.core.tasks import sweep as sweep_task

JPEG = lfw("Tony_Blair").read_bytes()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def ico() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(JPEG)).convert("RGB").resize((64, 64)).save(out, "ICO")
    return out.getvalue()


BAD_INPUTS = {
    "not an image": (b"%PDF-1.4 hello, I am not a photo", 400, "not an image"),
    "truncated": (JPEG[: len(JPEG) // 2], 400, "truncated"),
    "decompression bomb": (png_claiming(20_000, 20_000), 400, "too many pixels"),
    "unsupported format": (ico(), 415, "not supported"),
    "empty file": (b"", 400, "empty"),
}


def csrf(client, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def job_dirs(app) -> list:
    return [p for p in jobs.jobs_root(app.config["DATA_DIR"]).iterdir()]


def upload(data: bytes, name: str = "me.jpg") -> tuple:
    return (io.BytesIO(data), name)


# -- pages ---------------------------------------------------------------------------------


def test_upload_page_offers_picker_camera_and_drop_under_a_strict_csp(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'accept="image/*"' in html and 'capture="user"' in html and 'id="drop"' in html
    assert "up to 20 MB" in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))  # no inline JS
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/app.js").status_code == 200


def test_family_page_has_named_rows(client):
    html = client.get("/family").get_data(as_text=True)
    assert html.count('name="image"') == 3 and 'value="child"' in html


def test_family_page_says_what_kinship_means_and_how_often_it_is_right(client):
    import re

    from ml.family.kinship import kinship_model

    html = client.get("/family").get_data(as_text=True)
    about = html[html.index('id="kinship-about"'):]
    about = about[: about.index("</p>")]
    measured = round(100 * kinship_model().accuracy["fiw_test_accuracy"])
    assert "parent and child" in about and f"right for {measured}%" in about
    assert re.search(r"same relation", about)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_page_bad_input_is_a_clear_message(client, app, case):
    data, status, words = BAD_INPUTS[case]
    token = csrf(client)
    response = client.post("/analyze", data={"csrf_token": token, "image": upload(data)})
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert words in html and 'class="error"' in html
    assert job_dirs(app) == []  # bad input never becomes a job


def test_page_needs_a_file(client):
    response = client.post("/analyze", data={"csrf_token": csrf(client)})
    assert response.status_code == 400 and "choose a photo" in response.get_data(as_text=True)


def test_page_upload_queues_a_job_and_shows_its_page(client, app):
    response = client.post("/analyze", data={"csrf_token": csrf(client),
                                              "image": upload(JPEG, "../../etc/passwd.jpg")})
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)
    folder = jobs.jobs_root(app.config["DATA_DIR"]) / job_id
    assert sorted(p.name for p in folder.iterdir()) == ["input-0", "meta.json"]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"/api/v1/jobs/{job_id}" in page and "Delete now" in page


def test_camera_field_is_used_when_no_file_was_picked(client):
    response = client.post("/analyze", data={"csrf_token": csrf(client),
                                              "image": upload(b"", ""),
                                              "camera": upload(JPEG, "selfie.jpg")})
    assert response.status_code == 303


def test_forms_without_the_csrf_token_are_refused(client, app):
    assert client.post("/analyze", data={"image": upload(JPEG)}).status_code == 400
    csrf(client)  # a session exists now, but the token is wrong
    response = client.post("/analyze", data={"csrf_token": "forged", "image": upload(JPEG)})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert job_dirs(app) == []
    job_id = client.post("/api/v1/analyze", data={"image": upload(JPEG)}).get_json()["job"]
    assert client.post(f"/jobs/{job_id}/delete").status_code == 400
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 200  # not deleted


def test_delete_now_from_the_page(client, app):
    token = csrf(client)
    job_id = client.post("/analyze", data={"csrf_token": token, "image": upload(JPEG)}
                         ).headers["Location"].rsplit("/", 1)[1]
    response = client.post(f"/jobs/{job_id}/delete", data={"csrf_token": token},
                           follow_redirects=True)
    assert "were deleted" in response.get_data(as_text=True)
    assert job_dirs(app) == []
    assert client.get(f"/jobs/{job_id}").status_code == 404


def test_too_large_upload_is_413_on_the_page_and_in_the_api(tmp_path, web_gallery):
    app = create_app({"DATA_DIR": tmp_path, "GALLERY": web_gallery, "QUEUE": "cpu",
                      "MAX_UPLOAD_MB": 1})
    client = app.test_client()
    big = JPEG + b"\0" * (1024 * 1024)
    response = client.post("/analyze", data={"csrf_token": csrf(client), "image": upload(big)})
    assert response.status_code == 413 and "limit is 1 MB" in response.get_data(as_text=True)
    response = client.post("/api/v1/analyze", data={"image": upload(big)})
    assert response.status_code == 413 and "limit is 1 MB" in response.get_json()["error"]


def test_unknown_pages_are_friendly_404s(client):
    response = client.get("/jobs/" + "0" * 32)
    assert response.status_code == 404 and "deleted" in response.get_data(as_text=True)
    assert client.get("/no/such/page").status_code == 404


# -- API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_api_bad_input_is_a_json_error(client, app, case):
    data, status, words = BAD_INPUTS[case]
    response = client.post("/api/v1/analyze", data={"image": upload(data)})
    assert response.status_code == status
    assert words in response.get_json()["error"]
    assert job_dirs(app) == []


@pytest.mark.parametrize("form, words", [
    ({}, "no file"),
    ({"k": "lots"}, "whole number"),
    ({"k": "0"}, "between 1 and"),
    ({"blur": "99"}, "between 0 and 40"),
])
def test_api_bad_parameters(client, form, words):
    data = dict(form)
    if form:
        data["image"] = upload(JPEG)
    response = client.post("/api/v1/analyze", data=data)
    assert response.status_code == 400 and words in response.get_json()["error"]


def test_api_accepts_and_queues(client, app):
    response = client.post("/api/v1/analyze",
                           data={"image": upload(JPEG), "k": "3", "actors_only": "true"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status_url"] == f"/api/v1/jobs/{body['job']}"
    status = client.get(body["status_url"]).get_json()
    assert status["status"] == "queued" and status["result"] is None
    assert status["options"]["k"] == 3 and status["options"]["actors_only"] is True


def test_api_family_input_checks(client, app):
    one = client.post("/api/v1/family", data={"image": [upload(JPEG)], "name": ["child"]})
    assert one.status_code == 400 and "2 to 6" in one.get_json()["error"]
    seven = client.post("/api/v1/family", data={"image": [upload(JPEG) for _ in range(7)]})
    assert seven.status_code == 400
    same = client.post("/api/v1/family", data={"image": [upload(JPEG), upload(JPEG)],
                                               "name": ["mum", "mum"]})
    assert same.status_code == 400 and "different name" in same.get_json()["error"]
    bad = client.post("/api/v1/family", data={"image": [upload(JPEG), upload(b"nope")],
                                              "name": ["child", "dad"]})
    assert bad.status_code == 400 and "dad's photo" in bad.get_json()["error"]
    assert job_dirs(app) == []
    ok = client.post("/api/v1/family", data={"image": [upload(JPEG), upload(JPEG)],
                                             "name": ["child", "dad"]})
    assert ok.status_code == 202


def test_family_form_pairs_names_with_their_rows(client):
    """A row left without a photo drops its name, not the next person's."""
    response = client.post("/family", data={
        "csrf_token": csrf(client, "/family"),
        "image": [upload(JPEG), upload(b"", ""), upload(JPEG)],
        "name": ["child", "mother", "father"]})
    assert response.status_code == 303
    status = client.get("/api" + response.headers["Location"].replace("/jobs/", "/v1/jobs/"))
    assert status.get_json()["options"]["names"] == ["child", "father"]


def test_api_delete_now(client, app):
    job_id = client.post("/api/v1/analyze", data={"image": upload(JPEG)}).get_json()["job"]
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert job_dirs(app) == []
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 404


def test_only_random_ids_and_known_names_reach_files(client, app):
    job_id = client.post("/api/v1/analyze", data={"image": upload(JPEG)}).get_json()["job"]
    for path in [f"/api/v1/jobs/{job_id}/files/meta.json",
                 f"/api/v1/jobs/{job_id}/files/input-0",
                 f"/api/v1/jobs/{job_id}/files/..%2Fmeta.json",
                 f"/api/v1/jobs/{job_id}/files/photo.jpg",  # not written yet
                 "/api/v1/jobs/..%2F..%2Fsecret_key",
                 "/api/v1/jobs/NOTHEX/files/photo.jpg",
                 "/api/v1/galleries/..%2F..%2Fweights/thumbs/x.jpg",
                 "/api/v1/galleries/celebrities/thumbs/..%2Fmeta.json",
                 "/api/v1/galleries/nosuchgallery/thumbs/tony_blair.jpg"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.is_json


def test_gallery_thumbnails_are_served(client, web_gallery):
    response = client.get(f"/api/v1/galleries/{web_gallery}/thumbs/tony_blair.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"


def test_openapi_document_matches_the_routes(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    documented = {(path, method.upper()) for path, item in doc["paths"].items()
                  for method in item}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed


# -- expiry --------------------------------------------------------------------------------


def test_ttl_sweep_removes_expired_jobs_only(app):
    data_dir = app.config["DATA_DIR"]
    old = jobs.create(data_dir, "analyze", [JPEG], {}, ttl=60)
    fresh = jobs.create(data_dir, "analyze", [JPEG], {}, ttl=3600)
    assert jobs.sweep(data_dir, now=time.time() + 120) == 1
    assert not old.dir.exists() and fresh.dir.exists()
    with pytest.raises(jobs.JobNotFound):
        jobs.open_job(data_dir, old.id)


def test_results_live_a_full_ttl_from_when_they_are_ready(app):
    """A video can wait in its queue; its results must not vanish the moment they appear."""
    data_dir = app.config["DATA_DIR"]
    job = jobs.create(data_dir, "screentime", [JPEG], {}, ttl=60)
    job.meta["created"] -= 50  # queued for 50 of its 60 seconds
    job.meta["expires"] -= 50
    job.write_result({"people": []})
    assert jobs.sweep(data_dir, now=time.time() + 30) == 0
    assert jobs.open_job(data_dir, job.id).result() == {"people": []}
    staged = data_dir / "enrol" / "0123abcd"  # photos left by a process killed mid-enrolment
    staged.mkdir(parents=True)
    jobs.sweep(data_dir, now=time.time() + 7200, scratch=tuple(app.extensions["scratch"]))
    assert not staged.exists() and not job.dir.exists()


def test_expired_jobs_go_by_the_beat_task_and_by_requests(app, client):
    data_dir = app.config["DATA_DIR"]
    gone = jobs.create(data_dir, "analyze", [JPEG], {}, ttl=0)
    with app.app_context():
        assert sweep_task.apply().get() == 1  # what Celery beat runs
    assert not gone.dir.exists()
    later = jobs.create(data_dir, "analyze", [JPEG], {}, ttl=0)
    pages._last_sweep = 0.0  # the per-process throttle: as if the last sweep was long ago
    client.get("/")
    assert not later.dir.exists()
    expired = jobs.create(data_dir, "analyze", [JPEG], {}, ttl=0)
    assert client.get(f"/api/v1/jobs/{expired.id}").status_code == 404
