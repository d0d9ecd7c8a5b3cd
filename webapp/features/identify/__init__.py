"""Who is who: every face in a photo (or in several stills of one film, with the people seen
only from behind named by their bodies) named from a gallery of the user's people, or "unknown"
(``views``, ``tasks``, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.errors import form_page
from webapp.core.kinds import JobKind, register
from webapp.core.openapi import add_paths
from webapp.core.pages import nav
from webapp.core.security import upload_limit
from webapp.features.identify import openapi, views

# The web sends TASK by name and never imports .tasks (ml, torch): workers do.
STAGES = ("identify",)
TASK = "webapp.people_tasks.identify"  # its first name: queued jobs still run


def init_app(app: Flask) -> None:
    register(app, JobKind("identify", TASK, f"{__name__}.tasks", STAGES,
                          files=r"(photo|identified)(-\d{1,2})?\.jpg",
                          stage_text={"identify": "Finding and naming faces"},
                          title="Who is who?", needs_account=True,
                          page="identify.identify_job",
                          template="identify.html", result_urls=views.result_urls))
    nav(app, "Who is who?", "identify.identify")
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "identify", views.form)
    for endpoint in ("identify.identify_post", "identify_api.identify_api"):
        upload_limit(app, endpoint)
    add_paths(app, openapi.paths)
