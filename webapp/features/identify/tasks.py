"""The identify task: one photo, or several stills of one film, → every face named from the
chosen gallery or "unknown", drawn on the photo; given several stills, people whose face is not
seen are named by their bodies from the faces named in the other stills. A few photos' worth of
work: it goes to the analysis queue like the lookalike task."""

from __future__ import annotations

import numpy as np
from celery import shared_task
from PIL import Image

from ml.bodies.link import name_faceless
from ml.errors import GalleryNotFound
from ml.galleries.identify import identify as name_faces
from ml.galleries.identify import open_set_rule
from ml.render.identified import draw_identifications
from webapp.core import jobs
from webapp.core.tasks import gallery, gone_gallery, load_photo, run_job, show_progress, warm_faces
from webapp.features.identify import TASK


@shared_task(bind=True, name=TASK)
def identify(self, job_id: str) -> dict:
    """Stills → every face named from the chosen gallery or "unknown", drawn on the stills."""
    return run_job(self, job_id, _identify)


def _identify(task, job: jobs.Job) -> dict:
    name = job.meta["options"]["gallery"]
    show_progress(task, {"stage": "identify", "step": 1, "steps": 1})
    try:
        people = gallery(name)
    except GalleryNotFound:
        job.write_error(gone_gallery(name))
        return {"faces": 0}
    count = job.meta["options"].get("stills", 1)
    stills = [np.asarray(load_photo(job.input(n))) for n in range(count)]
    found = [sorted(name_faces(still, people), key=lambda f: f.box[0]) for still in stills]
    show_progress(task, {"stage": "identify", "step": 1, "steps": 2 if count > 1 else 1})
    faceless = name_faceless(stills, found) if count > 1 else [[]]
    thumbs = {i.name: i.thumbnail for i in people.identities}
    faces, bodies, shown = [], [], []
    for n, (still, named, unseen) in enumerate(zip(stills, found, faceless, strict=True), 1):
        Image.fromarray(still).save(job.dir / f"photo-{n}.jpg", quality=90)
        draw_identifications(still, named, unseen).save(job.dir / f"identified-{n}.jpg",
                                                        quality=92)
        faces += [{**f.to_dict(), "still": n, "thumbnail": thumbs.get(f.name) if f.known
                   else None} for f in named]  # left to right, as people read
        bodies += [{**b.to_dict(), "still": n, "thumbnail": thumbs.get(b.name) if b.known
                    else None} for b in sorted(unseen, key=lambda b: b.box[0])]
        shown.append({"width": still.shape[1], "height": still.shape[0], "faces": len(named),
                      "bodies": len(unseen)})
    notes = []
    if not faces:
        notes.append("No face was found in this photo." if count == 1
                     else "No face was found in these stills.")
    job.write_result({"gallery": name, "width": shown[0]["width"],
                      "height": shown[0]["height"], "stills": shown, "faces": faces,
                      "bodies": bodies, "known": sum(f["known"] for f in faces),
                      "threshold": open_set_rule(people.embedder).distance, "notes": notes})
    return {"faces": len(faces), "bodies": len(bodies)}


warm_up = warm_faces  # once per worker process: the detector and embedder
