"""Before/after picture of the edge fix: tight CFP headshots, their points and their chips.

    .venv/bin/python -m bench.alignment_picture      # writes docs/alignment_chips.png

Per row: the photo with facenet-pytorch's ``detect_face`` points (red, before) and ours (green,
after); the chip cut from the old points with the old template; the chip cut now; dlib's own chip
(``face_recognition``'s, the geometry the embedder was trained on).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import dlib
import face_recognition_models as dlib_models
import numpy as np
import torch

import ml
from ml.faces.alignment import align
from ml.faces.detection import Face, _mtcnn
from ml.paths import data_dir

ROOT = Path(__file__).resolve().parent.parent

# The template shipped before the fix (fitted with the clipping detector).
OLD_TEMPLATE = np.array([[44.868, 44.167], [98.631, 44.078], [72.271, 77.747],
                         [48.700, 105.055], [95.876, 105.309]], np.float32)
PHOTOS = ["Aaron_Hernandez/Aaron_Hernandez_0001.jpg", "Aaron_Rodgers/Aaron_Rodgers_0004.jpg",
          "Abhishek_Bachchan/Abhishek_Bachchan_0001.jpg",
          "Abhishek_Bachchan/Abhishek_Bachchan_0007.jpg"]
SIZE = 150


def old_face(image: np.ndarray) -> Face | None:
    """The most confident face as facenet-pytorch's own ``detect_face`` finds it (the old way)."""
    from facenet_pytorch.models.utils.detect_face import detect_face

    mtcnn = _mtcnn("cpu")
    with torch.inference_mode():
        boxes, points = detect_face(image[None], mtcnn.min_face_size, mtcnn.pnet, mtcnn.rnet,
                                    mtcnn.onet, mtcnn.thresholds, mtcnn.factor, "cpu")
    if len(boxes[0]) == 0:
        return None
    best = int(np.argmax(np.asarray(boxes[0], np.float32)[:, 4]))
    box = np.asarray(boxes[0], np.float32)[best]
    return Face(tuple(map(float, box[:4])), float(box[4]), np.asarray(points[0], np.float32)[best])


def main() -> None:
    hog = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(dlib_models.pose_predictor_five_point_model_location())
    rows = []
    for name in PHOTOS:
        image = ml.load_image(data_dir() / "cfp" / name)
        before, after = old_face(image), ml.main_face(ml.detect(image), image.shape[1],
                                                      image.shape[0])
        shown = image.copy()
        for face, colour in ((before, (230, 40, 40)), (after, (40, 200, 40))):
            for x, y in face.landmarks:
                cv2.circle(shown, (round(x), round(y)), max(2, image.shape[0] // 80), colour, -1)
        scale = SIZE / image.shape[0]
        shown = cv2.resize(shown, (round(image.shape[1] * scale), SIZE),
                           interpolation=cv2.INTER_AREA)
        panel = np.full((SIZE, 220, 3), 255, np.uint8)
        panel[:, : min(220, shown.shape[1])] = shown[:, :220]
        box = max(hog(image, 1), key=lambda r: r.area())
        dlib_chip = dlib.get_face_chip(image, shape5(image, box), size=SIZE, padding=0.25)
        rows.append(np.hstack([panel, align(image, before, SIZE, OLD_TEMPLATE),
                               align(image, after, SIZE), dlib_chip]))
    header = np.full((28, rows[0].shape[1], 3), 255, np.uint8)
    for x, label in ((4, "photo: before red, after green"), (224, "chip before"),
                     (374, "chip after"), (524, "dlib's chip")):
        cv2.putText(header, label, (x, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)
    picture = np.vstack([header, *rows])
    out = ROOT / "docs" / "alignment_chips.png"
    cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
