"""Helpers shared by the tests (imported; fixtures live in conftest.py): real photos from
../shared/data and the `lookalike` command run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from ml.paths import data_dir

LFW = data_dir() / "lfw"


def lfw(name: str, n: int = 1) -> Path:
    return LFW / name / f"{name}_{n:04d}.jpg"


def lookalike(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml.cli", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


def enrol(folder: Path, people: list[str], photos=range(2, 7)) -> Path:
    """Copy LFW photos 2..6 of each person into folder/Person/ (photo 1 is held out)."""
    for person in people:
        (folder / person).mkdir(parents=True, exist_ok=True)
        for n in photos:
            shutil.copy(lfw(person, n), folder / person)
    return folder


def cartoon(hair: tuple[int, int, int], eyes: tuple[int, int, int],
            background: tuple[int, int, int] = (235, 235, 240), shift: int = 0,
            scale: float = 1.0) -> np.ndarray:
    """A 256 px anime-style face crop: flat fills, big eyes, a fringe of hair."""
    image = np.full((256, 256, 3), background, np.uint8)
    cx, cy = 128 + shift, 140 + shift // 2

    def p(x: float, y: float) -> tuple[int, int]:
        return int(cx + x * scale), int(cy + y * scale)

    cv2.ellipse(image, p(0, -20), (int(105 * scale), int(115 * scale)), 0, 0, 360, hair, -1)
    cv2.ellipse(image, p(0, 10), (int(75 * scale), int(90 * scale)), 0, 0, 360,
                (252, 224, 205), -1)
    cv2.ellipse(image, p(0, -60), (int(85 * scale), int(40 * scale)), 0, 180, 360, hair, -1)
    for side in (-1, 1):
        cv2.ellipse(image, p(side * 32, 10), (int(16 * scale), int(22 * scale)), 0, 0, 360,
                    eyes, -1)
        cv2.circle(image, p(side * 32 - 5, 2), int(5 * scale), (255, 255, 255), -1)
        cv2.line(image, p(side * 32 - 18, -16), p(side * 32 + 18, -16), (60, 40, 40), 3)
    cv2.ellipse(image, p(0, 58), (int(12 * scale), int(5 * scale)), 0, 0, 180, (180, 60, 70), 2)
    return image


PINK, BLUE, BLACK, RED = (245, 150, 190), (60, 110, 230), (35, 30, 40), (200, 30, 40)


# human_seg photos of one upright person each, face clearly seen: a film's cast and a stranger
# for the tests of people whose face is not seen (turned away: bench/clip.py)
ACTORS = {"Ada": "32", "Ben": "3", "Stranger": "9"}


def actors() -> dict[str, tuple]:
    """name → (photo, person mask, face box) for ACTORS."""
    from ml.faces.detection import detect
    from ml.training.portrait import load_human_seg

    stems, images, masks = load_human_seg(data_dir() / "human_seg")
    out = {}
    for name, stem in ACTORS.items():
        image, mask = images[stems.index(stem)], masks[stems.index(stem)]
        faces = detect(image)
        assert len(faces) == 1, f"human_seg {stem}: one face expected"
        out[name] = (image, mask, faces[0].box)
    return out


def stills_of(cast: dict[str, tuple], people_in_each: list[list[tuple[str, str]]]
              ) -> list[np.ndarray]:
    """720p stills of ``cast`` standing side by side, each ("name", "F" facing or "B" turned
    away)."""
    from bench.clip import compose, stage_for, turnaway_views

    views = turnaway_views(cast, 720)
    stage = stage_for((1280, 720))
    return [compose(stage, views, people) for people in people_in_each]
