"""Accounts: sign up, sign in and out, change password, API keys, invite links (admin) and
deleting an account with everything it stored (``views``, ``openapi``)."""

from __future__ import annotations

from flask import Flask

from webapp.core.accounts import open_to_visitors
from webapp.core.errors import form_page
from webapp.core.openapi import add_paths
from webapp.features.accounts import openapi, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    form_page(app, "accounts", views.form)
    add_paths(app, openapi.paths)
    views.limit_sign_in(app)
    open_to_visitors(app, "accounts.login", "accounts.login_post", "accounts.signup",
                     "accounts.signup_post")
