"""Synthetic clips with known screen time, assembled from gallery photos.

Each shot shows zero or more photos side by side for a number of seconds, with a slow zoom so
consecutive frames differ as in real footage. The truth is exact by construction: person →
[(start, end), ...]. Used by ``bench/screentime.py`` and the screen-time tests.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

Shot = tuple[float, list[tuple[str, Path]]]  # seconds, [(person, photo), ...]


def make_clip(shots: list[Shot], path: Path, fps: float = 10.0,
              size: tuple[int, int] = (640, 360)) -> dict[str, list[tuple[float, float]]]:
    """Write an MP4 (mp4v) of ``shots`` to ``path``; return each person's true intervals."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here")
    truth: dict[str, list[tuple[float, float]]] = {}
    frame_no = 0
    for seconds, people in shots:
        start = frame_no / fps
        tiles = [np.asarray(Image.open(photo).convert("RGB")) for _, photo in people]
        n_frames = round(seconds * fps)
        for k in range(n_frames):
            zoom = 1.0 + 0.15 * k / max(1, n_frames)
            frame = np.full((height, width, 3), 30, np.uint8)
            for slot, tile in enumerate(tiles):
                side = int(min(height * 0.8, width / max(1, len(tiles)) * 0.9) * zoom / 1.15)
                resized = cv2.resize(tile, (side, side), interpolation=cv2.INTER_AREA)
                cx = int(width * (slot + 0.5) / len(tiles))
                x0, y0 = cx - side // 2, (height - side) // 2
                frame[y0 : y0 + side, x0 : x0 + side] = resized
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            frame_no += 1
        end = frame_no / fps
        for person, _ in people:
            truth.setdefault(person, []).append((start, end))
    writer.release()
    return truth
