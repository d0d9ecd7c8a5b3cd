"""The training tools' own parts: the TFJS teacher runner follows TensorFlow's rules (a wrong
padding or a branch taken wrongly would silently give bad pseudo-labels), and mixed precision."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ml.training import autocast
from ml.training.teachers import DEAD, GraphModel, read_weights, run_op

pytestmark = pytest.mark.unit


def node(op: str, **attrs) -> dict:
    """A graph node with TFJS-encoded attributes (ints and lists of ints, strings as base64)."""
    import base64

    def encode(v):
        if isinstance(v, str):
            return {"s": base64.b64encode(v.encode()).decode()}
        if isinstance(v, bool):
            return {"b": v}
        if isinstance(v, list):
            return {"list": {"i": [str(i) for i in v]}}
        return {"i": str(v)}

    return {"name": op, "op": op, "attr": {k: encode(v) for k, v in attrs.items()}}


def nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def test_a_dilated_depthwise_conv_done_tensorflow_style_matches_torch() -> None:
    """TF writes a dilated conv as SpaceToBatchND → conv → BatchToSpaceND (RVM's encoder)."""
    x = torch.randn(1, 4, 12, 12)
    w = torch.randn(4, 1, 3, 3)
    expected = F.conv2d(x, w, padding=2, dilation=2, groups=4)
    padded = run_op(node("SpaceToBatchND"), [nhwc(x), torch.tensor([2, 2]),
                                             torch.tensor([[2, 2], [2, 2]])])[0]
    tf_filter = w.permute(2, 3, 0, 1)  # (H, W, C, multiplier)
    y = run_op(node("DepthwiseConv2dNative", padding="VALID", strides=[1, 1, 1, 1]),
               [padded, tf_filter])[0]
    y = run_op(node("BatchToSpaceND"), [y, torch.tensor([2, 2]),
                                        torch.tensor([[0, 0], [0, 0]])])[0]
    torch.testing.assert_close(y, nhwc(expected), atol=1e-5, rtol=1e-5)


def test_same_padding_puts_the_extra_pixel_bottom_right_and_pools_only_the_image() -> None:
    x = torch.randn(1, 3, 8, 8)
    w = torch.randn(5, 3, 3, 3)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), w, stride=2)  # TF SAME, stride 2, even size
    y = run_op(node("Conv2D", padding="SAME", strides=[1, 2, 2, 1]),
               [nhwc(x), w.permute(2, 3, 1, 0)])[0]
    torch.testing.assert_close(y, nhwc(expected), atol=1e-5, rtol=1e-5)
    ones = torch.ones(1, 5, 5, 2)
    pooled = run_op(node("AvgPool", padding="SAME", ksize=[1, 3, 3, 1], strides=[1, 1, 1, 1]),
                    [ones])[0]
    torch.testing.assert_close(pooled, ones)  # the border is not darkened by padding zeros


def test_a_graph_runs_only_the_branch_its_switch_takes() -> None:
    nodes = [
        {"name": "x", "op": "Placeholder"},
        {"name": "flag", "op": "Placeholder"},
        {"name": "switch", "op": "Switch", "input": ["x", "flag"]},
        {"name": "two", "op": "Const"},
        {"name": "doubled", "op": "Mul", "input": ["switch:1", "two"]},  # taken when true
        {"name": "negated", "op": "Sub", "input": ["two", "switch"]},  # taken when false
        {"name": "merged", "op": "Merge", "input": ["negated", "doubled"]},
        {"name": "out", "op": "Identity", "input": ["merged", "^flag"]},
    ]
    manifest = [{"paths": ["w.bin"], "weights": [{"name": "two", "shape": [], "dtype": "float32"}]}]
    spec = {"modelTopology": {"node": nodes}, "weightsManifest": manifest,
            "signature": {"outputs": {"y": {"name": "out:0"}}}}
    graph = GraphModel(spec, np.float32(2).tobytes())
    x = torch.tensor([3.0])
    assert graph({"x": x, "flag": torch.tensor(True)}, "y").item() == 6.0
    assert graph({"x": x, "flag": torch.tensor(False)}, "y").item() == -1.0
    assert run_op(node("Mul"), [DEAD, x]) == [DEAD]


def test_quantised_weights_are_read_back_to_their_values() -> None:
    manifest = [{"paths": ["w.bin"], "weights": [
        {"name": "q", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.5}},
        {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
        {"name": "i", "shape": [1], "dtype": "int32"}]}]
    shards = (np.array([0, 2, 4], np.uint8).tobytes() + np.array([0.25, -8], np.float16).tobytes()
              + np.array([7], np.int32).tobytes())
    weights = read_weights(manifest, shards)
    assert weights["q"].tolist() == [-1.0, 0.0, 1.0]
    assert weights["h"].tolist() == [0.25, -8.0]
    assert weights["i"].tolist() == [7] and weights["i"].dtype == torch.int32


def test_mixed_precision_trains_in_bf16_only_where_asked() -> None:
    cpu = torch.device("cpu")
    layer = torch.nn.Linear(4, 2)
    with autocast(cpu, bf16=True):
        assert layer(torch.randn(1, 4)).dtype == torch.bfloat16
    with autocast(cpu, bf16=False):
        assert layer(torch.randn(1, 4)).dtype == torch.float32


def test_the_emotion_teacher_gives_one_cached_distribution_per_face():
    """face-api's probabilities, the second target of ``train emotion --distil``: a distribution
    per face, the same for a face and its mirror image (the student is shown both), right on
    clear expressions, and computed once (cached by the faces' digest)."""
    from ml.emotion.evaluate import read_labelled_crops
    from ml.emotion.model import CLASSES
    from ml.paths import data_dir, home
    from ml.training.emotion import face_api_targets

    crops, labels, _, _ = read_labelled_crops(data_dir() / "ckplus48")
    pick = np.concatenate([np.flatnonzero(labels == CLASSES.index(c))[:20]
                           for c in ("happy", "surprise")])
    targets = face_api_targets(crops[pick]).numpy()
    assert targets.shape == (40, len(CLASSES))
    assert np.allclose(targets.sum(1), 1, atol=1e-4)
    assert (targets.argmax(1) == labels[pick]).mean() >= 0.9
    mirrored = face_api_targets(np.ascontiguousarray(crops[pick][:, :, ::-1])).numpy()
    assert np.array_equal(targets, mirrored)
    assert len(list((home() / "training").glob("face-api-targets-*.npy"))) == 2
