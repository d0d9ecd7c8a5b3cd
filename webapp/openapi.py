"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Written by hand, next to the routes it describes; ``tests/test_webapp.py`` checks that every
``/api/v1`` route of the app is here and every path and method here is a route.
"""

from __future__ import annotations

from flask import current_app

JOB_ID = {"name": "job_id", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
ERROR = {"description": "bad input or no such thing",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
QUEUED = {"description": "queued; poll status_url",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Queued"}}}}


def document() -> dict:
    from webapp.people_openapi import people_paths

    config = current_app.config
    limit = f"Requests larger than {config['MAX_UPLOAD_MB']} MB are refused with 413."
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lookalike API", "version": "1.0.0",
                 "description": "Celebrity lookalikes, emotions, portrait mode and family "
                 f"resemblance, computed by background workers. Jobs and their files are "
                 f"deleted {config['JOB_TTL']} s after upload. {limit}"},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            **people_paths(config),  # issue 7: galleries, identify, screen time
            "/analyze": {"post": {
                "summary": "Queue one photo: lookalikes and emotion per face, portrait mode",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "string", "format": "binary",
                                  "description": "JPEG, PNG, WebP, GIF, BMP or TIFF"},
                        "k": {"type": "integer", "minimum": 1, "maximum": config["MAX_K"],
                              "default": config["DEFAULT_K"],
                              "description": "lookalikes per face"},
                        "actors_only": {"type": "boolean", "default": False},
                        "blur": {"type": "integer", "minimum": 0, "maximum": 40,
                                 "default": config["DEFAULT_BLUR"],
                                 "description": "portrait background blur strength"}}}}}},
                "responses": {"202": QUEUED, "400": ERROR, "413": ERROR, "415": ERROR}}},
            "/family": {"post": {
                "summary": "Queue 2-6 named photos: who does the first person look like",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "array", "minItems": 2, "maxItems": 6,
                                  "items": {"type": "string", "format": "binary"}},
                        "name": {"type": "array", "items": {"type": "string", "maxLength": 40},
                                 "description": "one per image, in order; the first image "
                                 "is the child"}}}}}},
                "responses": {"202": QUEUED, "400": ERROR, "413": ERROR, "415": ERROR}}},
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
            "/jobs/{job_id}/portrait": {"get": {
                "summary": "The portrait re-blurred at another strength",
                "parameters": [JOB_ID,
                               {"name": "strength", "in": "query",
                                "schema": {"type": "integer", "minimum": 0, "maximum": 40}},
                               {"name": "format", "in": "query",
                                "schema": {"type": "string", "enum": ["jpeg", "png"]}},
                               {"name": "download", "in": "query",
                                "schema": {"type": "string", "enum": ["1"]}}],
                "responses": {"200": {"description": "the picture", "content": {
                    "image/jpeg": {}, "image/png": {}}}, "400": ERROR, "404": ERROR}}},
            "/galleries/{gallery}/thumbs/{file}": {"get": {
                "summary": "A gallery person's thumbnail (URLs come in lookalikes' photo_url)",
                "parameters": [{"name": "gallery", "in": "path", "required": True,
                                "schema": {"type": "string"}},
                               {"name": "file", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[a-z0-9_]+\\.jpg$"}}],
                "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {}}},
                              "404": ERROR}}},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {}}}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}}},
            "Queued": {"type": "object", "required": ["job", "status_url"], "properties": {
                "job": {"type": "string"}, "status_url": {"type": "string"},
                "page_url": {"type": "string"}}},
            "Lookalike": {"type": "object", "properties": {
                "name": {"type": "string"},
                "similarity": {"type": "number", "description": "0-100, see calibration"},
                "actor": {"type": "boolean"},
                "photo_url": {"type": ["string", "null"]}}},
            "Face": {"type": "object", "properties": {
                "box": {"type": "array", "items": {"type": "number"},
                        "description": "x1, y1, x2, y2 in the analysed photo's pixels"},
                "lookalikes": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Lookalike"}},
                "no_close_match": {"type": "boolean"},
                "actor_lookalikes": {"type": "array",
                                     "items": {"$ref": "#/components/schemas/Lookalike"}},
                "emotion": {"type": "object", "properties": {
                    "label": {"type": "string"},
                    "probabilities": {"type": "object",
                                      "additionalProperties": {"type": "number"}}}},
                "share_card_url": {"type": ["string", "null"]}}},
            "Job": {"type": "object", "required": ["job", "status"], "properties": {
                "job": {"type": "string"},
                "kind": {"type": "string",
                         "enum": ["analyze", "family", "identify", "screentime"]},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "stage": {"type": "string"},
                "error": {"type": "string"},
                "result": {"type": ["object", "null"], "properties": {
                    "faces": {"type": "array", "items": {"$ref": "#/components/schemas/Face"}},
                    "notes": {"type": "array", "items": {"type": "string"}},
                    "photo_url": {"type": ["string", "null"]},
                    "portrait_url": {"type": ["string", "null"]},
                    "cutout_url": {"type": ["string", "null"]},
                    "verdict": {"type": "string", "description": "family jobs"},
                    "matrix": {"type": "array", "description": "family jobs: similarity %",
                               "items": {"type": "array", "items": {"type": "number"}}},
                    "regions": {"type": "object", "description": "family jobs"}}}}},
        }},
    }
