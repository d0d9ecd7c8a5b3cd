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


# -- people who turn away ----------------------------------------------------------------------

Actor = tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]  # photo, mask, face box
TurnShot = list[tuple[str, str]]  # (person, one letter a second: F facing, B turned away)


def turn_away(image: np.ndarray, mask: np.ndarray,
              face: tuple[float, float, float, float]) -> np.ndarray:
    """The person as if turned away from the camera: the face painted over with the colour of
    their hair (sampled just above the face, inside the person); the clip also mirrors them. Not
    a real back view: their clothes are seen from the front, so it tests following a person
    whose face is gone, not re-identification from behind (CUHK03 measures that)."""
    x0, y0, x1, y1 = face
    w, h = x1 - x0, y1 - y0
    box = (int(max(0, x0 - 0.3 * w)), int(max(0, y0 - 0.2 * h)),
           int(min(image.shape[1], x1 + 0.3 * w)), int(min(image.shape[0], y1 + 0.4 * h)))
    person = mask > 127
    above = person[int(max(0, y0 - 0.45 * h)):int(max(1, y0 - 0.05 * h)), box[0]:box[2]]
    pixels = image[int(max(0, y0 - 0.45 * h)):int(max(1, y0 - 0.05 * h)), box[0]:box[2]][above]
    if len(pixels) < 20:  # no hair above the face (a hat, the photo's edge): a dark brown
        pixels = np.array([[60, 45, 35]], np.float32)
    colour = np.median(pixels, axis=0)
    rng = np.random.default_rng(int(x0 * 31 + y0))
    bw, bh = box[2] - box[0], box[3] - box[1]
    texture = cv2.GaussianBlur(rng.normal(0, 1, (bh, bw)).astype(np.float32), (0, 0), 1.5)
    fill = np.clip(colour[None, None] * (1 + 0.25 * texture[:, :, None]), 0, 255)
    inside = np.zeros(mask.shape, np.float32)
    inside[box[1]:box[3], box[0]:box[2]] = 1
    inside = cv2.GaussianBlur(inside, (0, 0), max(1.0, w / 12)) * person
    out = image.astype(np.float32)
    region = (slice(box[1], box[3]), slice(box[0], box[2]))
    a = inside[region][:, :, None]
    out[region] = fill * a + out[region] * (1 - a)
    return out.astype(np.uint8)


def turnaway_views(actors: dict[str, Actor], height: int) -> dict[str, dict]:
    """Each person cut out at 85% of ``height``: {"F": (facing, alpha), "B": (turned, alpha)}."""
    views = {}
    for name, (image, mask, face) in actors.items():
        ys, xs = np.nonzero(mask > 127)
        crop = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        scale = 0.85 * height / (ys.max() + 1 - ys.min())
        alpha = cv2.resize(mask[crop], None, fx=scale, fy=scale).astype(np.float32) / 255
        front, back = (cv2.resize(im[crop], None, fx=scale, fy=scale,
                                  interpolation=cv2.INTER_AREA)
                       for im in (image, turn_away(image, mask, face)))
        views[name] = {"F": (front, alpha[:, :, None]),
                       "B": (back[:, ::-1], alpha[:, ::-1, None])}
    return views


def compose(stage: np.ndarray, views: dict[str, dict], people: list[tuple[str, str]]
            ) -> np.ndarray:
    """One picture: ``people`` ((name, "F" or "B")) side by side, feet near the bottom, on
    ``stage`` (float RGB, the picture's size)."""
    height, width = stage.shape[:2]
    frame = stage.copy()
    for k, (name, letter) in enumerate(people):
        cut, alpha = views[name][letter]
        cx = int(width * (k + 0.5) / len(people))
        ch, cw = alpha.shape[:2]
        x, y = max(0, cx - cw // 2), max(0, height - ch - height // 30)
        cw, ch = min(cw, width - x), min(ch, height - y)
        a = alpha[:ch, :cw]
        frame[y:y + ch, x:x + cw] = cut[:ch, :cw] * a + frame[y:y + ch, x:x + cw] * (1 - a)
    return np.clip(frame, 0, 255).astype(np.uint8)


def stage_for(size: tuple[int, int], background: np.ndarray | None = None) -> np.ndarray:
    """A clip's backdrop: ``background`` stretched to ``size`` (width, height), or plain grey."""
    if background is None:
        return np.full((size[1], size[0], 3), 110, np.float32)
    return cv2.resize(background, size).astype(np.float32)


def make_turnaway_clip(actors: dict[str, Actor], shots: list[TurnShot], path: Path,
                       backgrounds: list[np.ndarray] | None = None, fps: float = 10.0,
                       size: tuple[int, int] = (1280, 720)) -> dict[str, dict]:
    """Write an MP4 of ``shots``: each shot's people stand side by side, scaled to 85% of the
    height, each facing the camera or turned away second by second as their letters say, on the
    shot's background (``backgrounds``, cycled; plain grey without), with a slow zoom. Returns
    per person the seconds on screen and facing the camera:
    {"on_screen": [(start, end)], "facing": [...]}."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here")
    views = turnaway_views(actors, height)
    truth: dict[str, dict] = {}
    frame_no = 0
    for n, shot in enumerate(shots):
        start = frame_no / fps
        seconds = len(shot[0][1])
        stage = stage_for(size, backgrounds[n % len(backgrounds)] if backgrounds else None)
        for k in range(round(seconds * fps)):
            second = int(k / fps)
            frame = compose(stage, views, [(name, letters[second]) for name, letters in shot])
            zoom = 1.0 + 0.08 * k / max(1, seconds * fps)
            m = cv2.getRotationMatrix2D((width / 2, height / 2), 0, zoom)
            frame = cv2.warpAffine(frame, m, size, borderMode=cv2.BORDER_REFLECT)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            frame_no += 1
        for name, letters in shot:
            person = truth.setdefault(name, {"on_screen": [], "facing": []})
            person["on_screen"].append((start, start + seconds))
            for s, letter in enumerate(letters):
                if letter == "F":
                    person["facing"].append((start + s, start + s + 1))
    writer.release()
    return truth
