//! The NPY readers: every dtype, byte order and layout the header can claim;
//! an `Ok` with finite values or an `Err`, never a panic or an allocation
//! the file cannot back.
#![no_main]

use std::sync::LazyLock;

use backprop::io::{read_npy, read_npy_labels};
use backprop_fuzz::{Scratch, assert_finite};
use libfuzzer_sys::fuzz_target;
use ndarray::{Ix1, Ix2, IxDyn};

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("npy"));

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    if let Ok(a) = read_npy::<f64, IxDyn>(path) {
        assert_finite(a.iter());
    }
    if let Ok(x) = read_npy::<f32, Ix2>(path) {
        assert!(x.iter().all(|v| v.is_finite()));
    }
    if let Ok(a) = read_npy::<f64, Ix1>(path) {
        assert_finite(a.iter());
    }
    let _ = read_npy_labels(path);
});
