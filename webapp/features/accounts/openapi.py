"""The accounts feature's part of the API document: who a key acts as."""

from __future__ import annotations

from webapp.core.openapi import needs_account


def paths(config: dict) -> dict:
    return {
        "paths": needs_account({
            "/account": {"get": {
                "summary": "The account the request acts as (by API key or session)",
                "responses": {"200": {"description": "the account", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "username": {"type": "string"}, "admin": {"type": "boolean"},
                        "owner_id": {"type": "string", "description":
                                     "what the account's galleries are stored under "
                                     "(lookalike gallery build --owner ID)"}}}}}}}}},
        }),
        "schemas": {},
        "result": {},
    }
