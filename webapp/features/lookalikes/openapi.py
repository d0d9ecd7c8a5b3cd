"""The lookalike feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, JOB_ID, QUEUED


def paths(config: dict) -> dict:
    return {
        "paths": {
            "/analyze": {"post": {
                "summary": "Queue one photo (or up to 5 of one person): lookalikes and emotion "
                           "per face, portrait mode",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "string", "format": "binary",
                                  "description": "JPEG, PNG, WebP, GIF, BMP or TIFF; repeat "
                                                 "the field for up to 5 photos of one person "
                                                 "(one combined answer; photos of different "
                                                 "people: the job fails, naming the photo)"},
                        "k": {"type": "integer", "minimum": 1, "maximum": config["MAX_K"],
                              "default": config["DEFAULT_K"],
                              "description": "lookalikes per face"},
                        "actors_only": {"type": "boolean", "default": False},
                        "blur": {"type": "integer", "minimum": 0,
                                 "maximum": config["MAX_BLUR"],
                                 "default": config["DEFAULT_BLUR"],
                                 "description": "portrait background blur strength"}}}}}},
                "responses": {"202": QUEUED, "400": ERROR, "413": ERROR, "415": ERROR}}},
            "/jobs/{job_id}/portrait": {"get": {
                "summary": "The portrait re-blurred at another strength",
                "parameters": [JOB_ID,
                               {"name": "strength", "in": "query",
                                "schema": {"type": "integer", "minimum": 0,
                                           "maximum": config["MAX_BLUR"]}},
                               {"name": "format", "in": "query",
                                "schema": {"type": "string", "enum": ["jpeg", "png"]}},
                               {"name": "download", "in": "query",
                                "schema": {"type": "string", "enum": ["1"]}}],
                "responses": {"200": {"description": "the picture", "content": {
                    "image/jpeg": {}, "image/png": {}}}, "400": ERROR, "404": ERROR}}},
            "/jobs/{job_id}/cutout": {"get": {
                "summary": "The person on transparency (PNG, alpha = the portrait mask)",
                "parameters": [JOB_ID,
                               {"name": "download", "in": "query",
                                "schema": {"type": "string", "enum": ["1"]}}],
                "responses": {"200": {"description": "the picture", "content": {
                    "image/png": {}}}, "404": ERROR}}},
        },
        "schemas": {
            "Lookalike": {"type": "object", "properties": {
                "name": {"type": "string"},
                "similarity": {"type": "number", "description": "0-100, see calibration"},
                "actor": {"type": "boolean"},
                "photo_url": {"type": ["string", "null"]}}},
            "Firmness": {"type": ["object", "null"], "properties": {
                "chance": {"type": "number", "description": "0-1: how often another photo of "
                           "the same person gives the same top lookalike (measured)"},
                "level": {"type": "string", "enum": ["firm", "fair", "loose"]},
                "text": {"type": "string"},
                "photos_agreeing": {"type": ["integer", "null"]},
                "photos": {"type": ["integer", "null"]}}},
            "Face": {"type": "object", "properties": {
                "box": {"type": "array", "items": {"type": "number"},
                        "description": "x1, y1, x2, y2 in the analysed photo's pixels"},
                "lookalikes": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Lookalike"}},
                "no_close_match": {"type": "boolean"},
                "actor_lookalikes": {"type": "array",
                                     "items": {"$ref": "#/components/schemas/Lookalike"}},
                "firmness": {"$ref": "#/components/schemas/Firmness"},
                "actor_firmness": {"$ref": "#/components/schemas/Firmness"},
                "emotion": {"type": "object", "properties": {
                    "label": {"type": "string"},
                    "probabilities": {"type": "object",
                                      "additionalProperties": {"type": "number"}}}},
                "share_card_url": {"type": ["string", "null"]}}},
        },
        "result": {
            "faces": {"type": "array", "items": {"$ref": "#/components/schemas/Face"}},
            "notes": {"type": "array", "items": {"type": "string"}},
            "photos": {"type": "integer", "description": "photos combined into the answer"},
            "photo_url": {"type": ["string", "null"]},
            "portrait_url": {"type": ["string", "null"]},
            "cutout_url": {"type": ["string", "null"]},
        },
    }
