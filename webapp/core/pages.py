"""The core's pages: any job's result page (its kind's template, or its own page) and "delete
now"; plus what every template may use (the features' nav entries, in registration order), and
the expiry sweep run from web requests (with the features' scratch folders)."""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from webapp.core import jobs
from webapp.core.api import delete_job_now, open_job
from webapp.core.galleries import choices, default_choice, shown_name
from webapp.core.kinds import kinds

bp = Blueprint("pages", __name__)
SWEEP_EVERY = 60.0  # seconds between sweeps run from web requests (per process)
_last_sweep = 0.0


def duration_words(seconds: int) -> str:
    """3600 → "an hour", 7200 → "2 hours", 1800 → "30 minutes": how long things are kept."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


class NavEntry(NamedTuple):
    label: str
    endpoint: str


def nav(app: Flask, label: str, endpoint: str) -> None:
    """A feature's link in every page's header (``base.html``), after those registered before."""
    app.extensions.setdefault("nav", []).append(NavEntry(label, endpoint))


def scratch(app: Flask, folder: str) -> None:
    """A feature's staging folder under ``DATA_DIR``: what a killed process left there is
    deleted by the sweep after an hour."""
    app.extensions.setdefault("scratch", []).append(folder)


@bp.app_context_processor
def template_globals() -> dict:
    config = current_app.config
    return {"max_upload_mb": config["MAX_UPLOAD_MB"], "keep_for": duration_words(config["JOB_TTL"]),
            "nav_entries": current_app.extensions.get("nav", []), "job_kinds": kinds()}


@bp.app_template_filter("shown_name")
def shown_name_filter(stored: str) -> str:
    """A gallery's name as its owner sees it (``alice@family`` → ``family``)."""
    return shown_name(stored)


@bp.before_app_request
def sweep_expired() -> None:
    """Expired jobs go even when no beat runs: at most once a minute, from any request."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep >= SWEEP_EVERY:
        _last_sweep = now
        jobs.sweep(current_app.config["DATA_DIR"],
                   scratch=tuple(current_app.extensions.get("scratch", ())))


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    found = open_job(job_id)
    kind = kinds().get(found.kind)
    if kind is not None and kind.page is not None:
        return redirect(url_for(kind.page, job_id=found.id))
    return render_template(kind.template if kind else "job.html", job=found, kind=kind,
                           status_url=url_for("api.job", job_id=found.id))


def gallery_form(template: str, error: str | None = None, asked: str | None = None,
                 status: int = 200):
    """A page whose form picks a gallery (identify, screen time): every gallery offered, the
    one asked for (else the user's first, else the app's) chosen."""
    return render_template(template, error=error, job=None, galleries=choices(),
                           chosen=default_choice(asked)), status


def kind_page(job_id: str, kind: str):
    """A kind's own result page; another kind's job goes to its page."""
    found = open_job(job_id)
    if found.kind != kind:
        return redirect(url_for("pages.job", job_id=found.id))
    return render_template(kinds()[kind].template, error=None, job=found, kind=kinds()[kind],
                           status_url=url_for("api.job", job_id=found.id))


@bp.post("/jobs/<job_id>/delete")
def delete(job_id: str):
    if delete_job_now(job_id):
        flash("Your photo and its results were deleted.")
    else:
        flash("That job was already gone.")
    return redirect(request.url_root, 303)  # the home page, whichever feature serves it
