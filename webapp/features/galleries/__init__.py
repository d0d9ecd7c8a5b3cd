"""Your people: galleries a user builds from a few photos per person, used by identify and
screen time (``views``: pages and API, ``store``: changing galleries safely, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.openapi import add_paths
from webapp.features.galleries import openapi, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "galleries", views.form)
    add_paths(app, openapi.paths)
