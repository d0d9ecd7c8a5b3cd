"""Accounts: users in a real database, passwords hashed with Argon2, sessions (Flask-Login) and
personal API keys (``Authorization: Bearer KEY``).

The database is SQLite in the data directory unless ``LOOKALIKE_DATABASE_URL`` names another
(PostgreSQL, say); its schema is Alembic's (``webapp/migrations``), brought up to date when the
app starts, so an upgrade never loses data. The first account is the admin. What a user stores
(galleries, jobs) is theirs alone: ``current_username()`` is what ownership checks compare.
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
from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ml.files import file_lock
from webapp.core.errors import UserError

db = SQLAlchemy()
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
USERNAME_RULE = "3-32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
KEY_PREFIX = "lk_"
INVITE_DAYS = 7
_hasher = PasswordHasher()


def now() -> datetime:
    return datetime.now(UTC)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changing the password bumps it: every other session of the account is logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"


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
    is_admin = False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- passwords and users ---------------------------------------------------------------------


def check_username(name: str) -> str:
    name = (name or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{2,31}", name):
        raise UserError(f"choose a user name of {USERNAME_RULE}")
    return name


def check_password(password: str) -> str:
    if len(password or "") < 8:
        raise UserError("choose a password of at least 8 characters")
    if len(password) > 1024:
        raise UserError("that password is too long (1,024 characters at most)")
    return password


def create_user(username: str, password: str) -> User:
    """A new account; the first one is the admin."""
    username, password = check_username(username), check_password(password)
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


def set_password(user: User, password: str) -> None:
    user.password_hash = _hasher.hash(check_password(password))
    user.session_version += 1
    db.session.commit()


def admin() -> User | None:
    """The first admin: owner of the server's own galleries (those without an owner)."""
    return db.session.scalar(select(User).where(User.is_admin).order_by(User.id))


def delete_user(user: User) -> None:
    """Remove the account (its keys and invites go with it); the oldest remaining account
    becomes admin when the last admin leaves. Galleries and jobs: the caller's."""
    db.session.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
    db.session.execute(delete(Invite).where(Invite.created_by == user.id))
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
    found.last_used = now()
    db.session.commit()
    return db.session.get(User, found.user_id)


def create_invite(user: User) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(Invite(token_hash=digest(token), created_by=user.id,
                          expires=now() + timedelta(days=INVITE_DAYS)))
    db.session.commit()
    return token


def take_invite(token: str) -> Invite:
    """Mark an invite used (in the caller's transaction); a UserError if it is not valid."""
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == digest(token or "")))
    expires = invite.expires if invite else None
    if expires is not None and expires.tzinfo is None:  # SQLite returns naive datetimes
        expires = expires.replace(tzinfo=UTC)
    if invite is None or invite.used or expires < now():
        raise UserError("this invite link is not valid (used, expired or mistyped): ask the "
                        "admin for a new one", 403)
    invite.used = True
    return invite


# -- the current user ------------------------------------------------------------------------


def current_username() -> str | None:
    """The signed-in user's name (by session or API key), None for a visitor."""
    return current_user.username if current_user.is_authenticated else None


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


def init_app(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
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
        return user if user and str(user.session_version) == version else None

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
        open_endpoints = {"accounts.login", "accounts.login_post", "accounts.signup",
                          "accounts.signup_post", "static"}
        if (app.config["REQUIRE_LOGIN"] and request.endpoint not in open_endpoints
                and not current_user.is_authenticated):
            return needs_login()
        return None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
