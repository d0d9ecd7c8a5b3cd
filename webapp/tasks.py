"""Celery tasks: thin adapters from a job folder to ``ml`` and back.

Models load once per worker process: ``ml`` caches its networks per process, and
``worker_process_init`` warms them (and the gallery) before the first task arrives. Each task
reports its stage through the task state (``PROGRESS`` with stage, step, steps), which the web
app shows as a progress bar; results go to the job folder as pictures and ``result.json``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from celery import Task, shared_task
from celery.signals import worker_process_init
from flask import current_app
from PIL import Image

from webapp import jobs

if TYPE_CHECKING:
    from ml.galleries.store import Gallery

log = logging.getLogger(__name__)

ANALYZE_STAGES = ("detect", "embed", "lookalikes", "emotion", "portrait", "share card")
FAMILY_STAGES = ("detect", "embed", "compare")
MAX_SIDE = 1600  # photos are analysed and shown at most this big (faces stay large enough)

_galleries: dict[str, tuple[Path, Gallery]] = {}


def gallery(name: str) -> Gallery:
    """The gallery, opened once per process and reopened when a rebuild swaps its version."""
    from ml.galleries.store import Gallery, gallery_path

    version = gallery_path(name).resolve()
    cached = _galleries.get(name)
    if cached is None or cached[0] != version:
        _galleries[name] = (version, Gallery.open(name))
    return _galleries[name][1]


@worker_process_init.connect
def load_models(**_: object) -> None:
    """Load the networks into this worker process now, not inside the first user's task."""
    from celery import current_app as celery

    import ml
    from ml.emotion.model import load_model

    start = time.time()
    ml.detect(np.zeros((64, 64, 3), np.uint8))
    ml.get_embedder()
    load_model()
    try:
        from ml.portrait.model import portrait

        portrait(Image.new("RGB", (64, 64)))
    except Exception as exc:  # portrait weights not there yet: the task says so per job
        log.warning("portrait model not loaded: %s", exc)
    try:
        gallery(celery.flask_app.config["GALLERY"])
    except Exception as exc:
        log.warning("gallery not loaded: %s", exc)
    log.info("models loaded in %.1f s", time.time() - start)


class Reporter:
    """Moves the task's state from stage to stage, timing each (``timings``, seconds)."""

    def __init__(self, task: Task, stages: tuple[str, ...]) -> None:
        self.task, self.stages = task, stages
        self.timings: dict[str, float] = {}
        self.stage: str | None = None
        self.since = time.perf_counter()

    def __call__(self, stage: str | None) -> None:
        now = time.perf_counter()
        if self.stage is not None:
            self.timings[self.stage] = round(now - self.since, 3)
        self.stage, self.since = stage, now
        if stage is not None:
            self.task.update_state(state="PROGRESS", meta={
                "stage": stage, "step": self.stages.index(stage) + 1,
                "steps": len(self.stages)})


def save(image: Image.Image, path: Path, **options: object) -> None:
    """Write a picture atomically: a re-run task never shows a reader half a file."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if path.suffix == ".jpg" else "PNG", **options)
    jobs.write_file(path, buffer.getvalue())


def load_photo(path: Path) -> Image.Image:
    """The upload, upright RGB, shrunk to ``MAX_SIDE``: what is analysed and shown."""
    from ml.images import open_image

    image = open_image(path)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def lookalike_dict(match, gallery_name: str) -> dict:
    return {"name": match.name, "key": match.key, "similarity": round(match.similarity, 1),
            "actor": match.actor, "gallery": gallery_name,
            "thumbnail": Path(match.thumbnail).name if match.thumbnail else None}


def run_job(task: Task, job_id: str, work: Callable[[Task, jobs.Job], dict]) -> dict:
    """Run ``work`` on the job; a deleted job ends quietly, a known failure becomes a message
    the user sees (error.json) instead of a bare "failed"."""
    from ml import ImageError, WeightsMissing
    from ml.galleries.store import GalleryNotFound

    try:
        job = jobs.open_job(current_app.config["DATA_DIR"], job_id)
    except jobs.JobNotFound:
        return {"deleted": True}
    try:
        return work(task, job)
    except (GalleryNotFound, WeightsMissing, ImageError) as exc:
        job.write_error(str(exc))
        return {"error": str(exc)}
    except (jobs.JobNotFound, FileNotFoundError):  # deleted (or expired) while we worked
        if job.dir.exists():
            raise
        return {"deleted": True}


@shared_task(bind=True, name="webapp.tasks.analyze")
def analyze(self, job_id: str) -> dict:
    """One photo → faces, lookalikes (everyone and actors only), emotions, portrait, cards."""
    return run_job(self, job_id, _analyze)


def _analyze(task: Task, job: jobs.Job) -> dict:
    import ml
    from ml.galleries.store import no_close_match
    from ml.render.sheet import lookalike_sheet

    options = job.meta["options"]
    report = Reporter(task, ANALYZE_STAGES)
    report("detect")
    image = load_photo(job.input())
    save(image, job.dir / "photo.jpg", quality=90)
    array = np.asarray(image)
    found = ml.detect(array)
    faces = found[: options["max_faces"]]
    report("embed")
    people = gallery(options["gallery"])
    vectors = ml.embed(array, faces, people.embedder)
    report("lookalikes")
    everyone = people.lookalikes(vectors, options["k"], actors_only=False)
    actors = people.lookalikes(vectors, options["k"], actors_only=True)
    report("emotion")
    moods = ml.emotions(array, faces)
    report("portrait")
    portrait_error = make_portrait(image, job.dir, options["blur"])
    report("share card")
    results = []
    for n, (face, alike, actor_alike, mood) in enumerate(
            zip(faces, everyone, actors, moods, strict=True), 1):
        if alike:
            save(lookalike_sheet(array, [face], [alike[:1]]), job.dir / f"share-{n}.png")
        results.append({
            "box": [round(v, 1) for v in face.box],
            "lookalikes": [lookalike_dict(m, people.name) for m in alike],
            "no_close_match": no_close_match(alike),
            "actor_lookalikes": [lookalike_dict(m, people.name) for m in actor_alike],
            "actor_no_close_match": no_close_match(actor_alike),
            "emotion": mood.to_dict(),
            "share_card": f"share-{n}.png" if alike else None,
        })
    notes = []
    if not found:
        notes.append("No face was found in this photo; the portrait below still works.")
    if len(found) > len(faces):
        notes.append(f"{len(found)} faces were found; only the {len(faces)} largest are shown.")
    report(None)
    result = {"width": image.width, "height": image.height, "faces": results,
              "faces_found": len(found), "notes": notes,
              "portrait": portrait_error is None, "portrait_error": portrait_error,
              "timings": report.timings}
    job.write_result(result)
    return {"faces": len(results)}


def make_portrait(image: Image.Image, folder: Path, strength: int) -> str | None:
    """Write portrait.jpg, cutout.png and mask.png; the reason as text if it can't."""
    try:
        from ml.portrait.model import portrait

        done = portrait(image, strength=strength)
    except Exception as exc:  # missing weights, say: lookalikes and emotions still count
        log.exception("portrait failed")
        return f"portrait mode is unavailable: {exc}"
    save(done.image, folder / "portrait.jpg", quality=92)  # PNG, other strengths: on request
    save(done.cutout, folder / "cutout.png", compress_level=1)
    mask = np.clip(np.asarray(done.mask, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    save(Image.fromarray(mask, "L"), folder / "mask.png", compress_level=1)
    return None


@shared_task(bind=True, name="webapp.tasks.family")
def family(self, job_id: str) -> dict:
    """2-6 named photos → pairwise similarity, a verdict for the first person, face regions."""
    return run_job(self, job_id, _family)


def _family(task: Task, job: jobs.Job) -> dict:
    import ml
    from ml.faces.alignment import crop_box
    from ml.family.resemblance import resemblance

    names = job.meta["options"]["names"]
    report = Reporter(task, FAMILY_STAGES)
    report("detect")
    people, missing = [], []
    for n, name in enumerate(names):
        array = np.asarray(load_photo(job.input(n)))
        face = ml.main_face(ml.detect(array), array.shape[1], array.shape[0])
        if face is None:
            missing.append(name)
            continue
        save(Image.fromarray(crop_box(array, face, 200, margin=0.4)), job.dir / f"person-{n}.jpg",
             quality=90)
        people.append((n, name, array, face))
    report("embed")
    result: dict = {"names": names, "missing": missing,
                    "people": [{"name": name, "photo": f"person-{n}.jpg"}
                               for n, name, _, _ in people]}
    if len(people) < 2:
        result["error"] = ("Faces were found in fewer than two photos, so there is nothing to "
                           "compare: " + ", ".join(missing) + " had no face.")
        job.write_result(result)
        return {"people": len(people)}
    report("compare")
    found = resemblance([name for _, name, _, _ in people], [a for _, _, a, _ in people],
                        [f for _, _, _, f in people])
    result.update(found.to_dict())
    report(None)
    result["timings"] = report.timings
    job.write_result(result)
    return {"people": len(people)}


@shared_task(name="webapp.tasks.sweep")
def sweep() -> int:
    """Delete expired jobs (run by Celery beat every ``SWEEP_INTERVAL`` seconds)."""
    return jobs.sweep(current_app.config["DATA_DIR"])
