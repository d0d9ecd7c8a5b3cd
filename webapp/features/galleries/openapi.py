"""The galleries feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED, needs_account

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
    "drawn": {"type": "boolean", "description": "a gallery of drawings (docs/drawn.md)"},
    "url": {"type": "string"}, "page_url": {"type": "string"}}}
ADDED = {"type": "object", "description": "what became of the photos (their file names)",
         "properties": {"person": {"type": "string"}, "photos": {"type": "integer"},
                        "used": {"type": "integer"},
                        **{key: {"type": "array", "items": {"type": "string"}}
                           for key in ("no_face", "unreadable", "several_faces")}}}
GALLERY_JSON = {"application/json": {"schema": GALLERY_SCHEMA}}
DRAWN_VALUES = ["", "0", "1", "false", "true", "no", "yes", "off", "on"]
DRAWN_TEXT = ("1: the photos are drawings (anime, cartoons, comics, sketches): drawn faces are "
              "found, and told apart by their colours; people added later and identify follow "
              "the gallery. Default 0: photos.")
ENROL = ("Names and photos are checked at once (4xx); the faces are found by a worker. The job's "
         "result (GET status_url) has 'after' (the gallery as it is now: name, people, url, "
         "page_url; null once deleted), 'added' (person, photos, used, and the file names of "
         "photos with no face, unreadable, with several faces) and 'message'; no face in any "
         "photo fails the job, naming the photos.")


def paths(config: dict) -> dict:
    photos = {"type": "array", "minItems": 1, "maxItems": config["MAX_GALLERY_PHOTOS"],
              "items": {"type": "string", "format": "binary"},
              "description": "photos of the person (JPEG, PNG, WebP, GIF, BMP or TIFF), one "
              "face each ideally; with several faces the likeliest is used"}
    result = {"after": {"oneOf": [GALLERY_SCHEMA, {"type": "null"}],
                        "description": "enrol jobs: the gallery as it is now"},
              "added": {**ADDED, "description": "enrol jobs: " + ADDED["description"]},
              "message": {"type": "string", "description": "enrol jobs: what was added"}}
    return {"result": result, "paths": needs_account({
        "/galleries": {
            "get": {"summary": "All galleries, each with its first few people",
                    "responses": {"200": {"description": "the galleries", "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "galleries": {"type": "array", "items": GALLERY_SCHEMA}}}}}}}},
            "post": {
                "summary": "Create a gallery with its first person (a job)",
                "description": ENROL,
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["name", "person", "photos"],
                               "properties": {
                                   "name": {"type": "string",
                                            "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"},
                                   "person": {"type": "string", "maxLength": 60},
                                   "photos": photos,
                                   "drawn": {"type": "string", "enum": DRAWN_VALUES,
                                             "description": DRAWN_TEXT}}}}}},
                "responses": {"202": QUEUED, "400": ERROR, "409": ERROR, "413": ERROR,
                              "415": ERROR}}},
        "/galleries/{gallery}": {
            "get": {"summary": "A gallery and everyone in it", "parameters": [GALLERY],
                    "responses": {"200": {"description": "the gallery",
                                          "content": GALLERY_JSON}, "404": ERROR}},
            "delete": {"summary": "Delete a gallery (not the built-in ones)",
                       "parameters": [GALLERY],
                       "responses": {"204": {"description": "deleted"}, "403": ERROR,
                                     "404": ERROR}}},
        "/galleries/{gallery}/people": {"post": {
            "summary": "Add a person, or more photos of someone already in the gallery (a job)",
            "description": ENROL,
            "parameters": [GALLERY],
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["name", "photos"], "properties": {
                    "name": {"type": "string", "maxLength": 60}, "photos": photos}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "403": ERROR, "404": ERROR,
                          "413": ERROR, "415": ERROR}}},
        "/galleries/{gallery}/people/{person}": {"delete": {
            "summary": "Remove a person (the last one cannot go: delete the gallery)",
            "parameters": [GALLERY, PERSON],
            "responses": {"204": {"description": "removed"}, "403": ERROR, "404": ERROR,
                          "409": ERROR}}},
    })}
