"""Reading galleries from the web: which exist, who is in them, which the web may not change.

Shared by every feature that lets a user pick or show a gallery (identify, screen time, the
galleries pages); changing a gallery is the galleries feature's (``webapp.features.galleries``).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app

from ml.errors import BadGalleryName
from ml.galleries.store import DEFAULT_GALLERY, gallery_path, list_galleries
from webapp.core.errors import UserError


def protected() -> set[str]:
    """Galleries the web may read but never change: the default one and the app's own."""
    return {DEFAULT_GALLERY, current_app.config["GALLERY"],
            *current_app.config.get("PROTECTED_GALLERIES", ())}


def existing(name: str) -> Path:
    """The gallery's link, or a 404 ``UserError`` (also for malformed names)."""
    try:
        link = gallery_path(name)
    except BadGalleryName:
        raise UserError(f"no gallery named '{name}'", 404) from None
    if not (link.is_symlink() and link.exists()):
        raise UserError(f"no gallery named '{name}'", 404)
    return link


def describe(name: str) -> dict:
    """A gallery and its people, from its ``meta.json`` (cheap: no index is loaded)."""
    link = existing(name)
    try:
        meta = json.loads((link / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"gallery '{name}' cannot be read", 404) from None
    people = sorted(({"name": i["name"], "key": i["key"], "photos": i["photos"],
                      "actor": i["actor"], "thumbnail": i.get("thumbnail")}
                     for i in meta.get("identities", [])), key=lambda p: p["name"].lower())
    return {"name": name, "people": people, "faces": sum(p["photos"] for p in people),
            "built": meta.get("built"), "protected": name in protected()}


def listing(preview: int = 8) -> list[dict]:
    """Every gallery (own ones first) with its first few people, not all (the built-in one
    has thousands)."""
    out = []
    for name in list_galleries():
        try:
            info = describe(name)
        except UserError:  # deleted between listing and reading
            continue
        people = info.pop("people")
        out.append({**info, "count": len(people), "preview": people[:preview]})
    return sorted(out, key=lambda g: (g["protected"], g["name"].lower()))


def chosen(form) -> str:
    """The gallery a form names; it must exist (404 otherwise)."""
    name = (form.get("gallery") or "").strip()
    if not name:
        raise UserError("choose a gallery")
    existing(name)
    return name


def choices() -> list[str]:
    return list_galleries()


def default_choice(asked: str | None) -> str | None:
    """The gallery asked for, else the first of the user's own, else the app's."""
    if asked:
        return asked
    own = [g["name"] for g in listing(preview=0) if not g["protected"]]
    return own[0] if own else current_app.config["GALLERY"]
