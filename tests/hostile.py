"""The hostile-input corpus: files a careless or malicious client may send to an upload route,
generated here (nothing large is committed).

    .venv/bin/python -m tests.hostile OUT_DIR    # writes every file, for a look or a fuzzer

``images(folder)`` and ``videos(folder)`` write the files and return {name: path}; the web app's
tests send each to every upload route (``tests/webapp/test_hostile.py``).
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.support import lfw

FACE = ("Tony_Blair", 1)
EXIF_ORIENTATION = 0x0112


def jpeg(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def giant_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header claims 3.6 gigapixels, with a few bytes of pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def face() -> Image.Image:
    return Image.open(lfw(*FACE)).convert("RGB")


def rotated(orientation: int) -> bytes:
    """The face stored so that a viewer applying EXIF ``orientation`` shows it upright."""
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_270}[orientation]
    stored = face() if inverse is None else face().transpose(inverse)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return jpeg(stored, exif=exif.tobytes())


def crowd(n: int = 60) -> bytes:
    """``n`` LFW faces in a grid (10 a row)."""
    people = ["Tony_Blair", "Colin_Powell", "Serena_Williams", "Hugo_Chavez", "George_W_Bush",
              "Gerhard_Schroeder", "Donald_Rumsfeld", "Ariel_Sharon", "Jean_Chretien",
              "John_Ashcroft"]
    tiles = [Image.open(lfw(people[i % 10], 1 + i // 10)).convert("RGB").crop((50, 40, 200, 210))
             .resize((120, 136)) for i in range(n)]
    rows = (n + 9) // 10
    sheet = Image.new("RGB", (1200, 136 * rows), (128, 128, 128))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % 10) * 120, (i // 10) * 136))
    return jpeg(sheet)


def animated_gif() -> bytes:
    frames = [face(), face().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return out.getvalue()


def sixteen_bit() -> bytes:
    grey = np.asarray(face().convert("L"), np.uint16) * 257
    return png(Image.fromarray(grey))  # mode I;16


IMAGES = {
    "not-an-image.jpg": lambda: b"this is a text file, not a photo\n" * 10,
    "empty.jpg": lambda: b"",
    "truncated.jpg": lambda: jpeg(face())[: len(jpeg(face())) // 2],
    "header-only.jpg": lambda: jpeg(face())[:200],
    "header-only.png": lambda: png(face())[:33],
    "3.6-gigapixels.png": giant_png,
    "drawing.svg": lambda: (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                            b'<circle cx="50" cy="50" r="40"/></svg>'),
    "animated.gif": animated_gif,
    "cmyk.jpg": lambda: jpeg(face().convert("CMYK")),
    "16-bit.png": sixteen_bit,
    "1x1.png": lambda: png(Image.new("RGB", (1, 1), (200, 100, 50))),
    "noise.png": lambda: png(Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (512, 512, 3), np.uint8))),
    "25-megabytes.jpg": lambda: jpeg(face())[:2] + bytes(25 * 1024 * 1024),
    **{f"exif-orientation-{n}.jpg": (lambda n=n: rotated(n)) for n in range(1, 9)},
    "face-at-the-border.jpg": lambda: jpeg(face().crop((95, 40, 250, 250))),
    "60-faces.jpg": crowd,
}

# File names a client may send with a valid photo: none may reach a path.
FILE_NAMES = ["../../../etc/passwd", "..\\..\\boot.ini", "photo\x00.jpg.exe", "/" * 300,
              "😀" * 200 + ".jpg", "x" * 5000 + ".jpg"]
# Names for people and galleries.
NAMES = ["../../etc", "a/b", "/", "..", "x" * 5000, "😀 emoji 😀", "\x00", " ", "NUL\x00name",
         "<script>alert(1)</script>", "%2e%2e%2f"]


def video_of(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def videos(folder: Path) -> dict[str, Path]:
    """A video that is an image, one with no frames, one whose header says 4 hours."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = cv2.cvtColor(np.asarray(face()), cv2.COLOR_RGB2BGR)
    out = {"image-as-video.mp4": folder / "image-as-video.mp4",
           "no-frames.mp4": folder / "no-frames.mp4"}
    out["image-as-video.mp4"].write_bytes(jpeg(face()))
    header = video_of([frame] * 3, folder / "short.mp4", 10).read_bytes()
    out["no-frames.mp4"].write_bytes(header[:48])
    # 150 small frames at 1/100 frame per second: a header that says 15,000 s (over 4 hours)
    small = cv2.resize(frame, (64, 64))
    out["four-hours.mp4"] = video_of([small] * 150, folder / "four-hours.mp4", 0.01)
    return out


def images(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in IMAGES.items():
        out[name] = folder / name
        out[name].write_bytes(make())
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    written = {**images(target), **videos(target)}
    for name, path in written.items():
        print(f"{path.stat().st_size:>10,}  {name}")
