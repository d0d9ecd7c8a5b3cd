"""What the edge fix costs: facenet-pytorch's ``detect_face`` beside ``ml.detect``, same photos.

    .venv/bin/python -m bench.detection_cost [--threads 1]

251 photos (every 45th of CFP, every 132nd of LFW, every 5th of human_seg), each detected twice
by both, alternating which goes first; mean milliseconds per photo.
"""

from __future__ import annotations

import argparse
import time

import torch

import ml
from bench.alignment_picture import old_face
from bench.report import machine
from ml.paths import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = data_dir()
    files = (sorted((root / "cfp").glob("*/*.jpg"))[::45] + sorted((root / "lfw").glob("*/*.jpg"))
             [::132] + sorted((root / "human_seg" / "images").glob("*.jpg"))[::5])
    images = [ml.load_image(f) for f in files]
    pipelines = {"facenet-pytorch detect_face": old_face, "ml.detect": ml.detect}
    total = dict.fromkeys(pipelines, 0.0)
    for fn in pipelines.values():
        fn(images[0])
    for round_ in range(2):
        for image in images:
            for name in (list(pipelines) if round_ == 0 else list(pipelines)[::-1]):
                start = time.perf_counter()
                pipelines[name](image)
                total[name] += time.perf_counter() - start
    print(f"{len(images)} photos on {machine()}")
    for name, seconds in total.items():
        print(f"{name}: {1000 * seconds / (2 * len(images)):.1f} ms a photo")


if __name__ == "__main__":
    main()
