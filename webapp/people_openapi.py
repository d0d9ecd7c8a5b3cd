"""The OpenAPI paths of issue 7's routes (``webapp/people.py``), merged into ``openapi.json``.

Kept beside, not inside, ``webapp/openapi.py`` so the two features' documents are edited
separately; the test that the document and the URL map agree covers both.
"""

from __future__ import annotations

from webapp.openapi import ERROR, QUEUED

GALLERY = {"name": "gallery", "in": "path", "required": True,
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}}
PERSON = {"name": "person", "in": "path", "required": True,
          "description": "the person's name or key, e.g. 'Ada Lovelace' or 'ada_lovelace'",
          "schema": {"type": "string"}}
PHOTOS = {"type": "array", "minItems": 1, "maxItems": 20,
          "items": {"type": "string", "format": "binary"},
          "description": "photos of the person (JPEG, PNG, WebP, GIF, BMP or TIFF), one face "
                         "each ideally; with several faces the likeliest is used"}
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


def people_paths(config) -> dict:
    video_limit = (f"Videos up to {config['MAX_VIDEO_MB']} MB and "
                   f"{config['MAX_VIDEO_SECONDS']:.0f} s; longer or larger ones are refused "
                   "(400 / 413), as are files that are not a video OpenCV can decode (415).")
    return {
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
                                   "photos": PHOTOS}}}}},
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
                    "name": {"type": "string", "maxLength": 60}, "photos": PHOTOS}}}}},
            "responses": {"201": {"description": "added", "content": GALLERY_JSON},
                          "400": ERROR, "403": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
        "/galleries/{gallery}/people/{person}": {"delete": {
            "summary": "Remove a person (the last one cannot go: delete the gallery)",
            "parameters": [GALLERY, PERSON],
            "responses": {"204": {"description": "removed"}, "403": ERROR, "404": ERROR,
                          "409": ERROR}}},
        "/identify": {"post": {
            "summary": "Queue a photo: every face named from a gallery, or 'unknown'",
            "description": "The result (GET status_url) has faces [{box, name, known, "
                           "similarity, nearest, photo_url}], threshold, photo_url and "
                           "drawn_url (the photo with named boxes; ?download=1 to save).",
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["image", "gallery"], "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "gallery": {"type": "string"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
        "/screentime": {"post": {
            "summary": "Queue a video: seconds on screen per gallery person",
            "description": "Runs on the video queue, with progress (step - 1 of steps frames "
                           "sampled). The result has video, duration, people [{name, seconds, "
                           "appearances: [[start, end], ...]}], unknown_seconds, sample_fps, "
                           "frames_sampled, timeline_url (PNG chart), sheet_url (contact "
                           "sheet JPEG) and csv_url. " + video_limit,
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["video", "gallery"], "properties": {
                    "video": {"type": "string", "format": "binary",
                              "description": "MP4, AVI, MOV, MKV, WebM... as OpenCV decodes"},
                    "gallery": {"type": "string"},
                    "fps": {"type": "number", "minimum": 0.1, "maximum": 10, "default": 2,
                            "description": "frames sampled per second of video"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
    }
