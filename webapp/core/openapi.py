"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Written by hand, next to the routes it describes: the core's routes here, each feature's in its
own package (``add_paths``); limits come from the app's settings. A test checks that every
``/api/v1`` route of the app is in the document and every path and method in it is a route.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

JOB_ID = {"name": "job_id", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
ERROR = {"description": "bad input or no such thing",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
UNAUTHORIZED = {"description": "needs an account: sign in, or send 'Authorization: Bearer KEY'",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
UNAVAILABLE = {"description": "the work queue cannot be reached; nothing was kept",
               "content": {"application/json": {
                   "schema": {"$ref": "#/components/schemas/Error"}}}}
TOO_MANY = {"description": "over a rate limit; Retry-After says when to try again",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
QUEUED = {"description": "queued; poll status_url",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queued"}}}}

# A feature's piece: config -> {"paths": {...}, "schemas": {...}, "result": {...}} where
# "result" holds the properties its jobs add to a job's result.
Piece = Callable[[dict], dict]


def request_body_is_upload(operation: dict) -> bool:
    return "multipart/form-data" in operation.get("requestBody", {}).get("content", {})


def needs_account(paths: dict) -> dict:
    """Mark every operation of ``paths`` as needing an account (it may answer 401)."""
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"]["401"] = UNAUTHORIZED
    return paths


def add_paths(app: Flask, piece: Piece) -> None:
    app.extensions.setdefault("openapi", []).append(piece)


def document() -> dict:
    config = current_app.config
    limit = f"Requests larger than {config['MAX_UPLOAD_MB']} MB are refused with 413."
    paths, schemas, result = core_paths(), {}, {}
    for piece in current_app.extensions.get("openapi", []):
        part = piece(config)
        paths.update(part.get("paths", {}))
        schemas.update(part.get("schemas", {}))
        result.update(part.get("result", {}))
    for operations in paths.values():
        for operation in operations.values():
            if "202" in operation["responses"]:  # it queues work: the broker may be down
                operation["responses"]["503"] = UNAVAILABLE
            if request_body_is_upload(operation):  # uploads are rate-limited
                operation["responses"]["429"] = TOO_MANY
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lookalike API", "version": "1.0.0",
                 "description": "Celebrity lookalikes, emotions, portrait mode and family "
                 f"resemblance, computed by background workers. Jobs and their files are "
                 f"deleted {config['JOB_TTL']} s after upload. {limit} Galleries, identify "
                 "and screen time act for an account: send one of its API keys as "
                 "'Authorization: Bearer KEY' (made on the account page), or use the "
                 "session of a signed-in browser. Over a rate limit: 429 with Retry-After."},
        "servers": [{"url": "/api/v1"}],
        # Optional everywhere ({} = also without): visitors may find lookalikes.
        "security": [{}, {"apiKey": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer",
                       "description": "a personal API key from the account page; a wrong "
                       "or revoked key is 401"}}, "schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}}},
            "Queued": {"type": "object", "required": ["job", "status_url"], "properties": {
                "job": {"type": "string"}, "status_url": {"type": "string"},
                "page_url": {"type": "string"}}},
            **schemas,
            "Job": {"type": "object", "required": ["job", "status"], "properties": {
                "job": {"type": "string"},
                "kind": {"type": "string",
                         "enum": sorted(current_app.extensions.get("job_kinds", {}))},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "stage": {"type": "string"},
                "stages": {"type": "array", "items": {"type": "string"},
                           "description": "the kind's progress stages, in order"},
                "error": {"type": "string"},
                "result": {"type": ["object", "null"], "properties": result}}},
        }},
    }


def core_paths() -> dict:
    return {
        "/jobs/{job_id}": {
            "get": {"summary": "A job's status, progress and result",
                    "parameters": [JOB_ID],
                    "responses": {"200": {"description": "the job", "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Job"}}}},
                        "404": ERROR}},
            "delete": {"summary": "Delete the job's photos and results now",
                       "parameters": [JOB_ID],
                       "responses": {"204": {"description": "deleted"}, "404": ERROR}}},
        "/jobs/{job_id}/files/{name}": {"get": {
            "summary": "A picture of a finished job (URLs come in the job's result)",
            "parameters": [JOB_ID, {"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string"}},
                           {"name": "download", "in": "query",
                            "schema": {"type": "string", "enum": ["1"]}}],
            "responses": {"200": {"description": "the picture", "content": {
                "image/jpeg": {}, "image/png": {}}}, "404": ERROR}}},
        "/galleries/{gallery}/thumbs/{file}": {"get": {
            "summary": "A gallery person's thumbnail (URLs come in lookalikes' photo_url)",
            "parameters": [{"name": "gallery", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "file", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[a-z0-9_]+\\.jpg$"}}],
            "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                          "404": ERROR}}},
        "/galleries/{gallery}/build": {"get": {
            "summary": "Where a gallery's build stands (the default one is prepared in the "
                       "background on first run)",
            "parameters": [{"name": "gallery", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the build", "content": {"application/json": {
                "schema": {"type": "object", "required": ["name", "state"], "properties": {
                    "name": {"type": "string"},
                    "state": {"type": "string",
                              "enum": ["ready", "building", "waiting", "failed"]},
                    "partial": {"type": "boolean",
                                "description": "a first version (actors) already serves"},
                    "stage": {"type": ["string", "null"]},
                    "done": {"type": "integer"}, "total": {"type": ["integer", "null"]},
                    "eta_seconds": {"type": ["integer", "null"]},
                    "identities": {"type": ["integer", "null"]},
                    "error": {"type": ["string", "null"]}}}}}},
                "404": ERROR}}},
        "/openapi.json": {"get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {}}}}}},
    }
