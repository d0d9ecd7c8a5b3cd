"""Fit the 150x150 five-point template that makes our chips look like dlib's.

dlib's embedder was trained on chips cut by ``dlib.get_face_chip(img, shape, size=150,
padding=0.25)`` from its own 5-point landmarks (eye corners, nose base). We detect with MTCNN
(eye centres, nose tip, mouth corners), so we need the template that puts MTCNN's points where
dlib's chips have them. Two steps, on LFW photos where dlib's HOG detector finds a face:

1. Cut dlib's chip, run MTCNN on it, take the per-coordinate median of its five points.
2. Step 1 sees MTCNN on tight chips, not on whole photos. Refine the template's scale and
   vertical offset (a small grid) so that embeddings of *our* chips, cut from the whole photo
   with MTCNN's points, are closest (mean cosine) to dlib's descriptors of *its* chips: no
   identity labels are used, only agreement with dlib.

    .venv/bin/python bench/fit_alignment_template.py [--images 600]

The printed ``TEMPLATE_150`` goes into ``ml/alignment.py``; docs/alignment.md has the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from pathlib import Path

import dlib
import face_recognition_models as dlib_models
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import ml  # noqa: E402
from ml.alignment import align  # noqa: E402
from ml.paths import data_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=600)
    args = parser.parse_args()
    files = sorted((data_dir() / "lfw").glob("*/*.jpg"))
    files = files[:: max(1, len(files) // args.images)][: args.images]
    hog = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(dlib_models.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(dlib_models.face_recognition_model_location())
    on_chip, faces, images, reference = [], [], [], []
    for path in files:
        image = ml.load_image(path)
        found = hog(image, 1)
        face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
        if not found or face is None:
            continue
        chip = dlib.get_face_chip(image, shape5(image, max(found, key=lambda r: r.area())),
                                  size=150, padding=0.25)
        chip_faces = ml.detect(chip)
        if not chip_faces:
            continue
        on_chip.append(chip_faces[0].landmarks)
        faces.append(face)
        images.append(image)
        reference.append(np.array(encoder.compute_face_descriptor(chip)))
    points = np.stack(on_chip)
    median = np.median(points, axis=0)
    spread = np.median(np.abs(points - median), axis=0)
    print(f"{len(points)} of {len(files)} LFW photos with a face found by both detectors")
    print("step 1: median of MTCNN's points on dlib chips; median abs deviation (px):",
          np.round(spread, 1).tolist())

    reference = np.stack(reference)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    model = dataclasses.replace(ml.get_embedder("dlib"), flip_average=False)  # as dlib does
    centre = median.mean(0)

    def agreement(scale: float, dy: float) -> float:
        template = (median - centre) * scale + centre + np.array([0.0, dy])
        chips = np.stack([align(im, f, 150, template) for im, f in zip(images, faces,
                                                                          strict=True)])
        return float((model.embed_chips(chips).vectors * reference).sum(1).mean())

    grid = list(itertools.product([0.85, 0.88, 0.91, 0.94, 0.97, 1.0], [0, 2, 4, 6, 8, 10]))
    scores = {params: agreement(*params) for params in grid}
    (scale, dy), best = max(scores.items(), key=lambda kv: kv[1])
    print(f"step 2: mean cosine to dlib's descriptors {scores[(1.0, 0)]:.4f} (step 1 alone) "
          f"-> {best:.4f} at scale {scale}, dy {dy}")
    template = (median - centre) * scale + centre + np.array([0.0, dy])
    print("TEMPLATE_150 = np.array([")
    for x, y in template:
        print(f"    [{x:.3f}, {y:.3f}],")
    print("], dtype=np.float32)")


if __name__ == "__main__":
    main()
