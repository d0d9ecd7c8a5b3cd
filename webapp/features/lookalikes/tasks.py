"""The lookalike task: one photo (or up to five of one person) → faces, lookalikes (everyone
and actors only) with how firm the answer is, emotions, portrait, share cards; a thin adapter
from the job folder to ``ml`` and back."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from celery import Task, shared_task
from flask import current_app
from PIL import Image

import ml
from ml.emotion.model import load_model
from ml.faces.detection import SELFIE_SIDE
from ml.galleries.firmness import lookalikes_with_firmness
from ml.galleries.profile import person_profile, steady_embed
from ml.galleries.store import no_close_match
from ml.portrait.model import portrait
from ml.render.sheet import lookalike_sheet
from webapp.core import jobs
from webapp.core.tasks import (
    Reporter,
    gallery,
    load_photo,
    run_job,
    save,
    wait_for_gallery,
    warm_faces,
)
from webapp.features.lookalikes import STAGES, TASK

log = logging.getLogger(__name__)



def lookalike_dict(match, gallery_name: str) -> dict:
    return {"name": match.name, "key": match.key, "similarity": round(match.similarity, 1),
            "actor": match.actor, "gallery": gallery_name,
            "thumbnail": Path(match.thumbnail).name if match.thumbnail else None}


@shared_task(bind=True, name=TASK)
def analyze(self, job_id: str) -> dict:
    """One photo → faces, lookalikes (everyone and actors only), emotions, portrait, cards."""
    return run_job(self, job_id, _analyze)


def _analyze(task: Task, job: jobs.Job) -> dict:
    options = job.meta["options"]
    report = Reporter(task, STAGES)
    report("gallery")
    people = wait_for_gallery(task, options["gallery"], STAGES)
    report("detect")
    image = load_photo(job.input())
    save(image, job.dir / "photo.jpg", quality=90)
    array = np.asarray(image)
    photos, singles = options.get("photos", 1), None
    if photos > 1:  # several photos of one person: their main faces, one answer
        others = [load_photo(job.input(n)) for n in range(1, photos)]
        profile = person_profile([array, *others], people.embedder, max_side=SELFIE_SIDE)
        found = faces = profile.faces[:1]
        singles = profile.photos
        report("embed")  # (embedded photo by photo, with the check that they show one person)
        vectors = profile.vector
    else:
        found = ml.detect(array, max_side=SELFIE_SIDE)
        faces = found[: options["max_faces"]]
        report("embed")
        vectors = steady_embed(array, faces, people.embedder)
    report("lookalikes")
    everyone, firm = lookalikes_with_firmness(people, vectors, options["k"], False, singles)
    actors, actor_firm = lookalikes_with_firmness(people, vectors, options["k"], True, singles)
    report("emotion")
    moods = ml.emotions(array, faces)
    report("portrait")
    portrait_error = make_portrait(image, job.dir, options["blur"])
    report("share card")
    results = []
    for n, (face, alike, actor_alike, mood, sure, actor_sure) in enumerate(
            zip(faces, everyone, actors, moods, firm, actor_firm, strict=True), 1):
        if alike:
            save(lookalike_sheet(array, [face], [alike[:1]]), job.dir / f"share-{n}.png")
        results.append({
            "box": [round(v, 1) for v in face.box],
            "lookalikes": [lookalike_dict(m, people.name) for m in alike],
            "no_close_match": no_close_match(alike),
            "actor_lookalikes": [lookalike_dict(m, people.name) for m in actor_alike],
            "actor_no_close_match": no_close_match(actor_alike),
            "firmness": sure and sure.to_dict(),
            "actor_firmness": actor_sure and actor_sure.to_dict(),
            "emotion": mood.to_dict(),
            "share_card": f"share-{n}.png" if alike else None,
        })
    notes = []
    complete = people.meta.get("complete", True)
    if not complete:
        notes.append(f"The gallery is still being prepared: these lookalikes come from its first "
                     f"{len(people.identities):,} people (film and TV actors); try again later "
                     "for everyone.")
    if photos > 1:
        notes.append(f"One answer from your {photos} photos together; the emotion and the "
                     "portrait are from the first.")
    if not found:
        notes.append("No face was found in this photo; the portrait below still works.")
    if len(found) > len(faces) and photos == 1:
        notes.append(f"{len(found)} faces were found; only the {len(faces)} largest are shown.")
    report(None)
    result = {"width": image.width, "height": image.height, "faces": results,
              "faces_found": len(found), "notes": notes, "photos": photos,
              "gallery": {"name": people.name, "complete": complete,
                          "people": len(people.identities)},
              "portrait": portrait_error is None, "portrait_error": portrait_error,
              "timings": report.timings}
    job.write_result(result)
    return {"faces": len(results)}


def make_portrait(image: Image.Image, folder: Path, strength: int) -> str | None:
    """Write portrait.jpg and mask.png; the reason as text if it can't."""
    try:
        done = portrait(image, strength=strength)
    except Exception as exc:  # missing weights, say: lookalikes and emotions still count
        log.exception("portrait failed")
        return f"portrait mode is unavailable: {exc}"
    save(done.image, folder / "portrait.jpg", quality=92)  # PNG, other strengths, cut-out:
    mask = np.clip(np.asarray(done.mask, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    save(Image.fromarray(mask, "L"), folder / "mask.png", compress_level=1)  # made on request
    return None




def warm_up() -> None:
    """Once per worker process: the face, expression and portrait networks and the gallery."""
    warm_faces()
    load_model()
    try:
        portrait(Image.new("RGB", (64, 64)))
    except Exception as exc:  # portrait weights not there yet: the task says so per job
        log.warning("portrait model not loaded: %s", exc)
    try:
        gallery(current_app.config["GALLERY"])
    except Exception as exc:
        log.warning("gallery not loaded: %s", exc)
