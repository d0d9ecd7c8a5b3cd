"""The family task: 2-6 named photos → pairwise similarity, a verdict for the first person,
and which relative each face region is most like."""

from __future__ import annotations

import numpy as np
from celery import Task, shared_task
from PIL import Image

import ml
from ml.faces.alignment import crop_box
from ml.faces.detection import SELFIE_SIDE
from ml.family.resemblance import resemblance
from webapp.core import jobs
from webapp.core.tasks import Reporter, load_photo, run_job, save, warm_faces
from webapp.features.family import STAGES, TASK


@shared_task(bind=True, name=TASK)
def family(self, job_id: str) -> dict:
    """2-6 named photos → pairwise similarity, a verdict for the first person, face regions."""
    return run_job(self, job_id, _family)


def _family(task: Task, job: jobs.Job) -> dict:
    names = job.meta["options"]["names"]
    report = Reporter(task, STAGES)
    report("detect")
    people, missing = [], []
    for n, name in enumerate(names):
        array = np.asarray(load_photo(job.input(n)))
        face = ml.main_face(ml.detect(array, max_side=SELFIE_SIDE), array.shape[1], array.shape[0])
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


warm_up = warm_faces  # once per worker process: the detector and embedder
