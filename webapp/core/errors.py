"""Errors as users should see them: JSON under /api/, the form again or an error page elsewhere;
never a bare 500.

``UserError(message, status)`` is the web app's one error for bad requests. Library errors
(``ml.errors``) become HTTP statuses through one table, ``STATUS``, so no code matches message
texts. A feature whose form should be shown again with the message registers it with
``form_page(blueprint, render)``; other pages get ``error.html``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ml.errors import (
    BadGalleryName,
    EmbedderMismatch,
    GalleryBuilding,
    GalleryNotFound,
    ImageError,
    LookalikeError,
    NoFaces,
    PersonNotFound,
    UnknownEmbedder,
    UnsupportedVideo,
    VideoError,
    WeightsMissing,
)

log = logging.getLogger(__name__)


class UserError(Exception):
    """A request the user must change (or a thing that is not there); ``status`` is the HTTP
    status to answer with, the message is for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# Library error → HTTP status, most specific first.
STATUS: list[tuple[type[LookalikeError], int]] = [
    (UnsupportedVideo, 415),
    (VideoError, 400),
    (ImageError, 400),
    (NoFaces, 400),
    (UnknownEmbedder, 400),
    (EmbedderMismatch, 409),
    (GalleryNotFound, 404),
    (BadGalleryName, 404),
    (PersonNotFound, 404),
    (WeightsMissing, 503),
    (GalleryBuilding, 503),
]


def user_error(exc: LookalikeError) -> UserError:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    return UserError(str(exc), status)


FormPage = Callable[[str, int], object]


def form_page(app: Flask, blueprint: str, render: FormPage) -> None:
    """Errors on ``blueprint``'s pages re-render its form with the message (``render``)."""
    app.extensions.setdefault("form_pages", {})[blueprint] = render


def wants_json() -> bool:
    return request.path.startswith("/api/")


def too_large_message() -> str:
    return (f"The upload is too large: the limit is {current_app.config['MAX_UPLOAD_MB']} MB "
            "per request.")


def answer(message: str, status: int):
    if wants_json():
        return jsonify(error=message), status
    render = current_app.extensions.get("form_pages", {}).get(request.blueprint or "")
    if render is not None:
        return render(message, status)
    return render_template("error.html", code=status, title="Error", message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(UserError)
    def bad_request(exc: UserError):
        return answer(str(exc), exc.status)

    @app.errorhandler(LookalikeError)
    def library_error(exc: LookalikeError):
        error = user_error(exc)
        return answer(str(error), error.status)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        return answer(too_large_message(), 413)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return jsonify(error=exc.description or exc.name), exc.code
        return render_template("error.html", code=exc.code, title=exc.name,
                               message=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s", request.path)
        message = "Something went wrong on our side. Please try again."
        if wants_json():
            return jsonify(error=message), 500
        return render_template("error.html", code=500, title="Error", message=message), 500
