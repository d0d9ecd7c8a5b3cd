"""The identify feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED, needs_account


def paths(config: dict) -> dict:
    return {"paths": needs_account({
        "/identify": {"post": {
            "summary": "Queue a photo (or up to 12 stills of one film): every face named "
                       "from a gallery, or 'unknown'",
            "description": "The result (GET status_url) has faces [{still, box, name, known, "
                           "similarity, nearest, photo_url}], bodies [{still, box, name, "
                           "known, similarity, nearest, by: 'body'}] (given several stills: "
                           "people whose face is not seen, named by their bodies from the "
                           "people named by face in the other stills, or unknown), stills "
                           "[{width, height, faces, bodies, photo_url, drawn_url}], "
                           "threshold, and the first still's photo_url and drawn_url (the "
                           "photo with named boxes; ?download=1 to save).",
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["image", "gallery"], "properties": {
                    "image": {"type": "array", "maxItems": 12,
                              "items": {"type": "string", "format": "binary"},
                              "description": "one photo, or several stills (repeat the "
                                             "field)"},
                    "gallery": {"type": "string"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
    })}
