"""End to end with real Celery workers: the embedded SQLite default and a real Redis server.

Uploads go through the Flask API, workers run the real models on real photos, and results come
back through the API; the fault test kills a worker mid-task and a new worker finishes the job.
"""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import numpy as np
from PIL import Image

import ml
from ml.emotion.model import CLASSES
from ml.portrait.model import WEIGHTS as PORTRAIT_WEIGHTS
from tests.support import lfw
from tests.webapp.support import PHOTO, gallery_names, wait_done
from webapp.features.lookalikes.tasks import STAGES as ANALYZE_STAGES


def post_photo(client, path, **form) -> dict:
    data = {"image": (open(path, "rb"), "photo.jpg"), **form}
    response = client.post("/api/v1/analyze", data=data)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def check_analysis(client, status: dict, faces: int) -> None:
    """A finished analysis: faces with lookalikes and emotions, pictures that load."""
    assert status["status"] == "done", status
    result = status["result"]
    assert len(result["faces"]) == faces
    assert set(result["timings"]) == set(ANALYZE_STAGES)  # every stage was reported
    names = gallery_names()
    for face in result["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= result["width"] and 0 <= y1 < y2 <= result["height"]
        assert face["lookalikes"] and {m["name"] for m in face["lookalikes"]} <= names
        sims = [m["similarity"] for m in face["lookalikes"]]
        assert sims == sorted(sims, reverse=True) and all(0 <= s <= 100 for s in sims)
        assert all(m["actor"] for m in face["actor_lookalikes"])
        assert face["firmness"]["level"] in ("firm", "fair", "loose")
        assert face["lookalikes"][0]["name"] in face["firmness"]["text"]
        assert face["emotion"]["label"] in CLASSES
        assert abs(sum(face["emotion"]["probabilities"].values()) - 1) < 0.01
        assert face["lookalikes"][0]["photo_url"] and face["share_card_url"], face
        thumb = client.get(face["lookalikes"][0]["photo_url"])
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        card = client.get(face["share_card_url"])
        assert Image.open(io.BytesIO(card.data)).format == "PNG"
    assert result["photo_url"], result
    photo = client.get(result["photo_url"])
    assert Image.open(io.BytesIO(photo.data)).size == (result["width"], result["height"])
    check_portrait(client, result)


def check_portrait(client, result: dict) -> None:
    """JPEG, PNG and an RGBA cut-out, and re-blurring works (the weights ship with the code:
    missing ones are a failure, not an "unavailable")."""
    assert PORTRAIT_WEIGHTS.exists(), "the shipped portrait weights are missing"
    picture = Image.open(io.BytesIO(client.get(result["portrait_url"]).data))
    assert picture.format == "JPEG" and picture.size == (result["width"], result["height"])
    assert Image.open(io.BytesIO(client.get(result["portrait_png_url"]).data)).format == "PNG"
    cutout = Image.open(io.BytesIO(client.get(result["cutout_url"]).data))
    assert cutout.mode == "RGBA" and 0 < np.asarray(cutout)[:, :, 3].mean() < 255
    sharp = client.get(result["reblur_url"] + "?strength=0&format=png")
    blurred = client.get(result["reblur_url"] + "?strength=30&format=jpeg&download=1")
    assert sharp.status_code == 200 and blurred.status_code == 200
    assert "attachment" in blurred.headers["Content-Disposition"]
    assert client.get(result["reblur_url"] + "?strength=99").status_code == 400


# -- the embedded default ------------------------------------------------------------------


def test_embedded_default_analyses_a_photo_stage_by_stage(embedded_stack):
    client = embedded_stack.app().test_client()
    queued = post_photo(client, PHOTO, k="3")
    status = wait_done(client, queued["status_url"])
    check_analysis(client, status, faces=2)
    assert all(len(f["lookalikes"]) == 3 for f in status["result"]["faces"])
    assert client.get(queued["page_url"]).status_code == 200
    assert client.delete(f"/api/v1/jobs/{queued['job']}").status_code == 204
    assert client.get(queued["status_url"]).status_code == 404


def test_a_held_out_photo_finds_its_own_person_first(embedded_stack):
    client = embedded_stack.app().test_client()
    status = wait_done(client, post_photo(client, lfw("Colin_Powell", 1))["status_url"])
    face = status["result"]["faces"][0]
    assert face["lookalikes"][0]["name"] == "Colin Powell" and not face["no_close_match"]


def post_photos(client, paths, **form):
    files = [(open(path, "rb"), f"photo{n}.jpg") for n, path in enumerate(paths, 1)]
    return client.post("/api/v1/analyze", data={"image": files, **form})


def test_several_photos_of_one_person_give_one_answer(embedded_stack):
    client = embedded_stack.app().test_client()
    queued = post_photos(client, [lfw("Colin_Powell", n) for n in (1, 5, 6)], k="3")
    assert queued.status_code == 202, queued.get_json()
    status = wait_done(client, queued.get_json()["status_url"])
    result = status["result"]
    assert status["status"] == "done" and result["photos"] == 3
    assert len(result["faces"]) == 1  # one person, one lookalike list
    face = result["faces"][0]
    assert face["lookalikes"][0]["name"] == "Colin Powell" and len(face["lookalikes"]) == 3
    firm = face["firmness"]
    assert firm["photos"] == 3 and 0 <= firm["photos_agreeing"] <= 3
    assert "Colin Powell" in firm["text"] and firm["level"] in ("firm", "fair", "loose")
    assert any("your 3 photos" in note for note in result["notes"])


def test_photos_of_different_people_are_refused_naming_the_photo(embedded_stack):
    client = embedded_stack.app().test_client()
    paths = [lfw("Colin_Powell", 1), lfw("Colin_Powell", 5), lfw("Serena_Williams", 1)]
    status = wait_done(client, post_photos(client, paths).get_json()["status_url"])
    assert status["status"] == "failed"
    assert "photo 3 shows someone else" in status["error"], status
    six = post_photos(client, [lfw("Colin_Powell", n) for n in range(1, 7)])
    assert six.status_code == 400 and "at most 5 photos" in six.get_json()["error"]


def test_many_faces_are_capped_with_a_note(embedded_stack):
    client = embedded_stack.app(MAX_FACES=1).test_client()
    status = wait_done(client, post_photo(client, PHOTO)["status_url"])
    result = status["result"]
    assert len(result["faces"]) == 1 and result["faces_found"] == 2
    assert any("only the 1 largest" in note for note in result["notes"])


def test_a_photo_without_a_face_still_gets_its_portrait(embedded_stack, tmp_path):
    image = ml.load_image(PHOTO)
    body = image[image.shape[0] // 2 :]  # the lower half: clothes, no face
    assert ml.detect(body) == []
    path = tmp_path / "body.png"
    Image.fromarray(body).save(path)
    client = embedded_stack.app().test_client()
    status = wait_done(client, post_photo(client, path)["status_url"])
    result = status["result"]
    assert status["status"] == "done" and result["faces"] == []
    assert any("No face" in note for note in result["notes"])
    check_portrait(client, result)


def test_a_missing_gallery_fails_the_job_with_a_reason(embedded_stack):
    client = embedded_stack.app(GALLERY="no-such-gallery").test_client()
    status = wait_done(client, post_photo(client, PHOTO)["status_url"])
    assert status["status"] == "failed" and "no gallery named" in status["error"]


def test_family_resemblance_end_to_end(embedded_stack):
    client = embedded_stack.app().test_client()
    photos = [lfw("Tony_Blair", 1), lfw("Tony_Blair", 9), lfw("Colin_Powell", 1)]
    response = client.post("/api/v1/family", data={
        "image": [(open(p, "rb"), "x.jpg") for p in photos],
        "name": ["child", "mother", "father"]})
    assert response.status_code == 202
    result = wait_done(client, response.get_json()["status_url"])["result"]
    assert result["verdict"].startswith("child looks most like mother")
    matrix, names = np.array(result["matrix"]), result["names"]
    assert matrix.shape == (3, 3) and np.allclose(matrix, matrix.T)
    assert matrix[0, 1] > matrix[0, 2]
    assert set(result["regions"]) == {"eyes", "nose", "mouth"}
    assert result["regions"]["eyes"]["most_like"] == "mother"
    assert "children" in result["note"]
    kinship = result["kinship"]
    assert set(kinship["scores"]) == {"mother", "father"}
    assert all(0 <= p <= 1 for p in kinship["scores"].values())
    assert kinship["matrix"][0][0] is None and 0 <= kinship["matrix"][1][2] <= 1
    best = kinship["most_like"]
    assert result["verdict"].startswith(f"child looks most like {best}: kinship ")
    said = int(result["verdict"].split("kinship ")[1].split("%")[0])
    assert abs(said - 100 * kinship["scores"][best]) <= 1 and names.index(best) > 0
    assert "right for" in kinship["about"]
    for person in result["people"]:
        assert client.get(person["photo_url"]).status_code == 200


def test_family_leaves_out_photos_without_a_face(embedded_stack, tmp_path):
    image = ml.load_image(PHOTO)
    body = tmp_path / "body.png"
    Image.fromarray(image[image.shape[0] // 2 :]).save(body)
    client = embedded_stack.app().test_client()
    photos = [lfw("Tony_Blair", 1), body, lfw("Colin_Powell", 1)]
    response = client.post("/api/v1/family", data={
        "image": [(open(p, "rb"), "x.jpg") for p in photos], "name": ["kid", "aunt", "dad"]})
    result = wait_done(client, response.get_json()["status_url"])["result"]
    assert result["missing"] == ["aunt"] and result["names"] == ["kid", "dad"]
    assert result["verdict"].startswith("kid looks most like dad")


# -- Redis ---------------------------------------------------------------------------------


def test_redis_broker_end_to_end(redis_stack):
    redis_stack.start_worker("redis")
    client = redis_stack.app().test_client()
    status = wait_done(client, post_photo(client, PHOTO)["status_url"])
    check_analysis(client, status, faces=2)


def wait_running(client, url: str) -> None:
    deadline = time.time() + 60
    while client.get(url).get_json()["status"] != "running":
        assert time.time() < deadline, "the task never started"
        time.sleep(0.02)


def test_a_killed_worker_loses_no_job(redis_stack):
    """SIGKILL the worker while its task runs: the task was not acknowledged (acks_late), so
    Redis hands it to the next worker after the visibility timeout, which finishes it."""
    first = redis_stack.start_worker("doomed")
    client = redis_stack.app().test_client()
    queued = post_photo(client, PHOTO)
    wait_running(client, queued["status_url"])
    redis_stack.kill(first, signal.SIGKILL)
    assert client.get(queued["status_url"]).get_json()["status"] != "done"
    time.sleep(5)  # the visibility timeout, so the next worker takes the task back at start
    redis_stack.start_worker("rescuer")
    status = wait_done(client, queued["status_url"], timeout=120)
    check_analysis(client, status, faces=2)


def test_a_killed_pool_process_is_replaced_and_the_task_rerun(redis_stack):
    """Only the pool child dies (as when the OOM killer strikes): the worker re-queues the task
    at once (task_reject_on_worker_lost) and its next child finishes it."""
    worker = redis_stack.start_worker("pool")
    client = redis_stack.app().test_client()
    queued = post_photo(client, PHOTO)
    wait_running(client, queued["status_url"])
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert children
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    status = wait_done(client, queued["status_url"], timeout=120)
    check_analysis(client, status, faces=2)
