#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/: small valid files of
every shape the readers accept (and the two test files of tests/data), so
that the fuzzers start from inputs that pass the header checks.
Run from the repository root: python3 fuzz/make_seeds.py"""
import gzip, json, os, shutil, struct
import numpy as np
from safetensors.numpy import save

root = os.path.join("fuzz", "seeds")
def out(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# CSV
out("csv", "format_v1_train.csv", open("tests/data/format_v1_train.csv", "rb").read())
small = b"x0,x1,label\n1,2,0\n3.5,-4e-3,1\n\n5,6,a\n"
out("csv", "small.csv", small)
out("csv", "small.csv.gz", gzip.compress(small, mtime=0))
out("csv", "quoted.csv", b'"a","b ""q""",label\n"1", 2 ,"cat"\n3,4,"dog"\r\n')
out("csv", "semicolon.csv", b"a;b;c\n1;2;3\n4;5;6\n")
out("csv", "tab.csv", b"label\tf1\tf2\n0\t0.5\t1\n1\t1.5\t2\n")
out("csv", "noheader.csv", b"1,2,3\n4,5,6\n7,8,9\n")

# IDX: magic 0 0 dtype ndim, big-endian dims, big-endian data
def idx(arr, code):
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
imgs = (np.arange(2 * 3 * 3) * 13 % 256).astype(np.uint8).reshape(2, 3, 3)
out("idx", "images-u8.idx", idx(imgs, 0x08))
out("idx", "images-u8.idx.gz", gzip.compress(idx(imgs, 0x08), mtime=0))
out("idx", "labels-u8.idx", idx(np.array([3, 1, 4, 1, 5], np.uint8), 0x08))
out("idx", "i8.idx", idx(np.array([[-1, 2], [3, -4]], np.int8), 0x09))
out("idx", "i16.idx", idx(np.array([[-300, 2], [3, 400]], np.int16), 0x0B))
out("idx", "i32.idx", idx(np.array([7, -8, 9], np.int32), 0x0C))
out("idx", "f32.idx", idx(np.array([[0.5, -1.25]], np.float32), 0x0D))
out("idx", "f64.idx", idx(np.array([[0.5], [2.0]], np.float64), 0x0E))

# NPY
def npy(arr, fortran=False, version=None):
    import io
    b = io.BytesIO()
    if fortran:
        arr = np.asfortranarray(arr)
    if version:
        np.lib.format.write_array(b, arr, version=version)
    else:
        np.save(b, arr)
    return b.getvalue()
m = np.array([[1.0, -2.5, 3.0], [4.0, 5.0, 6.25]])
out("npy", "f64.npy", npy(m))
out("npy", "f32.npy", npy(m.astype(np.float32)))
out("npy", "f32-big.npy", npy(m.astype(">f4")))
out("npy", "f64-fortran.npy", npy(m, fortran=True))
out("npy", "i64-labels.npy", npy(np.array([0, 2, 1, 2], np.int64)))
out("npy", "u8-labels.npy", npy(np.array([1, 0, 3], np.uint8)))
out("npy", "i16.npy", npy(np.array([[-1, 2]], np.int16)))
out("npy", "u16.npy", npy(np.array([[1, 2]], np.uint16)))
out("npy", "bool.npy", npy(np.array([True, False, True])))
out("npy", "f32-v2.npy", npy(m.astype(np.float32), version=(2, 0)))
out("npy", "3d.npy", npy(np.zeros((2, 1, 2), np.float32)))
out("npy", "f64.npy.gz", gzip.compress(npy(m), mtime=0))

# safetensors as PyTorch writes it: no metadata, Linear modules only.
rng = np.random.default_rng(0)
def linear(sizes, dtype, prefix="", step=2):
    t = {}
    for l, (a, b) in enumerate(zip(sizes, sizes[1:])):
        t[f"{prefix}{step * l}.weight"] = rng.standard_normal((b, a)).astype(dtype)
        t[f"{prefix}{step * l}.bias"] = rng.standard_normal(b).astype(dtype)
    return t
out("safetensors", "linear-f32.safetensors", save(linear([3, 2], np.float32)))
out("safetensors", "mlp-f64.safetensors", save(linear([2, 3, 1], np.float64)))
out("safetensors", "prefix.safetensors", save(linear([2, 2, 2, 1], np.float32, "net.")))
out("safetensors", "dropout.safetensors", save(linear([2, 3, 1], np.float32, step=3)))

# Models with every metadata key (the backprop-mlp layout of src/io/model.rs).
out("model", "format_v1_3-4-3-3_tanh.safetensors",
    open("tests/data/format_v1_3-4-3-3_tanh.safetensors", "rb").read())
def model(sizes, acts, loss, head, dtype, scaler=None, labels=None):
    meta = {"format": "backprop-mlp", "format_version": "1",
            "sizes": json.dumps(sizes), "activations": json.dumps(acts),
            "loss": loss, "output_activation": head, "torch_modules": "[]"}
    if scaler:
        meta["scaler"] = json.dumps(scaler)
    if labels:
        meta["class_labels"] = json.dumps(labels)
    return save(linear(sizes, dtype), metadata=meta)
out("model", "regression-f64.safetensors",
    model([2, 3, 1], ["relu"], "squared-error", "identity", np.float64,
          {"scaling": "min-max", "shift": [0.0, 1.0], "scale": [2.0, 3.0]}))
out("model", "binary.safetensors",
    model([1, 2], [], "binary-cross-entropy", "logistic", np.float32))
out("model", "classes.safetensors",
    model([2, 2, 2, 3], ["logistic", "tanh"], "categorical-cross-entropy", "softmax",
          np.float32, None, ["a", "b", "c"]))
