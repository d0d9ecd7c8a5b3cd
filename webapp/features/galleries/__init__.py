"""Your people: galleries a user builds from a few photos per person, used by identify and
screen time (``views``: pages and API, ``store``: changing galleries safely, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.openapi import add_paths
from webapp.core.pages import nav, scratch
from webapp.core.security import upload_limit
from webapp.features.galleries import openapi, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "galleries", views.form)
    for endpoint in ("galleries.create",
                     "galleries.add_person",
                     "galleries_api.create_gallery",
                     "galleries_api.people_add"):
        upload_limit(app, endpoint)
    add_paths(app, openapi.paths)
    nav(app, "Your people", "galleries.galleries_page")
    scratch(app, "enrol")  # photos staged while a gallery is written (``store.staged``)
