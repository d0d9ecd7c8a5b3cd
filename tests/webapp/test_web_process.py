"""The web process stays small: it validates, stores, queues and renders, and never loads torch,
OpenCV or a model (workers do; each gunicorn worker idled at ~600 MB when it did), enrolling
people into a gallery and removing one included."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from importlib import import_module

from ml.galleries.build import build
from ml.galleries.store import delete_gallery
from tests.support import enrol, lfw
from tests.webapp.support import PASSWORD, owner_id, sign_up
from webapp import create_app
from webapp.core.kinds import kinds

# What only workers load: the networks' libraries, the task bodies and the model modules.
# (Annoy is not among them: removing a person rewrites the gallery's index in the request.)
WORKER_ONLY = ("torch", "torchvision", "facenet_pytorch", "segmentation_models_pytorch", "cv2",
               "ml.faces.detection", "ml.faces.embedding", "ml.emotion.model",
               "ml.portrait.model", "ml.galleries.build", "webapp.core.tasks")

SCRIPT = """
import json, sys
from webapp import create_app

data_dir, gallery, photo, mine, password = sys.argv[1:]
app = create_app({"DATA_DIR": data_dir, "GALLERY": gallery, "TESTING": True})
fresh = sorted(sys.modules)
client = app.test_client()
codes = [client.get(url).status_code for url in
         ("/", "/family", "/api/v1/openapi.json", f"/api/v1/galleries/{gallery}/build")]
with open(photo, "rb") as f:
    queued = client.post("/api/v1/analyze", data={"image": (f, "me.jpg")})
codes.append(queued.status_code)
status = client.get(queued.get_json()["status_url"])
codes.append(status.status_code)
# enrolment, as a signed-in user: a new gallery, a person added to one of theirs
client.get("/login")
with client.session_transaction() as session:
    token = session["csrf"]
codes.append(client.post("/login", data={"csrf_token": token, "username": "alice",
                                         "password": password}).status_code)
with open(photo, "rb") as f:
    made = client.post("/api/v1/galleries", data={"name": "new", "person": "Tony Blair",
                                                  "photos": (f, "tb.jpg")})
with open(photo, "rb") as f:
    added = client.post(f"/api/v1/galleries/{mine}/people", data={"name": "Tony Blair",
                                                                   "photos": (f, "tb.jpg")})
codes += [made.status_code, added.status_code, client.get(added.get_json()["page_url"]).status_code,
          client.get(f"/galleries/{mine}").status_code]
# removing a person is done in the request: the gallery rewritten without them
codes.append(client.delete(f"/api/v1/galleries/{mine}/people/colin_powell").status_code)
people = [p["name"] for p in client.get(f"/api/v1/galleries/{mine}").get_json()["people"]]
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS"))
print(json.dumps({"fresh": fresh, "after": sorted(sys.modules), "codes": codes,
                  "status": status.get_json()["status"], "people": people,
                  "rss_mb": rss / 1024}))
"""


def loaded(modules: list[str]) -> list[str]:
    return [m for m in modules
            if any(m == w or m.startswith(w + ".") for w in WORKER_ONLY)
            or (m.startswith("webapp.features.") and m.endswith(".tasks"))]


def test_a_web_process_imports_no_torch_and_no_model(tmp_path, web_gallery):
    """A freshly made app, and the same app after serving pages, a gallery's state, an upload
    and its status, enrolling people (a new gallery, a person added) and removing one, has
    imported none of what only workers need (checked in a new process)."""
    data = tmp_path / "data"
    owner = owner_id(sign_up(create_app({"DATA_DIR": data, "GALLERY": web_gallery,
                                         "TESTING": True}).test_client(), "alice"))
    mine = f"mine-{uuid.uuid4().hex[:6]}"
    build(f"{owner}@{mine}", [enrol(tmp_path / "src", ["Colin_Powell", "Serena_Williams"],
                                   photos=[2])])
    try:
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(data), web_gallery,
                              str(lfw("Tony_Blair", 1)), mine, PASSWORD],
                             capture_output=True, text=True, timeout=120, check=True)
    finally:
        delete_gallery(f"{owner}@{mine}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded(found["fresh"]) == []
    assert found["codes"] == [200, 200, 200, 200, 202, 200, 303, 202, 202, 200, 200, 204]
    assert found["people"] == ["Serena Williams"]
    assert found["status"] == "queued"  # no worker here: stored and queued, nothing run
    assert loaded(found["after"]) == []
    assert found["rss_mb"] < 250  # ~90 MB measured; torch alone maps ~470 MB


def test_every_kind_task_is_defined_where_workers_import_it(app):
    """The web sends each kind's task by name; the module a worker imports for it defines a task
    of that name (a mismatch would leave every job of the kind queued forever)."""
    celery = app.extensions["celery"]
    assert kinds(app)
    for kind in kinds(app).values():
        import_module(kind.tasks)
        assert kind.task in celery.tasks, kind.name
