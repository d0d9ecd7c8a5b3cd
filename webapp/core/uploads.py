"""Check an upload in the web request, so bad input is a clear 4xx and never a failed job."""

from __future__ import annotations

import io
import warnings

from flask import request
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ml.images import ImageError
from ml.images import check_image as check_decodes
from webapp.core.errors import UserError

# What browsers and phones produce; Pillow reads more (PSD, ICO, EPS, ...) but we don't take them.
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP",
           "TIFF": "TIFF", "MPO": "JPEG"}


def read_image(file: FileStorage | None, what: str = "The photo") -> bytes:
    """The bytes of an uploaded image that decodes fully, or ``UserError``."""
    if file is None:
        raise UserError(f"{what}: no file given, choose a photo")
    data = file.read()
    if not data:
        raise UserError(f"{what} is an empty file")
    check_image(data, what)
    return data


def check_image(data: bytes, what: str = "The photo") -> None:
    """Raise ``UserError`` unless ``data`` is a supported, complete, not-too-large image."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                found = probe.format
        except Exception:  # check_decodes below says what is wrong, in words
            found = None
        if found is not None and found not in FORMATS:
            supported = ", ".join(sorted(set(FORMATS.values())))
            raise UserError(f"{what}: {found} images are not supported (use {supported})", 415)
        try:  # one decode, JPEGs at 1/8 scale: the worker decodes it for real
            check_decodes(data)
        except ImageError as exc:
            message = str(exc).removeprefix("image: ")
            raise UserError(f"{what}: {message}") from exc


def form_field(name: str) -> str | None:
    """A form field, or None when the form itself cannot be read (too large): an error page
    can still show the form."""
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        return None


def number_field(form, name: str, default: float, low: float, high: float,
                 kind: type = int, unit: str = "") -> float:
    """A numeric form or query field within [low, high], the default when empty, else a 400."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UserError(f"'{name}' must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise UserError(f"'{name}' must be between {low:g} and {high:g}{unit}, got {value:g}")
    return value


def yes_or_no(value: str | None, field: str, default: bool = False) -> bool:
    """A form's yes/no field (a checkbox sends "on"; ``default`` when absent or empty);
    anything else is a 400."""
    value = (value or "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise UserError(f"{field} must be 1 or 0 (yes or no), not '{value[:20]}'", 400)
