"""Family resemblance: a child and 2-5 relatives; who the child looks like, by how much, and
for which parts of the face (``views``, ``tasks``, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.kinds import JobKind, register
from webapp.core.openapi import add_paths
from webapp.core.pages import nav
from webapp.core.security import upload_limit
from webapp.features.family import openapi, views

# The web sends TASK by name and never imports .tasks (ml, torch): workers do.
STAGES = ("detect", "embed", "compare")
TASK = "webapp.tasks.family"


def init_app(app: Flask) -> None:
    register(app, JobKind("family", TASK, f"{__name__}.tasks", STAGES, files=r"person-\d\.jpg",
                          stage_text={"detect": "Finding faces", "embed": "Reading each face",
                                      "compare": "Comparing faces"},
                          title="Family resemblance", result_urls=views.result_urls))
    nav(app, "Family", "family.page")
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "family", views.form)
    for endpoint in ("family.post", "family_api.family_api"):
        upload_limit(app, endpoint)
    add_paths(app, openapi.paths)
