"""Fit the 150x150 five-point template that makes our chips look like dlib's.

dlib's embedder was trained on chips cut by ``dlib.get_face_chip(img, shape, size=150,
padding=0.25)`` from its own 5-point landmarks (eye corners, nose base). We detect with MTCNN
(eye centres, nose tip, mouth corners), so we need the template that puts MTCNN's points where
dlib's chips have them. On photos where dlib's HOG detector and MTCNN both find the face:

1. dlib's chip is a known rotated square of the photo (``get_face_chip_details``): map MTCNN's
   five points, found on the *whole photo*, through it into chip coordinates; the template is
   the per-coordinate median over photos.
2. Check on a small grid of scales and vertical offsets around it that no nearby template makes
   our chips' embeddings agree better (mean cosine) with dlib's descriptors of dlib's chips, and
   take the best. Only agreement with dlib is used, no identity labels.

Photos: evenly spaced over LFW (loose crops) and CFP (tight headshots), so both framings count.

    .venv/bin/python -m bench.fit_alignment_template [--images 400]

The printed ``TEMPLATE_150`` goes into ``ml/faces/versions.py``; docs/alignment.md has the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools

import dlib
import face_recognition_models as dlib_models
import numpy as np

import ml
from ml.faces.alignment import TEMPLATE_150, align
from ml.paths import data_dir


def image_to_chip(details) -> np.ndarray:
    """The 2x3 matrix taking photo pixels to dlib chip pixels for ``details``."""
    centre, side = details.rect.dcenter(), details.rect.width()
    angle, size = details.angle, details.cols
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rotation * (side - 1) / (size - 1)  # chip → photo
    offset = np.array([centre.x, centre.y]) - forward @ np.full(2, (size - 1) / 2)
    inverse = np.linalg.inv(forward)
    return np.hstack([inverse, (-inverse @ offset)[:, None]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400, help="per set (LFW, CFP)")
    args = parser.parse_args()
    files = []
    for folder in ("lfw", "cfp"):
        found = sorted((data_dir() / folder).glob("*/*.jpg"))
        files += found[:: max(1, len(found) // args.images)][: args.images]
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
        shape = shape5(image, max(found, key=lambda r: r.area()))
        details = dlib.get_face_chip_details(shape, size=150, padding=0.25)
        matrix = image_to_chip(details)
        on_chip.append(face.landmarks @ matrix[:, :2].T + matrix[:, 2])
        faces.append(face)
        images.append(image)
        reference.append(np.array(encoder.compute_face_descriptor(
            dlib.extract_image_chip(image, details))))
    points = np.stack(on_chip)
    median = np.median(points, axis=0)
    spread = np.median(np.abs(points - median), axis=0)
    print(f"{len(points)} of {len(files)} LFW + CFP photos with a face found by both detectors")
    print("step 1: median of MTCNN's whole-photo points in dlib's chip; median abs deviation "
          "(px):", np.round(spread, 1).tolist())

    reference = np.stack(reference)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    model = dataclasses.replace(ml.get_embedder("dlib"), flip_average=False)  # as dlib does
    centre = median.mean(0)

    def agreement(template: np.ndarray) -> float:
        chips = np.stack([align(im, f, 150, template) for im, f in zip(images, faces,
                                                                          strict=True)])
        return float((model.embed_chips(chips).vectors * reference).sum(1).mean())

    def moved(scale: float, dy: float) -> np.ndarray:
        return (median - centre) * scale + centre + np.array([0.0, dy])

    print(f"previous TEMPLATE_150: mean cosine to dlib's descriptors {agreement(TEMPLATE_150):.4f}")
    scores = {params: agreement(moved(*params))
              for params in itertools.product([0.97, 1.0, 1.03], [-2, 0, 2])}
    (scale, dy), best = max(scores.items(), key=lambda kv: kv[1])
    print(f"step 2: mean cosine {scores[(1.0, 0)]:.4f} (step 1 alone) -> {best:.4f} at scale "
          f"{scale}, dy {dy}")
    print("TEMPLATE_150 = np.array([")
    for x, y in moved(scale, dy):
        print(f"    [{x:.3f}, {y:.3f}],")
    print("], dtype=np.float32)")


if __name__ == "__main__":
    main()
