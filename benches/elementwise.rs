//! Where handing elementwise passes to the thread pool starts to pay: the
//! measurement behind `parallel::PAR_MIN_ELEMS`.
//!
//! Two subjects, each with the pool forced on (threshold 0) and off
//! (threshold ∞) at two threads (OpenBLAS and elementwise both at 2):
//! - `sgd_update`: the update θ ← θ − η·g alone over N parameters;
//! - `step`: a whole training step of 256-4096-10 (ReLU, softmax-CE) at
//!   growing batch size, whose bias + ReLU and ⊙ g′ passes cover B·4096
//!   elements, measured right after the GEMMs as in training.
//!
//! Everything runs inside `parallel::install`, as `Trainer::fit` does.

use backprop::{Activation, Loss, Network, Optimizer, Sgd, Targets, parallel};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

/// Parameter counts for the update alone: 2¹²…2²².
const UPDATE_LENS: &[usize] = &[1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22];
/// Batch sizes for the step: hidden passes of B·4096 = 2¹⁴…2²² elements.
#[path = "common/settings.rs"]
mod settings;

const STEP_BATCHES: &[usize] = &[4, 16, 64, 256, 1024];
const MODES: &[(&str, usize)] = &[("pool", 0), ("sequential", usize::MAX)];

fn quick() -> bool {
    std::env::var_os("BACKPROP_BENCH_QUICK").is_some()
}

fn sgd_update(c: &mut Criterion) {
    parallel::set_num_threads(2).unwrap();
    let mut group = c.benchmark_group(format!("elementwise/sgd_update/{}/2t", settings::BACKEND));
    if quick() {
        group
            .sample_size(10)
            .measurement_time(std::time::Duration::from_millis(200));
    }
    for &n in UPDATE_LENS {
        // n − 1 inputs and one output: N = n parameters.
        let mut net = Network::<f32>::builder(n - 1)
            .output(1, Loss::SquaredError)
            .build()
            .unwrap();
        let ws = net.workspace(1);
        let mut sgd = Sgd::default();
        group.throughput(Throughput::Elements(n as u64));
        for &(mode, threshold) in MODES {
            parallel::set_min_parallel_len(threshold);
            group.bench_function(BenchmarkId::new(mode, n), |b| {
                parallel::install(|| b.iter(|| sgd.step(&mut net, ws.gradient(), 1e-6).unwrap()))
            });
        }
    }
    parallel::set_min_parallel_len(parallel::PAR_MIN_ELEMS);
    group.finish();
}

fn step(c: &mut Criterion) {
    parallel::set_num_threads(2).unwrap();
    let mut group = c.benchmark_group(format!(
        "elementwise/step_256-4096-10/{}/2t",
        settings::BACKEND
    ));
    if quick() {
        group
            .sample_size(10)
            .measurement_time(std::time::Duration::from_millis(200));
    }
    for &batch in STEP_BATCHES {
        let mut net = Network::<f32>::builder(256)
            .hidden(4096, Activation::Relu)
            .output(10, Loss::CategoricalCrossEntropy)
            .seed(1)
            .build()
            .unwrap();
        let x = Array2::from_shape_fn((batch, 256), |(i, j)| ((i * 31 + j) % 17) as f32 / 17.0);
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let mut ws = net.workspace(batch);
        let mut sgd = Sgd::default();
        group.throughput(Throughput::Elements((batch * 4096) as u64));
        for &(mode, threshold) in MODES {
            parallel::set_min_parallel_len(threshold);
            group.bench_function(BenchmarkId::new(mode, batch * 4096), |b| {
                parallel::install(|| {
                    b.iter(|| {
                        net.compute_gradient(&mut ws, x.view(), Targets::Classes(&labels), 0.0)
                            .unwrap();
                        sgd.step(&mut net, ws.gradient(), 1e-3).unwrap();
                    })
                })
            });
        }
    }
    parallel::set_min_parallel_len(parallel::PAR_MIN_ELEMS);
    group.finish();
}

criterion_group!(benches, sgd_update, step);
criterion_main!(benches);
