"""Write one benchmark's section of docs/benchmarks.md, leaving the other sections alone."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nEvery figure here is written by a script in `bench/`: rerun it to refresh.\n"
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    load = os.getloadavg()[0]  # > threads means other work shared the CPU: timings are high
    return (f"{cpu}, {torch.get_num_threads()} torch threads, {gpu}, torch {torch.__version__}, "
            f"load average {load:.1f} when written")


def write_section(name: str, markdown: str) -> None:
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    BENCHMARKS_MD.parent.mkdir(exist_ok=True)
    BENCHMARKS_MD.write_text(text)
    print(f"wrote section '{name}' of {BENCHMARKS_MD}")


def previous_weights(commit: str, path: str) -> Path | None:
    """The weights file ``path`` as committed in ``commit`` (the model shipped before), cached
    under the weights folder, so a benchmark can show old beside new; None outside a clone
    that has that commit."""
    from ml.paths import weights_dir

    out = weights_dir() / "previous" / f"{commit[:12]}-{Path(path).name}"
    if not out.exists():
        try:
            data = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
                                  capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return out


def epoch_kept(metrics: dict, recipe: dict) -> str:
    """How a checkpoint's epoch was picked, in words for a model card."""
    if metrics["epoch"] == recipe["epochs"]:
        return (f"the final epoch ({metrics['epoch']}): nothing was chosen on the validation "
                "split reported here")
    return (f"epoch {metrics['epoch']}, the best on the validation split reported here (so "
            "that figure is slightly optimistic)")


def precision_text(recipe: dict) -> str:
    """The recipe's training precision, as a clause for a model card (nothing for fp32)."""
    return "; training steps in bf16 mixed precision, channels-last" if recipe.get("bf16") else ""
