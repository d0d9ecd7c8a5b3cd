"""The account pages: ``/signup``, ``/login``, ``/logout``, ``/account`` (password, API keys,
invite links, delete the account) and ``GET /api/v1/account``."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from ml.galleries.store import delete_gallery, list_galleries
from webapp.core import accounts, jobs
from webapp.core.accounts import account_required
from webapp.core.errors import UserError
from webapp.core.limits import limit

bp = Blueprint("accounts", __name__)
api_bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")


def form(error: str | None, status: int = 200):
    """The page whose form was posted, with the error."""
    if request.endpoint in ("accounts.signup", "accounts.signup_post"):
        return signup_page(error, status)
    if request.endpoint in ("accounts.login", "accounts.login_post") or \
            not current_user.is_authenticated:
        return login_page(error, status)
    return account_page(error, status)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("galleries.galleries_page")


# -- signing up and in -----------------------------------------------------------------------


def signup_page(error: str | None = None, status: int = 200):
    first = not accounts.has_users()
    mode = "open" if first else accounts.signup_mode()
    return render_template("signup.html", error=error, first=first, mode=mode,
                           invite=request.values.get("invite", ""),
                           next=request.values.get("next", "")), status


@bp.get("/signup")
def signup():
    return signup_page()


@bp.post("/signup")
def signup_post():
    mode = accounts.signup_mode() if accounts.has_users() else "open"
    if mode == "closed":
        raise UserError("sign-up is closed on this server: ask its admin for an account", 403)
    if request.form.get("password") != request.form.get("confirm"):
        raise UserError("the two passwords differ")
    if mode == "invite":
        accounts.take_invite(request.form.get("invite", ""))  # committed with the user
    user = accounts.create_user(request.form.get("username", ""),
                                request.form.get("password", ""))
    login_user(user)
    flash(f"Welcome, {user.username}." + (" Your account is this server's admin."
                                          if user.is_admin else ""))
    return redirect(safe_next(request.form.get("next")), 303)


def login_page(error: str | None = None, status: int = 200):
    return render_template("login.html", error=error, next=request.values.get("next", ""),
                           signup=accounts.signup_mode() != "closed"), status


@bp.get("/login")
def login():
    if not accounts.has_users():  # the first visit: make the admin account
        return redirect(url_for("accounts.signup", next=request.args.get("next", "")))
    return login_page()


@bp.post("/login")
def login_post():
    user = accounts.authenticate(request.form.get("username", ""),
                                 request.form.get("password", ""))
    if user is None:
        return login_page("wrong user name or password", 401)
    login_user(user)
    return redirect(safe_next(request.form.get("next")), 303)


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("lookalikes.index"), 303)


def limit_sign_in(app: Flask) -> None:
    """Failed sign-ins count per account and per address: a guessing run is locked out."""
    def account() -> str:
        return "account:" + (request.form.get("username") or "").strip().lower()

    failed = lambda response: response.status_code == 401  # noqa: E731
    locked = ("Too many failed sign-ins for this account: it is locked for {wait}. "
              "Try again then.")
    limit(app, "accounts.login_post", lambda: current_app.config["LOGIN_LIMIT"], account,
          deduct_when=failed, error_message=locked, scope="login-account")
    limit(app, "accounts.login_post", lambda: current_app.config["LOGIN_IP_LIMIT"],
          get_remote_address, deduct_when=failed, scope="login-ip",
          error_message="Too many failed sign-ins from your address: wait {wait}.")
    limit(app, "accounts.signup_post", lambda: current_app.config["LOGIN_IP_LIMIT"],
          get_remote_address, scope="signup-ip",
          error_message="Too many sign-ups from your address: wait {wait}.")


# -- the account page ------------------------------------------------------------------------


def account_page(error: str | None = None, status: int = 200, new_key: str | None = None,
                 invite: str | None = None):
    return render_template("account.html", error=error, keys=accounts.user_keys(current_user),
                           new_key=new_key, invite=invite, mode=accounts.signup_mode()), status


@bp.get("/account")
@account_required
def account():
    return account_page()


@bp.post("/account/password")
@account_required
def change_password():
    if accounts.authenticate(current_user.username, request.form.get("current", "")) is None:
        raise UserError("the current password is wrong", 403)
    if request.form.get("password") != request.form.get("confirm"):
        raise UserError("the two new passwords differ")
    accounts.set_password(current_user, request.form.get("password", ""))
    login_user(current_user)  # this session stays; every other one is signed out
    flash("Your password was changed; other sessions were signed out.")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/keys")
@account_required
def create_key():
    key = accounts.create_key(current_user, request.form.get("name", ""))
    return account_page(new_key=key)


@bp.post("/account/keys/<int:key_id>/revoke")
@account_required
def revoke_key(key_id: int):
    if not accounts.revoke_key(current_user, key_id):
        raise UserError("no such API key", 404)
    flash("The API key was revoked: requests with it are now refused.")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/invites")
@account_required
def create_invite():
    if not current_user.is_admin:
        raise UserError("only the admin makes invite links", 403)
    token = accounts.create_invite(current_user)
    return account_page(invite=url_for("accounts.signup", invite=token, _external=True))


@bp.post("/account/delete")
@account_required
def delete_account():
    """The account and everything it stored, at once: galleries, jobs, keys."""
    user = current_user._get_current_object()
    if accounts.authenticate(user.username, request.form.get("password", "")) is None:
        raise UserError("the password is wrong: the account was not deleted", 403)
    for stored in list_galleries():
        if stored.startswith(f"{user.username}@"):
            delete_gallery(stored)
    jobs.delete_owned(current_app.config["DATA_DIR"], user.username)
    logout_user()
    accounts.delete_user(user)
    flash("Your account, its galleries and its photos were deleted.")
    return redirect(url_for("lookalikes.index"), 303)


@api_bp.get("/account")
@account_required
def account_api():
    return jsonify(username=current_user.username, admin=current_user.is_admin)
