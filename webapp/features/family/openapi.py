"""The family feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED


def paths(config: dict) -> dict:
    return {
        "paths": {"/family": {"post": {
            "summary": "Queue 2-6 named photos: who does the first person look like",
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["image"], "properties": {
                    "image": {"type": "array", "minItems": 2, "maxItems": 6,
                              "items": {"type": "string", "format": "binary"}},
                    "name": {"type": "array", "items": {"type": "string", "maxLength": 40},
                             "description": "one per image, in order; the first image "
                             "is the child"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "413": ERROR, "415": ERROR}}}},
        "result": {
            "verdict": {"type": "string", "description": "family jobs"},
            "matrix": {"type": "array", "description": "family jobs: similarity %",
                       "items": {"type": "array", "items": {"type": "number"}}},
            "regions": {"type": "object", "description": "family jobs"},
            "kinship": {"type": "object", "description": "family jobs: matrix (N x N "
                        "probability 0..1 of being parent and child, null on the diagonal), "
                        "scores (each relative with the first person), stranger_rank (share "
                        "of unrelated pairs of the same relation that score lower; the verdict "
                        "names the highest), most_like, about (what it means, measured "
                        "accuracy)"},
        },
    }
