//! The NPY readers: every dtype, byte order and layout the header can claim;
//! an `Ok` or an `Err`, never a panic or an allocation the file cannot back.
#![no_main]

use std::sync::LazyLock;

use backprop::io::{read_npy, read_npy_labels};
use backprop_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;
use ndarray::{Ix1, Ix2, IxDyn};

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("npy"));

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    let _ = read_npy::<f64, IxDyn>(path);
    let _ = read_npy::<f32, Ix2>(path);
    let _ = read_npy::<f64, Ix1>(path);
    let _ = read_npy_labels(path);
});
