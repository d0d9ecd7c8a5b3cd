"""Turn whatever a user hands us into an RGB uint8 array, or say clearly why we can't.

Photos arrive as files, bytes or arrays in every mode Pillow knows (L, LA, P, RGBA, CMYK,
16-bit, float) and often with an EXIF orientation. Everything downstream sees one thing:
an ``(H, W, 3)`` uint8 RGB array, upright as the camera's owner saw it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ml.errors import ImageError
from ml.settings import settings

ImageInput = str | os.PathLike | bytes | BinaryIO | Image.Image | np.ndarray


def open_image(source: ImageInput) -> Image.Image:
    """Open and fully decode ``source`` as an upright RGB PIL image."""
    limit = settings().max_pixels
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        return Image.fromarray(_array_to_rgb(source))
    else:
        name = _describe(source)
        with _decoding(name, limit):
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            image.load()
    if image.width * image.height > limit:
        raise ImageError(f"{_describe(source)}: too many pixels (limit {limit:,})")
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block should not cost the user the photo
        pass
    return _to_rgb(image)


def check_image(source: str | os.PathLike | bytes | BinaryIO) -> tuple[str | None, int, int]:
    """Is ``source`` a whole image of at most ``max_pixels``? Known as cheaply as it can be (the
    web app checks every upload): the size from the header, then one decode, of JPEGs at 1/8
    scale (DCT scaling still reads every byte, so a truncated file is found), with no RGB copy
    and no rotation. Its format, width and height; ``ImageError`` in ``open_image``'s words."""
    limit = settings().max_pixels
    name = _describe(source)
    with _decoding(name, limit):
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            found = image.format, image.width, image.height
            if image.width * image.height > limit:
                raise ImageError(f"{name}: too many pixels (limit {limit:,})")
            image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    return found


@contextmanager
def _decoding(name: str, limit: int) -> Iterator[None]:
    """Pillow's failures while opening or decoding, as ``ImageError`` messages for the user."""
    # face_recognition, when imported in the same process, turns this on for everyone: a
    # truncated photo must still be refused, not silently padded with grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Pillow refuses (DecompressionBombError) at twice this; we refuse at this, in words.
    Image.MAX_IMAGE_PIXELS = limit
    try:
        yield
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(f"{name}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImageError(f"{name}: is a directory, not an image") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image (or an unsupported image format)") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too many pixels (limit {limit:,})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: the image is damaged or truncated ({exc})") from exc


def load_image(source: ImageInput) -> np.ndarray:
    """Load ``source`` as an upright ``(H, W, 3)`` uint8 RGB array."""
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    return np.asarray(open_image(source))


def _describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return str(Path(source))
    return "image"


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Image.fromarray(_array_to_rgb(np.asarray(image)))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Scale any numeric array (grey, RGB, RGBA; 8/16-bit or float) to uint8 RGB."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"image array has unsupported shape {array.shape}")
    if array.dtype != np.uint8:
        peak = float(np.nanmax(array, initial=0))
        if array.dtype == bool:
            top = 1.0
        elif array.dtype == np.uint16:
            top = 65535.0
        elif np.issubdtype(array.dtype, np.integer):  # Pillow's 32-bit "I": 8 or 16-bit data
            top = 255.0 if peak <= 255 else max(65535.0, peak)
        else:
            top = 1.0 if peak <= 1.0 else 255.0
        array = np.nan_to_num(array.astype(np.float64))
        array = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(array)
