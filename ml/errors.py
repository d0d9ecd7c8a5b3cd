"""Every error the library raises for a user to read: one base, a subclass per kind of problem.

Callers (the CLI, the web app) catch ``LookalikeError`` and show its message, or pick what to do
by the subclass (the web app maps each to an HTTP status); nobody parses message texts. Each
subclass also derives from the built-in exception it used to be, so ``except ValueError`` keeps
working.
"""

from __future__ import annotations


class LookalikeError(Exception):
    """Something the user can fix or should know; the message says what, in words."""


class ImageError(LookalikeError, ValueError):
    """The input is not a usable image."""


class VideoError(LookalikeError, ValueError):
    """The file cannot be used as a video."""


class UnsupportedVideo(VideoError):
    """Not a video at all, or in a codec this build cannot decode."""


class WeightsMissing(LookalikeError, RuntimeError):
    """A model's weights are not on disk; the message says which command fetches them."""


class UnknownEmbedder(LookalikeError, ValueError):
    """No embedder by that name; the message lists the valid names."""


class EmbedderMismatch(LookalikeError, ValueError):
    """Embeddings from different embedders were compared or mixed."""


class GalleryNotFound(LookalikeError, LookupError):
    """No gallery by that name."""


class BadGalleryName(LookalikeError, ValueError):
    """A gallery name that cannot be a folder name."""


class Busy(LookalikeError, RuntimeError):
    """Another process holds a lock this work needs (``ml.files.file_lock``), and waiting for it
    was not asked for or ran out."""


class GalleryBuilding(Busy):
    """Another process is building or changing this gallery right now."""


class PersonNotFound(LookalikeError, LookupError):
    """A person asked for is not in the gallery."""


class NoFaces(LookalikeError, ValueError):
    """Work that needs a face found none (an empty gallery, a family with a faceless photo)."""


class DifferentPeople(LookalikeError, ValueError):
    """Photos given as one person's show someone else; ``photo`` is the odd one (1-based, or
    None when two photos simply disagree)."""

    def __init__(self, message: str, photo: int | None = None) -> None:
        super().__init__(message)
        self.photo = photo
