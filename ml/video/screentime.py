"""Screen time: who is on screen in a video, when, and for how long.

Frames are sampled (``fps`` per second of video), faces detected and embedded in batches, and
linked into tracks from one sampled frame to the next (box overlap and embedding distance), so
a face is named once per track from its averaged embedding: one blurred or turned frame does
not flip the name mid-shot. A track at sampled times t0..tn counts as on screen over
[t0, tn + 1/fps); a person's appearances are their tracks' intervals merged.

Bodies (on by default): every sampled frame's people are boxed (``ml.bodies.detection``) and
embedded by their bodies, and tracked the same way. A body track takes the name of the faces
seen in it; a body never seen with a face is named by the bodies named in the rest of the video
(``ml.bodies.link``), or stays unknown. So a person who turns away keeps counting, and the
seconds only their body accounts for are reported apart (``body_seconds``).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ml.bodies.detection import box_iou
from ml.bodies.link import BodyName, bodies_in, lend_names
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
# The same body in neighbouring frames: unit body vectors at most this far apart (a cosine of
# 0.75 or more; one person half a second later is near 1, other people mostly below 0.6) ...
BODY_TRACK_DISTANCE = 0.7
# ... or, standing where it stood (box overlap at least IN_PLACE_IOU), at most this far: a
# person who turns round in place looks different from behind (a cosine of 0.5 or more).
IN_PLACE_IOU = 0.6
BODY_IN_PLACE_DISTANCE = 1.0
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
    faces: list[int] = field(default_factory=list)  # a body track: the face tracks seen in it
    body_name: BodyName | None = None  # a body track never seen with a face: its best match


@dataclass
class PersonTime:
    name: str
    seconds: float
    appearances: list[tuple[float, float]]
    body_seconds: float = 0.0  # of ``seconds``, those when only their body was seen
    body_appearances: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "seconds": round(self.seconds, 2),
                "appearances": [[round(a, 2), round(b, 2)] for a, b in self.appearances],
                "body_seconds": round(self.body_seconds, 2),
                "body_appearances": [[round(a, 2), round(b, 2)]
                                     for a, b in self.body_appearances]}


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
    body_tracks: list[Track] | None  # None: bodies were not looked for
    thumbnails: dict[float, Image.Image]  # a few sampled frames, for the contact sheet

    def to_dict(self) -> dict:
        return {"video": self.video, "duration": round(self.duration, 2),
                "people": [p.to_dict() for p in self.people],
                "unknown_seconds": round(self.unknown_seconds, 2),
                "sample_fps": self.sample_fps, "frames_sampled": self.samples,
                "bodies": self.bodies}

    @property
    def bodies(self) -> bool:
        """Whether bodies were looked for (not only faces)."""
        return self.body_tracks is not None


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


def link(tracks: list[Track], t: float, step: float, boxes: list[tuple[float, ...]],
         vectors: np.ndarray, max_distance: float = TRACK_DISTANCE,
         in_place_distance: float | None = None,
         faces: list[int | None] | None = None) -> list[int]:
    """Extend the tracks seen in the previous sample with this sample's faces (or bodies),
    greedily; return the track each box joined. ``in_place_distance``: a looser distance for a
    box that overlaps the track's last one by IN_PLACE_IOU or more. ``faces``: bodies only, the
    face track each box holds (or None); a body never joins a track that last held another."""
    live = [k for k, tr in enumerate(tracks) if t - tr.times[-1] <= 1.5 * step]
    pairs = []
    for i, box in enumerate(boxes):
        for k in live:
            if faces and faces[i] is not None and tracks[k].faces[-1:] not in ([], [faces[i]]):
                continue
            overlap = box_iou(box, tracks[k].boxes[-1])
            distance = float(np.linalg.norm(vectors[i] - tracks[k].vectors[-1]))
            in_place = (in_place_distance is not None and overlap >= IN_PLACE_IOU
                        and distance <= in_place_distance)
            if overlap >= TRACK_IOU and distance <= max_distance or in_place:
                pairs.append((-overlap, i, k))
    joined: dict[int, int] = {}
    for _, i, k in sorted(pairs):
        if i in joined or k in joined.values():
            continue
        joined[i] = k
        tracks[k].times.append(t)
        tracks[k].boxes.append(tuple(boxes[i]))
        tracks[k].vectors.append(vectors[i])
    for i, box in enumerate(boxes):
        if i not in joined:
            joined[i] = len(tracks)
            tracks.append(Track([t], [tuple(box)], [vectors[i]]))
    return [joined[i] for i in range(len(boxes))]


def subtract(spans: list[tuple[float, float]],
             cut: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of ``spans`` (merged) that no interval of ``cut`` (merged) covers."""
    out = []
    for a, b in spans:
        start = a
        for c, d in cut:
            if d <= start or c >= b:
                continue
            if c > start:
                out.append((start, c))
            start = max(start, d)
        if start < b:
            out.append((start, b))
    return [(a, b) for a, b in out if b - a > 1e-6]


def merge(intervals: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def screentime(path: Path, gallery: Gallery, fps: float = DEFAULT_FPS,
               max_seconds: float | None = None, bodies: bool = True,
               progress: Progress = no_progress) -> ScreenTime:
    """Per gallery person: seconds on screen and appearance intervals in the video at ``path``;
    ``bodies``: also people whose face is not seen, by their bodies."""
    if not 0 < fps <= 30:
        raise ValueError("fps must be between 0 and 30 frames per second")
    video = open_video(path, max_seconds)
    model = get_embedder(gallery.embedder)
    step = 1.0 / fps
    total = max(1, int(np.ceil(video.duration * fps)))
    keep = set(np.linspace(0, total - 1, min(SHEET_FRAMES, total)).round().astype(int))
    tracks: list[Track] = []
    body_tracks: list[Track] = []
    thumbnails: dict[float, Image.Image] = {}
    batch: list[tuple[float, np.ndarray]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        found = detect_and_embed([frame for _, frame in batch], model,
                                 keep=lambda face: face.width >= MIN_FACE)
        for (t, frame), (faces, vectors) in zip(batch, found, strict=True):
            joined = link(tracks, t, step, [f.box for f in faces], vectors if faces else None)
            if bodies:
                link_bodies(body_tracks, t, step, frame, [f.box for f in faces], joined)
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
    name_bodies(body_tracks, tracks)

    def spans(chosen: list[Track]) -> dict[str, list[tuple[float, float]]]:
        out: dict[str, list[tuple[float, float]]] = {}
        for track in chosen:
            end = min(video.duration, track.times[-1] + step)
            out.setdefault(track.name, []).append((track.times[0], end))
        return {name: merge(s, gap=step * 0.01) for name, s in out.items()}

    by_face = spans(tracks)
    merged = spans(tracks + body_tracks)
    seconds = {name: sum(b - a for a, b in s) for name, s in merged.items()}
    people = []
    for name in sorted(merged, key=lambda n: -seconds[n]):
        if name != UNKNOWN:
            body_only = subtract(merged[name], by_face.get(name, []))
            people.append(PersonTime(name, seconds[name], merged[name],
                                     sum(b - a for a, b in body_only), body_only))
    return ScreenTime(str(path), video.duration, fps, done, people,
                      seconds.get(UNKNOWN, 0.0), video.width, tracks,
                      body_tracks if bodies else None, thumbnails)


def link_bodies(body_tracks: list[Track], t: float, step: float, frame: np.ndarray,
                faces: list[tuple[float, ...]], face_tracks: list[int]) -> None:
    """This frame's people, boxed and embedded by their bodies, joined to the body tracks;
    each body track notes the face tracks seen in it."""
    people, vectors, faces_held = bodies_in(frame, faces)
    if not people:
        return
    held = {person: face_tracks[face] for face, person in faces_held.items()}
    joined = link(body_tracks, t, step, [p.box for p in people], vectors, BODY_TRACK_DISTANCE,
                  BODY_IN_PLACE_DISTANCE, [held.get(k) for k in range(len(people))])
    for person, face_track in held.items():
        body_tracks[joined[person]].faces.append(face_track)


def name_bodies(body_tracks: list[Track], face_tracks: list[Track]) -> None:
    """A body track takes the name most of its faces have; one never seen with a face is named
    by its body (``ml.bodies.link.lend_names``) among the people named by face whose tracks
    are not on screen at the same time, or stays unknown."""
    for track in body_tracks:
        if track.faces:
            track.name = Counter(face_tracks[k].name for k in track.faces).most_common(1)[0][0]
    named = [tr for tr in body_tracks if tr.faces and tr.name != UNKNOWN]
    for track in body_tracks:
        if track.faces:
            continue
        seen = set(track.times)
        busy = {tr.name for tr in face_tracks + named if seen & set(tr.times)}
        others = [tr for tr in named if tr.name not in busy]
        if not others:
            continue
        mean = np.mean(track.vectors, axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        vectors = np.concatenate([np.stack(tr.vectors) for tr in others])
        names = [tr.name for tr in others for _ in tr.vectors]
        track.body_name = lend_names(mean[None].astype(np.float32), vectors, names)[0]
        track.name = track.body_name.name


# -- pictures and files for people -------------------------------------------------------------


def write_csv(result: ScreenTime, path: Path) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "start_s", "end_s", "seconds", "body_alone_s"])
        for person in result.people:
            for a, b in person.appearances:
                body = sum(max(0.0, min(b, d) - max(a, c)) for c, d in person.body_appearances)
                writer.writerow([person.name, f"{a:.2f}", f"{b:.2f}", f"{b - a:.2f}",
                                 f"{body:.2f}"])


def timeline_chart(result: ScreenTime, width: int = 1000) -> Image.Image:
    """One row per person: bars where they are on screen (paler where only their body was
    seen), total seconds at the right."""
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
        for a, b in person.body_appearances:
            x0, x1 = left + plot * a / span, left + plot * b / span
            pale = tuple((v + 255) // 2 for v in colours[person.name])
            draw.rectangle((x0, y + 6, max(x0 + 1, x1), y + row_h - 6), fill=pale,
                           outline=colours[person.name])
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
    """A grid of sampled frames with every tracked face boxed and named, and the body of a
    known person whose face is not seen in that frame boxed thinly, "(body)" after the name."""
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
        scale = thumb.width / result.frame_width
        faces = [tr for tr in result.tracks if t in tr.times]
        bodies = [tr for tr in result.body_tracks or [] if t in tr.times and tr.name != UNKNOWN
                  and all(f.name != tr.name for f in faces)]
        for track, width, text in ([(tr, 2, tr.name[:18]) for tr in faces]
                                   + [(tr, 1, f"{tr.name[:14]} (body)") for tr in bodies]):
            x0, y0, x1, y1 = (v * scale for v in track.boxes[track.times.index(t)])
            ink = colours[track.name]
            draw.rectangle((x0, y0, x1, y1), outline=ink, width=width)
            label_at = (x0, y1 + 2) if width == 2 else (x0 + 2, y0 + 2)
            box = draw.textbbox(label_at, text, font=font)
            draw.rectangle(box, fill=ink)
            draw.text(label_at, text, fill="black", font=font)
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
