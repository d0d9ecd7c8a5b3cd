"""Screen time: who is on screen in a video, when, and for how long.

Frames are sampled (``fps`` per second of video), faces detected and embedded in batches, and
linked into tracks from one sampled frame to the next (box overlap and embedding distance), so
a face is named once per track from its averaged embedding: one blurred or turned frame does
not flip the name mid-shot. A track at sampled times t0..tn counts as on screen over
[t0, tn + 1/fps); a person's appearances are their tracks' intervals merged.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ml.faces.detection import Face
from ml.faces.embedding import Embeddings, get_embedder
from ml.faces.pipeline import detect_and_embed
from ml.galleries.identify import UNKNOWN, label
from ml.galleries.store import Gallery
from ml.progress import Progress, no_progress
from ml.render.identified import palette
from ml.render.sheet import load_font
from ml.video.probe import Video, open_video

DEFAULT_FPS = 2.0
BATCH_FRAMES = 16
TRACK_IOU = 0.3
TRACK_DISTANCE = 0.45  # same person across neighbouring frames; strangers are farther
# Faces narrower than this (pixels) are background extras: too small to name reliably.
MIN_FACE = 40
SHEET_FRAMES = 12
THUMB_WIDTH = 320


@dataclass
class Track:
    times: list[float] = field(default_factory=list)
    boxes: list[tuple[float, ...]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    name: str = UNKNOWN


@dataclass
class PersonTime:
    name: str
    seconds: float
    appearances: list[tuple[float, float]]

    def to_dict(self) -> dict:
        return {"name": self.name, "seconds": round(self.seconds, 2),
                "appearances": [[round(a, 2), round(b, 2)] for a, b in self.appearances]}


@dataclass
class ScreenTime:
    video: str
    duration: float
    sample_fps: float
    samples: int
    people: list[PersonTime]  # known people, most screen time first
    unknown_seconds: float
    frame_width: int
    tracks: list[Track]
    thumbnails: dict[float, Image.Image]  # a few sampled frames, for the contact sheet

    def to_dict(self) -> dict:
        return {"video": self.video, "duration": round(self.duration, 2),
                "people": [p.to_dict() for p in self.people],
                "unknown_seconds": round(self.unknown_seconds, 2),
                "sample_fps": self.sample_fps, "frames_sampled": self.samples}


def sample_frames(video: Video, fps: float):
    """(time, RGB frame) every 1/fps seconds; frames in between are grabbed, not decoded."""
    capture = cv2.VideoCapture(str(video.path))
    step, next_time, index = 1.0 / fps, 0.0, 0
    try:
        while capture.grab():
            t = index / video.fps
            if t + 1e-9 >= next_time:
                ok, frame = capture.retrieve()
                if ok:
                    yield t, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                next_time = (np.floor(t / step + 1e-9) + 1) * step
            index += 1
    finally:
        capture.release()


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def link(tracks: list[Track], t: float, step: float, faces: list[Face],
         vectors: np.ndarray) -> None:
    """Extend the tracks seen in the previous sample with this sample's faces, greedily."""
    live = [k for k, tr in enumerate(tracks) if t - tr.times[-1] <= 1.5 * step]
    pairs = []
    for i, face in enumerate(faces):
        for k in live:
            overlap = iou(face.box, tracks[k].boxes[-1])
            distance = float(np.linalg.norm(vectors[i] - tracks[k].vectors[-1]))
            if overlap >= TRACK_IOU and distance <= TRACK_DISTANCE:
                pairs.append((-overlap, i, k))
    taken_faces, taken_tracks = set(), set()
    for _, i, k in sorted(pairs):
        if i in taken_faces or k in taken_tracks:
            continue
        taken_faces.add(i)
        taken_tracks.add(k)
        tracks[k].times.append(t)
        tracks[k].boxes.append(tuple(faces[i].box))
        tracks[k].vectors.append(vectors[i])
    for i, face in enumerate(faces):
        if i not in taken_faces:
            tracks.append(Track([t], [tuple(face.box)], [vectors[i]]))


def merge(intervals: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def screentime(path: Path, gallery: Gallery, fps: float = DEFAULT_FPS,
               max_seconds: float | None = None,
               progress: Progress = no_progress) -> ScreenTime:
    """Per gallery person: seconds on screen and appearance intervals in the video at ``path``."""
    if not 0 < fps <= 30:
        raise ValueError("fps must be between 0 and 30 frames per second")
    video = open_video(path, max_seconds)
    model = get_embedder(gallery.embedder)
    step = 1.0 / fps
    total = max(1, int(np.ceil(video.duration * fps)))
    keep = set(np.linspace(0, total - 1, min(SHEET_FRAMES, total)).round().astype(int))
    tracks: list[Track] = []
    thumbnails: dict[float, Image.Image] = {}
    batch: list[tuple[float, np.ndarray]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        found = detect_and_embed([frame for _, frame in batch], model,
                                 keep=lambda face: face.width >= MIN_FACE)
        for (t, _), (faces, vectors) in zip(batch, found, strict=True):
            link(tracks, t, step, faces, vectors if faces else None)
        done += len(batch)
        batch.clear()
        progress("frames", min(done, total), total)

    progress("frames", 0, total)
    for n, (t, frame) in enumerate(sample_frames(video, fps)):
        if n in keep:
            thumb = Image.fromarray(frame)
            thumb.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
            thumbnails[t] = thumb
        batch.append((t, frame))
        if len(batch) >= BATCH_FRAMES:
            flush()
    if batch:
        flush()
    progress("frames", total, total)

    if tracks:
        means = np.stack([np.mean(tr.vectors, axis=0) for tr in tracks])
        means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-12)
        for track, (name, _, _) in zip(tracks, label(gallery, Embeddings(
                means.astype(np.float32), gallery.embedder)), strict=True):
            track.name = name
    spans: dict[str, list[tuple[float, float]]] = {}
    for track in tracks:
        end = min(video.duration, track.times[-1] + step)
        spans.setdefault(track.name, []).append((track.times[0], end))
    merged = {name: merge(s, gap=step * 0.01) for name, s in spans.items()}
    seconds = {name: sum(b - a for a, b in s) for name, s in merged.items()}
    people = [PersonTime(name, seconds[name], merged[name])
              for name in sorted(merged, key=lambda n: -seconds[n]) if name != UNKNOWN]
    return ScreenTime(str(path), video.duration, fps, done, people,
                      seconds.get(UNKNOWN, 0.0), video.width, tracks, thumbnails)


# -- pictures and files for people -------------------------------------------------------------


def write_csv(result: ScreenTime, path: Path) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "start_s", "end_s", "seconds"])
        for person in result.people:
            for a, b in person.appearances:
                writer.writerow([person.name, f"{a:.2f}", f"{b:.2f}", f"{b - a:.2f}"])


def timeline_chart(result: ScreenTime, width: int = 1000) -> Image.Image:
    """One row per person: bars where they are on screen, total seconds at the right."""
    rows = result.people or [PersonTime("nobody known", 0.0, [])]
    left, right, row_h, top = 190, 90, 34, 30
    chart = Image.new("RGB", (width, top + row_h * len(rows) + 30), "white")
    draw = ImageDraw.Draw(chart)
    font = load_font(14)
    span = max(result.duration, 1e-6)
    plot = width - left - right
    colours = palette([p.name for p in rows])
    for n, person in enumerate(rows):
        y = top + n * row_h
        draw.text((8, y + 8), person.name[:24], fill="black", font=font)
        draw.rectangle((left, y + 6, left + plot, y + row_h - 6), fill=(240, 240, 240))
        for a, b in person.appearances:
            x0, x1 = left + plot * a / span, left + plot * b / span
            draw.rectangle((x0, y + 6, max(x0 + 1, x1), y + row_h - 6), fill=colours[person.name])
        draw.text((left + plot + 8, y + 8), f"{person.seconds:.1f} s", fill="black", font=font)
    ticks = np.linspace(0, result.duration, 6)
    y = top + row_h * len(rows) + 4
    for t in ticks:
        x = left + plot * t / span
        draw.line((x, top - 4, x, y), fill=(200, 200, 200))
        draw.text((x - 10, y), f"{t:.1f}s", fill="black", font=font)
    draw.text((8, 6), f"Screen time in {Path(result.video).name} ({result.duration:.1f} s)",
              fill="black", font=font)
    return chart


def contact_sheet(result: ScreenTime, columns: int = 4) -> Image.Image:
    """A grid of sampled frames with every tracked face boxed and named."""
    times = sorted(result.thumbnails)
    if not times:
        return Image.new("RGB", (THUMB_WIDTH, 60), "white")
    cell_w = THUMB_WIDTH
    cell_h = max(im.height for im in result.thumbnails.values()) + 22
    rows = (len(times) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (cell_w + 6) + 6, rows * (cell_h + 6) + 6), "white")
    font = load_font(12)
    colours = palette([p.name for p in result.people])
    for n, t in enumerate(times):
        thumb = result.thumbnails[t].copy()
        draw = ImageDraw.Draw(thumb)
        for track in result.tracks:
            if t in track.times:
                scale = thumb.width / result.frame_width
                x0, y0, x1, y1 = (v * scale for v in track.boxes[track.times.index(t)])
                ink = colours[track.name]
                draw.rectangle((x0, y0, x1, y1), outline=ink, width=2)
                box = draw.textbbox((x0, y1 + 2), track.name[:18], font=font)
                draw.rectangle(box, fill=ink)
                draw.text((x0, y1 + 2), track.name[:18], fill="black", font=font)
        x, y = 6 + (n % columns) * (cell_w + 6), 6 + (n // columns) * (cell_h + 6)
        sheet.paste(thumb, (x, y))
        ImageDraw.Draw(sheet).text((x, y + thumb.height + 3), f"{t:.1f} s", fill="black",
                                   font=font)
    return sheet


def write_reports(result: ScreenTime, folder: Path) -> dict[str, Path]:
    """CSV, timeline chart and contact sheet for one video, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.video).stem
    paths = {"csv": folder / f"{stem}.screentime.csv",
             "timeline": folder / f"{stem}.timeline.png",
             "sheet": folder / f"{stem}.contact.jpg"}
    write_csv(result, paths["csv"])
    timeline_chart(result).save(paths["timeline"])
    contact_sheet(result).save(paths["sheet"], quality=88)
    return paths
