#!/usr/bin/env python3
"""End to end: the `backprop train` job against the same recipe in PyTorch.

    python3 bench/compare_peers.py e2e [--epochs N] [--threads 1,2] [--runs 1]
        [--subset N] [--seeds 0,1,2,3,4 | --seed S] [--data-dir DIR] [--backprop-bin PATH]
        [--out DIR] [--no-torch] [--install] [--timeout SECS]

(`python3 bench/peers_e2e.py ...` is the same.)

The single-step comparison of `compare_peers.py` times one training step on a
fixed random batch; this mode times the library's whole job, so that effects
that only show over a real training run (parameters and activations drifting
into slow regions as the network converges, data movement, validation, early
stopping) are measured too.

backprop side: `cargo build --release --bin backprop`, then per run
`backprop train --threads T --seed S --no-progress -o TMP/model.safetensors
--data-dir DIR [--epochs N]`: the default Fashion-MNIST recipe of
`src/recipes.rs`. Per-epoch seconds come from `model.history.csv`; the epoch
count, the split sizes and the test accuracy from its printed report.

PyTorch side, written here to match `src/recipes.rs`, `src/train/` and
`src/bin/backprop/train.rs` (settings read from `backprop train --help`, whose defaults are the
recipe's, so both
sides follow one table):
  data        the same gzip IDX files, read with numpy; `--subset N` keeps the
              first N training images (the backprop side gets IDX files cut
              the same way); the test set is always the full 10 000.
  hold-out    when the recipe has one (--validation-fraction f > 0; none:
              every row trained on, no early stopping, the last weights kept):
              stratified, ceil(f·m) rows, per-class quotas by largest
              remainders as `data::holdout_split` (the same sizes per class; the
              rows drawn differ, numpy's generator is not backprop's ChaCha8).
  scaling     with the recipe's --input-power p (not 1), each pixel first to
              x^p (float64); with its --standardize-samples true, each image to
              mean 0 and population std 1 over its own pixels (float64, a
              constant image to zeros); then per-pixel mean and population
              std fitted on the training rows (after the hold-out), std 0 -> 1;
              applied to validation and test.
  network     784-512-256-10, ReLU, each hidden layer followed by
              `nn.Dropout(p)` at the recipe's --dropout rate (none where it is
              0; active in `train()` mode, off in `eval()` for validation and
              test, as backprop's masks), softmax cross-entropy
              (`CrossEntropyLoss` on logits); hidden weights He normal
              N(0, 2/fan_in) (`kaiming_normal_`), output weights Glorot uniform
              (`xavier_uniform_`), biases 0 - backprop's defaults.
  objective   mean cross-entropy with the recipe's --label-smoothing ε
              (`cross_entropy(label_smoothing=ε)`: targets (1 − ε)·y + ε/K,
              backprop's definition) + (λ/2m)·ΣW² with m the batch's rows,
              biases excluded: the penalty is added to the batch loss, not
              Adam's weight_decay (which would be λ·W unscaled by m, and
              coupled through Adam's moments differently). Validation loss
              is the plain cross-entropy, as backprop reports it.
  augment     with a recipe --shift k or --flip (image data), each training
              batch's rows seen as 28×28 images after scaling: mirrored
              left-right with probability ½ (--flip), then shifted by
              (dy, dx) drawn uniformly from [−k, k]² per sample, pixel (i, j)
              taking pixel (i − dy, j − dx), uncovered pixels filled with the
              scaled value of a raw 0 at (i, j), −mean/std; validation and
              test rows as given (`data::ImageAugment` with
              `fill_scaled_zero`; the draws come from torch's generator).
  max-norm    with a recipe --max-norm c, every Linear weight row rescaled to
              norm ≤ c after each step (`torch.renorm`), biases untouched.
  optimizer   Adam(β = (0.9, 0.999), ε = 1e-8), η₀ = 1e-3.
  schedule    per epoch e (0-based) η = η_min + ½(η₀ − η_min)(1 + cos(π·min(e, T)/T)),
              T = the epoch budget (30, or --epochs), η_min = 1e-5, set before
              the epoch's first batch.
  batches     a fresh permutation each epoch cut into ceil(m/128) batches, the
              last one partial (kept), rows gathered into a new tensor.
  stopping    after each epoch, validation loss and accuracy; stop after 8
              epochs without a strictly higher accuracy; the best epoch's
              weights are restored.
  threads     own child process with OMP_NUM_THREADS and MKL_NUM_THREADS (and
              OPENBLAS_NUM_THREADS) = T, `torch.set_num_threads(T)`, one
              inter-op thread; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE dropped
              from its environment, as in the step mode.

Runs alternate backprop, PyTorch, backprop, PyTorch, ... (`--runs` pairs per
seed and thread count; seeds 0-4 by default, as the recipe's accuracy is
stated over them), each a fresh process, so neither warms the other's caches
or thread pools. A seed is both sides' seed of initialization, batch order
and hold-out; the draws differ (torch's and numpy's generators are not
backprop's ChaCha8), so per-seed accuracies compare as samples, not pairs.

What is reported, per run and as medians over runs:
  training s     the sum of the epochs' wall times (each epoch: its batches and
                 the validation pass, as backprop's history records it);
                 loading, scaling, the final scoring and saving are left out;
  samples/s      epochs run × training rows / training s;
  first / last   the first and the last epoch's seconds, and last/first
                 (> 1: later epochs are slower than the first);
  epochs, best   epochs run and the epoch whose weights were kept;
  test accuracy  on the 10 000 test images, with the kept weights (per seed,
                 and the median, minimum and maximum over the seeds);
  backprop/PyTorch  ratio of the median samples/s.

Results go to stdout and to DIR/peers-e2e.json and DIR/peers-e2e.md (default
target/bench-report), each written to a temp file and renamed; the JSON also
holds every epoch's record (losses, accuracy, η, seconds) of every run, the
CPU model and the commit. A failed run is reported with its error and the
script then exits with status 1.
"""

import argparse
import csv
import gzip
import json
import math
import os
import platform
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_peers import (  # noqa: E402
    blas_info,
    fmt_rate,
    fmt_ratio,
    importable,
    peer_env,
    pip_install,
    write_atomic,
)

REPO = Path(__file__).resolve().parent.parent
DATA_ENV = "BACKPROP_FASHION_MNIST_DIR"
DATA_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# `Solver::adam()` and the CLI's --beta1/--beta2/--epsilon defaults.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
IMPLS = ("backprop", "torch")
NAMES = {"backprop": "backprop", "torch": "PyTorch"}


# ---- the recipe --------------------------------------------------------------------------


def read_recipe(binary):
    """The recipe's settings as `backprop train --help` shows them (every
    default there is read from `recipes::fashion_mnist()`), so that the
    PyTorch side follows the recipe the binary runs; an error names any
    setting that is missing or that this script cannot reproduce."""
    text = subprocess.run([str(binary), "train", "--help"], capture_output=True, text=True,
                          check=True).stdout
    defaults = {}
    flag = None
    for line in text.splitlines():
        m = re.match(r"\s+--([a-z0-9-]+)", line)
        if m:
            flag = m.group(1)
        d = re.search(r"\[default: ([^\],]+(?:,[^\],]+)*?)(?:, or [^\]]*)?\]", line)
        if flag and d and flag not in defaults:
            defaults[flag] = d.group(1).strip()
    need = ("layers", "activation", "scaling", "optimizer", "schedule", "lr", "batch-size",
            "epochs", "eta-min", "lambda", "seed", "dropout", "label-smoothing")
    missing = [n for n in need if n not in defaults]
    if missing:
        raise ValueError(f"{binary} train --help: no default for --{', --'.join(missing)}")
    expect = {"activation": "relu", "scaling": "standard", "optimizer": "adam",
              "schedule": "cosine"}
    for k, v in expect.items():
        if defaults[k] != v:
            raise ValueError(f"the recipe's {k} is {defaults[k]}: the PyTorch side has {v} only")
    # "--shift 1 (image data)" / "--flip true (image data)": the value is
    # the first word; both absent from binaries without augmentation.
    shift = int(defaults.get("shift", "0").split()[0])
    flip = defaults.get("flip", "false").split()[0] == "true"
    # "--standardize-samples true on image data"; absent from older binaries.
    samples = defaults.get("standardize-samples", "false").split()[0] == "true"
    if samples and shift > 0:
        raise ValueError("the recipe shifts standardized images: backprop refuses that")
    # "--input-power 0.6 on image data with no negative values, else 1";
    # absent from older binaries (no power).
    power = float(defaults.get("input-power", "1").split()[0])
    hidden = [int(v) for v in defaults["layers"].split(",")]
    dropout = [float(v) for v in defaults["dropout"].split(",")]
    if len(dropout) == 1:
        dropout *= len(hidden)
    if len(dropout) != len(hidden):
        raise ValueError(f"the recipe's --dropout {defaults['dropout']} does not fit "
                         f"--layers {defaults['layers']}")
    return {
        "hidden": hidden,
        "dropout": dropout,
        "label_smoothing": float(defaults["label-smoothing"]),
        "shift": shift,
        "flip": flip,
        "max_norm": float(defaults["max-norm"]) if "max-norm" in defaults else None,
        "activation": "relu",
        "scaling": "standard",
        "standardize_samples": samples,
        "input_power": power,
        "learning_rate": float(defaults["lr"]),
        "batch_size": int(defaults["batch-size"]),
        "epochs": int(defaults["epochs"]),
        "eta_min": float(defaults["eta-min"]),
        "lambda": float(defaults["lambda"]),
        # A recipe without a hold-out shows neither: train on every row, no
        # early stopping, keep the last epoch's weights.
        "validation_fraction": float(defaults.get("validation-fraction", "0")),
        "patience": int(defaults["patience"]) if "patience" in defaults else None,
        "seed": int(defaults["seed"]),
        "adam_betas": list(ADAM_BETAS),
        "adam_epsilon": ADAM_EPSILON,
    }


def cosine_lr(epoch, t_max, eta0, eta_min):
    """`Schedule::Cosine`: η for 0-based epoch `epoch`."""
    frac = min(epoch, t_max) / t_max
    return eta_min + 0.5 * (eta0 - eta_min) * (1.0 + math.cos(math.pi * frac))


# ---- IDX files ---------------------------------------------------------------------------


def read_idx(path, np):
    """An unsigned-byte IDX file (gzip or plain) as a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise ValueError(f"{path}: header says {dims}, found {data.size} bytes of data")
    return data.reshape(dims)


def write_idx_gz(path, array):
    """Writes an unsigned-byte IDX file, gzip-compressed."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + array.astype("uint8").tobytes())


def subset_dir(data_dir, n, into):
    """A directory in the IDX layout with the first n training images and
    labels and the full test set (linked)."""
    import numpy as np

    out = into / "fashion-mnist-subset"
    out.mkdir()
    for key in ("train_images", "train_labels"):
        write_idx_gz(out / FILES[key], read_idx(data_dir / FILES[key], np)[:n])
    for key in ("test_images", "test_labels"):
        (out / FILES[key]).symlink_to((data_dir / FILES[key]).resolve())
    return out


# ---- the PyTorch worker (child process) --------------------------------------------------


def holdout_split(labels, fraction, rng, np):
    """`data::holdout_split` for class targets: ceil(fraction·m) rows, each
    class's quota floor(exact) plus one for the largest remainders (ties to
    the lower class), drawn at random within the class. Returns (train,
    validation) row indices, each in the original order."""
    m = len(labels)
    n_val = math.ceil(fraction * m)
    if n_val == 0 or n_val >= m:
        raise ValueError(f"a hold-out of {fraction} leaves an empty side of {m} samples")
    k = int(labels.max()) + 1
    by_class = [np.flatnonzero(labels == c) for c in range(k)]
    exact = [n_val * len(v) / m for v in by_class]
    quota = [math.floor(e) for e in exact]
    left = n_val - sum(quota)
    order = sorted(range(k), key=lambda c: (-(exact[c] - math.floor(exact[c])), c))
    for c in order * 2:
        if left == 0:
            break
        if quota[c] < len(by_class[c]):
            quota[c] += 1
            left -= 1
    is_val = np.zeros(m, dtype=bool)
    for c, idx in enumerate(by_class):
        is_val[rng.permutation(idx)[:quota[c]]] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def load_data(data_dir, subset, recipe, seed, np):
    """(x_train, y_train, x_val, y_val, x_test, y_test), float32 standardized."""
    x = read_idx(data_dir / FILES["train_images"], np)
    y = read_idx(data_dir / FILES["train_labels"], np)
    if subset:
        x, y = x[:subset], y[:subset]
    x = x.reshape(len(x), -1).astype(np.float32)
    y = y.astype(np.int64)
    xt = read_idx(data_dir / FILES["test_images"], np)
    xt = xt.reshape(len(xt), -1).astype(np.float32)
    yt = read_idx(data_dir / FILES["test_labels"], np).astype(np.int64)
    if recipe["validation_fraction"] > 0:
        tr, va = holdout_split(y, recipe["validation_fraction"], np.random.default_rng(seed), np)
    else:
        tr, va = np.arange(len(y)), np.arange(0)
    if recipe.get("input_power", 1.0) != 1.0:
        # Fashion-MNIST pixels are >= 0: x^p as `Scaler::power`, in float64.
        p = recipe["input_power"]
        x = (x.astype(np.float64) ** p).astype(np.float32)
        xt = (xt.astype(np.float64) ** p).astype(np.float32)
    if recipe["standardize_samples"]:
        x, xt = standardize_samples(x, np), standardize_samples(xt, np)
    x_tr, x_va = x[tr], x[va]
    mean = x_tr.astype(np.float64).mean(axis=0)
    std = x_tr.astype(np.float64).std(axis=0)  # population, as `Scaler`
    std[~(std > 0)] = 1.0
    scale = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    # What a raw 0 pixel becomes after scaling: augmentation's fill.
    fill = (-mean / std).astype(np.float32)
    return scale(x_tr), y[tr], scale(x_va), y[va], scale(xt), yt, fill


def standardize_samples(x, np):
    """Each row to mean 0 and population std 1 in float64, a constant row to
    zeros, as `preprocess::standardize_samples` (rounded to f32 here, where
    backprop goes on in f64 into its per-pixel map)."""
    x = x.astype(np.float64)
    c = x - x.mean(axis=1, keepdims=True)
    sd = np.sqrt((c * c).mean(axis=1, keepdims=True))
    return (c / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def augment_batch(xb, shape, k, flip, fill, gen, torch):
    """The rows of `xb` mirrored (with probability ½ each, when `flip`) and
    shifted by (dy, dx) uniform in [−k, k]² per row, as
    `data::ImageAugment`: out(i, j) = img(i − dy, j − dx), `fill`(i, j)
    where that falls outside."""
    h, w = shape
    n = xb.shape[0]
    img = xb.view(n, h, w)
    if flip:
        f = torch.rand(n, generator=gen) < 0.5
        img = torch.where(f[:, None, None], img.flip(2), img)
    if k == 0:
        return img.reshape(n, h * w)
    out = fill.view(1, h, w).expand(n, h, w).clone()
    dy = torch.randint(-k, k + 1, (n,), generator=gen)
    dx = torch.randint(-k, k + 1, (n,), generator=gen)
    for a in range(-k, k + 1):
        for c in range(-k, k + 1):
            sel = ((dy == a) & (dx == c)).nonzero().squeeze(1)
            if len(sel) == 0:
                continue
            out[sel, max(0, a):h + min(0, a), max(0, c):w + min(0, c)] = \
                img[sel, max(0, -a):h + min(0, -a), max(0, -c):w + min(0, -c)]
    return out.reshape(n, h * w)


def torch_model(sizes, dropout, torch):
    from torch import nn

    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        if i + 2 < len(sizes):
            nn.init.kaiming_normal_(lin.weight, mode="fan_in", nonlinearity="relu")
            layers += [lin, nn.ReLU()]
            if dropout[i] > 0:
                layers.append(nn.Dropout(dropout[i]))
        else:
            nn.init.xavier_uniform_(lin.weight)
            layers.append(lin)
        nn.init.zeros_(lin.bias)
    return nn.Sequential(*layers)


def train_torch(model, data, recipe, epochs, seed, torch, np):
    """The loop of `Trainer::run` in PyTorch; returns the per-epoch records,
    the kept epoch and the seconds of the whole loop."""
    import torch.nn.functional as F

    x_tr, y_tr, x_va, y_va = (torch.from_numpy(a) for a in data[:4])
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    opt = torch.optim.Adam(model.parameters(), lr=recipe["learning_rate"],
                           betas=tuple(recipe["adam_betas"]), eps=recipe["adam_epsilon"])
    m, b = len(y_tr), recipe["batch_size"]
    shift, flip = recipe["shift"], recipe["flip"]
    fill = torch.from_numpy(data[6])
    side = math.isqrt(x_tr.shape[1])
    if (shift or flip) and side * side != x_tr.shape[1]:
        raise ValueError(f"augmentation needs square images, the rows have {x_tr.shape[1]} pixels")
    gen = torch.Generator().manual_seed(seed + 2)
    lam, smoothing, max_norm = recipe["lambda"], recipe["label_smoothing"], recipe["max_norm"]
    rng = np.random.default_rng(seed + 1)
    best, best_state, bad, records = None, None, 0, []
    start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        eta = cosine_lr(epoch, epochs, recipe["learning_rate"], recipe["eta_min"])
        for g in opt.param_groups:
            g["lr"] = eta
        perm = torch.from_numpy(rng.permutation(m))
        loss_sum = 0.0
        model.train()
        for s in range(0, m, b):
            idx = perm[s:s + b]
            xb, yb = x_tr[idx], y_tr[idx]
            if shift or flip:
                xb = augment_batch(xb, (side, side), shift, flip, fill, gen, torch)
            rows = len(idx)
            # J = mean cross-entropy + (λ/2m)·ΣW², m = this batch's rows.
            loss = F.cross_entropy(model(xb), yb, label_smoothing=smoothing)
            loss = loss + lam / (2 * rows) * sum(w.pow(2).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if max_norm is not None:
                with torch.no_grad():
                    for w in weights:
                        w.copy_(torch.renorm(w, 2, 0, max_norm))
            loss_sum += loss.item() * rows
        model.eval()
        if len(y_va) == 0:
            records.append({"epoch": epoch, "train_loss": loss_sum / m, "val_loss": None,
                            "val_metric": None, "learning_rate": eta,
                            "seconds": time.perf_counter() - t0})
            continue
        with torch.no_grad():
            logits = model(x_va)
            val_loss = F.cross_entropy(logits, y_va).item()
            val_acc = (logits.argmax(dim=1) == y_va).double().mean().item()
        seconds = time.perf_counter() - t0
        records.append({"epoch": epoch, "train_loss": loss_sum / m, "val_loss": val_loss,
                        "val_metric": val_acc, "learning_rate": eta, "seconds": seconds})
        if (best is None and math.isfinite(val_acc)) or (best is not None and val_acc > best[1]):
            best, bad = (epoch, val_acc), 0
            best_state = [p.detach().clone() for p in model.parameters()]
        else:
            bad += 1
            if recipe["patience"] is not None and bad >= recipe["patience"]:
                break
    if best_state is not None:
        with torch.no_grad():
            for p, saved in zip(model.parameters(), best_state):
                p.copy_(saved)
    loop_s = time.perf_counter() - start
    return records, (best[0] + 1 if best else None), loop_s


def worker(args):
    import numpy as np
    import torch

    t = args.worker_threads
    torch.set_num_threads(t)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    recipe = read_recipe(args.backprop_bin)
    seed = recipe["seed"] if args.seed is None else args.seed
    epochs = args.epochs or recipe["epochs"]
    data = load_data(Path(args.data_dir), args.subset, recipe, seed, np)
    torch.manual_seed(seed)
    sizes = [data[0].shape[1], *recipe["hidden"], int(data[1].max()) + 1]
    model = torch_model(sizes, recipe["dropout"], torch)
    records, best_epoch, loop_s = train_torch(model, data, recipe, epochs, seed, torch, np)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(data[4])).argmax(dim=1).numpy()
    return {
        "impl": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "sizes": sizes,
        "n_train": len(data[1]),
        "n_val": len(data[3]),
        "n_test": len(data[5]),
        "epochs": records,
        "best_epoch": best_epoch,
        "loop_s": loop_s,
        "test_accuracy": float((pred == data[5]).mean()),
        "blas": {"torch_config": [line.strip() for line in torch.__config__.show().splitlines()
                                  if any(k in line for k in ("BLAS", "MKL", "OpenMP", "oneDNN"))],
                 "threadpoolctl": blas_info()},
    }


# ---- the backprop side -------------------------------------------------------------------


def backprop_binary(args):
    if args.backprop_bin:
        return Path(args.backprop_bin)
    print("[e2e] cargo build --release --bin backprop", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--bin", "backprop"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "backprop"


def parse_train_output(stdout):
    """Split sizes, epochs, kept epoch and test accuracy from the report
    `backprop train` prints."""
    out = {}
    m = re.search(r"\((\d+) train, (\d+) validation(?:, (\d+) test)?\)", stdout)
    if not m:
        raise ValueError("no `(N train, N validation, N test)` in the output")
    out["n_train"], out["n_val"] = int(m[1]), int(m[2])
    out["n_test"] = int(m[3]) if m[3] else None
    m = re.search(r"^trained (\d+) epoch\(s\)(.*) in ([\d.]+) s", stdout, re.M)
    if not m:
        raise ValueError("no `trained N epoch(s) ... in S s` line in the output")
    out["printed_fit_s"] = float(m[3])
    kept = re.search(r"weights of epoch (\d+)", m[2])
    out["best_epoch"] = int(kept[1]) if kept else None
    m = re.search(r"^test\s+\d+\s+\S+\s+([\d.]+)%", stdout, re.M)
    out["test_accuracy"] = float(m[1]) / 100 if m else None
    return out


def read_history(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    num = lambda v: float(v) if v != "" else None  # noqa: E731
    # Epochs count from 0; the training objective (L2 included) is
    # `train_loss_incl_l2` (`train_loss` in files written before the rename).
    loss = "train_loss_incl_l2" if rows and "train_loss_incl_l2" in rows[0] else "train_loss"
    return [{"epoch": int(r["epoch"]), "train_loss": num(r[loss]),
             "val_loss": num(r["val_loss"]), "val_metric": num(r["val_metric"]),
             "learning_rate": num(r["learning_rate"]), "seconds": num(r["seconds"])}
            for r in rows]


def run_backprop(binary, threads, seed, args, data_dir, tmp, tag):
    model = tmp / f"{tag}.safetensors"
    cmd = [str(binary), "train", "--threads", str(threads), "--seed", str(seed), "--no-progress",
           "-o", str(model), "--data-dir", str(data_dir)]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"ok": False, "error": f"exit {r.returncode}: {r.stderr.strip()[-500:]}"}
    out = {"ok": True, "impl": "backprop", "threads": threads, "process_s": wall,
           "command": " ".join(cmd),
           "header": [ln for ln in r.stdout.splitlines()
                      if ln.startswith(("data:", "network:", "training:"))]}
    out.update(parse_train_output(r.stdout))
    out["epochs"] = read_history(model.with_suffix(".history.csv"))
    return out


def run_torch(threads, seed, args, data_dir):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--worker-threads",
           str(threads), "--seed", str(seed), "--data-dir", str(data_dir),
           "--backprop-bin", str(args.binary)]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    if args.subset:
        cmd += ["--subset", str(args.subset)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=peer_env(threads),
                       timeout=args.timeout)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"ok": False, "error": f"exit {r.returncode}: {r.stderr.strip()[-500:]}"}
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"ok": False, "error": f"unreadable output: {r.stdout[-300:]!r}"}
    out.update(ok=True, process_s=wall)
    return out


# ---- summary and report ------------------------------------------------------------------


def summarize(out):
    """The reported figures of one run, added to its record."""
    secs = [e["seconds"] for e in out["epochs"]]
    n = len(secs)
    out["n_epochs"] = n
    out["train_s"] = sum(secs)
    out["samples_per_s"] = n * out["n_train"] / out["train_s"] if out["train_s"] > 0 else None
    out["first_epoch_s"] = secs[0] if secs else None
    out["last_epoch_s"] = secs[-1] if secs else None
    out["last_over_first"] = secs[-1] / secs[0] if secs and secs[0] > 0 else None
    return out


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec, none="—"):
    return none if v is None else format(v, spec)


def render_markdown(doc):
    s = doc["settings"]
    r = doc.get("recipe") or {}
    held = (f"{r['validation_fraction']:.0%} held out" if r.get("validation_fraction")
            else "no hold-out")
    if r.get("shift") or r.get("flip"):
        held += f"; augmentation: shift {r.get('shift', 0)}, flip {r.get('flip', False)}"
    lines = ["### backprop vs PyTorch, end to end (Fashion-MNIST recipe, float32)", ""]
    lines.append(
        f"Command: `{doc['command']}` — {s['runs']} alternating run(s) per seed "
        f"({', '.join(map(str, s['seeds']))}) and thread count, each "
        f"in its own process; up to {s['epochs']} epoch(s), "
        f"{'the first ' + format(s['subset'], ',') if s['subset'] else 'all 60,000'} training "
        f"images ({held}); cells are medians over runs. Training s = sum of the epochs' "
        "wall times (batches + validation).")
    lines.append("")
    lines.append("| impl | threads | runs | epochs | training s | samples/s | first epoch s "
                 "| last epoch s | last/first | test accuracy (min–max) | backprop/PyTorch |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in doc["summary"]:
        for impl in IMPLS:
            c = row["impls"].get(impl)
            if not c:
                continue
            ratio = fmt_ratio(row["ratio_samples_per_s"]) if impl == "backprop" else ""
            lines.append(
                f"| {NAMES[impl]} | {row['threads']} | {c['runs']} | {fmt(c['n_epochs'], 'g')} "
                f"| {fmt(c['train_s'], '.2f')} | {fmt_rate(c['samples_per_s'])} "
                f"| {fmt(c['first_epoch_s'], '.3f')} | {fmt(c['last_epoch_s'], '.3f')} "
                f"| {fmt(c['last_over_first'], '.2f')} | {fmt(c['test_accuracy'], '.2%')} "
                f"({fmt(c['test_accuracy_min'], '.2%')}–{fmt(c['test_accuracy_max'], '.2%')}) "
                f"| {ratio} |")
    lines += ["", "Per run:", "",
              "| run | seed | impl | threads | epochs (kept) | training s | samples/s "
              "| first epoch s | last epoch s | last/first | test accuracy |",
              "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["runs"]:
        if not r.get("ok"):
            continue
        lines.append(
            f"| {r['run']} | {r['seed']} | {NAMES[r['impl']]} | {r['threads']} "
            f"| {r['n_epochs']} ({fmt(r.get('best_epoch'), 'd')}) | {r['train_s']:.2f} "
            f"| {fmt_rate(r['samples_per_s'])} | {fmt(r['first_epoch_s'], '.3f')} "
            f"| {fmt(r['last_epoch_s'], '.3f')} | {fmt(r['last_over_first'], '.2f')} "
            f"| {fmt(r.get('test_accuracy'), '.2%')} |")
    lines.append("")
    for impl, why in doc["skipped"].items():
        lines.append(f"- {NAMES[impl]} skipped: {why}")
    for r in doc["runs"]:
        if not r.get("ok"):
            lines.append(f"- run {r['run']} seed {r['seed']} {NAMES[r['impl']]} {r['threads']}t failed: "
                         f"{r['error']}")
    lines += [f"- CPU: {doc['machine']['cpu']} ({doc['machine']['cores']} logical cores); "
              f"{doc['backprop_version']}"
              + (f"; torch {doc['torch_version']}" if doc.get("torch_version") else ""), ""]
    return "\n".join(lines)


def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def git_commit():
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


# ---- main --------------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="compare_peers.py e2e",
        description="End to end: `backprop train` (the Fashion-MNIST recipe) against the same "
                    "recipe in PyTorch, interleaved, each run in its own process.")
    ap.add_argument("--epochs", type=int, help="epoch budget, also the cosine's T "
                    "(default: the recipe's, 30)")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts (default 1)")
    ap.add_argument("--runs", type=int, default=1,
                    help="alternating backprop/PyTorch pairs per seed and thread count "
                         "(default 1)")
    ap.add_argument("--subset", type=int, help="use the first N training images")
    ap.add_argument("--seed", type=int, help="one seed of both sides (instead of --seeds)")
    ap.add_argument("--seeds", default="0,1,2,3,4",
                    help="comma-separated seeds, each run on both sides (default 0,1,2,3,4)")
    ap.add_argument("--data-dir", help=f"Fashion-MNIST IDX files (default: ${DATA_ENV}, "
                    f"else {DATA_DIR})")
    ap.add_argument("--backprop-bin", help="a built backprop binary; default: cargo build it")
    ap.add_argument("--out", default=str(REPO / "target" / "bench-report"),
                    help="directory for peers-e2e.json and peers-e2e.md")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--install", action="store_true",
                    help="pip install torch when missing (several GB from PyPI)")
    ap.add_argument("--timeout", type=float, default=7200,
                    help="seconds after which one run is abandoned (default 7200)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        ap.error("--epochs must be >= 1")
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    if args.subset is not None and args.subset < 2:
        ap.error("--subset must be >= 2 (the hold-out needs a sample on each side)")
    if args.timeout <= 0:
        ap.error("--timeout must be > 0")
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error(f"--threads {args.threads}: expected a comma-separated list of integers")
    if any(t < 1 for t in args.thread_counts):
        ap.error("--threads: every count must be >= 1")
    try:
        args.seed_list = ([args.seed] if args.seed is not None
                          else [int(v) for v in args.seeds.split(",")])
    except ValueError:
        ap.error(f"--seeds {args.seeds}: expected a comma-separated list of integers")
    if any(v < 0 for v in args.seed_list):
        ap.error("--seeds: seeds are >= 0")
    args.data_dir = Path(args.data_dir or os.environ.get(DATA_ENV) or DATA_DIR)
    missing = [f for f in FILES.values() if not (args.data_dir / f).is_file()]
    if missing:
        ap.error(f"Fashion-MNIST not found: {args.data_dir} lacks {', '.join(missing)}; "
                 "install with `apt-get install dataset-fashion-mnist` or pass --data-dir")
    if args.subset and not args.worker:
        import numpy as np

        n_rows = len(read_idx(args.data_dir / FILES["train_labels"], np))
        if args.subset > n_rows:
            ap.error(f"--subset {args.subset}: the training set has {n_rows} images")
    return ap, args


def torch_available(args):
    if args.no_torch:
        return False, "--no-torch"
    if importable("torch") or (args.install and pip_install("torch") and importable("torch")):
        return True, None
    return False, ("torch is not importable; rerun with --install to `pip install torch` "
                   "(PyPI's CUDA build, several GB)")


def main(argv=None):
    ap, args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        try:
            out = worker(args)
        except Exception as e:  # reported to the parent, which prints the reason
            out = {"ok": False, "impl": "torch", "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out))
        return
    binary = backprop_binary(args)
    args.binary = binary
    try:
        recipe = read_recipe(binary)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        ap.error(str(e))
    seeds = args.seed_list
    with_torch, why = torch_available(args)
    skipped = {} if with_torch else {"torch": why}
    if why:
        print(f"[e2e] skipping PyTorch: {why}", file=sys.stderr)
    version = (subprocess.run([str(binary), "--version"], capture_output=True,
                              text=True).stdout.strip().splitlines() or ["backprop ?"])[0]
    impls = ["backprop"] + (["torch"] if with_torch else [])

    runs = []
    with tempfile.TemporaryDirectory(prefix="backprop-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        bp_data = subset_dir(args.data_dir, args.subset, tmp) if args.subset else args.data_dir
        for r, seed, t, impl in ((r, seed, t, impl) for r in range(1, args.runs + 1)
                                 for seed in seeds for t in args.thread_counts
                                 for impl in impls):
            print(f"[e2e] run {r}/{args.runs}, seed {seed}, {t} thread(s): "
                  f"{NAMES[impl]}", file=sys.stderr)
            if impl == "backprop":
                out = run_backprop(binary, t, seed, args, bp_data, tmp,
                                   f"run{r}-s{seed}-{t}t")
            else:
                out = run_torch(t, seed, args, args.data_dir)
            out.update(run=r, seed=seed, impl=impl, threads=t)
            if out.get("ok"):
                summarize(out)
                print(f"[e2e]   {out['n_epochs']} epoch(s), {out['train_s']:.2f} s, "
                      f"{fmt_rate(out['samples_per_s'])} samples/s, test accuracy "
                      f"{fmt(out.get('test_accuracy'), '.2%')}", file=sys.stderr)
            else:
                print(f"[e2e]   failed: {out['error']}", file=sys.stderr)
            runs.append(out)

    doc = build_doc(args, recipe, seeds, skipped, version, runs)
    md = render_markdown(doc)
    print(md)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "peers-e2e.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out_dir / "peers-e2e.md", md)
    print(f"[e2e] wrote {out_dir / 'peers-e2e.json'} and {out_dir / 'peers-e2e.md'}",
          file=sys.stderr)
    if any(not r.get("ok") for r in runs):
        sys.exit(1)


def build_doc(args, recipe, seeds, skipped, version, runs):
    summary = []
    keys = ("n_epochs", "train_s", "samples_per_s", "first_epoch_s", "last_epoch_s",
            "last_over_first", "test_accuracy")
    for t in args.thread_counts:
        row = {"threads": t, "impls": {}}
        for impl in IMPLS:
            ok = [r for r in runs if r["impl"] == impl and r["threads"] == t and r.get("ok")]
            if ok:
                acc = [r["test_accuracy"] for r in ok if r.get("test_accuracy") is not None]
                row["impls"][impl] = {
                    "runs": len(ok), **{k: median_of(ok, k) for k in keys},
                    "test_accuracy_by_seed": {str(v): [r.get("test_accuracy") for r in ok
                                                       if r["seed"] == v] for v in seeds},
                    "test_accuracy_min": min(acc) if acc else None,
                    "test_accuracy_max": max(acc) if acc else None,
                }
        bp, pt = row["impls"].get("backprop"), row["impls"].get("torch")
        row["ratio_samples_per_s"] = (bp["samples_per_s"] / pt["samples_per_s"]
                                      if bp and pt and bp["samples_per_s"]
                                      and pt["samples_per_s"] else None)
        summary.append(row)
    torch_run = next((r for r in runs if r["impl"] == "torch" and r.get("ok")), None)
    return {
        "schema": 1,
        "mode": "e2e",
        "command": "python3 bench/compare_peers.py e2e " + " ".join(sys.argv[2:]
                                                                     if sys.argv[1:2] == ["e2e"]
                                                                     else sys.argv[1:]),
        "commit": git_commit(),
        "machine": machine_info(),
        "backprop_version": version,
        "torch_version": torch_run["version"] if torch_run else None,
        "recipe": recipe,
        "settings": {"epochs": args.epochs or recipe["epochs"], "threads": args.thread_counts,
                     "runs": args.runs, "subset": args.subset, "seeds": seeds,
                     "data_dir": str(args.data_dir)},
        "skipped": skipped,
        "summary": summary,
        "runs": runs,
    }


if __name__ == "__main__":
    main()
