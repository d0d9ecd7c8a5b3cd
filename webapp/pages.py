"""The HTML pages: upload, results (rendered by static/app.js from the JSON API), family.

Forms carry a per-session CSRF token (``csrf_token()`` in templates); every POST to a page is
refused with 400 without the matching token. Pages never show another job than the one named by
its random id.
"""

from __future__ import annotations

import hmac
import secrets
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from webapp import api, jobs
from webapp.uploads import UploadError

bp = Blueprint("pages", __name__)
SWEEP_EVERY = 60.0  # seconds between sweeps run from web requests (per process)
_last_sweep = 0.0


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def template_globals() -> dict:
    return {"csrf_token": csrf_token, "max_upload_mb": current_app.config["MAX_UPLOAD_MB"]}


@bp.before_app_request
def sweep_expired() -> None:
    """Expired jobs go even when no beat runs: at most once a minute, from any request."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep >= SWEEP_EVERY:
        _last_sweep = now
        jobs.sweep(current_app.config["DATA_DIR"])


@bp.before_request
def check_csrf() -> None:
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site (CSRF check "
                               "failed). Reload the page and try again.")


def form_page(error: str | None = None, status: int = 200):
    """The form the request came from, with an error message when there is one."""
    if request.path.startswith("/family"):
        return render_template("family.html", error=error), status
    return render_template("index.html", error=error), status


@bp.get("/")
def index():
    return render_template("index.html", error=None)


@bp.post("/analyze")
def analyze():
    try:
        job = api.start_analysis(request.form, request.files)
    except (UploadError, api.BadRequest) as exc:
        return form_page(str(exc), getattr(exc, "status", 400))
    return redirect(url_for("pages.job", job_id=job.id), 303)


@bp.get("/family")
def family():
    return render_template("family.html", error=None)


@bp.post("/family")
def family_post():
    try:
        job = api.start_family(request.form, request.files)
    except (UploadError, api.BadRequest) as exc:
        return form_page(str(exc), getattr(exc, "status", 400))
    return redirect(url_for("pages.job", job_id=job.id), 303)


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    found = api.open_job(job_id)
    if found.kind in ("identify", "screentime"):  # their own result pages (webapp/people.py)
        return redirect(url_for(f"people.{found.kind}_job", job_id=found.id))
    return render_template("job.html", job=found,
                           status_url=url_for("api.job", job_id=found.id))


@bp.post("/jobs/<job_id>/delete")
def delete(job_id: str):
    if jobs.delete(current_app.config["DATA_DIR"], job_id):
        current_app.extensions["celery"].AsyncResult(job_id).forget()
        flash("Your photo and its results were deleted.")
    else:
        flash("That job was already gone.")
    return redirect(url_for("pages.index"), 303)
