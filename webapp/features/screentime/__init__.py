"""Screen time: seconds on screen and appearances per gallery person in a video
(``views``, ``tasks``, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.kinds import JobKind, register
from webapp.core.openapi import add_paths
from webapp.core.pages import nav
from webapp.core.security import upload_limit
from webapp.features.screentime import openapi, views

# The web sends TASK by name and never imports .tasks (ml, torch): workers do.
STAGES = ("frames",)
TASK = "webapp.people_tasks.screentime"  # its first name: queued jobs still run


def init_app(app: Flask) -> None:
    register(app, JobKind("screentime", TASK, f"{__name__}.tasks", STAGES, queue="video",
                          files=r"timeline\.png|contact\.jpg|screentime\.csv",
                          stage_text={"frames": "Looking at frames"},  # step - 1 of steps done
                          title="Screen time", needs_account=True,
                          page="screentime.screentime_job", template="screentime.html",
                          result_urls=views.result_urls))
    nav(app, "Screen time", "screentime.screentime")
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "screentime", views.form)
    for endpoint in ("screentime.screentime_post", "screentime_api.screentime_api"):
        upload_limit(app, endpoint, app.config["MAX_VIDEO_MB"])
    add_paths(app, openapi.paths)
