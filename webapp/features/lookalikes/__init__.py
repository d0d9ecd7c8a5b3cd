"""Which celebrity do you look like? Upload a photo; every face gets its lookalikes and an
emotion, the photo a portrait-mode blur (``views``: pages and API, ``tasks``: the worker side,
``openapi``: its part of the API document)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.kinds import JobKind, register
from webapp.core.openapi import add_paths
from webapp.core.pages import nav
from webapp.core.security import upload_limit
from webapp.features.lookalikes import openapi, views

# The web sends TASK by name and never imports .tasks (ml, torch): workers do.
STAGES = ("gallery", "detect", "embed", "lookalikes", "emotion", "portrait", "share card")
TASK = "webapp.tasks.analyze"


def init_app(app: Flask) -> None:
    register(app, JobKind(
        "analyze", TASK, f"{__name__}.tasks", STAGES,
        files=r"photo\.jpg|portrait\.jpg|mask\.png|cutout\.png|share-\d{1,2}\.png"
              r"|portrait-s\d{1,2}\.(jpg|png)",
        stage_text={"gallery": "Waiting for the celebrity gallery", "detect": "Finding faces",
                    "embed": "Reading each face", "lookalikes": "Searching the gallery",
                    "emotion": "Reading expressions", "portrait": "Portrait mode",
                    "share card": "Drawing share cards"},
        title="Your lookalikes", result_urls=views.result_urls))
    nav(app, "Which celebrity?", "lookalikes.index")
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "lookalikes", views.form)
    for endpoint in ("lookalikes.analyze", "lookalikes_api.analyze_api"):
        upload_limit(app, endpoint)
    add_paths(app, openapi.paths)
