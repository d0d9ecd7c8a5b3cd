"""Train the kinship head (``ml/family/kinship.npz``) on FIW families:
``python -m ml.training.kinship [--out PATH]`` (a minute or two on 2 CPU cores once the face
vectors are cached; ``python -m ml.training.kinship_data`` caches them, resumably).

Recipe, seeded and reproducible:
- data: FIW's parent→child links, families split by a fixed seed into training (65%),
  validation (15%) and test (20%, only ``bench/kinship.py`` reads it);
- pairs: every epoch each training link with a random photo of each person, and as many
  unrelated pairs of the same relation (a parent with a child of another family);
- features: ``ml.family.kinship.pair_features`` (per face kind |a-b|, a*b, the distance),
  standardised on the training pairs;
- model: a one-hidden-layer MLP (or logistic regression), BCE, AdamW, ``EPOCHS`` epochs;
- settings (hidden width, weight decay, which face kinds) chosen by AUC on fixed validation
  pairs; then, on the validation pairs, a logistic calibration per relation and each
  relation's unrelated-score quantiles (the fair verdict's "rank among strangers");
- a sex classifier (logistic regression on the whole-face vector, FIW's gender labels of
  training members) so that a pair's relation can be read from its faces.
Every configuration tried is logged (``docs/kinship_runs.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ml.family.kinship import KINDS, RELATION_NAMES, WEIGHTS, KinshipModel, pair_features
from ml.training.kinship_data import (
    Family,
    Member,
    cached_vectors,
    fiw_photos,
    read_fiw,
    relation,
    split_families,
)

EPOCHS = 20
SEED = 0
# (hidden width, weight decay, face kinds) tried; chosen by validation AUC. Small because the
# CPU time here is shared: face-only vs face+regions was settled first (docs/family.md).
GRID = ((0, 1e-2, KINDS), (64, 1e-2, KINDS), (64, 1e-1, KINDS))
LOG = Path(__file__).resolve().parents[2] / "docs" / "kinship_runs.jsonl"

Link = tuple[Member, Member, str]  # parent, child, relation


def links(families: list[Family]) -> list[Link]:
    return [(f.members[p], f.members[c], relation(f.members[p], f.members[c]))
            for f in families for p, c in f.parents]


def strangers(pairs: list[Link], rng: np.random.Generator) -> list[Link]:
    """One unrelated pair per link: its parent with a child of another family, same relation."""
    out = []
    for rel in RELATION_NAMES:
        group = [x for x in pairs if x[2] == rel]
        children = [c for _, c, _ in group]
        for parent, _child, _ in group:
            for _ in range(20):
                other = children[rng.integers(len(children))]
                if other.family != parent.family:
                    out.append((parent, other, rel))
                    break
    return out


def fixed_pairs(families: list[Family], seed: int) -> tuple[list[Link], np.ndarray]:
    """Evaluation pairs: every link (first photos) and as many unrelated ones; kin labels."""
    kin = links(families)
    unrelated = strangers(kin, np.random.default_rng(seed))
    return kin + unrelated, np.r_[np.ones(len(kin)), np.zeros(len(unrelated))]


def stack(pairs: list[Link], vectors: dict[Path, np.ndarray], rng: np.random.Generator | None,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parent vectors, child vectors, kept mask): a random cached photo each (rng) or the
    first."""
    def pick(m: Member) -> np.ndarray | None:
        have = [p for p in fiw_photos(m) if p in vectors]
        if not have:
            return None
        return vectors[have[rng.integers(len(have))] if rng is not None else have[0]]

    rows = [(pick(p), pick(c)) for p, c, _ in pairs]
    kept = np.array([a is not None and b is not None for a, b in rows])
    zero = np.zeros((len(KINDS), 128), np.float32)
    parents = np.stack([a if a is not None else zero for a, _ in rows])
    children = np.stack([b if b is not None else zero for _, b in rows])
    return parents, children, kept


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2)
                 / (pos.sum() * (~pos).sum()))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 300,
                 ) -> tuple[np.ndarray, float]:
    """Plain L2-regularised logistic regression (LBFGS) on small data."""
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt)
        loss = loss + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def train_head(train: list[Link], vectors: dict[Path, np.ndarray], hidden: int,
               weight_decay: float, kinds: tuple[str, ...], epochs: int = EPOCHS,
               seed: int = SEED) -> dict:
    """One configuration: returns the numpy weights (standardisation + layers)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    p, c, kept = stack(train, vectors, None)
    base = pair_features(p[kept], c[kept], kinds)
    mean, scale = base.mean(0), base.std(0) + 1e-6
    dim = base.shape[1]
    net = (torch.nn.Linear(dim, 1) if hidden == 0 else
           torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(dim, hidden),
                               torch.nn.ReLU(), torch.nn.Dropout(0.2),
                               torch.nn.Linear(hidden, 1)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=weight_decay)
    for _ in range(epochs):
        pairs = train + strangers(train, rng)
        labels = np.r_[np.ones(len(train)), np.zeros(len(pairs) - len(train))]
        p, c, kept = stack(pairs, vectors, rng)
        # Either way round: the features are symmetric, so only the photos vary.
        x = torch.tensor((pair_features(p[kept], c[kept], kinds) - mean) / scale)
        y = torch.tensor(labels[kept], dtype=torch.float32)
        net.train()
        for idx in torch.randperm(len(x)).split(128):
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x[idx])[:, 0],
                                                                         y[idx])
            loss.backward()
            opt.step()
    linears = [m for m in (net if hidden else [net]) if isinstance(m, torch.nn.Linear)]
    return {"kinds": kinds, "mean": mean, "scale": scale,
            "layers": [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
                       for m in linears]}


def as_model(head: dict, sex: tuple[np.ndarray, float] = (np.zeros(128, np.float32), 0.0),
             calibration: dict | None = None, strangers_q: dict | None = None,
             accuracy: dict | None = None) -> KinshipModel:
    return KinshipModel(tuple(head["kinds"]), head["mean"], head["scale"],
                        tuple(head["layers"]), sex,
                        calibration or {r: (1.0, 0.0) for r in RELATION_NAMES},
                        strangers_q or {r: np.linspace(-10, 10, 101) for r in RELATION_NAMES},
                        accuracy or {})


def save(path: Path, model: KinshipModel, meta: dict) -> None:
    arrays = {"mean": model.mean.astype(np.float16), "scale": model.scale.astype(np.float16),
              "sex_w": model.sex[0].astype(np.float32), "sex_b": np.float32(model.sex[1])}
    for i, (w, b) in enumerate(model.layers):
        arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float16), b.astype(np.float32)
    for r, q in model.strangers.items():
        arrays[f"strangers_{r}"] = q.astype(np.float32)
    meta = {**meta, "kinds": list(model.kinds), "layers": len(model.layers),
            "calibration": {r: list(v) for r, v in model.calibration.items()},
            "accuracy": model.accuracy}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    tmp.replace(path)


def train(out: Path = WEIGHTS, log: Path = LOG, compute: bool = True) -> dict:
    """The whole recipe (module docstring); returns the validation figures."""
    start = time.time()
    parts = split_families(read_fiw())
    members = [m for f in parts["train"] + parts["validation"] for m in f.members.values()]
    vectors = cached_vectors("FIW", [p for m in members for p in fiw_photos(m)],
                             compute=compute)
    train_links = links(parts["train"])
    val_pairs, val_kin = fixed_pairs(parts["validation"], seed=1)
    vp, vc, vkept = stack(val_pairs, vectors, None)
    val_rel = np.array([r for _, _, r in val_pairs])[vkept]
    vp, vc, val_kin = vp[vkept], vc[vkept], val_kin[vkept]
    runs = []
    for hidden, wd, kinds in GRID:
        t = time.time()
        head = train_head(train_links, vectors, hidden, wd, kinds)
        score = as_model(head).score(vp, vc)
        run = {"hidden": hidden, "weight_decay": wd, "kinds": list(kinds),
               "epochs": EPOCHS, "seed": SEED, "validation_auc": round(auc(score, val_kin), 4),
               "seconds": round(time.time() - t, 1)}
        runs.append((run, head))
        print(json.dumps(run), flush=True)
    best_run, head = max(runs, key=lambda r: r[0]["validation_auc"])
    model = as_model(head)
    score = model.score(vp, vc)

    # Sex from the face: training members' first photos, FIW's gender labels.
    train_members = [m for f in parts["train"] for m in f.members.values()
                     if fiw_photos(m)[0] in vectors]
    sx = np.stack([vectors[fiw_photos(m)[0]][0] for m in train_members])
    sex = fit_logistic(sx, np.array([m.male for m in train_members], np.float64))
    val_members = [m for f in parts["validation"] for m in f.members.values()
                   if fiw_photos(m)[0] in vectors]
    vx = np.stack([vectors[fiw_photos(m)[0]][0] for m in val_members])
    sex_acc = float(np.mean((vx @ sex[0] + sex[1] > 0) == np.array([m.male
                                                                    for m in val_members])))

    # Per relation: calibration and the unrelated pairs' score quantiles, on validation pairs.
    calibration, quantiles = {}, {}
    for rel in RELATION_NAMES:
        sel = val_rel == rel
        w, b = fit_logistic(score[sel, None], val_kin[sel], l2=1e-4)
        calibration[rel] = (float(w[0]), b)
        quantiles[rel] = np.quantile(score[sel & (val_kin == 0)], np.linspace(0, 1, 101))
    model = as_model(head, sex, calibration, quantiles)
    p = model.probability(vp, vc, list(val_rel))
    val_acc = float(np.mean((p > 0.5) == (val_kin == 1)))
    model = as_model(head, sex, calibration, quantiles,
                     {"fiw_validation_accuracy": round(val_acc, 4)})
    summary = {"chosen": best_run, "validation_accuracy_at_0.5": round(val_acc, 4),
               "validation_sex_accuracy": round(sex_acc, 4),
               "train_links": len(train_links), "validation_pairs": len(val_kin),
               "families": {k: len(v) for k, v in parts.items()},
               "seconds": round(time.time() - start, 1)}
    save(out, model, summary)
    with log.open("a") as fh:
        fh.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "runs": [r for r, _ in runs], **summary}) + "\n")
    print(json.dumps(summary), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--log", type=Path, default=LOG)
    parser.add_argument("--cached-only", action="store_true",
                        help="use only the photos whose vectors are cached already")
    args = parser.parse_args()
    train(args.out, args.log, compute=not args.cached_only)


if __name__ == "__main__":
    main()
