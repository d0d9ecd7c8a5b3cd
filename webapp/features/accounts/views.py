"""The account pages: ``/signup``, ``/login``, ``/logout``, ``/account`` (password, API keys,
invite links, delete the account) and ``GET /api/v1/account``."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

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
from flask_login import current_user, login_user
from itsdangerous import BadSignature, URLSafeSerializer

from ml.galleries.store import delete_gallery, list_galleries
from webapp.core import accounts, jobs
from webapp.core.accounts import account_required
from webapp.core.errors import UserError
from webapp.core.limits import count, forget, limit

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
    """Where to go after signing in: a path on this site, never another site. Browsers read
    ``\\`` as ``/`` and drop tabs and line breaks (so ``/\\t/evil.example`` is ``//evil.example``,
    another host): any of them, any control character, a scheme or a host, and it is refused."""
    target = target or ""
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(c) < 32 or ord(c) == 127 for c in target)
            and not parts.scheme and not parts.netloc):
        return target
    return url_for("galleries.galleries_page")


# -- known browsers --------------------------------------------------------------------------
# A browser that signed in to an account before carries a signed cookie naming the account and
# itself; its failed sign-ins are counted on their own. So nobody else (not even someone behind
# the same address) can lock the owner out of a browser they have used before.

KNOWN = "lookalike_known"
KNOWN_DAYS = 365


def known_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="known-browser")


def known_browser(owner_id: str | None) -> str | None:
    """This browser's id if it signed in to the account ``owner_id`` before, else None."""
    try:
        owner, browser = known_serializer().loads(request.cookies.get(KNOWN, ""))
    except (BadSignature, ValueError, TypeError):
        return None
    return browser if owner_id is not None and owner == owner_id else None


def remember_browser(response, owner_id: str):
    value = known_serializer().dumps([owner_id, secrets.token_urlsafe(12)])
    response.set_cookie(KNOWN, value, max_age=KNOWN_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=bool(current_app.config.get("HTTPS")))
    return response


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
    accounts.sign_in(user)
    flash(f"Welcome, {user.username}." + (" Your account is this server's admin."
                                          if user.is_admin else ""))
    return remember_browser(redirect(safe_next(request.form.get("next")), 303), user.owner_id)


def login_page(error: str | None = None, status: int = 200):
    return render_template("login.html", error=error, next=request.values.get("next", ""),
                           signup=accounts.signup_mode() != "closed"), status


@bp.get("/login")
def login():
    if not accounts.has_users():  # the first visit: make the admin account
        return redirect(url_for("accounts.signup", next=request.args.get("next", "")))
    return login_page()


LOCKED = ("Too many failed sign-ins for this account from here: it is locked for {wait} "
          "(for this address or browser only). Try again then.")


@bp.post("/login")
def login_post():
    """Each attempt is counted before the password is checked (so a parallel burst gets no
    more tries than a slow one): per account and browser for a browser that signed in to the
    account before, else per account and address plus per address. A right password starts
    the account's count again."""
    name = (request.form.get("username") or "").strip().lower()
    known = known_browser(accounts.owner_of(name))
    config = current_app.config
    if known:
        who = ("login-browser", name, known)
    else:
        who = ("login-account", name, get_remote_address())
        count(config["LOGIN_IP_LIMIT"], "login-ip", get_remote_address(),
              message="Too many sign-in attempts from your address: wait {wait}.")
    count(config["LOGIN_LIMIT"], *who, message=LOCKED)
    user = accounts.authenticate(name, request.form.get("password", ""))
    if user is None:
        return login_page("wrong user name or password", 401)
    forget(config["LOGIN_LIMIT"], *who)
    accounts.sign_in(user)
    return remember_browser(redirect(safe_next(request.form.get("next")), 303), user.owner_id)


@bp.post("/logout")
def logout():
    accounts.sign_out()
    flash("You are signed out.")
    return redirect(url_for("lookalikes.index"), 303)


def limit_sign_in(app: Flask) -> None:
    """Sign-ups per address (sign-ins are counted in ``login_post``)."""
    limit(app, "accounts.signup_post", lambda: current_app.config["LOGIN_IP_LIMIT"],
          get_remote_address, scope="signup-ip",
          error_message="Too many sign-ups from your address: wait {wait}.")


def check_current_password(field: str, refused: str) -> None:
    """The signed-in user's password, checked before a change only they may make; the tries
    are counted per account (``PASSWORD_LIMIT``) so a stolen session cannot guess it."""
    limit_value = current_app.config["PASSWORD_LIMIT"]
    count(limit_value, "password-check", current_user.owner_id,
          message="Too many wrong passwords: wait {wait} and try again.")
    if accounts.authenticate(current_user.username, request.form.get(field, "")) is None:
        raise UserError(refused, 403)
    forget(limit_value, "password-check", current_user.owner_id)


# -- the account page ------------------------------------------------------------------------


def account_page(error: str | None = None, status: int = 200, new_key: str | None = None,
                 invite: str | None = None):
    invites = accounts.open_invites() if current_user.is_admin else []
    return render_template("account.html", error=error, keys=accounts.user_keys(current_user),
                           new_key=new_key, invite=invite, invites=invites,
                           mode=accounts.signup_mode()), status


@bp.get("/account")
@account_required
def account():
    return account_page()


@bp.post("/account/password")
@account_required
def change_password():
    check_current_password("current", "the current password is wrong")
    if request.form.get("password") != request.form.get("confirm"):
        raise UserError("the two new passwords differ")
    revoked = accounts.set_password(current_user, request.form.get("password", ""))
    login_user(current_user)  # this session stays; every other one is signed out
    keys = f" and its {revoked} API key{'s' if revoked != 1 else ''} revoked" if revoked else ""
    flash(f"Your password was changed; other sessions were signed out{keys}.")
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
    return account_page(invite=accounts.invite_url(token))


@bp.post("/account/invites/<int:invite_id>/revoke")
@account_required
def revoke_invite(invite_id: int):
    if not current_user.is_admin:
        raise UserError("only the admin revokes invite links", 403)
    if not accounts.revoke_invite(invite_id):
        raise UserError("no such open invite (used, revoked or expired)", 404)
    flash("The invite link was revoked: nobody can sign up with it.")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/delete")
@account_required
def delete_account():
    """The account and everything it stored, at once: galleries, jobs, keys."""
    user = current_user._get_current_object()
    check_current_password("password", "the password is wrong: the account was not deleted")
    for stored in list_galleries():
        if stored.startswith(f"{user.owner_id}@"):
            delete_gallery(stored)
    jobs.delete_owned(current_app.config["DATA_DIR"], user.owner_id)
    accounts.sign_out()
    accounts.delete_user(user)
    flash("Your account, its galleries and its photos were deleted.")
    return redirect(url_for("lookalikes.index"), 303)


@api_bp.get("/account")
@account_required
def account_api():
    return jsonify(username=current_user.username, admin=current_user.is_admin,
                   owner_id=current_user.owner_id)
