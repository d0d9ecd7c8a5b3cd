"""Changing people's own galleries from the web: create one, add people, remove people,
delete it.

Galleries are the CLI's (``ml.galleries.build`` build/add/remove): the same versioned folders
under ``$LOOKALIKE_HOME/galleries``, usable at once by ``lookalike identify --gallery NAME``.
Uploaded photos are checked like every upload (``webapp.uploads``), written under
``DATA_DIR/enrol/<random>/<Person_Name>/photo-N.ext`` (the layout ``build``/``add`` read; the
user's file names are never part of a path) and removed as soon as the gallery is written.

Enrolling a few photos takes about a second on a CPU, so it runs in the request and the person
is listed at once. ``ml.galleries.build`` (torch, the detector and embedder) is imported by the
first edit, not with the app: a web process that nobody enrols with never loads a model. Every
change goes through ``ml.galleries`` under the gallery's one write lock (``gallery_lock``),
which the CLI and every web process take too: two edits never write versions over each other,
and a check (the name is free, the person is not the last) holds until the change is written.
The default gallery (and the one the lookalike pages use) cannot be changed from here.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from PIL import Image
from werkzeug.datastructures import FileStorage

from ml.errors import GalleryBuilding, NoFaces
from ml.galleries.store import (
    delete_gallery,
    display_name,
    gallery_lock,
    gallery_path,
    owned_name,
    person_key,
)
from webapp.core.accounts import current_owner
from webapp.core.errors import UserError
from webapp.core.galleries import describe, protected, stored_name
from webapp.core.uploads import check_image

# Gallery names made here: no dots (a dot would make "family" and "family.old" share
# ``.family.*`` version globs in ml.galleries.build).
NEW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
PERSON_NAME = re.compile(r"[\w .'-]{1,60}")
# How long a request waits for another writer of the same gallery (a CLI build may take long).
LOCK_WAIT = 60.0
SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif",
            "BMP": ".bmp", "TIFF": ".tif"}


def editable(name: str) -> str:
    """The stored name of the user's gallery ``name`` if the web may change it: never the
    built-in ones (403, even before they are built); another user's is 404."""
    if name in protected():
        raise UserError(f"the '{name}' gallery is built in and cannot be changed from the web; "
                          "create a gallery of your own", 403)
    return stored_name(name)


def taken(name: str) -> bool:
    """Does the user already see a gallery called ``name``?"""
    try:
        stored_name(name)
    except UserError:
        return False
    return True


def new_name(name: str) -> str:
    """The stored name for the user's new gallery ``name`` (only their own names can clash)."""
    name = (name or "").strip()
    if not NEW_NAME.fullmatch(name):
        raise UserError("name the gallery with 1-40 letters, digits, '-' or '_' (starting "
                          "with a letter or digit)")
    if name in protected() or taken(name):
        raise UserError(f"a gallery named '{name}' already exists", 409)
    return owned_name(current_owner(), name)


def person_folder(name: str) -> str:
    """The ``Person_Name`` folder for a person's display name (never a path outside)."""
    name = " ".join((name or "").split())
    if not PERSON_NAME.fullmatch(name) or not person_key(name):
        raise UserError("give the person a name of up to 60 letters, digits, spaces, "
                          "'.', '-' or \"'\" (with at least one latin letter or digit)")
    return name.replace(" ", "_")


def read_photos(files: list[FileStorage]) -> list[tuple[bytes, str, str]]:
    """(bytes, suffix, file name for messages) of each uploaded photo, all checked."""
    files = [f for f in files if f.filename or f.content_length]
    if not files:
        raise UserError("choose at least one photo of the person")
    most = current_app.config["MAX_GALLERY_PHOTOS"]
    if len(files) > most:
        raise UserError(f"upload at most {most} photos at a time (got {len(files)})")
    out = []
    for n, file in enumerate(files, 1):
        label = Path(file.filename or f"photo {n}").name[:80]
        data = file.read()
        if not data:
            raise UserError(f"{label}: the file is empty")
        check_image(data, label)
        with Image.open(io.BytesIO(data)) as probe:
            suffix = SUFFIXES.get(probe.format or "", ".jpg")
        out.append((data, suffix, label))
    return out


@contextmanager
def locked(stored: str, name: str) -> Iterator[None]:
    """Hold gallery ``stored``'s write lock (the one every writer takes) for a check and the
    change it guards; 503 if another writer keeps it past ``LOCK_WAIT``."""
    try:
        with gallery_lock(stored, wait=LOCK_WAIT):
            yield
    except GalleryBuilding:
        raise UserError(f"the gallery '{name}' is being changed by another process: try "
                        "again in a minute", 503) from None


@contextmanager
def staged(folder: str, photos: list[tuple[bytes, str, str]]) -> Iterator[tuple[Path, dict]]:
    """The photos as ``<tmp>/<folder>/photo-N.ext`` (what build/add read); removed after."""
    root = Path(current_app.config["DATA_DIR"]) / "enrol" / secrets.token_hex(8)
    person = root / folder
    person.mkdir(parents=True)
    labels = {}
    try:
        for n, (data, suffix, label) in enumerate(photos, 1):
            path = person / f"photo-{n}{suffix}"
            path.write_bytes(data)
            labels[str(path)] = label
        yield root, labels
    finally:
        shutil.rmtree(root, ignore_errors=True)


def enrolment(person: str, labels: dict[str, str], report: dict) -> dict:
    """What became of the uploaded photos, from the gallery report (which lists sources)."""
    def ours(items: list[str]) -> list[str]:
        found = []
        for item in items:
            for path, label in labels.items():
                if item.startswith(path):
                    found.append(label)
        return found

    no_face = ours(report.get("no_face", []))
    unreadable = ours(report.get("unreadable", []))
    used = len(labels) - len(no_face) - len(unreadable)
    if used <= 0:
        raise UserError(f"no face was found in any photo of {person}: nobody was added")
    return {"person": person, "photos": len(labels), "used": used, "no_face": no_face,
            "unreadable": unreadable, "several_faces": ours(report.get("ambiguous", []))}


def create(name: str, person: str, files: list[FileStorage]) -> dict:
    """A new gallery holding its first person (a gallery cannot be empty)."""
    from ml.galleries.build import build  # (loads the models: module docstring)

    stored = new_name(name)
    folder = person_folder(person)
    photos = read_photos(files)
    with locked(stored, name):
        if gallery_path(stored).is_symlink():
            raise UserError(f"a gallery named '{name}' already exists", 409)
        with staged(folder, photos) as (root, labels):
            try:
                data = build(stored, [root])
            except NoFaces:  # no face in any photo: build writes nothing
                raise UserError(f"no face was found in any photo of {display_name(folder)}: "
                                  "the gallery was not created") from None
            summary = enrolment(display_name(folder), labels, data.report)
    return {**describe(name), "added": summary}


def add_person(name: str, person: str, files: list[FileStorage]) -> dict:
    """Add a person (or more photos of someone already there, matched by name)."""
    from ml.galleries.build import add  # (loads the models: module docstring)

    stored = editable(name)
    folder = person_folder(person)
    photos = read_photos(files)
    with locked(stored, name):
        editable(name)  # deleted while we waited
        with staged(folder, photos) as (root, labels):
            report = add(stored, [root]).report
            summary = enrolment(display_name(folder), labels, report)
    return {**describe(name), "added": summary}


def remove_person(name: str, person: str) -> str:
    """Remove one person (by name or key); the last one cannot go (delete the gallery)."""
    from ml.galleries.build import remove

    stored = editable(name)
    key = person_key(person or "")
    with locked(stored, name):
        people = describe(name)["people"]
        match = [p for p in people if p["key"] == key]
        if not key or not match:
            raise UserError(f"nobody called '{person}' is in gallery '{name}'", 404)
        if len(people) == 1:
            raise UserError(f"{match[0]['name']} is the only person in '{name}': delete the "
                              "gallery instead", 409)
        remove(stored, [key])
    return match[0]["name"]


def delete(name: str) -> None:
    """Remove the gallery: its link first (readers see it gone at once), then its versions."""
    stored = editable(name)
    with locked(stored, name):
        delete_gallery(stored)
