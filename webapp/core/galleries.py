"""Reading galleries from the web: which a user may see, who is in them, which nobody changes.

A user's gallery ``family`` is stored as ``ID@family`` (``ml.galleries.store.owned_name``), ID
being the account's ``owner_id`` (random, never reused; never the user name, which can be signed
up again after the account is deleted): only that account lists, sees, edits or uses it; to
anyone else it does not exist (404). Galleries
stored without an owner are the server's own (built with the CLI, or before accounts existed):
the admin's. The built-in ones (``protected``) are shared and read-only. URLs and forms carry
the name the user sees; tasks get the stored name (``chosen``).

Shared by every feature that lets a user pick or show a gallery (identify, screen time, the
galleries pages); changing a gallery is the galleries feature's (``webapp.features.galleries``).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app
from flask_login import current_user

from ml.errors import BadGalleryName
from ml.galleries.store import DEFAULT_GALLERY, gallery_path, list_galleries, owned_name
from webapp.core.accounts import current_owner
from webapp.core.errors import UserError


def protected() -> set[str]:
    """Galleries everyone may read and nobody may change from the web: the default one and
    the app's own."""
    return {DEFAULT_GALLERY, current_app.config["GALLERY"],
            *current_app.config.get("PROTECTED_GALLERIES", ())}


def shown_name(stored: str) -> str:
    """The name its owner sees: ``ID@family`` → ``family``."""
    return stored.rpartition("@")[2]


def visible(stored: str) -> bool:
    """May the current user see the stored gallery?"""
    if stored in protected():
        return True
    owner, at, _ = stored.rpartition("@")
    if at:
        return owner == current_owner()
    return bool(current_user.is_authenticated and current_user.is_admin)


def stored_name(name: str) -> str:
    """The stored name of the gallery the current user calls ``name``; a 404 ``UserError``
    when there is none they may see (whether or not someone else has one)."""
    missing = UserError(f"no gallery named '{name}'", 404)
    if "@" in (name or ""):
        raise missing
    candidates = [name] if name in protected() else [owned_name(current_owner(), name), name]
    for stored in candidates:
        try:
            link = gallery_path(stored)
        except BadGalleryName:
            raise missing from None
        if link.is_symlink() and link.exists() and visible(stored):
            return stored
    raise missing


def existing(name: str) -> Path:
    """The link of the gallery the current user calls ``name`` (404 otherwise)."""
    return gallery_path(stored_name(name))


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
            "built": meta.get("built"), "protected": name in protected(),
            "drawn": meta.get("embedder") == "drawn"}


def listing(preview: int = 8) -> list[dict]:
    """Every gallery the current user may see (own ones first) with its first few people, not
    all (the built-in one has thousands)."""
    out = []
    for name in choices():
        try:
            info = describe(name)
        except UserError:  # deleted between listing and reading
            continue
        people = info.pop("people")
        out.append({**info, "count": len(people), "preview": people[:preview]})
    return sorted(out, key=lambda g: (g["protected"], g["name"].lower()))


def chosen(form) -> str:
    """The stored name of the gallery a form names; it must be the user's to use (404)."""
    name = (form.get("gallery") or "").strip()
    if not name:
        raise UserError("choose a gallery")
    return stored_name(name)


def choices() -> list[str]:
    """The names the current user sees, each once (their own first when names collide)."""
    names: list[str] = []
    for stored in sorted(list_galleries(), key=lambda s: "@" not in s):
        if visible(stored) and shown_name(stored) not in names:
            names.append(shown_name(stored))
    return sorted(names)


def default_choice(asked: str | None) -> str | None:
    """The gallery asked for, else the first of the user's own, else the app's."""
    if asked:
        return asked
    own = [g["name"] for g in listing(preview=0) if not g["protected"]]
    return own[0] if own else current_app.config["GALLERY"]
