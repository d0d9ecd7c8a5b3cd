"""A picture of the result: each face beside its lookalikes' thumbnails, names and similarity.

People would rather look than read: ``lookalike match --sheet DIR`` writes one of these per
photo, and the web app's share card is the same drawing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.faces.alignment import crop_box
from ml.faces.detection import Face
from ml.galleries.store import Lookalike

TILE = 160
CAPTION = 40


def load_font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _tile(picture: Image.Image | None, lines: list[str], font, bold) -> Image.Image:
    tile = Image.new("RGB", (TILE, TILE + CAPTION), "white")
    if picture is not None:
        tile.paste(picture.convert("RGB").resize((TILE, TILE)), (0, 0))
    else:
        ImageDraw.Draw(tile).rectangle((0, 0, TILE - 1, TILE - 1), fill=(225, 225, 225))
    draw = ImageDraw.Draw(tile)
    for n, text in enumerate(lines[:2]):
        draw.text((4, TILE + 2 + 19 * n), text, fill="black", font=bold if n == 0 else font)
    return tile


def lookalike_sheet(image: np.ndarray, faces: list[Face],
                    matches: list[list[Lookalike]]) -> Image.Image:
    """One row per face: the face, then its lookalikes best first."""
    font, bold = load_font(14), load_font(15)
    columns = 1 + max((len(m) for m in matches), default=0)
    sheet = Image.new("RGB", (max(1, columns) * (TILE + 8) + 8,
                              max(1, len(faces)) * (TILE + CAPTION + 8) + 8), "white")
    for row, (face, found) in enumerate(zip(faces, matches, strict=True)):
        y = 8 + row * (TILE + CAPTION + 8)
        chip = Image.fromarray(crop_box(image, face, TILE, margin=0.5))
        sheet.paste(_tile(chip, [f"face {row + 1}", "you"], font, bold), (8, y))
        for col, match in enumerate(found, 1):
            thumb = Image.open(match.thumbnail) if match.thumbnail else None
            caption = [f"{match.similarity:.0f}%", match.name[:20]]
            sheet.paste(_tile(thumb, caption, font, bold), (8 + col * (TILE + 8), y))
    return sheet
