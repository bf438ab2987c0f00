//! Raw sgemm at every GEMM shape of a training step of L and XL, through the
//! same BLAS call the network makes: the roofline against which step
//! efficiency is judged. Throughput is in FLOP (2·m·n·k per product), so
//! criterion's "elem/s" reads as FLOP/s.
//!
//! The crate's `linalg` module is private; `common/configs.rs` calls
//! ndarray's `general_mat_mul`, which with the `blas` feature (on through the
//! crate's default `openblas` feature) issues the same `cblas_sgemm` with the
//! same transpose flags and leading dimensions.
//!
//! `BACKPROP_BENCH_QUICK=1` measures the shapes of S, M and T instead;
//! `BACKPROP_BENCH_CONFIGS=...` picks configurations by name.

use backprop::parallel;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[path = "common/configs.rs"]
mod configs;
#[path = "common/settings.rs"]
mod settings;

fn gemm(c: &mut Criterion) {
    let selected = configs::selected_configs();
    let big: Vec<configs::Config> = selected.iter().filter(|c| c.big).copied().collect();
    let chosen = if big.is_empty() { selected } else { big };
    let shapes = configs::distinct_gemms(&chosen);
    for &threads in configs::THREADS {
        parallel::set_num_threads(threads).expect("thread count is positive");
        let mut group = c.benchmark_group(format!("sgemm/{}/{threads}t", settings::BACKEND));
        for (name, shape) in &shapes {
            let mut ops = configs::GemmOperands::new(*shape);
            let is_big = chosen.iter().any(|c| c.name == *name && c.big);
            settings::size_group(&mut group, is_big);
            group.throughput(Throughput::Elements(shape.flops() as u64));
            group.bench_function(BenchmarkId::new(*name, shape.label()), |b| {
                b.iter(|| ops.run())
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = gemm
}
criterion_main!(benches);
