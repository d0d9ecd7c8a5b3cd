"""The screen-time feature's part of the API document."""

from __future__ import annotations

from webapp.core.openapi import ERROR, QUEUED, needs_account


def paths(config: dict) -> dict:
    video_limit = (f"Videos up to {config['MAX_VIDEO_MB']} MB and "
                   f"{config['MAX_VIDEO_SECONDS']:.0f} s; longer or larger ones are refused "
                   "(400 / 413), as are files that are not a video OpenCV can decode (415).")
    return {"paths": needs_account({
        "/screentime": {"post": {
            "summary": "Queue a video: seconds on screen per gallery person",
            "description": "Runs on the video queue, with progress (step - 1 of steps frames "
                           "sampled). The result has video, duration, people [{name, seconds, "
                           "appearances: [[start, end], ...], body_seconds, body_appearances: "
                           "the part of those seen by the body alone, face turned away or "
                           "hidden}], unknown_seconds, sample_fps, frames_sampled, bodies, "
                           "timeline_url (PNG chart), sheet_url (contact "
                           "sheet JPEG) and csv_url. " + video_limit,
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["video", "gallery"], "properties": {
                    "video": {"type": "string", "format": "binary",
                              "description": "MP4, AVI, MOV, MKV, WebM... as OpenCV decodes"},
                    "gallery": {"type": "string"},
                    "fps": {"type": "number", "minimum": 0.1, "maximum": 10, "default": 2,
                            "description": "frames sampled per second of video"},
                    "bodies": {"type": "string", "enum": ["1", "0"], "default": "1",
                               "description": "1: also follow people whose face is not seen, "
                                              "by their bodies (named by the faces seen "
                                              "elsewhere in the video); 0: faces only"}}}}}},
            "responses": {"202": QUEUED, "400": ERROR, "404": ERROR, "413": ERROR,
                          "415": ERROR}}},
    })}
