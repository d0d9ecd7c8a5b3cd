"""The features, each a package that registers its job kind, its blueprints (pages and API)
and its part of the API document with the core (``init_app``). Features never import each
other (checked by import-linter); adding one is adding a package here and to ``FEATURES``."""

from __future__ import annotations

from webapp.features import accounts, family, galleries, identify, lookalikes, screentime

# In this order: their nav entries too.
FEATURES = (lookalikes, family, identify, screentime, galleries, accounts)
