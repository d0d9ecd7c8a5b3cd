"""``lookalike train emotion|portrait|reid``: train this project's own models."""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.cli.common import CliError


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train this project's own models")
    sub = train.add_subparsers(title="models", required=True)

    p = sub.add_parser("emotion", help="the expression CNN, on FER2013 (see docs/emotion.md)")
    _common_options(p, epochs=40)
    p.add_argument("--width", type=int, default=32, help="channels of the first stage")
    p.add_argument("--blocks", default="1,2,2,1", help="residual blocks per stage")
    p.add_argument("--mixup", type=float, default=0.2, help="mixup alpha (0: off)")
    p.add_argument("--distil", type=float, default=0.0, metavar="SHARE",
                   help="share of the loss learnt from face-api's expression net's "
                        "probabilities (0: off; below 0.5 the true label always leads)")
    p.add_argument("--distil-on", choices=("all", "agreed"), default="all",
                   help="the faces that learn from the teacher: all, or those it labels "
                        "as FER2013 does (the others learn from their label alone)")
    p.add_argument("--votes", type=float, default=0.0, metavar="SHARE",
                   help="share of the loss learnt from FER+'s ten annotators' votes "
                        "(0: off; 1: the votes replace the label wherever FER+ has them)")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (one cycle)")
    p.add_argument("--init", type=Path, metavar="WEIGHTS",
                   help="start from these weights (a fine-tune) instead of random ones")
    p.set_defaults(run=run_emotion)

    p = sub.add_parser("portrait", help="the portrait U-Net, on human_seg (see docs/portrait.md)")
    _common_options(p, epochs=80)
    p.add_argument("--paste", type=float, default=0.0,
                   help="probability of copy-paste compositing per photo (0: off)")
    p.add_argument("--pseudo", type=int, default=0, metavar="N",
                   help="also learn from N LFW photos masked by the RVM teacher (0: off)")
    p.add_argument("--full-body", type=int, default=0, metavar="N",
                   help="also learn from N clothing-co-parsing training photos (0001-0800) an "
                        "epoch, from $LOOKALIKE_FULLBODY (0: off)")
    p.add_argument("--groups", type=float, default=0.0, metavar="SHARE",
                   help="share of those full-body photos replaced by composites of 2-3 "
                        "training people (several-people photos)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one cycle)")
    p.add_argument("--init", type=Path, metavar="WEIGHTS",
                   help="start from these weights (a fine-tune, e.g. of the shipped model) "
                        "instead of the ImageNet encoder")
    p.set_defaults(run=run_portrait)

    p = sub.add_parser("reid", help="the body re-identification network, on CUHK03 (see "
                       "docs/reid.md)")
    _common_options(p, epochs=12)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (one cycle)")
    p.add_argument("--teacher", type=Path, metavar="ONNX",
                   help="a re-id network (ONNX, 256x128 in) whose relations between crops the "
                        "student also learns, at training time only (needs onnxruntime)")
    p.add_argument("--relation", type=float, default=1.0,
                   help="weight of the teacher's relations in the loss")
    p.set_defaults(run=run_reid)


def _common_options(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path,
                   help="where to write the weights (default: the shipped file)")
    p.add_argument("--log", type=Path, help="also append each epoch's JSON line to this file")
    p.add_argument("--resume", action="store_true",
                   help="carry on the run stopped at OUT (its .state.pt, same settings)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="training steps in bf16 mixed precision or fp32 (auto: bf16 where "
                        "the CPU or GPU runs it fast)")


def epoch_logger(path: Path | None):
    """Print each training line; also append the epochs' JSON lines to ``path`` (JSON Lines)."""
    def log(line: str) -> None:
        print(line, flush=True)
        if path and line.startswith("{"):
            with open(path, "a") as f:
                f.write(line + "\n")
    return log


def bf16_choice(precision: str) -> bool | None:
    """--precision → the trainers' ``bf16`` argument (None: decide by the hardware)."""
    return {"auto": None, "bf16": True, "fp32": False}[precision]


def run_emotion(args: argparse.Namespace) -> None:
    import torch

    from ml.emotion.model import WEIGHTS
    from ml.progress import TqdmProgress
    from ml.training.emotion import train

    torch.set_num_threads(max(1, torch.get_num_threads()))

    log = epoch_logger(args.log)
    try:
        blocks = tuple(int(b) for b in args.blocks.split(","))
    except ValueError:
        raise CliError("--blocks: numbers separated by commas, such as 1,2,2,1") from None
    progress = TqdmProgress(unit="batch")
    try:
        final = train(args.out or WEIGHTS, epochs=args.epochs, seed=args.seed, width=args.width,
                      blocks=blocks, mixup=args.mixup, distil=args.distil,
                      distil_on=args.distil_on, votes=args.votes, init=args.init, lr=args.lr,
                      bf16=bf16_choice(args.precision), resume=args.resume, progress=progress,
                      log=log)
    except (ValueError, FileNotFoundError) as exc:  # other settings; FER+ not fetched
        raise CliError(str(exc)) from None
    progress.close()
    print(f"final validation accuracy {final['validation_accuracy']:.4f} (epoch "
          f"{final['epoch']}); weights in {args.out or WEIGHTS}")


def run_portrait(args: argparse.Namespace) -> None:
    from ml.portrait.model import WEIGHTS
    from ml.progress import TqdmProgress
    from ml.training import fullbody
    from ml.training.portrait import train

    if args.epochs < 1:
        raise CliError("--epochs must be at least 1")
    if args.full_body < 0 or not 0 <= args.groups <= 1:
        raise CliError("--full-body must be 0 or more and --groups between 0 and 1")
    if args.init is not None and not args.init.is_file():
        raise CliError(f"--init: no such weights file: {args.init}")
    if args.full_body and not fullbody.available():
        raise CliError(f"--full-body: clothing-co-parsing is not in {fullbody.fullbody_dir()}: "
                       f"{fullbody.FETCH}")

    log = epoch_logger(args.log)
    progress = TqdmProgress(unit="batch")
    try:
        final = train(args.out or WEIGHTS, epochs=args.epochs, seed=args.seed, paste=args.paste,
                      pseudo=args.pseudo, full_body=args.full_body, groups=args.groups,
                      init=args.init, lr=args.lr, bf16=bf16_choice(args.precision),
                      resume=args.resume, progress=progress, log=log)
    except (ValueError, FileNotFoundError) as exc:  # other settings; CCP not fetched
        raise CliError(str(exc)) from None
    except OSError as exc:  # the encoder's ImageNet weights or the teacher could not be fetched
        raise CliError(f"could not fetch the encoder's or the teacher's weights: {exc}") from exc
    progress.close()
    print(f"final validation mIoU {final['validation_miou']:.4f} (epoch {final['epoch']}); "
          f"weights in {args.out or WEIGHTS}")


def run_reid(args: argparse.Namespace) -> None:
    from ml.bodies.embedding import WEIGHTS
    from ml.progress import TqdmProgress
    from ml.training.reid import measure, train

    if args.epochs < 1:
        raise CliError("--epochs must be at least 1")
    if args.teacher is not None and not args.teacher.is_file():
        raise CliError(f"--teacher: no such ONNX file: {args.teacher}")
    log = epoch_logger(args.log)
    progress = TqdmProgress(unit="batch")
    try:
        train(args.out or WEIGHTS, epochs=args.epochs, lr=args.lr, seed=args.seed,
              teacher=args.teacher, relation=args.relation, bf16=bf16_choice(args.precision),
              resume=args.resume, progress=progress, log=log)
    except (ValueError, FileNotFoundError) as exc:  # other settings; CUHK03 not fetched
        raise CliError(str(exc)) from None
    except ImportError:
        raise CliError("--teacher needs onnxruntime (pip install onnxruntime)") from None
    progress.close()
    figures = measure(args.out or WEIGHTS)
    print(f"CUHK03 val (labeled, cross-camera): rank-1 {figures['rank1']:.4f}, mAP "
          f"{figures['map']:.4f}; weights in {args.out or WEIGHTS}")
