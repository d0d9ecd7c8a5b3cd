"""The identify feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED, needs_account


def paths(config: dict) -> dict:
    return {"paths": needs_account({
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
    })}
