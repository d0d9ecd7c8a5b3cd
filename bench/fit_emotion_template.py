"""Where MTCNN's five points sit on FER2013's 48x48 crops: the emotion model's crop geometry.

FER2013 faces were registered by its authors; to cut the same crop from a photo we run MTCNN on
FER2013 training images (upscaled 3x so the detector sees enough pixels) and take the median of
its five points, scaled to the 150 px chip convention of ``ml.faces.alignment``. The printed
``EMOTION_TEMPLATE`` goes into ``ml/emotion/model.py``.

    .venv/bin/python -m bench.fit_emotion_template [--images 1500]
"""

from __future__ import annotations

import argparse
import io
import tarfile

import cv2
import numpy as np
from PIL import Image

import ml
from ml.paths import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1500)
    args = parser.parse_args()
    points, seen = [], 0
    with tarfile.open(data_dir() / "fer2013" / "fer2013_trainval.tar.gz") as tar:
        for n, member in enumerate(tar):
            if not member.isfile() or "/train/" not in member.name or n % 7:
                continue
            grey = np.asarray(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("L"))
            big = cv2.resize(grey, (144, 144), interpolation=cv2.INTER_CUBIC)
            faces = ml.detect(np.repeat(big[:, :, None], 3, axis=2))
            seen += 1
            if faces:
                points.append(faces[0].landmarks * 150.0 / 144.0)
            if seen >= args.images:
                break
    points = np.stack(points)
    median = np.median(points, axis=0)
    print(f"MTCNN found a face in {len(points)} of {seen} FER2013 training crops (upscaled 3x)")
    print("median absolute deviation (px at 150):",
          np.round(np.median(np.abs(points - median), axis=0), 1).tolist())
    print("EMOTION_TEMPLATE = np.array([")
    for x, y in median:
        print(f"    [{x:.1f}, {y:.1f}],")
    print("], dtype=np.float32)")


if __name__ == "__main__":
    main()
