"""Where MTCNN's five points land against dlib's, before and after the edge fix.

    .venv/bin/python -m bench.landmarks        # the tables in docs/alignment.md

Reference: dlib's 68-point model (HOG box): eye centres = mean of each eye's six points, nose tip
= point 30, mouth corners = 48 and 54. Error = distance / distance between dlib's eye centres.

1. 100 CFP photos (every 45th): facenet-pytorch's ``detect_face`` (before) beside ``ml.detect``.
2. 50 other CFP photos (``*_0002.jpg``, every 10th), ``ml.detect`` on four framings: the whole
   photo, cut above the eyebrows, cut through the left cheek, cropped to the face like a selfie.
"""

from __future__ import annotations

import dlib
import face_recognition_models
import numpy as np

import ml
from bench.alignment_picture import old_face
from ml.paths import data_dir

CFP = data_dir() / "cfp"


class DlibPoints:
    """Our five points as dlib's 68-point model places them, on the largest HOG face."""

    def __init__(self) -> None:
        self.hog = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        found = self.hog(image, 1)
        if not found:
            return None
        box = max(found, key=lambda r: r.area())
        p = np.array([[q.x, q.y] for q in self.shape(image, box).parts()], float)
        return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


def framings(image: np.ndarray, truth: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The photo as it is, cut above the eyebrows, cut through the left cheek, and cropped to the
    face like a close selfie; each with its offset in the original photo."""
    eyes = np.linalg.norm(truth[1] - truth[0])
    top = int(max(0, truth[:2, 1].min() - 0.6 * eyes))
    left = int(max(0, truth[0, 0] - 0.5 * eyes))
    x1, x2 = int(max(0, truth[:, 0].min() - 0.9 * eyes)), int(truth[:, 0].max() + 0.9 * eyes)
    y1, y2 = int(max(0, truth[:, 1].min() - 1.1 * eyes)), int(truth[:, 1].max() + 0.9 * eyes)
    views = {"whole photo": (image, (0, 0)), "cut at the top": (image[top:], (0, top)),
             "cut at the side": (image[:, left:], (left, 0)),
             "face fills the frame": (image[y1:y2, x1:x2], (x1, y1))}
    return {k: (np.ascontiguousarray(v), np.array(o, float)) for k, (v, o) in views.items()}


def error(face: ml.Face | None, truth: np.ndarray, offset: tuple = (0, 0)) -> np.ndarray:
    if face is None:
        return np.full(5, np.nan)
    return np.linalg.norm(face.landmarks + offset - truth, axis=1) / np.linalg.norm(
        truth[1] - truth[0])


def main_face(image: np.ndarray) -> ml.Face | None:
    return ml.main_face(ml.detect(image, min_score=0.7), image.shape[1], image.shape[0])


def row(name: str, errors: list[np.ndarray]) -> str:
    e = np.array(errors)
    return (f"| {name} | {len(e)} | {', '.join(f'{x:.3f}' for x in np.nanmedian(e, 0))} "
            f"| {np.nanmax(e):.3f} |")


def main() -> None:
    truth_of = DlibPoints()
    before, after = [], []
    for path in sorted(CFP.glob("*/*.jpg"))[::45]:
        image = ml.load_image(path)
        truth = truth_of(image)
        if truth is not None:
            before.append(error(old_face(image), truth))
            after.append(error(main_face(image), truth))
    framed: dict[str, list[np.ndarray]] = {}
    for path in sorted(CFP.glob("*/*_0002.jpg"))[::10]:
        image = ml.load_image(path)
        truth = truth_of(image)
        if truth is None:
            continue
        for name, (view, offset) in framings(image, truth).items():
            framed.setdefault(name, []).append(error(main_face(view), truth, offset))
    header = ["| | photos | median error (eyes, nose, mouth corners) | worst point |",
              "|---|---|---|---|"]
    print("\n".join([*header, row("facenet-pytorch detect_face (before)", before),
                     row("ml.detect (after)", after)]))
    print()
    print("\n".join([*header, *(row(k, v) for k, v in framed.items())]))


if __name__ == "__main__":
    main()
