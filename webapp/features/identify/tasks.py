"""The identify task: one photo → every face named from the chosen gallery or "unknown", drawn
on the photo. A photo's worth of work: it goes to the analysis queue like the lookalike task."""

from __future__ import annotations

import numpy as np
from celery import shared_task

from ml.errors import GalleryNotFound
from ml.galleries.identify import identify as name_faces
from ml.galleries.identify import open_set_rule
from ml.render.identified import draw_identifications
from webapp.core import jobs
from webapp.core.tasks import gallery, gone_gallery, load_photo, run_job, show_progress, warm_faces
from webapp.features.identify import TASK


@shared_task(bind=True, name=TASK)
def identify(self, job_id: str) -> dict:
    """One photo → every face named from the chosen gallery or "unknown", drawn on the photo."""
    return run_job(self, job_id, _identify)


def _identify(task, job: jobs.Job) -> dict:
    name = job.meta["options"]["gallery"]
    show_progress(task, {"stage": "identify", "step": 1, "steps": 1})
    try:
        people = gallery(name)
    except GalleryNotFound:
        job.write_error(gone_gallery(name))
        return {"faces": 0}
    image = load_photo(job.input())
    image.save(job.dir / "photo.jpg", quality=90)
    array = np.asarray(image)
    found = name_faces(array, people)
    draw_identifications(array, found).save(job.dir / "identified.jpg", quality=92)
    thumbs = {i.name: i.thumbnail for i in people.identities}
    faces = [{**f.to_dict(), "thumbnail": thumbs.get(f.name) if f.known else None}
             for f in sorted(found, key=lambda f: f.box[0])]  # left to right, as people read
    notes = [] if found else ["No face was found in this photo."]
    job.write_result({"gallery": name, "width": image.width, "height": image.height,
                      "faces": faces, "known": sum(f.known for f in found),
                      "threshold": open_set_rule(people.embedder).distance, "notes": notes})
    return {"faces": len(faces)}


warm_up = warm_faces  # once per worker process: the detector and embedder
