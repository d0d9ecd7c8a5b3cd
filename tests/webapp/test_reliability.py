"""Faults that must lose nothing, and the time-to-live proven on disk.

- Redis restarted in the middle of a burst of uploads: every job queued before completes after
  it; an upload made while it is down is a clear 503 that keeps nothing (never a 500, never a
  job "queued" forever); a status poll meanwhile answers.
- The web process restarted while jobs run: the new one serves their results.
- A job folder deleted under a running task: the task ends cleanly, the worker goes on.
- The TTL: every file of a job (upload, photo, portrait, mask, cut-out, re-blurred variants,
  share cards, family face crops) is gone from disk after it, and its URLs answer 404.
(A worker SIGKILLed mid-task and the beat process absent: ``test_workers.py`` and
``test_pages_api.py``.)
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import threading
import time

import pytest
from PIL import Image
from werkzeug.serving import make_server

from tests.support import lfw
from tests.webapp.support import PHOTO, RedisServer, Stack, wait_done
from webapp.core import jobs, pages, tasks

pytestmark = pytest.mark.integration


def upload(client, person: str = "Tony_Blair", n: int = 1):
    return client.post("/api/v1/analyze", data={"image": (open(lfw(person, n), "rb"), "me.jpg")})


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    server = RedisServer(tmp_path, persist=True)  # as a deployment should: appendonly yes
    server.start()
    yield server
    server.stop()


def test_a_redis_restart_in_a_burst_loses_nothing(tmp_path, web_gallery, own_redis):
    stack = Stack(tmp_path / "data", web_gallery, f"{own_redis.url}/0", f"{own_redis.url}/0",
                  extra_env={"LOOKALIKE_VISIBILITY_TIMEOUT": "10", "OMP_NUM_THREADS": "1"})
    stack.data_dir.mkdir()
    try:
        client = stack.app(UPLOAD_LIMIT="1000 per minute").test_client()
        before = [upload(client, "Tony_Blair", 1 + n % 3) for n in range(16)]
        assert all(r.status_code == 202 for r in before)
        stack.start_worker("redis-a")
        deadline = time.time() + 120  # let the worker get going, then pull the plug
        while time.time() < deadline and not any(
                client.get(r.get_json()["status_url"]).get_json()["status"] == "done"
                for r in before):
            time.sleep(0.2)
        own_redis.stop()
        finished = sum(wait_done(client, r.get_json()["status_url"], 5)["status"] == "done"
                       for r in before[:1])
        assert finished == 1 and not (stack.data_dir / "jobs" / before[-1].get_json()["job"]
                                      / "result.json").exists()  # mid-burst, truly
        down = upload(client)
        assert down.status_code == 503 and "try again" in down.get_json()["error"]
        assert len(list((stack.data_dir / "jobs").iterdir())) == len(before)  # nothing kept
        polled = client.get(before[-1].get_json()["status_url"])
        assert polled.status_code == 200 and polled.get_json()["status"] in ("queued", "done")
        own_redis.start()
        after = [upload(client, "Colin_Powell", 1 + n) for n in range(3)]
        assert all(r.status_code == 202 for r in after)
        for response in before + after:
            status = wait_done(client, response.get_json()["status_url"], timeout=240)
            assert status["status"] == "done", status
    finally:
        stack.stop()


def serve(app) -> tuple[str, object]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_port}", httpd


def test_a_web_restart_while_jobs_run_keeps_their_results(embedded_stack):
    import requests

    first, httpd = serve(embedded_stack.app())
    queued = [requests.post(f"{first}/api/v1/analyze", files={
        "image": ("me.jpg", lfw("Serena_Williams", n).read_bytes(), "image/jpeg")}).json()
        for n in (1, 2, 3)]
    httpd.shutdown()  # the web process goes; the worker does not
    second, httpd = serve(embedded_stack.app())
    try:
        for job in queued:
            deadline = time.time() + 180
            while time.time() < deadline:
                status = requests.get(second + job["status_url"]).json()
                if status["status"] in ("done", "failed"):
                    break
                time.sleep(0.3)
            assert status["status"] == "done", status
            assert requests.get(second + status["result"]["portrait_url"]).status_code == 200
    finally:
        httpd.shutdown()


def test_a_job_deleted_under_its_running_task_ends_cleanly(embedded_stack):
    client = embedded_stack.app().test_client()
    queued = client.post("/api/v1/analyze", data={
        "image": (io.BytesIO(PHOTO.read_bytes()), "group.jpg")}).get_json()
    deadline = time.time() + 120
    while time.time() < deadline:
        status = client.get(queued["status_url"]).get_json()
        if status["status"] != "queued":
            break
        time.sleep(0.02)
    assert client.delete(queued["status_url"]).status_code == 204
    assert client.get(queued["status_url"]).status_code == 404
    after = wait_done(client, upload(client).get_json()["status_url"], timeout=120)
    assert after["status"] == "done"  # the worker went on
    log = (embedded_stack.data_dir / "embedded.log").read_text(errors="replace")
    assert queued["job"] not in "".join(line for line in log.splitlines()
                                        if "ERROR" in line or "Traceback" in line)


@pytest.mark.parametrize("step", ["reads its upload", "writes a picture", "writes its result"])
def test_a_task_ends_quietly_whichever_step_finds_its_job_deleted(app, step):
    """Deleting a job can land anywhere in its task: reading a vanished upload is an image error
    whose message cannot be written either; none of it may escape as a worker traceback."""
    job = jobs.create(app.config["DATA_DIR"], "analyze", [PHOTO.read_bytes()], {}, ttl=60)

    def work(task, job):
        jobs.delete(app.config["DATA_DIR"], job.id)
        if step == "reads its upload":
            tasks.load_photo(job.input())
        elif step == "writes a picture":
            tasks.save(Image.new("RGB", (8, 8)), job.dir / "photo.jpg")
        else:
            job.write_result({})
        return {"faces": 0}

    with app.app_context():
        assert tasks.run_job(None, job.id, work) == {"deleted": True}
    assert not (jobs.jobs_root(app.config["DATA_DIR"]) / job.id).exists()


def test_a_status_read_across_the_end_of_its_task_says_done(app):
    """A status read looks at the job's result file, then at the task's state; a task that
    writes its result and ends between the two looks must read as done, not as "finished
    without a result" (which once stopped a page mid-way in CI)."""
    from webapp.core.status import job_status

    client = app.test_client()
    job_id = upload(client).get_json()["job"]
    job = jobs.open_job(app.config["DATA_DIR"], job_id)
    backend = app.extensions["celery"].backend

    @dataclasses.dataclass(frozen=True)
    class ReadJustBeforeTheTaskEnds(jobs.Job):
        def result(self):
            if not (self.dir / "result.json").exists():  # the first look: not written yet...
                self.write_result({"faces": [], "notes": []})  # ...then the worker writes it
                backend.mark_as_done(self.id, {"faces": 0})  # and its task ends
                return None
            return super().result()

    with app.test_request_context():
        status = job_status(ReadJustBeforeTheTaskEnds(job.id, job.dir, job.meta))
    assert status["status"] == "done", status
    assert status["result"]["faces"] == []


def test_every_file_of_a_job_is_gone_after_its_ttl(embedded_stack):
    app = embedded_stack.app(JOB_TTL=8)
    client = app.test_client()
    done = wait_done(client, upload(client).get_json()["status_url"], timeout=120)
    family = client.post("/api/v1/family", data={
        "image": [(open(lfw("Tony_Blair", 1), "rb"), "a.jpg"),
                  (open(lfw("Tony_Blair", 2), "rb"), "b.jpg")], "name": ["child", "dad"]})
    kin = wait_done(client, family.get_json()["status_url"], timeout=120)
    assert done["status"] == kin["status"] == "done"
    result = done["result"]
    urls = [done_url for done_url in (
        f"/api/v1/jobs/{done['job']}", result["photo_url"], result["portrait_url"],
        result["cutout_url"], f"{result['reblur_url']}?strength=30&format=png",
        result["faces"][0]["share_card_url"], f"/api/v1/jobs/{kin['job']}",
        *[p["photo_url"] for p in kin["result"]["people"] if p.get("photo_url")])]
    assert all(client.get(url).status_code == 200 for url in urls)  # made, on request too
    folders = [embedded_stack.data_dir / "jobs" / job for job in (done["job"], kin["job"])]
    names = {p.name for folder in folders for p in folder.iterdir()}
    assert {"input-0", "photo.jpg", "portrait.jpg", "mask.png", "cutout.png",
            "portrait-s30.png", "share-1.png", "person-0.jpg", "person-1.jpg"} <= names

    time.sleep(9)  # the TTL counts from the result; no beat runs here
    pages._last_sweep = 0.0  # the web's own sweep (at most once a minute): due now
    assert client.get("/").status_code == 200
    assert not any(folder.exists() for folder in folders)
    leftovers = [p for p in (embedded_stack.data_dir / "jobs").rglob("*")
                 if done["job"] in p.name or kin["job"] in p.name]
    assert not leftovers
    assert all(client.get(url).status_code == 404 for url in urls)
