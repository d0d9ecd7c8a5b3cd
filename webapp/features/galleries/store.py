"""Changing people's own galleries from the web: create one, add people, remove people,
delete it.

Galleries are the CLI's (``ml.galleries`` build/add/remove): the same versioned folders
under ``$LOOKALIKE_HOME/galleries``, usable at once by ``lookalike identify --gallery NAME``.

Enrolling (a new gallery with its first person, a person added) finds and embeds faces, so it is
a job (kind ``enrol``, ``tasks.py``): the request judges everything that needs no model (the
names, the photos decode, the gallery is the user's and may change, at most
``MAX_GALLERY_PHOTOS``) and answers at once with a clear 4xx; the photos become the job's
inputs (never under the user's file names) and the worker writes the gallery. The web process
never loads a model for it; removing a person needs none (``ml.galleries.write``), so that is
done in the request. Every change goes through ``ml.galleries`` under the gallery's one write
lock (``gallery_lock``), which the CLI, every web process and the workers take: two edits
never write versions over each other, and a check (the name is free, the person is not the last)
holds until the change is written. The default gallery (and the one the lookalike pages use)
cannot be changed from here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from PIL import Image
from werkzeug.datastructures import FileStorage

from ml.errors import GalleryBuilding
from ml.galleries.store import delete_gallery, gallery_lock, gallery_path, owned_name, person_key
from webapp.core.accounts import current_owner
from webapp.core.errors import UserError
from webapp.core.galleries import describe, protected, stored_name
from webapp.core.jobs import Job
from webapp.core.kinds import enqueue
from webapp.core.uploads import check_image, yes_or_no

# Gallery names made here: no dots (a dot would make "family" and "family.old" share
# ``.family.*`` version globs in ml.galleries.write).
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


def create(name: str, person: str, files: list[FileStorage], drawn: str = "") -> Job:
    """Queue a new gallery holding its first person (a gallery cannot be empty); everything
    that needs no model is judged here (a clear 4xx), the faces in the worker. ``drawn`` (the
    form's yes/no): a gallery of drawings, built with the ``drawn`` embedder."""
    stored = new_name(name)
    folder = person_folder(person)
    is_drawn = yes_or_no(drawn, "drawn")
    photos = read_photos(files)
    if gallery_path(stored).is_symlink():
        raise UserError(f"a gallery named '{name}' already exists", 409)
    return queue(stored, folder, photos, create=True, drawn=is_drawn)


def add_person(name: str, person: str, files: list[FileStorage]) -> Job:
    """Queue adding a person (or more photos of someone already there, matched by name)."""
    stored = editable(name)
    folder = person_folder(person)
    return queue(stored, folder, read_photos(files), create=False)


def queue(stored: str, folder: str, photos: list[tuple[bytes, str, str]], create: bool,
          drawn: bool = False) -> Job:
    """The enrolment job (``tasks.enrol``): the photos as its inputs, what it needs to name
    them again (suffix, the user's file name for messages) as its options."""
    return enqueue("enrol", [data for data, _, _ in photos], {
        "gallery": stored, "person": folder, "create": create, "drawn": drawn,
        "suffixes": [suffix for _, suffix, _ in photos],
        "labels": [label for _, _, label in photos]})


def remove_person(name: str, person: str) -> str:
    """Remove one person (by name or key); the last one cannot go (delete the gallery)."""
    from ml.galleries.write import remove

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
