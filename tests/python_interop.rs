//! Interoperability with the Python ecosystem: files written here are read by
//! numpy + safetensors, onnx + onnxruntime (and PyTorch when installed), and
//! a safetensors file written by Python is read here. Outputs are compared
//! with `predict`.
//!
//! Needs `python3` with `numpy safetensors onnx onnxruntime`
//! (`python3 -m pip install numpy safetensors onnx onnxruntime`); each test
//! prints why and returns when the interpreter or a module is missing, unless
//! `BACKPROP_REQUIRE_PYTHON` names that module (a comma-separated list, or
//! `all`): then the test fails, so that a CI run that installed the modules
//! cannot pass without running the tests. `.ci/run` sets it.

use std::path::Path;
use std::process::Command;

use backprop::io::{LoadOptions, SavedModel, export_onnx, read_npy, write_npy};
use backprop::preprocess::{Scaler, Scaling};
use backprop::{Activation, Dense, Loss, Network, Scalar};
use ndarray::{Array2, ArrayView2};

/// f32 outputs computed by two implementations that round differently (a
/// numpy float64 reference, onnxruntime's f32 kernels): activations are
/// O(1) and each is a dot product of at most 16 terms, so the difference stays
/// within a few f32 ulps of 1 per layer; 1e-5 leaves room for 5 layers.
const F32_TOL: f64 = 1e-5;
/// The same for f64 computations: a few f64 ulps per layer.
const F64_TOL: f64 = 1e-12;

/// The Python interpreter if it can import every module in `modules`; prints
/// the reason and returns `None` otherwise, or fails the test when
/// `BACKPROP_REQUIRE_PYTHON` requires one of `modules`.
fn python(modules: &[&str]) -> Option<&'static str> {
    let check = format!("import {}", modules.join(", "));
    let missing = match Command::new("python3").args(["-c", &check]).output() {
        Err(e) => format!("python3 not runnable ({e})"),
        Ok(o) if !o.status.success() => format!(
            "python3 cannot `{check}` (python3 -m pip install {}): {}",
            modules.join(" "),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Ok(_) => return Some("python3"),
    };
    if let Some(m) = required_but_missing(modules) {
        panic!("{missing}; BACKPROP_REQUIRE_PYTHON requires `{m}`");
    }
    println!("skipped: {missing}");
    None
}

/// The first of `modules` that `BACKPROP_REQUIRE_PYTHON` requires and
/// python3 cannot import (each tried on its own).
fn required_but_missing<'m>(modules: &[&'m str]) -> Option<&'m str> {
    let list = std::env::var("BACKPROP_REQUIRE_PYTHON").unwrap_or_default();
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    modules.iter().copied().find(|m| {
        (names.contains(&"all") || names.contains(m))
            && !Command::new("python3")
                .args(["-c", &format!("import {m}")])
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

fn run(py: &str, script: &str, args: &[&Path]) {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 ran a moment ago");
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_close<S: Scalar>(got: ArrayView2<'_, S>, want: ArrayView2<'_, S>, tol: f64, what: &str) {
    assert_eq!(got.dim(), want.dim(), "{what}");
    let mut worst = 0.0f64;
    for ((idx, g), w) in got.indexed_iter().zip(want.iter()) {
        let (g, w) = (g.wide(), w.wide());
        let err = (g - w).abs() / (1.0 + w.abs());
        worst = worst.max(err);
        assert!(
            err <= tol,
            "{what}: at {idx:?} python gives {g}, backprop {w}"
        );
    }
    println!(
        "{what} ({}): max |python − backprop| / (1 + |backprop|) = {worst:.1e}, tolerance {tol:.0e}",
        S::NAME
    );
}

/// One network per head, with every hidden activation on the way, and a
/// scaler (the third one standardizing each sample first); inputs of odd
/// size and some negative values, the last row constant. Then a softmax
/// network whose scaler has every step: a power, sample standardization
/// and the per-feature map, on inputs ≥ 0 (zeros among them).
fn models<S: Scalar>() -> Vec<(SavedModel<S>, Array2<S>)> {
    let x = Array2::from_shape_fn((13, 5), |(i, j)| {
        let v = if i == 12 { 3 } else { (i * 7 + j * 3) % 11 };
        S::cast(v as f64 - 4.0)
    });
    Loss::ALL
        .iter()
        .enumerate()
        .map(|(k, &loss)| {
            let net = Network::<S>::builder(5)
                .hidden(7, Activation::Relu)
                .hidden(6, Activation::Tanh)
                .hidden(4, Activation::Logistic)
                .hidden(3, Activation::Identity)
                .output(
                    if loss == Loss::BinaryCrossEntropy {
                        1
                    } else {
                        3
                    },
                    loss,
                )
                .bias_init(backprop::BiasInit::Gaussian)
                .seed(10 + k as u64)
                .build()
                .unwrap();
            let mut model = SavedModel::new(net);
            if k != 1 {
                let scaling = if k == 0 {
                    Scaling::Standard
                } else {
                    Scaling::MinMax
                };
                let scaler = if k == 2 {
                    Scaler::fit_standardized_samples(scaling, x.view())
                } else {
                    Scaler::fit(scaling, x.view())
                };
                model = model.with_scaler(scaler.unwrap()).unwrap();
            }
            (model, x.clone())
        })
        .chain(std::iter::once(powered_model()))
        .collect()
}

fn powered_model<S: Scalar>() -> (SavedModel<S>, Array2<S>) {
    let x = Array2::from_shape_fn((13, 5), |(i, j)| {
        // The constant row is 1, whose power is exact in every library.
        let v = if i == 12 {
            1.0
        } else {
            ((i * 7 + j * 3) % 11) as f64 * 1.5
        };
        S::cast(v)
    });
    let net = Network::<S>::builder(5)
        .hidden(6, Activation::Relu)
        .output(3, Loss::CategoricalCrossEntropy)
        .bias_init(backprop::BiasInit::Gaussian)
        .seed(20)
        .build()
        .unwrap();
    let scaler = Scaler::builder(Scaling::Standard)
        .power(0.6)
        .standardize_samples(true)
        .fit(x.view())
        .unwrap();
    (SavedModel::new(net).with_scaler(scaler).unwrap(), x)
}

const NUMPY_FORWARD: &str = r#"
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
path, xpath, outpath = sys.argv[1:4]
with safe_open(path, "np") as f:
    meta = f.metadata()
t = load_file(path)
sizes = json.loads(meta["sizes"])
acts = json.loads(meta["activations"])
a = np.load(xpath).astype(np.float64)
if "scaler" in meta:
    s = json.loads(meta["scaler"])
    if "power" in s:
        a = a ** s["power"]
    if s.get("standardize_samples", False):
        c = a - a.mean(axis=1, keepdims=True)
        sd = np.sqrt((c * c).mean(axis=1, keepdims=True))
        a = c / np.where(sd > 0, sd, 1)
    a = (a - np.array(s["shift"])) / np.array(s["scale"])
g = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
     "logistic": lambda z: 1 / (1 + np.exp(-z)), "identity": lambda z: z}
L = len(sizes) - 1
assert sorted(t) == sorted(f"{2*l}.{p}" for l in range(L) for p in ("weight", "bias"))
for l in range(L):
    W, b = t[f"{2*l}.weight"], t[f"{2*l}.bias"]
    assert W.shape == (sizes[l + 1], sizes[l]), W.shape
    z = a @ W.astype(np.float64).T + b
    a = g[acts[l]](z) if l < L - 1 else z
out = meta["output_activation"]
if out == "softmax":
    e = np.exp(a - a.max(axis=1, keepdims=True))
    a = e / e.sum(axis=1, keepdims=True)
elif out == "logistic":
    a = 1 / (1 + np.exp(-a))
np.save(outpath, a.astype(t["0.weight"].dtype))
"#;

fn safetensors_read_by_numpy<S: Scalar>(tol: f64) {
    let Some(py) = python(&["numpy", "safetensors"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, out) = (
        dir.path().join("m.safetensors"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    for (model, input) in models::<S>() {
        model.save(&m).unwrap();
        write_npy(&x, input.view()).unwrap();
        run(py, NUMPY_FORWARD, &[&m, &x, &out]);
        let y: Array2<S> = read_npy(&out).unwrap();
        let want = model.predict(input.view()).unwrap();
        assert_close(y.view(), want.view(), tol, model.network.loss().name());
    }
}

#[test]
fn safetensors_f32_read_by_numpy() {
    safetensors_read_by_numpy::<f32>(F32_TOL);
}

#[test]
fn safetensors_f64_read_by_numpy() {
    safetensors_read_by_numpy::<f64>(F64_TOL);
}

const ONNX_RUN: &str = r#"
import sys
import numpy as np
import onnx
import onnxruntime as ort
path, xpath, outpath = sys.argv[1:4]
onnx.checker.check_model(onnx.load(path), full_check=True)
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
np.save(outpath, s.run(["output"], {"input": np.load(xpath)})[0])
"#;

fn onnx_read_by_onnxruntime<S: Scalar>(tol: f64) {
    let Some(py) = python(&["numpy", "onnx", "onnxruntime"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, out) = (
        dir.path().join("m.onnx"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    for (model, input) in models::<S>() {
        export_onnx(&m, &model).unwrap();
        write_npy(&x, input.view()).unwrap();
        run(py, ONNX_RUN, &[&m, &x, &out]);
        let y: Array2<S> = read_npy(&out).unwrap();
        let want = model.predict(input.view()).unwrap();
        assert_close(y.view(), want.view(), tol, model.network.loss().name());
    }
}

#[test]
fn onnx_f32_run_by_onnxruntime() {
    onnx_read_by_onnxruntime::<f32>(F32_TOL);
}

#[test]
fn onnx_f64_run_by_onnxruntime() {
    onnx_read_by_onnxruntime::<f64>(F64_TOL);
}

/// Writes a 4-16-3 network with the names PyTorch's `state_dict()` gives an
/// `nn.Sequential(Linear, ReLU, Linear)` (no metadata), its input and its
/// numpy softmax outputs.
const PYTHON_WRITES: &str = r#"
import sys
import numpy as np
from safetensors.numpy import save_file
path, xpath, ypath, dtype = sys.argv[1:5]
dt = np.float32 if dtype == "f32" else np.float64
rng = np.random.default_rng(42)
t = {"0.weight": rng.normal(size=(16, 4)), "0.bias": rng.normal(size=16),
     "2.weight": rng.normal(size=(3, 16)), "2.bias": rng.normal(size=3)}
t = {k: v.astype(dt) for k, v in t.items()}
save_file(t, path)
x = rng.normal(size=(9, 4)).astype(dt)
z = np.maximum(x.astype(np.float64) @ t["0.weight"].T + t["0.bias"], 0) @ t["2.weight"].T + t["2.bias"]
e = np.exp(z - z.max(axis=1, keepdims=True))
np.save(xpath, x)
np.save(ypath, (e / e.sum(axis=1, keepdims=True)).astype(dt))
"#;

fn python_written_safetensors<S: Scalar>(tol: f64) {
    let Some(py) = python(&["numpy", "safetensors"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, y) = (
        dir.path().join("torch.safetensors"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    let dtype = Path::new(S::NAME);
    run(py, PYTHON_WRITES, &[&m, &x, &y, dtype]);
    let opts = LoadOptions::new()
        .activations(vec![Activation::Relu])
        .loss(Loss::CategoricalCrossEntropy);
    let model = SavedModel::<S>::load_with(&m, &opts).unwrap();
    assert_eq!(model.network.sizes(), &[4, 16, 3]);
    let x: Array2<S> = read_npy(&x).unwrap();
    let want: Array2<S> = read_npy(&y).unwrap();
    let got = model.predict(x.view()).unwrap();
    assert_close(want.view(), got.view(), tol, "python-written file");
}

#[test]
fn python_written_safetensors_f32() {
    python_written_safetensors::<f32>(F32_TOL);
}

#[test]
fn python_written_safetensors_f64() {
    python_written_safetensors::<f64>(F64_TOL);
}

const TORCH_LOAD: &str = r#"
import sys, json
import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
path, xpath, outpath = sys.argv[1:4]
with safe_open(path, "pt") as f:
    meta = f.metadata()
sizes, acts = json.loads(meta["sizes"]), json.loads(meta["activations"])
mods = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "logistic": torch.nn.Sigmoid, "identity": torch.nn.Identity}
layers = []
for l in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[l], sizes[l + 1]))
    if l < len(sizes) - 2:
        layers.append(mods[acts[l]]())
net = torch.nn.Sequential(*layers)
net.load_state_dict(load_file(path))  # strict: every name and shape must match
x = torch.from_numpy(np.load(xpath)).float()
if "scaler" in meta:
    s = json.loads(meta["scaler"])
    if "power" in s:
        x = x ** s["power"]
    if s.get("standardize_samples", False):
        c = x - x.mean(dim=1, keepdim=True)
        sd = c.pow(2).mean(dim=1, keepdim=True).sqrt()
        x = c / torch.where(sd > 0, sd, torch.ones_like(sd))
    x = (x - torch.tensor(s["shift"])) / torch.tensor(s["scale"])
with torch.no_grad():
    z = net(x)
out = meta["output_activation"]
if out == "softmax":
    z = torch.softmax(z, dim=1)
elif out == "logistic":
    z = torch.sigmoid(z)
np.save(outpath, z.numpy())
"#;

/// PyTorch's `load_state_dict` on a saved f32 model; skipped unless torch is
/// installed (it is too large to install for CI).
#[test]
fn torch_sequential_loads_state_dict() {
    let Some(py) = python(&["numpy", "safetensors", "torch"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, out) = (
        dir.path().join("m.safetensors"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    for (model, input) in models::<f32>() {
        model.save(&m).unwrap();
        write_npy(&x, input.view()).unwrap();
        run(py, TORCH_LOAD, &[&m, &x, &out]);
        let y: Array2<f32> = read_npy(&out).unwrap();
        let want = model.predict(input.view()).unwrap();
        assert_close(y.view(), want.view(), F32_TOL, model.network.loss().name());
    }
}

/// The `backprop` program, run with `args`; fails the test unless it
/// succeeds. Returns its standard output.
fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "backprop {args:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The accuracy in percent that `backprop eval` prints on its `data` row.
fn eval_accuracy(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("data"))
        .unwrap_or_else(|| panic!("no `data` row in:\n{out}"));
    let cell = line.split_whitespace().nth(3).unwrap();
    cell.trim_end_matches('%').parse().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Writes, with numpy only, a metadata-free F16 safetensors file with the
/// names of `nn.Sequential(Linear(6, 12), Tanh(), Linear(12, 8), ReLU(),
/// Linear(8, 4))`, a labelled CSV test set, its features as NPY (f32), the
/// float64 softmax probabilities computed from the F16 weights, and the
/// accuracy (%) of their argmax.
const NUMPY_WRITES_F16: &str = r#"
import sys
import numpy as np
from safetensors.numpy import save_file
path, csvpath, xpath, ypath, accpath = sys.argv[1:6]
rng = np.random.default_rng(7)
sizes = [6, 12, 8, 4]
t = {}
for l in range(3):
    t[f"{2*l}.weight"] = (rng.normal(size=(sizes[l + 1], sizes[l])) / np.sqrt(sizes[l])).astype(np.float16)
    t[f"{2*l}.bias"] = rng.normal(scale=0.1, size=sizes[l + 1]).astype(np.float16)
save_file(t, path)
x = rng.normal(size=(40, 6)).astype(np.float32)
a = x.astype(np.float64)
for l, g in enumerate([np.tanh, lambda z: np.maximum(z, 0), lambda z: z]):
    a = g(a @ t[f"{2*l}.weight"].astype(np.float64).T + t[f"{2*l}.bias"].astype(np.float64))
e = np.exp(a - a.max(axis=1, keepdims=True))
prob = e / e.sum(axis=1, keepdims=True)
labels = rng.integers(0, 4, size=40)
np.save(xpath, x)
np.save(ypath, prob)
with open(csvpath, "w") as f:
    f.write(",".join(f"f{j}" for j in range(6)) + ",label\n")
    for row, lab in zip(x, labels):
        f.write(",".join(f"{v:.9g}" for v in row) + f",{lab}\n")
with open(accpath, "w") as f:
    f.write(repr(100.0 * float(np.mean(prob.argmax(axis=1) == labels))))
"#;

/// A metadata-free half-precision file written by numpy (as PyTorch users
/// save them), through `backprop info`, `predict`, `eval` and `export-onnx`
/// with `--activation tanh,relu --loss softmax-ce`; the ONNX file is run by
/// onnxruntime. Needs no torch, so CI runs it.
#[test]
fn cli_reads_numpy_written_f16_file_and_exports_onnx() {
    let Some(py) = python(&["numpy", "safetensors", "onnx", "onnxruntime"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    let (m, csv, x, y, acc) = (
        f("m.safetensors"),
        f("t.csv"),
        f("x.npy"),
        f("y.npy"),
        f("acc"),
    );
    run(py, NUMPY_WRITES_F16, &[&m, &csv, &x, &y, &acc]);
    let flags = ["--activation", "tanh,relu", "--loss", "softmax-ce"];
    let with = |args: &[&str]| -> String {
        let mut v = args.to_vec();
        v.extend(flags);
        cli(&v)
    };

    let out = cli(&["info", p(&m)]);
    assert!(out.contains("cannot be built"), "{out}");
    assert!(out.contains("0.weight  F16    (12, 6)"), "{out}");
    let out = with(&["info", p(&m)]);
    assert!(
        out.contains("6-12-8-4") && out.contains("tanh, relu"),
        "{out}"
    );

    // F16 weights converted exactly: f32 arithmetic against numpy's f64.
    let want: Array2<f64> = read_npy(&y).unwrap();
    let pred = f("p.npy");
    with(&["predict", p(&m), p(&x), "-o", p(&pred)]);
    let got: Array2<f64> = read_npy(&pred).unwrap();
    assert_close(got.view(), want.view(), F32_TOL, "F16 file, predict");

    let out = with(&["eval", p(&m), p(&csv)]);
    let numpy_acc: f64 = std::fs::read_to_string(&acc).unwrap().parse().unwrap();
    assert!(
        (eval_accuracy(&out) - numpy_acc).abs() < 1e-9,
        "{out}\nnumpy: {numpy_acc}"
    );

    let onnx = f("m.onnx");
    with(&["export-onnx", p(&m), "-o", p(&onnx)]);
    let ort = f("ort.npy");
    run(py, ONNX_RUN, &[&onnx, &x, &ort]);
    let got: Array2<f64> = read_npy(&ort).unwrap();
    assert_close(got.view(), want.view(), F32_TOL, "F16 file, onnxruntime");
}

/// Trains nothing: builds a seeded `nn.Sequential` in PyTorch, saves its
/// `state_dict()` with `safetensors.torch.save_file` in F32, F16 and BF16,
/// and writes the float64 softmax probabilities of each (from the weights as
/// stored), the features (NPY and a labelled CSV) and the accuracy (%).
const TORCH_SAVES: &str = r#"
import copy, sys
import numpy as np
import torch
from safetensors.torch import save_file
out = sys.argv[1]
torch.manual_seed(3)
net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8),
                          torch.nn.ReLU(), torch.nn.Linear(8, 4))
x = torch.randn(50, 6)
labels = torch.randint(0, 4, (50,))
np.save(f"{out}/x.npy", x.numpy())
with open(f"{out}/t.csv", "w") as f:
    f.write(",".join(f"f{j}" for j in range(6)) + ",label\n")
    for row, lab in zip(x.numpy(), labels.numpy()):
        f.write(",".join(f"{v:.9g}" for v in row) + f",{lab}\n")
for name, dtype in [("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16)]:
    sd = {k: v.to(dtype) for k, v in net.state_dict().items()}
    save_file(sd, f"{out}/{name}.safetensors")
    ref = copy.deepcopy(net).double()
    ref.load_state_dict({k: v.double() for k, v in sd.items()})
    with torch.no_grad():
        prob = torch.softmax(ref(x.double()), dim=1)
    np.save(f"{out}/{name}.npy", prob.numpy())
    with open(f"{out}/{name}.acc", "w") as f:
        f.write(repr(100.0 * float((prob.argmax(dim=1) == labels).double().mean())))
"#;

/// PyTorch to the command line: a `state_dict` saved by
/// `safetensors.torch.save_file` (F32, F16 and BF16) is listed by `info`,
/// scored by `eval`, run by `predict` and exported by `export-onnx` with
/// `--activation relu --loss softmax-ce`, agreeing with PyTorch (and
/// onnxruntime). Skipped unless torch is installed (CI does not install it;
/// the numpy variant above runs there).
#[test]
fn torch_state_dict_through_the_cli() {
    let Some(py) = python(&["numpy", "safetensors", "torch", "onnx", "onnxruntime"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    run(py, TORCH_SAVES, &[dir.path()]);
    let flags = ["--activation", "relu", "--loss", "softmax-ce"];
    let with = |args: &[&str]| -> String {
        let mut v = args.to_vec();
        v.extend(flags);
        cli(&v)
    };
    for name in ["f32", "f16", "bf16"] {
        let m = f(&format!("{name}.safetensors"));
        let out = cli(&["info", p(&m)]);
        assert!(
            out.contains("cannot be built") && out.contains("4.weight"),
            "{out}"
        );
        let out = with(&["info", p(&m)]);
        assert!(out.contains("6-16-8-4"), "{out}");

        let want: Array2<f64> = read_npy(f(&format!("{name}.npy"))).unwrap();
        let pred = f("p.npy");
        with(&["predict", p(&m), p(&f("x.npy")), "-o", p(&pred)]);
        let got: Array2<f64> = read_npy(&pred).unwrap();
        assert_close(
            got.view(),
            want.view(),
            F32_TOL,
            &format!("torch {name}, predict"),
        );

        let out = with(&["eval", p(&m), p(&f("t.csv"))]);
        let acc = std::fs::read_to_string(f(&format!("{name}.acc"))).unwrap();
        assert!(
            (eval_accuracy(&out) - acc.parse::<f64>().unwrap()).abs() < 1e-9,
            "{out}\ntorch: {acc}"
        );

        let onnx = f("m.onnx");
        with(&["export-onnx", p(&m), "-o", p(&onnx)]);
        let ort = f("ort.npy");
        run(py, ONNX_RUN, &[&onnx, &f("x.npy"), &ort]);
        let got: Array2<f64> = read_npy(&ort).unwrap();
        assert_close(
            got.view(),
            want.view(),
            F32_TOL,
            &format!("torch {name}, onnxruntime"),
        );
    }
}

/// Writes, with numpy, a `state_dict`-named file whose metadata carries the
/// keys the README tells PyTorch users to add (`activations`, `loss`,
/// `class_labels`, `scaler`, `scaler_formula`), its raw input, and the
/// float64 probabilities computed with the scaler applied.
const NUMPY_WRITES_WITH_METADATA: &str = r#"
import json, sys
import numpy as np
from safetensors.numpy import save_file
path, xpath, ypath = sys.argv[1:4]
rng = np.random.default_rng(11)
t = {"0.weight": rng.normal(size=(5, 3)), "0.bias": rng.normal(size=5),
     "2.weight": rng.normal(size=(4, 5)), "2.bias": rng.normal(size=4)}
t = {k: v.astype(np.float32) for k, v in t.items()}
shift, scale = [0.0, 1.0, -2.0], [255.0, 2.0, 0.5]
save_file(t, path, metadata={
    "activations": json.dumps(["relu"]),
    "loss": "categorical-cross-entropy",
    "class_labels": json.dumps(["a", "b", "c", "d"]),
    "scaler": json.dumps({"scaling": "min-max", "shift": shift, "scale": scale}),
    "scaler_formula": "(x - shift) / scale",
})
x = (rng.normal(size=(7, 3)) * 50).astype(np.float32)
a = (x.astype(np.float64) - np.array(shift)) / np.array(scale)
a = np.maximum(a @ t["0.weight"].astype(np.float64).T + t["0.bias"], 0)
z = a @ t["2.weight"].astype(np.float64).T + t["2.bias"]
e = np.exp(z - z.max(axis=1, keepdims=True))
np.save(xpath, x)
np.save(ypath, e / e.sum(axis=1, keepdims=True))
"#;

/// A PyTorch-style file with the README's metadata keys needs no flags:
/// `info` shows the scaler and classes, `predict` applies the scaler, and
/// `--scaling none` leaves it out.
#[test]
fn readme_metadata_keys_need_no_flags() {
    let Some(py) = python(&["numpy", "safetensors"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    let (m, x, y) = (f("m.safetensors"), f("x.npy"), f("y.npy"));
    run(py, NUMPY_WRITES_WITH_METADATA, &[&m, &x, &y]);
    let out = cli(&["info", p(&m)]);
    assert!(out.contains("3-5-4") && out.contains("a, b, c, d"), "{out}");
    assert!(
        out.contains("min-max over 3 features, x' = (x - shift) / scale"),
        "{out}"
    );
    let pred = f("p.npy");
    cli(&["predict", p(&m), p(&x), "-o", p(&pred)]);
    let want: Array2<f64> = read_npy(&y).unwrap();
    let got: Array2<f64> = read_npy(&pred).unwrap();
    assert_close(got.view(), want.view(), F32_TOL, "metadata from numpy");
    let raw = f("raw.npy");
    cli(&["predict", p(&m), p(&x), "-o", p(&raw), "--scaling", "none"]);
    let unscaled: Array2<f64> = read_npy(&raw).unwrap();
    assert!(
        unscaled
            .iter()
            .zip(want.iter())
            .any(|(a, b)| (a - b).abs() > 1e-3),
        "--scaling none must change the outputs"
    );
}

/// A network with dropout on some hidden layers (the first and the third,
/// so that the module indices after them shift by one and two), and its
/// input.
fn dropout_model() -> (SavedModel<f32>, Array2<f32>) {
    let net = Network::<f32>::builder(5)
        .layer(Dense::new(7, Activation::Relu).dropout(0.3))
        .layer(Dense::new(6, Activation::Tanh))
        .layer(Dense::new(4, Activation::Logistic).dropout(0.5))
        .output(3, Loss::CategoricalCrossEntropy)
        .bias_init(backprop::BiasInit::Gaussian)
        .seed(21)
        .build()
        .unwrap();
    let x = Array2::from_shape_fn((13, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 4.0);
    (SavedModel::new(net), x)
}

/// Builds the `nn.Sequential` the metadata's `torch_modules` describe, in
/// numpy: each `Linear` at its list index must find `{i}.weight` and
/// `{i}.bias` of its shape (and nothing else may be in the file), a
/// `Dropout` is the identity at inference.
const NUMPY_MODULES: &str = r#"
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
path, xpath, outpath, n_dropout = sys.argv[1:5]
with safe_open(path, "np") as f:
    meta = f.metadata()
t = load_file(path)
modules = json.loads(meta["torch_modules"])
assert sum(m.startswith("Dropout(") for m in modules) == int(n_dropout), modules
assert json.loads(meta["dropout"]) == [0.3, 0.0, 0.5], meta["dropout"]
a = np.load(xpath).astype(np.float64)
used = set()
for i, m in enumerate(modules):
    if m.startswith("Linear("):
        n_in, n_out = map(int, m[len("Linear("):-1].split(","))
        W, b = t[f"{i}.weight"], t[f"{i}.bias"]
        assert W.shape == (n_out, n_in) and b.shape == (n_out,), (i, W.shape)
        used |= {f"{i}.weight", f"{i}.bias"}
        a = a @ W.astype(np.float64).T + b
    elif m == "ReLU()": a = np.maximum(a, 0)
    elif m == "Tanh()": a = np.tanh(a)
    elif m == "Sigmoid()": a = 1 / (1 + np.exp(-a))
    elif m.startswith("Dropout("): assert 0 < float(m[len("Dropout(p="):-1]) < 1, m
    elif m == "Softmax(dim=1)":
        e = np.exp(a - a.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
    else: raise AssertionError(f"unknown module {m}")
assert used == set(t), sorted(set(t) - used)
np.save(outpath, a.astype(np.float32))
"#;

#[test]
fn dropout_model_modules_read_by_numpy() {
    let Some(py) = python(&["numpy", "safetensors"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, out) = (
        dir.path().join("m.safetensors"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    let (model, input) = dropout_model();
    model.save(&m).unwrap();
    write_npy(&x, input.view()).unwrap();
    run(py, NUMPY_MODULES, &[&m, &x, &out, Path::new("2")]);
    let y: Array2<f32> = read_npy(&out).unwrap();
    let want = model.predict(input.view()).unwrap();
    assert_close(y.view(), want.view(), F32_TOL, "dropout model");
}

/// `torch.nn.Sequential` built from the metadata's `torch_modules`, with
/// its `nn.Dropout` modules, loads the file strictly; in `eval()` mode
/// (dropout off) its outputs are `predict`'s.
const TORCH_MODULES: &str = r#"
import json, sys
import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file
path, xpath, outpath = sys.argv[1:4]
with safe_open(path, "pt") as f:
    meta = f.metadata()
modules = [eval("torch.nn." + m) for m in json.loads(meta["torch_modules"])]
assert sum(isinstance(m, torch.nn.Dropout) for m in modules) == 2, modules
net = torch.nn.Sequential(*modules)
net.load_state_dict(load_file(path))  # strict: every name and shape must match
net.eval()
with torch.no_grad():
    z = net(torch.from_numpy(np.load(xpath)).float())
np.save(outpath, z.numpy())
"#;

/// PyTorch loads a dropout model into the `nn.Sequential` with
/// `nn.Dropout` that its metadata lists; skipped unless torch is installed.
#[test]
fn torch_sequential_with_dropout_loads_state_dict() {
    let Some(py) = python(&["numpy", "safetensors", "torch"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (m, x, out) = (
        dir.path().join("m.safetensors"),
        dir.path().join("x.npy"),
        dir.path().join("y.npy"),
    );
    let (model, input) = dropout_model();
    model.save(&m).unwrap();
    write_npy(&x, input.view()).unwrap();
    run(py, TORCH_MODULES, &[&m, &x, &out]);
    let y: Array2<f32> = read_npy(&out).unwrap();
    let want = model.predict(input.view()).unwrap();
    assert_close(y.view(), want.view(), F32_TOL, "torch dropout model");
}

/// Dropout is a training-time operation: the ONNX export of a dropout
/// model has no Dropout node and gives the outputs of the same weights
/// without dropout, bit for bit.
const ONNX_NO_DROPOUT: &str = r#"
import sys
import numpy as np
import onnx
import onnxruntime as ort
a, b, xpath = sys.argv[1:4]
x = np.load(xpath)
outs = []
for path in (a, b):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    assert all(n.op_type != "Dropout" for n in m.graph.node)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs.append(s.run(["output"], {"input": x})[0])
assert np.array_equal(outs[0], outs[1])
"#;

#[test]
fn onnx_output_unchanged_by_dropout() {
    let Some(py) = python(&["numpy", "onnx", "onnxruntime"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (with, without, x) = (
        dir.path().join("with.onnx"),
        dir.path().join("without.onnx"),
        dir.path().join("x.npy"),
    );
    let (model, input) = dropout_model();
    let net = &model.network;
    let plain = Network::from_params(
        net.sizes(),
        net.activations(),
        net.loss(),
        net.params().to_vec(),
    )
    .unwrap();
    export_onnx(&with, &model).unwrap();
    export_onnx(&without, &SavedModel::new(plain)).unwrap();
    write_npy(&x, input.view()).unwrap();
    run(py, ONNX_NO_DROPOUT, &[&with, &without, &x]);
}
