#!/usr/bin/env python3
"""Side-by-side training-step throughput: backprop vs PyTorch vs scikit-learn.

Two modes:

    python3 bench/compare_peers.py [options below]      training step (this text)
    python3 bench/compare_peers.py e2e [--epochs N] [--threads T] [--runs R]
        [--subset N] [--out DIR] ...                     end to end

The end-to-end mode (in `bench/peers_e2e.py`, whose docstring says exactly
what both sides run) times the library's main job, `backprop train` on
Fashion-MNIST with the recipe of `src/recipes.rs`, against the same recipe
written in PyTorch, alternating the two run by run, each in its own process;
it reports training seconds, samples/s, the first and the last epoch's time,
epochs run and test accuracy, and writes DIR/peers-e2e.{json,md}. Smoke run:
`python3 bench/compare_peers.py e2e --subset 6000 --epochs 2 --runs 1`.

Training-step mode:

Runs the configurations of `benches/common/configs.rs` (read from
`bench_report --list-configs`, so both sides use one table) with the same batch
sizes, float32 and thread counts, alternating implementations inside every
repetition so that machine drift affects all of them alike, and prints one
table with the ratio backprop/peer of samples per second.

    python3 bench/compare_peers.py [--configs S,M,T,L,XL] [--threads 1,2]
        [--reps 3] [--min-time 2.0] [--install] [--no-torch] [--no-sklearn]
        [--report-bin PATH] [--out DIR] [--smoke]

What one "step" is, per implementation:
  backprop      `net.compute_gradient(&mut ws, x, targets, 0)` + `Sgd::step`, timed
                by `bench_report --config NAME --threads N --json` (median of the
                individual step durations after warm-up).
  PyTorch       `opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()` with
                `nn.Sequential` of `nn.Linear` + ReLU/Tanh, `torch.optim.SGD`
                (no momentum), `CrossEntropyLoss` (class indices) or
                `BCEWithLogitsLoss` (0/1 matrix); median of individual steps.
  scikit-learn  `MLPClassifier(solver='sgd', momentum=0, alpha=0, shuffle=False,
                batch_size=B)`, S and M only (softmax cross-entropy). One
                `partial_fit` over an epoch of K batches, divided by K: this
                amortises sklearn's per-call input validation and label
                binarisation over K steps, which is kinder to sklearn than timing
                `partial_fit` on a single batch. Median over several epochs.

Threads: every peer runs in its own child process with OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS set to the thread count, plus
`torch.set_num_threads(n)` (and one inter-op thread) or
`threadpoolctl.threadpool_limits(n)`. `OPENBLAS_CORETYPE` and
`OPENBLAS_L2_SIZE` are removed from the peers' environment (they are tuned
for the system OpenBLAS and slow numpy's bundled one); backprop runs with the
environment as given. Each peer reports which BLAS it used (threadpoolctl's
view, including the OpenBLAS kernel "architecture", and PyTorch's build
configuration).

Installing: scikit-learn is pip-installed when missing (a few tens of MB).
PyTorch is only installed with `--install`: `pip install torch` from PyPI, the
only index reachable here, pulls the CUDA build with its nvidia-* wheels, a
download of several GB (the CPU-only wheels live on download.pytorch.org).
Without torch the PyTorch columns are skipped with the reason printed.

Results go to stdout and to DIR/peers.json and DIR/peers.md (default
target/bench-report).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_ENV_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SKLEARN_CONFIGS = ("S", "M")
# Targets the next performance work aims at (stated, not asserted).
TORCH_TARGETS = {"S": 1.5, "M": 1.2, "T": 1.5, "L": 1.0, "XL": 1.0}
LEARNING_RATE = 1e-3


# ---- workers (run in child processes) ---------------------------------------------


def synthetic(cfg, rows, np):
    """Inputs uniform in [-1, 1) and targets: class i % n_out for softmax
    cross-entropy, the 0/1 pattern (i*7 + k) % 3 == 0 for BCE (as the Rust
    side)."""
    rng = np.random.default_rng(1)
    x = (rng.random((rows, cfg["sizes"][0]), dtype=np.float32) * 2 - 1).astype(np.float32)
    n_out = cfg["sizes"][-1]
    if cfg["loss"] == "categorical-cross-entropy":
        y = np.arange(rows) % n_out
    else:
        i = np.arange(rows)[:, None]
        k = np.arange(n_out)[None, :]
        y = ((i * 7 + k) % 3 == 0).astype(np.float32)
    return x, y


def time_calls(fn, min_time, min_reps=3, warmup_s=0.3):
    """Warm up, then call fn until min_time has passed (at least min_reps
    times); return the individual durations in seconds."""
    start = time.perf_counter()
    warm = 0
    while warm < 2 or time.perf_counter() - start < warmup_s:
        fn()
        warm += 1
    out = []
    begin = time.perf_counter()
    while len(out) < min_reps or time.perf_counter() - begin < min_time:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads",
            "threading_layer", "prefix")
    return [{k: p.get(k) for k in keep if k in p} for p in threadpool_info()]


def worker_torch(cfg, threads, min_time):
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    sizes = cfg["sizes"]
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid}[cfg["hidden"]]
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), act()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    model = nn.Sequential(*layers).float()
    b = cfg["batch"]
    x_np, y_np = synthetic(cfg, b, np)
    x = torch.from_numpy(x_np)
    if cfg["loss"] == "categorical-cross-entropy":
        y = torch.from_numpy(y_np).long()
        loss_fn = nn.CrossEntropyLoss()
    else:
        y = torch.from_numpy(y_np)
        loss_fn = nn.BCEWithLogitsLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    secs = time_calls(step, min_time)
    cfg_lines = [
        line.strip()
        for line in torch.__config__.show().splitlines()
        if any(k in line for k in ("BLAS", "MKL", "LAPACK", "OpenMP", "oneDNN", "MKLDNN"))
    ]
    return {
        "impl": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "step_s_median": statistics.median(secs),
        "step_s_min": min(secs),
        "reps": len(secs),
        "dtype": str(next(model.parameters()).dtype),
        "blas": {
            "torch_config": cfg_lines,
            "mkl_available": torch.backends.mkl.is_available(),
            "mkldnn_available": torch.backends.mkldnn.is_available(),
            "threadpoolctl": blas_info(),
        },
    }


def worker_sklearn(cfg, threads, min_time):
    import warnings

    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if cfg["loss"] != "categorical-cross-entropy" or cfg["hidden"] != "relu":
        raise ValueError("the scikit-learn column covers the ReLU softmax configurations only")
    b = cfg["batch"]
    n_out = cfg["sizes"][-1]
    with threadpool_limits(limits=threads):
        clf = MLPClassifier(
            hidden_layer_sizes=tuple(cfg["sizes"][1:-1]),
            activation="relu",
            solver="sgd",
            alpha=0.0,
            batch_size=b,
            learning_rate_init=LEARNING_RATE,
            momentum=0.0,
            nesterovs_momentum=False,
            shuffle=False,
            random_state=0,
        )
        x1, y1 = synthetic(cfg, b, np)
        classes = np.arange(n_out)
        clf.partial_fit(x1, y1, classes=classes)
        # Size the epoch so that one partial_fit call lasts about min_time/3.
        t0 = time.perf_counter()
        clf.partial_fit(x1, y1)
        one = time.perf_counter() - t0
        k = int(max(4, min(200, (min_time / 3) / max(one, 1e-6))))
        xe, ye = synthetic(cfg, k * b, np)
        epochs = time_calls(lambda: clf.partial_fit(xe, ye), min_time, warmup_s=0.0)
        info = blas_info()
        dtype = str(clf.coefs_[0].dtype)
    secs = [e / k for e in epochs]
    return {
        "impl": "sklearn",
        "version": sklearn.__version__,
        "numpy": np.__version__,
        "threads": threads,
        "batches_per_epoch": k,
        "step_s_median": statistics.median(secs),
        "step_s_min": min(secs),
        "reps": len(secs),
        "dtype": dtype,
        "blas": {"threadpoolctl": info},
    }


def worker_main(args):
    cfg = json.loads(args.config_json)
    try:
        fn = {"torch": worker_torch, "sklearn": worker_sklearn}[args.worker]
        out = fn(cfg, args.worker_threads, args.min_time)
        out["ok"] = True
    except Exception as e:  # reported to the parent, which prints the reason
        out = {"ok": False, "impl": args.worker, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))


# ---- parent ----------------------------------------------------------------------------


def importable(module):
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return r.returncode == 0


def pip_install(package):
    print(f"[compare_peers] pip install {package} ...", file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "pip", "install", package])
    return r.returncode == 0


def peer_env(threads):
    env = {k: v for k, v in os.environ.items() if k not in PEER_ENV_DROP}
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


def run_json(cmd, env=None, timeout=1800):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        return {"ok": False, "error": f"exit {r.returncode}: {r.stderr.strip()[-500:]}"}
    try:
        out = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "error": f"unreadable output: {r.stdout[-300:]!r}"}
    out.setdefault("ok", True)
    return out


def report_binary(args):
    if args.report_bin:
        return Path(args.report_bin)
    print("[compare_peers] cargo build --release --example bench_report", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--example", "bench_report"], cwd=REPO, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "examples" / "bench_report"


def fmt_rate(v):
    return "—" if v is None else f"{v:,.0f}"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}×"


def main():
    if sys.argv[1:2] == ["e2e"]:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import peers_e2e

        return peers_e2e.main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default="S,M,T,L,XL")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3,
                    help="alternating repetitions per config and thread count")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="seconds of timed steps per measurement")
    ap.add_argument("--install", action="store_true",
                    help="pip install torch when missing (several GB from PyPI)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not pip install scikit-learn when missing")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--report-bin", help="a built bench_report; default: cargo build it")
    ap.add_argument("--out", default=str(REPO / "target" / "bench-report"))
    ap.add_argument("--smoke", action="store_true",
                    help="config S, 1 thread, 1 repetition, 0.1 s: checks the plumbing")
    ap.add_argument("--worker", choices=["torch", "sklearn"], help=argparse.SUPPRESS)
    ap.add_argument("--config-json", help=argparse.SUPPRESS)
    ap.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main(args)
    if args.smoke:
        args.configs, args.threads, args.reps, args.min_time = "S", "1", 1, 0.1
    if args.reps < 1 or args.min_time < 0:
        ap.error("--reps must be >= 1 and --min-time >= 0")
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error(f"--threads {args.threads}: expected a comma-separated list of integers")
    if any(t < 1 for t in thread_counts):
        ap.error("--threads: every count must be >= 1")

    binary = report_binary(args)
    table = {c["name"]: c for c in json.loads(
        subprocess.run([str(binary), "--list-configs"], capture_output=True, text=True,
                       check=True).stdout)}
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        ap.error(f"unknown configuration(s) {unknown}; known: {', '.join(table)}")

    peers = []
    skipped = {}
    if args.no_torch:
        skipped["torch"] = "--no-torch"
    elif importable("torch") or (args.install and pip_install("torch") and importable("torch")):
        peers.append("torch")
    else:
        skipped["torch"] = ("torch is not importable; rerun with --install to `pip install torch` "
                            "(PyPI's CUDA build, several GB)")
    if args.no_sklearn:
        skipped["sklearn"] = "--no-sklearn"
    elif importable("sklearn") and importable("threadpoolctl"):
        peers.append("sklearn")
    elif not args.no_install and pip_install("scikit-learn") and importable("sklearn"):
        peers.append("sklearn")
    else:
        skipped["sklearn"] = "scikit-learn is not importable and was not installed"
    for peer, why in skipped.items():
        print(f"[compare_peers] skipping {peer}: {why}", file=sys.stderr)

    results = []  # one row per (config, threads)
    blas_seen = {}
    for name in names:
        cfg = table[name]
        for t in thread_counts:
            impls = ["backprop"] + [p for p in peers
                                    if p != "sklearn" or name in SKLEARN_CONFIGS]
            runs = {i: [] for i in impls}
            errors = {}
            for rep in range(args.reps):
                # Rotate the order each repetition so no implementation always
                # runs first (or right after the heaviest one).
                order = impls[rep % len(impls):] + impls[:rep % len(impls)]
                for impl in order:
                    if impl in errors:
                        continue
                    print(f"[compare_peers] {name} {t}t rep {rep + 1}/{args.reps}: {impl}",
                          file=sys.stderr)
                    if impl == "backprop":
                        out = run_json([str(binary), "--config", name, "--threads", str(t),
                                        "--json", "--min-time", str(args.min_time)])
                    else:
                        out = run_json([sys.executable, str(Path(__file__).resolve()),
                                        "--worker", impl, "--config-json", json.dumps(cfg),
                                        "--worker-threads", str(t),
                                        "--min-time", str(args.min_time)],
                                       env=peer_env(t))
                    if not out.get("ok"):
                        errors[impl] = out.get("error", "unknown error")
                        print(f"[compare_peers] {impl} failed: {errors[impl]}", file=sys.stderr)
                        continue
                    runs[impl].append(out)
                    blas_seen.setdefault(impl, out.get("blas"))
            row = {"config": name, "sizes": "-".join(map(str, cfg["sizes"])),
                   "batch": cfg["batch"], "threads": t, "impls": {}, "errors": errors}
            for impl, outs in runs.items():
                if not outs:
                    continue
                med = statistics.median(o["step_s_median"] for o in outs)
                row["impls"][impl] = {
                    "step_s": med,
                    "samples_per_s": cfg["batch"] / med,
                    "runs": [o["step_s_median"] for o in outs],
                    "dtype": outs[0].get("dtype", "float32"),
                    "version": outs[0].get("version"),
                }
            bp = row["impls"].get("backprop")
            for peer in ("torch", "sklearn"):
                p = row["impls"].get(peer)
                row[f"ratio_vs_{peer}"] = (bp["samples_per_s"] / p["samples_per_s"]
                                           if bp and p else None)
            results.append(row)

    md = render_markdown(results, blas_seen, skipped, args)
    print(md)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"schema": 1, "command": " ".join(sys.argv), "reps": args.reps,
           "min_time_s": args.min_time, "skipped": skipped, "blas": blas_seen,
           "results": results}
    write_atomic(out_dir / "peers.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out_dir / "peers.md", md)
    print(f"[compare_peers] wrote {out_dir / 'peers.json'} and {out_dir / 'peers.md'}",
          file=sys.stderr)


def render_markdown(results, blas_seen, skipped, args):
    lines = ["### backprop vs peers (training step, float32)", ""]
    lines.append(f"Command: `python3 bench/compare_peers.py {' '.join(sys.argv[1:])}` — "
                 f"{args.reps} alternating repetition(s), {args.min_time} s per measurement; "
                 "each cell is the median over repetitions of each run's median step.")
    lines.append("")
    lines.append("| config | sizes | B | threads | backprop samples/s | PyTorch samples/s "
                 "| backprop/PyTorch | target | scikit-learn samples/s | backprop/sklearn |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        get = lambda i: r["impls"].get(i, {}).get("samples_per_s")  # noqa: E731
        lines.append(
            f"| {r['config']} | {r['sizes']} | {r['batch']} | {r['threads']} "
            f"| {fmt_rate(get('backprop'))} | {fmt_rate(get('torch'))} "
            f"| {fmt_ratio(r['ratio_vs_torch'])} | ≥ {TORCH_TARGETS.get(r['config'], 1.0)}× "
            f"| {fmt_rate(get('sklearn'))} | {fmt_ratio(r['ratio_vs_sklearn'])} |")
    lines.append("")
    for peer, why in skipped.items():
        lines.append(f"- {peer} skipped: {why}")
    for r in results:
        for impl, err in r["errors"].items():
            lines.append(f"- {r['config']} {r['threads']}t {impl} failed: {err}")
    lines.append("")
    lines.append("BLAS used:")
    lines.append("")
    for impl, info in blas_seen.items():
        lines.append(f"- {impl}: {describe_blas(info)}")
    lines.append("")
    return "\n".join(lines)


def describe_blas(info):
    if isinstance(info, str):
        return info
    if not isinstance(info, dict):
        return "unknown"
    parts = []
    if "torch_config" in info:
        parts.append("; ".join(info["torch_config"]) or "torch config: no BLAS line")
        parts.append(f"MKL available: {info.get('mkl_available')}, "
                     f"oneDNN available: {info.get('mkldnn_available')}")
    for lib in info.get("threadpoolctl", []):
        if "internal_api" in lib:
            parts.append(f"{lib.get('internal_api')} {lib.get('version')} "
                         f"({lib.get('prefix')}, kernel {lib.get('architecture')}, "
                         f"{lib.get('num_threads')} threads)")
    return "; ".join(parts) or "unknown"


def write_atomic(path, text):
    """Temp file in the same directory, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":
    main()
