//! Criterion settings shared by the benches: quick mode for smoke runs, and
//! fewer samples for configurations whose step takes seconds.
#![allow(dead_code)]

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Criterion, SamplingMode};

/// The GEMM backend named in group names.
#[cfg(feature = "openblas")]
pub const BACKEND: &str = "openblas";
/// The GEMM backend named in group names.
#[cfg(feature = "blis")]
pub const BACKEND: &str = "blis";

#[cfg(not(any(feature = "openblas", feature = "blis")))]
pub const BACKEND: &str = "matrixmultiply";

fn quick() -> bool {
    std::env::var("BACKPROP_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Criterion defaults, or a very short run in quick mode. Command-line
/// options (`--sample-size`, `--measurement-time`, a name filter, ...) are
/// applied on top by `criterion_group!`.
pub fn criterion() -> Criterion {
    if quick() {
        Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
            .without_plots()
    } else {
        Criterion::default().without_plots()
    }
}

/// Fewer samples over a longer time, with flat sampling (the same number of
/// iterations per sample), for the big configurations, whose iterations take
/// seconds: criterion's default 100 linearly growing samples would take many
/// minutes each. Quick mode keeps its short settings.
pub fn size_group(group: &mut criterion::BenchmarkGroup<'_, WallTime>, big: bool) {
    if quick() {
        return;
    }
    if big {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(30));
        group.sampling_mode(SamplingMode::Flat);
    } else {
        group.sample_size(50);
        group.measurement_time(Duration::from_secs(5));
        group.sampling_mode(SamplingMode::Auto);
    }
}
