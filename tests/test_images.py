"""Every odd input becomes an upright RGB array, or a clear ImageError: never a crash."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import ml
from ml.images import load_image
from ml.settings import settings
from tests.support import lfw

PHOTO = lfw("Tony_Blair", 1)


def encoded(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rgb() -> Image.Image:
    return Image.open(PHOTO).convert("RGB")


@pytest.mark.parametrize("mode", ["RGB", "L", "LA", "RGBA", "P", "1", "I", "F", "CMYK", "I;16"])
def test_every_mode_loads_as_rgb_uint8_and_keeps_the_face(rgb, mode):
    if mode == "I;16":
        grey = np.asarray(rgb.convert("L"), np.uint16) * 257  # full 16-bit range
        image = Image.fromarray(grey)
        assert image.mode.startswith("I;16")
    else:
        image = rgb.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "F", "I") else "PNG"
    array = load_image(encoded(image, fmt))
    assert array.dtype == np.uint8 and array.shape == (rgb.height, rgb.width, 3)
    if mode != "1":  # a 1-bit photo is barely a face any more
        assert len(ml.detect(array)) >= 1


def test_sixteen_bit_is_scaled_not_clipped(rgb):
    grey = np.asarray(rgb.convert("L"), np.uint16) * 257
    array = load_image(encoded(Image.fromarray(grey)))
    assert abs(int(array[..., 0].mean()) - int(np.asarray(rgb.convert("L")).mean())) <= 2


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert (load_image(encoded(image)) == 255).all()


def test_exif_rotation_is_applied(rgb):
    # Store the photo rotated 90° with an EXIF tag saying "rotate back" (orientation 6 = 90° CW).
    sideways = rgb.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    array = load_image(encoded(sideways, "JPEG", exif=exif, quality=95))
    assert array.shape[:2] == (rgb.height, rgb.width)
    faces = ml.detect(array)
    assert faces and abs(faces[0].landmarks[0, 1] - faces[0].landmarks[1, 1]) < 15  # eyes level


@pytest.mark.parametrize(
    "data, message",
    [
        (b"this is a text file, not a photo", "not an image"),
        (PHOTO.read_bytes()[:3000], "damaged or truncated"),
        (b"", "not an image"),
    ],
)
def test_bad_bytes_give_a_clear_error(data, message):
    with pytest.raises(ml.ImageError, match=message):
        load_image(data)


def test_decompression_bomb_is_refused():
    side = int(settings().max_pixels**0.5) + 100
    bomb = encoded(Image.new("L", (side, side)), "PNG", optimize=True)
    assert len(bomb) < 1_000_000  # tiny file, huge image
    with pytest.raises(ml.ImageError, match="too many pixels"):
        load_image(bomb)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ml.ImageError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ml.ImageError, match="directory"):
        load_image(tmp_path)
