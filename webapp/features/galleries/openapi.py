"""The galleries feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, needs_account

GALLERY = {"name": "gallery", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}}
PERSON = {"name": "person", "in": "path", "required": True,
          "description": "the person's name or key, e.g. 'Ada Lovelace' or 'ada_lovelace'",
          "schema": {"type": "string"}}


PERSON_ITEM = {"type": "object", "properties": {
    "name": {"type": "string"}, "key": {"type": "string"},
    "photos": {"type": "integer", "description": "faces enrolled"},
    "photo_url": {"type": ["string", "null"], "description": "thumbnail"}}}
GALLERY_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "protected": {"type": "boolean",
                                              "description": "built in: cannot be changed"},
    "people": {"type": "array", "items": PERSON_ITEM},
    "faces": {"type": "integer"}, "built": {"type": ["string", "null"]},
    "url": {"type": "string"}, "page_url": {"type": "string"},
    "added": {"type": "object", "description": "after an upload: photos used, photos with no "
              "face, photos with several faces"}}}
GALLERY_JSON = {"application/json": {"schema": GALLERY_SCHEMA}}


def paths(config: dict) -> dict:
    photos = {"type": "array", "minItems": 1, "maxItems": config["MAX_GALLERY_PHOTOS"],
              "items": {"type": "string", "format": "binary"},
              "description": "photos of the person (JPEG, PNG, WebP, GIF, BMP or TIFF), one "
              "face each ideally; with several faces the likeliest is used"}
    return {"paths": needs_account({
        "/galleries": {
            "get": {"summary": "All galleries, each with its first few people",
                    "responses": {"200": {"description": "the galleries", "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "galleries": {"type": "array", "items": GALLERY_SCHEMA}}}}}}}},
            "post": {
                "summary": "Create a gallery with its first person",
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["name", "person", "photos"],
                               "properties": {
                                   "name": {"type": "string",
                                            "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"},
                                   "person": {"type": "string", "maxLength": 60},
                                   "photos": photos}}}}},
                "responses": {"201": {"description": "created", "content": GALLERY_JSON},
                              "400": ERROR, "409": ERROR, "413": ERROR, "415": ERROR}}},
        "/galleries/{gallery}": {
            "get": {"summary": "A gallery and everyone in it", "parameters": [GALLERY],
                    "responses": {"200": {"description": "the gallery",
                                          "content": GALLERY_JSON}, "404": ERROR}},
            "delete": {"summary": "Delete a gallery (not the built-in ones)",
                       "parameters": [GALLERY],
                       "responses": {"204": {"description": "deleted"}, "403": ERROR,
                                     "404": ERROR}}},
        "/galleries/{gallery}/people": {"post": {
            "summary": "Add a person, or more photos of someone already in the gallery",
            "parameters": [GALLERY],
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["name", "photos"], "properties": {
                    "name": {"type": "string", "maxLength": 60}, "photos": photos}}}}},
            "responses": {"201": {"description": "added", "content": GALLERY_JSON},
                          "400": ERROR, "403": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
        "/galleries/{gallery}/people/{person}": {"delete": {
            "summary": "Remove a person (the last one cannot go: delete the gallery)",
            "parameters": [GALLERY, PERSON],
            "responses": {"204": {"description": "removed"}, "403": ERROR, "404": ERROR,
                          "409": ERROR}}},
    })}
