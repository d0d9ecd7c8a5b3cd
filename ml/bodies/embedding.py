"""Person crops → body embeddings (unit vectors), and people ranked by them.

The weights are this project's (``ml/weights/body_reid.pt``, trained by ``lookalike train reid``
on CUHK03; ``docs/reid.md``). A crop is resized to 256x128 (the person upright, the whole body
in it); one pass, no mirror average (half the time: screen time embeds every person in every
sampled frame).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch

from ml.bodies.network import INPUT_SIZE, BodyNet
from ml.device import default_device
from ml.errors import WeightsMissing
from ml.images import ImageInput, load_image

WEIGHTS = Path(__file__).parent.parent / "weights" / "body_reid.pt"
BATCH = 32


@lru_cache(maxsize=2)
def load_body_net(path: str | None = None) -> BodyNet:
    """The shipped network (or the checkpoint at ``path``), in eval mode on the default
    device."""
    file = Path(path) if path else WEIGHTS
    if not file.exists():
        raise WeightsMissing(f"no body re-identification weights at {file}: train them with "
                             "`lookalike train reid` (docs/reid.md)")
    checkpoint = torch.load(file, map_location="cpu", weights_only=False)
    net = BodyNet(checkpoint["config"]["dim"])
    net.load_state_dict({k: v.float() for k, v in checkpoint["state_dict"].items()})
    return net.eval().to(default_device())


def crop_tensor(image: ImageInput) -> np.ndarray:
    """A person crop at the network's input size (uint8 HWC RGB)."""
    height, width = INPUT_SIZE
    return cv2.resize(load_image(image), (width, height), interpolation=cv2.INTER_AREA)


def embed_bodies(crops: list[ImageInput], weights: str | None = None) -> np.ndarray:
    """(N, 256) unit vectors, one per person crop."""
    net = load_body_net(weights)
    device = next(net.parameters()).device
    out = []
    for start in range(0, len(crops), BATCH):
        batch = torch.from_numpy(np.stack([crop_tensor(c) for c in crops[start:start + BATCH]]))
        batch = batch.to(device)
        with torch.inference_mode():
            vectors = net(batch)
        out.append(vectors.float().cpu().numpy())
    vectors = np.concatenate(out) if out else np.zeros((0, net.neck.num_features), np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)


def rank_people(queries: np.ndarray, gallery: np.ndarray,
                people: list[str]) -> list[list[tuple[str, float]]]:
    """For each query vector, every gallery person by their most similar crop, best first:
    (person, cosine similarity)."""
    names = sorted(set(people))
    index = np.array([names.index(p) for p in people])
    sims = queries @ gallery.T
    best = np.full((len(queries), len(names)), -np.inf, np.float32)
    for n in range(len(names)):
        best[:, n] = sims[:, index == n].max(axis=1)
    order = np.argsort(-best, axis=1, kind="stable")
    return [[(names[j], float(best[i, j])) for j in row] for i, row in enumerate(order)]
