"""Pictures of who is who: a stable colour per name, and a photo with every face boxed and named."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image, ImageDraw

from ml.bodies.link import FacelessPerson
from ml.galleries.identify import UNKNOWN, Identification
from ml.images import ImageInput, load_image
from ml.render.sheet import load_font


def _hue_to_rgb(hue: float) -> tuple[int, int, int]:
    rgb = np.array(Image.new("HSV", (1, 1), (int(hue * 255) % 256, 190, 235)).convert("RGB"))
    return tuple(int(v) for v in rgb[0, 0])


def colour(name: str) -> tuple[int, int, int]:
    """A stable, readable colour per name (grey for unknown)."""
    if name == UNKNOWN:
        return (160, 160, 160)
    return _hue_to_rgb(int(hashlib.md5(name.encode()).hexdigest()[:6], 16) / 0xFFFFFF)


def palette(names: list[str]) -> dict[str, tuple[int, int, int]]:
    """Clearly different colours for a known list of names (grey for unknown)."""
    out = {name: _hue_to_rgb(n / max(1, len(names)) * 0.85) for n, name in enumerate(names)}
    out[UNKNOWN] = colour(UNKNOWN)
    return out


def draw_identifications(image: ImageInput, found: list[Identification],
                         bodies: list[FacelessPerson] = ()) -> Image.Image:
    """The photo with each face boxed and named, for people who would rather look than read;
    ``bodies``: people whose face is not seen, boxed thinly and named "(body)" inside the box."""
    picture = Image.fromarray(load_image(image))
    draw = ImageDraw.Draw(picture)
    size = max(14, round(max(picture.size) / 50))
    font = load_font(size)
    for who in [*found, *bodies]:
        x0, y0, x1, y1 = who.box
        ink = colour(who.name)
        by_body = isinstance(who, FacelessPerson)
        draw.rectangle((x0, y0, x1, y1), outline=ink, width=max(1, size // 12) if by_body
                       else max(2, size // 6))
        text = f"{who.name} {who.similarity:.0f}%" if who.known else UNKNOWN
        text, at = (f"{text} (body)", (x0 + 3, y0 + 3)) if by_body else (text, (x0, y1 + 2))
        left, top, right, bottom = draw.textbbox(at, text, font=font)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=ink)
        draw.text(at, text, fill="black", font=font)
    return picture
