"""Full-body portrait data: clothing-co-parsing (CCP), and group photos composited from it.

CCP (``fetch github:bearpaw/clothing-co-parsing``) holds street-fashion photos of one person,
whole body, with pixel labels: ``photos/NNNN.jpg`` and ``annotations/pixel-level/NNNN.mat``
(``groundtruth``: 0 background, > 0 a piece of the person). It lives outside the repository, in
``$LOOKALIKE_FULLBODY`` (default ``clothing-co-parsing`` in the library's home).

The split is fixed once, before any result: 0001-0800 train, 0801-0900 are the full-body
validation photos ``make bench-portrait`` reports. 0901-1004 are reserved for an independent
evaluation: ``load_person`` refuses them, so nothing here can train, tune or measure on them.
Several-people photos are built from these people (``group``): two or three cut out with their
true masks, scaled to one height and stood side by side on a background with the person removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ml.images import load_image
from ml.paths import home
from ml.progress import Progress, no_progress

FETCH = ("fetch github:bearpaw/clothing-co-parsing, then `git --git-dir=DIR archive HEAD photos "
         "annotations/pixel-level | tar -x -C $LOOKALIKE_FULLBODY` (default "
         "~/.cache/lookalike/clothing-co-parsing)")
LAST_USABLE = 900  # 0901-1004: reserved for independent evaluation, never read
TRAIN = tuple(range(1, 801))
VALIDATION = tuple(range(801, 901))
GROUP_SEED = 27  # the validation composites: a fixed draw
GROUP_COUNT = 40
GROUP_HEIGHT = 720  # composites' height in px (CCP photos are ~830 high)


def fullbody_dir() -> Path:
    """Where CCP is: ``$LOOKALIKE_FULLBODY``, else ``clothing-co-parsing`` in the home."""
    return Path(os.environ.get("LOOKALIKE_FULLBODY") or home() / "clothing-co-parsing")


def available(folder: Path | None = None) -> bool:
    folder = folder or fullbody_dir()
    return (folder / "photos").is_dir() and (folder / "annotations" / "pixel-level").is_dir()


def load_person(number: int, folder: Path | None = None,
                max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Photo ``number`` (RGB) and its person mask (0/255), at most ``max_side`` px long."""
    from scipy.io import loadmat

    if not 1 <= number <= LAST_USABLE:
        raise ValueError(f"clothing-co-parsing {number:04d}: only 0001-{LAST_USABLE:04d} may be "
                         "read (the rest are reserved for independent evaluation)")
    folder = folder or fullbody_dir()
    if not available(folder):
        raise FileNotFoundError(f"clothing-co-parsing is not in {folder}: {FETCH}")
    image = load_image(folder / "photos" / f"{number:04d}.jpg")
    labels = loadmat(str(folder / "annotations" / "pixel-level" / f"{number:04d}.mat"))
    mask = np.where(labels["groundtruth"] > 0, 255, 0).astype(np.uint8)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"clothing-co-parsing {number:04d}: labels are not the photo's size")
    scale = (max_side or max(mask.shape)) / max(mask.shape)
    if scale < 1:
        size = (round(mask.shape[1] * scale), round(mask.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
    return image, mask


def load_fullbody(numbers: tuple[int, ...] | range, max_side: int | None = None,
                  progress: Progress = no_progress) -> tuple[list[str], list[np.ndarray],
                                                             list[np.ndarray]]:
    """Stems (``NNNN``), photos and masks of ``numbers``."""
    stems, images, masks = [], [], []
    for n, number in enumerate(numbers, 1):
        image, mask = load_person(number, max_side=max_side)
        stems.append(f"{number:04d}")
        images.append(image)
        masks.append(mask)
        progress("clothing-co-parsing", n, len(numbers))
    return stems, images, masks


def empty_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo with its person painted out (inpainted at a quarter size, a little beyond the
    mask's edge, so no outline of them is left)."""
    h, w = mask.shape
    small = cv2.resize(image, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    hole = cv2.resize(mask, small.shape[1::-1], interpolation=cv2.INTER_LINEAR) > 0
    hole = cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8))
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR),
                              (0, 0), 3)
    out = image.copy()
    big = cv2.resize(hole, (w, h), interpolation=cv2.INTER_NEAREST) > 0
    out[big] = filled[big]
    return out


def group(people: list[tuple[np.ndarray, np.ndarray]], background: np.ndarray,
          rng: np.random.Generator, height: int = GROUP_HEIGHT,
          boxes: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two or three people (photo, 0/255 mask) cut out, scaled to one height (70-90% of the
    picture, each within 5% of it), their light matched to the background (per-channel gain
    of their own photo's background to this one's, 0.8-1.25), stood side by side, feet near
    the bottom, sometimes overlapping a little, on ``background`` stretched to fit.
    Returns the picture and the union of their masks (0/255); each person's box (x0, y0, x1,
    y1) is appended to ``boxes`` when given (the person-box benchmark's truth)."""
    target = height * rng.uniform(0.7, 0.9)
    cuts = []
    for image, mask in people:
        ys, xs = np.nonzero(mask > 127)
        top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        scale = target * rng.uniform(0.95, 1.05) / (bottom - top)
        size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
        own_bg = image[mask <= 127].reshape(-1, 3).mean(0) if (mask <= 127).any() else None
        cuts.append((cv2.resize(image[top:bottom, left:right], size,
                                interpolation=cv2.INTER_AREA),
                     cv2.resize(mask[top:bottom, left:right], size,
                                interpolation=cv2.INTER_LINEAR), own_bg))
    gaps = [round(height * rng.uniform(-0.05, 0.08)) for _ in cuts[1:]]
    margin = round(height * rng.uniform(0.05, 0.2))
    width = 2 * margin + sum(c[0].shape[1] for c in cuts) + sum(gaps)
    canvas = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    canvas = canvas.astype(np.float32)
    bg_mean = canvas.reshape(-1, 3).mean(0)
    union = np.zeros((height, width), np.uint8)
    x = margin
    for k, (cut, alpha, own_bg) in enumerate(cuts):
        ch, cw = alpha.shape
        y = max(0, height - ch - round(height * rng.uniform(0.01, 0.08)))
        ch = min(ch, height - y)
        gain = 1.0 if own_bg is None else np.clip(bg_mean / np.maximum(own_bg, 1), 0.8, 1.25)
        a = alpha[:ch].astype(np.float32)[:, :, None] / 255.0
        region = canvas[y : y + ch, x : x + cw]
        canvas[y : y + ch, x : x + cw] = cut[:ch] * gain * a + region * (1 - a)
        union[y : y + ch, x : x + cw] = np.maximum(union[y : y + ch, x : x + cw], alpha[:ch])
        if boxes is not None:
            boxes.append((x, y, x + cw, y + ch))
        x += cw + (gaps[k] if k < len(gaps) else 0)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8), np.where(union > 127, 255,
                                                                     0).astype(np.uint8)


def groups(images: list[np.ndarray], masks: list[np.ndarray], count: int = GROUP_COUNT,
           seed: int = GROUP_SEED, boxes: list | None = None
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` several-people pictures from these people, a fixed draw for ``seed``: each
    two or three different people on a further one's emptied background; ``boxes`` gets one
    list of people's boxes per picture when given."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        chosen = rng.choice(len(images), int(rng.integers(2, 4)) + 1, replace=False)
        *people, bg = (int(i) for i in chosen)
        background = empty_background(images[bg], masks[bg])
        placed: list = []
        out.append(group([(images[i], masks[i]) for i in people], background, rng,
                         boxes=placed))
        if boxes is not None:
            boxes.append(placed)
    return out
