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
/// scaler; inputs of odd size and some negative values.
fn models<S: Scalar>() -> Vec<(SavedModel<S>, Array2<S>)> {
    let x = Array2::from_shape_fn((13, 5), |(i, j)| {
        S::cast(((i * 7 + j * 3) % 11) as f64 - 4.0)
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
                model = model
                    .with_scaler(Scaler::fit(scaling, x.view()).unwrap())
                    .unwrap();
            }
            (model, x.clone())
        })
        .collect()
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
