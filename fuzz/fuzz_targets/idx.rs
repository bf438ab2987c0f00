//! The IDX readers (raw or gzip): every input is an `Ok` whose shape matches
//! its values, or an `Err`; never a panic or an allocation the file cannot
//! back.
#![no_main]

use std::sync::LazyLock;

use backprop::io::{read_idx, read_idx_features, read_idx_labels};
use backprop_fuzz::{Scratch, assert_finite};
use libfuzzer_sys::fuzz_target;

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("idx"));

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    if let Ok(a) = read_idx::<f64>(path) {
        assert_finite(a.iter());
    }
    if let Ok(x) = read_idx_features::<f32>(path) {
        assert!(x.iter().all(|v| v.is_finite()));
    }
    let _ = read_idx_labels(path);
});
