"""MTCNN finds the faces that are there, where they are, and none where there are none."""

from __future__ import annotations

import numpy as np

import ml
from tests.support import lfw


def centre(face: ml.Face) -> tuple[float, float]:
    return (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2


def test_lfw_face_is_found_in_the_centre_with_sane_landmarks():
    image = ml.load_image(lfw("Tony_Blair", 1))  # LFW crops are centred on the face
    face = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    assert face is not None and face.score > 0.95
    cx, cy = centre(face)
    assert abs(cx - 96) < 20 and abs(cy - 96) < 30
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < nose[0] < right_eye[0]  # eyes either side of the nose
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    x1, y1, x2, y2 = face.box
    assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in face.landmarks)


def test_two_people_side_by_side_are_two_faces_in_the_right_places():
    a, b = ml.load_image(lfw("Tony_Blair", 1)), ml.load_image(lfw("Serena_Williams", 1))
    canvas = np.full((300, 500, 3), 128, np.uint8)
    canvas[50:242, 10:202], canvas[80:272, 290:482] = a, b
    faces = sorted(ml.detect(canvas), key=lambda f: f.box[0])
    assert len(faces) == 2
    (ax, ay), (bx, by) = centre(faces[0]), centre(faces[1])
    assert abs(ax - 106) < 25 and abs(ay - 146) < 30
    assert abs(bx - 386) < 25 and abs(by - 176) < 30


def test_no_face_in_a_blank_or_noise_image():
    assert ml.detect(np.full((200, 300, 3), 200, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert ml.detect(noise) == []


def test_batch_equals_one_by_one_and_keeps_order_across_sizes():
    photos = [lfw("Tony_Blair", 2), lfw("Serena_Williams", 2), lfw("Colin_Powell", 1)]
    images = [ml.load_image(p) for p in photos]
    images[1] = images[1][:150, :170]  # a different size goes into its own batch
    batched = ml.detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        single = ml.detect(image)
        assert len(faces) == len(single) >= 1
        assert np.allclose(faces[0].box, single[0].box, atol=1.0)


def test_huge_photo_is_detected_in_original_coordinates():
    image = ml.load_image(lfw("Tony_Blair", 1))
    big = np.kron(image, np.ones((20, 20, 1), np.uint8))  # 3840 x 3840
    face = ml.main_face(ml.detect(big), big.shape[1], big.shape[0])
    small = ml.main_face(ml.detect(image), image.shape[1], image.shape[0])
    assert np.allclose(np.array(face.box) / 20, small.box, atol=6)


def test_a_selfie_searched_at_640_px_gives_its_face_in_full_size_pixels():
    """Selfies and family photos are searched on a smaller copy (faster); the boxes, points
    and the embedding they give stay those of the full-size photo."""
    from PIL import Image

    from ml.faces.detection import SELFIE_SIDE

    photo = Image.open(lfw("Tony_Blair", 1)).convert("RGB").resize((1024, 1024))
    selfie = np.asarray(photo)
    full = ml.main_face(ml.detect(selfie), 1024, 1024)
    quick = ml.main_face(ml.detect(selfie, max_side=SELFIE_SIDE), 1024, 1024)
    assert np.allclose(quick.box, full.box, atol=0.05 * full.width)
    assert np.abs(quick.landmarks - full.landmarks).max() < 0.05 * full.width
    vectors = ml.embed(selfie, [full, quick]).vectors
    assert np.linalg.norm(vectors[0] - vectors[1]) < 0.2  # same-person threshold: 0.409
