"""Your people: galleries a user builds from a few photos per person, used by identify and
screen time (``views``: pages and API, ``store``: changing galleries safely, ``tasks``:
enrolling people, in workers, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.kinds import JobKind, register
from webapp.core.openapi import add_paths
from webapp.core.pages import nav, scratch
from webapp.core.security import upload_limit
from webapp.features.galleries import openapi, views

# The web sends TASK by name and never imports .tasks (ml, torch): workers do.
STAGES = ("faces", "gallery")
TASK = "webapp.galleries.enrol"


def init_app(app: Flask) -> None:
    register(app, JobKind("enrol", TASK, f"{__name__}.tasks", STAGES, files=r"(?!)",
                          stage_text={"faces": "Finding and learning the faces",
                                      "gallery": "Writing the gallery"},
                          title="Adding to your gallery", needs_account=True,
                          page="galleries.enrol_job", template="enrol.html",
                          result_urls=views.result_urls))
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
    scratch(app, "enrol")  # photos staged while a worker writes a gallery (``tasks.staged``)
