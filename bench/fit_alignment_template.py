"""Fit the 150x150 five-point template that makes our chips look like dlib's.

dlib's embedder was trained on chips cut by ``dlib.get_face_chip(img, shape, size=150,
padding=0.25)`` from its own 5-point landmarks. We detect with MTCNN instead, so we need to know
where MTCNN's five points land on such a chip: cut dlib chips for a few hundred LFW photos, run
MTCNN on each chip, and average the points. The printed ``TEMPLATE_150`` goes into
``ml/alignment.py``.

    .venv/bin/python bench/fit_alignment_template.py [--images 400]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dlib
import face_recognition_models as dlib_models
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ml.detection import detect  # noqa: E402
from ml.images import load_image  # noqa: E402
from ml.paths import data_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    args = parser.parse_args()
    files = sorted((data_dir() / "lfw").glob("*/*.jpg"))
    files = files[:: max(1, len(files) // args.images)][: args.images]
    hog = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(dlib_models.pose_predictor_five_point_model_location())
    points = []
    for path in files:
        image = load_image(path)
        found = hog(image, 1)
        if not found:
            continue
        centre = max(found, key=lambda r: r.area())
        chip = dlib.get_face_chip(image, shape5(image, centre), size=150, padding=0.25)
        faces = detect(chip)
        if faces:
            points.append(faces[0].landmarks)
    points = np.stack(points)
    # median: robust to the odd chip where MTCNN's points are off (profile, occlusion)
    mean = np.median(points, axis=0)
    spread = np.median(np.abs(points - mean), axis=0)
    print(f"chips with a face: {len(points)} of {len(files)} LFW images")
    print("per-point median absolute deviation (px):", np.round(spread, 2).tolist())
    print("TEMPLATE_150 = np.array([")
    for x, y in mean:
        print(f"    [{x:.3f}, {y:.3f}],")
    print("], dtype=np.float32)")


if __name__ == "__main__":
    main()
