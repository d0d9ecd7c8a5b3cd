"""Errors as users should see them: JSON under /api/, a page elsewhere; never a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def too_large_message() -> str:
    return (f"The upload is too large: the limit is {current_app.config['MAX_UPLOAD_MB']} MB "
            "per request.")


def register(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        if wants_json():
            return jsonify(error=too_large_message()), 413
        from webapp.pages import form_page

        return form_page(error=too_large_message(), status=413)

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
