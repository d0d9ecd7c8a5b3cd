"""Accounts: users in a real database, passwords hashed with Argon2, sessions (Flask-Login) and
personal API keys (``Authorization: Bearer KEY``).

The database is SQLite in the data directory unless ``LOOKALIKE_DATABASE_URL`` names another
(PostgreSQL, say); its schema is Alembic's (``webapp/migrations``), brought up to date when the
app starts, so an upgrade never loses data. The first account is the admin. What a user stores
(galleries, jobs) is theirs alone, by the account's ``owner_id`` (``current_owner()``): random and
never reused, so a name signed up again later never inherits anything. A session is a row in
``sessions``: signing out deletes it, so a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import (
    AnonymousUserMixin,
    LoginManager,
    UserMixin,
    current_user,
    login_user,
    logout_user,
)
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from ml.files import file_lock
from webapp.core.errors import UserError

db = SQLAlchemy()
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
USERNAME_RULE = "3-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
KEY_PREFIX = "lk_"
INVITE_DAYS = 7
SESSION_DAYS = 31  # a signed-in session ends after this, whatever the cookie says
KEY_USE_EVERY = timedelta(minutes=1)  # an API key's "last used" is written at most this often
MIN_PASSWORD = 8
# The commonest passwords of 8 characters or more (from public breach lists): refused outright.
COMMON_PASSWORDS = frozenset("""
12345678 123456789 1234567890 12345678910 0123456789 87654321 11111111 00000000 88888888
password password1 password12 password123 passw0rd p@ssw0rd p@ssword qwertyui qwertyuiop
qwerty123 qwerty12 1qaz2wsx zaq12wsx 1q2w3e4r 1q2w3e4r5t q1w2e3r4 asdfghjk asdfghjkl
zxcvbnm1 iloveyou iloveyou1 sunshine princess football baseball superman starwars trustno1
welcome1 welcome123 letmein1 abc12345 abcd1234 aa123456 123123123 123qweasd qweasdzxc
michelle jennifer computer whatever internet liverpool corvette mercedes maverick changeme
administrator admin123 lookalike 1234qwer qwer1234 987654321 11223344 12341234 66666666
""".split())
_hasher = PasswordHasher()


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (they are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def new_owner_id() -> str:
    """What a new account's galleries and jobs are stored under (``ID@gallery``): random."""
    return secrets.token_hex(8)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    # Ownership of galleries and jobs: random for accounts made since the owner-id migration,
    # the user name for accounts older than it (their galleries were stored under the name).
    owner_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_owner_id)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changing the password bumps it: every other session of the account is logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"


class LoginSession(db.Model):
    """A signed-in browser: its cookie carries the token, the database its hash."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    shown: Mapped[str] = mapped_column(String(16))  # the key's first characters, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256: keys are random
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Invite(db.Model):
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class Anonymous(AnonymousUserMixin):
    username = None
    owner_id = None
    is_admin = False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- passwords and users ---------------------------------------------------------------------


def check_username(name: str) -> str:
    name = (name or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{2,31}", name):
        raise UserError(f"choose a user name of {USERNAME_RULE}")
    return name


def check_password(password: str, username: str = "") -> str:
    """At least 8 characters, and none of the passwords every guessing run tries first."""
    if len(password or "") < MIN_PASSWORD:
        raise UserError(f"choose a password of at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise UserError("that password is too long (1,024 characters at most)")
    lowered = password.lower()
    without_name = lowered.replace(username.lower(), "") if username else lowered
    if lowered in COMMON_PASSWORDS or len(set(password)) == 1 or \
            len(without_name) < MIN_PASSWORD:
        raise UserError("that password is too easy to guess (a common password, one repeated "
                        "character, or your user name): choose a longer, less common one")
    return password


def create_user(username: str, password: str) -> User:
    """A new account; the first one is the admin."""
    username = check_username(username)
    password = check_password(password, username)
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"the user name '{username}' is taken: choose another", 409)
    first = db.session.scalar(select(func.count(User.id))) == 0
    user = User(username=username, password_hash=_hasher.hash(password), is_admin=first)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right (a missing user costs a hash too: no timing hint)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is not None and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def owner_of(username: str) -> str | None:
    """The owner id of the account called ``username``, if there is one."""
    return db.session.scalar(select(User.owner_id).where(User.username == username))


def set_password(user: User, password: str) -> int:
    """The new password; every other session ends and every API key is revoked (whoever had
    the old password may have made one). How many keys were revoked."""
    user.password_hash = _hasher.hash(check_password(password, user.username))
    user.session_version += 1
    keys = db.session.execute(delete(ApiKey).where(ApiKey.user_id == user.id)).rowcount
    current = digest(session.get("_sid", ""))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.token_hash != current))
    db.session.commit()
    return keys


def admin() -> User | None:
    """The first admin: owner of the server's own galleries (those without an owner)."""
    return db.session.scalar(select(User).where(User.is_admin).order_by(User.id))


def delete_user(user: User) -> None:
    """Remove the account (its keys and invites go with it); the oldest remaining account
    becomes admin when the last admin leaves. Galleries and jobs: the caller's."""
    db.session.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
    db.session.execute(delete(Invite).where(Invite.created_by == user.id))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    db.session.delete(user)
    db.session.flush()
    if admin() is None:
        oldest = db.session.scalar(select(User).order_by(User.id))
        if oldest is not None:
            oldest.is_admin = True
    db.session.commit()


# -- API keys and invites --------------------------------------------------------------------


def create_key(user: User, name: str) -> str:
    """A new API key for ``user``: returned once, stored as a hash."""
    name = " ".join((name or "").split())[:60] or "API key"
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiKey(user_id=user.id, name=name, shown=key[:10], key_hash=digest(key)))
    db.session.commit()
    return key


def user_keys(user: User) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(ApiKey.user_id == user.id)
                                   .order_by(ApiKey.id)))


def revoke_key(user: User, key_id: int) -> bool:
    key = db.session.get(ApiKey, key_id)
    if key is None or key.user_id != user.id:
        return False
    db.session.delete(key)
    db.session.commit()
    return True


def key_user(header: str) -> User | None:
    """The user an ``Authorization: Bearer KEY`` header acts as, or None."""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip().startswith(KEY_PREFIX):
        return None
    found = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key.strip())))
    if found is None:
        return None
    moment = now()
    if found.last_used is None or moment - aware(found.last_used) >= KEY_USE_EVERY:
        found.last_used = moment  # not a database write on every status poll
        db.session.commit()
    return db.session.get(User, found.user_id)


def create_invite(user: User) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(Invite(token_hash=digest(token), created_by=user.id,
                          expires=now() + timedelta(days=INVITE_DAYS)))
    db.session.commit()
    return token


def take_invite(token: str) -> None:
    """Mark an invite used (in the caller's transaction); a UserError if it is not valid.

    One conditional UPDATE: of two sign-ups with the same link at the same moment, the
    database lets exactly one change the row (the other waits for it, then finds it used)."""
    taken = db.session.execute(update(Invite).where(
        Invite.token_hash == digest(token or ""), Invite.used.is_(False)).values(used=True))
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == digest(token or "")))
    if taken.rowcount != 1 or invite is None or aware(invite.expires) < now():
        db.session.rollback()
        raise UserError("this invite link is not valid (used, expired, revoked or mistyped): "
                        "ask the admin for a new one", 403)


def open_invites() -> list[Invite]:
    """Invites not used yet and not expired, newest first (the admin may revoke them)."""
    found = db.session.scalars(select(Invite).where(Invite.used.is_(False))
                               .order_by(Invite.id.desc()))
    return [i for i in found if aware(i.expires) >= now()]


def revoke_invite(invite_id: int) -> bool:
    """Delete an unused invite: its link no longer signs anyone up."""
    gone = db.session.execute(delete(Invite).where(Invite.id == invite_id,
                                                   Invite.used.is_(False)))
    db.session.commit()
    return gone.rowcount == 1


def invite_url(token: str) -> str:
    """The link to send: under ``BASE_URL`` when configured, else a path on this server (never
    built from the request's Host header, which the sender of the request chooses)."""
    path = url_for("accounts.signup", invite=token)
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + path


# -- sessions --------------------------------------------------------------------------------


def sign_in(user: User) -> None:
    """A fresh session for ``user``: whatever the browser's session held before is dropped
    (no fixation; a new CSRF token follows), and the server records it so signing out ends
    it for every copy of the cookie."""
    session.clear()
    token = secrets.token_urlsafe(32)
    old = now() - timedelta(days=SESSION_DAYS)
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.created < old))
    db.session.add(LoginSession(user_id=user.id, token_hash=digest(token)))
    db.session.commit()
    session["_sid"] = token
    login_user(user)


def sign_out() -> None:
    """End this session on the server too, then forget it in the browser."""
    token = session.get("_sid")
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == digest(token)))
        db.session.commit()
    logout_user()
    session.clear()


def session_valid(user: User) -> bool:
    """Is the browser's session one the server still has for ``user`` (and not too old)?"""
    token = session.get("_sid")
    if not token:
        return False
    found = db.session.scalar(select(LoginSession).where(
        LoginSession.token_hash == digest(token), LoginSession.user_id == user.id))
    return found is not None and aware(found.created) >= now() - timedelta(days=SESSION_DAYS)


# -- the current user ------------------------------------------------------------------------


def current_username() -> str | None:
    """The signed-in user's name (by session or API key), None for a visitor."""
    return current_user.username if current_user.is_authenticated else None


def current_owner() -> str | None:
    """What the signed-in user's galleries and jobs are stored under (their ``owner_id``, never
    the name: a name can be signed up again); None for a visitor. Ownership checks compare it."""
    return current_user.owner_id if current_user.is_authenticated else None


def open_to_visitors(app: Flask, *endpoints: str) -> None:
    """Endpoints a visitor reaches even with ``LOOKALIKE_REQUIRE_LOGIN=1`` (signing in, up)."""
    app.extensions.setdefault("open_to_visitors", set()).update(endpoints)


def account_required(view):
    """Pages: a visitor is sent to sign in (then back); API: 401."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        return require_account() or view(*args, **kwargs)

    return wrapped


def require_account():
    """For ``Blueprint.before_request``: every route of a feature that stores a user's data."""
    return None if current_user.is_authenticated else needs_login()


def needs_login():
    if request.path.startswith("/api/"):
        abort(401, description="sign in, or send an API key as 'Authorization: Bearer KEY'")
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def signup_mode() -> str:
    """``open``, ``closed`` or ``invite``; the first account can always be made."""
    return current_app.config["SIGNUP"]


def has_users() -> bool:
    return db.session.scalar(select(func.count(User.id))) > 0


# -- wiring ----------------------------------------------------------------------------------


def upgrade_schema(app: Flask) -> None:
    """Bring the database to the newest schema (once at a time across processes)."""
    lock = Path(app.config["DATA_DIR"]) / ".migrate.lock"
    with file_lock(lock), app.app_context():
        upgrade(directory=str(MIGRATIONS))


def engine_options(url: str) -> dict:
    """SQLite: writers from every web process queue for the file's lock (up to 30 s under load)
    rather than fail at once."""
    sqlite = url.startswith("sqlite")
    return {"pool_pre_ping": True, **({"connect_args": {"timeout": 30}} if sqlite else {})}


def init_app(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["DATABASE_URL"]))
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS))
    upgrade_schema(app)

    manager = LoginManager(app)
    manager.anonymous_user = Anonymous
    manager.login_view = "accounts.login"
    manager.login_message = "Sign in to see your people."

    @manager.user_loader
    def load(user_id: str) -> User | None:
        number, _, version = user_id.partition(".")
        if not number.isdigit():
            return None
        user = db.session.get(User, int(number))
        if user is None or str(user.session_version) != version or not session_valid(user):
            return None
        return user

    @manager.request_loader
    def from_key(req) -> User | None:
        return g.get("key_user")

    @app.before_request
    def bearer() -> None:
        """An API key, when sent, must be valid: a wrong one is 401, never a visitor."""
        header = request.headers.get("Authorization")
        if header is None:
            return
        user = key_user(header)
        if user is None:
            abort(401, description="the API key is not valid (revoked, or mistyped)")
        g.key_user = user

    @app.before_request
    def login_gate():
        """``LOOKALIKE_REQUIRE_LOGIN=1``: nothing but signing in for visitors."""
        open_endpoints = {"static", *app.extensions.get("open_to_visitors", ())}
        if (app.config["REQUIRE_LOGIN"] and request.endpoint not in open_endpoints
                and not current_user.is_authenticated):
            return needs_login()
        return None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
