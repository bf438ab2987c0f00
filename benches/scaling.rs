//! The lecture's O(N) claim: step time against the parameter count N.
//!
//! - `scaling/width`: three hidden ReLU layers of growing width
//!   (N ≈ 10⁴ … 10⁷), batch 64;
//! - `scaling/depth`: 100-unit tanh layers of growing depth (N ≈ 10⁴ … 10⁷),
//!   batch 64;
//! - `gradient`: the full gradient by backpropagation against central
//!   differences (2N cost evaluations) for N ≈ 10² … 10⁴, batch 16.
//!
//! Throughput is in parameters, so O(N) shows as a flat params/s across N.
//! One thread, so that the curve measures the algorithm rather than how well
//! each size parallelises. `BACKPROP_BENCH_QUICK=1` runs tiny families.

use std::hint::black_box;

use backprop::{Activation, Loss, Optimizer, Sgd, parallel};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

#[path = "common/configs.rs"]
mod configs;
#[path = "common/settings.rs"]
mod settings;

/// Central-difference step in f32 (about ∛ε_f32 scaled to unit inputs); the
/// value only matters for the cost of the loop, not for its accuracy here.
const FD_EPSILON: f32 = 1e-2;

fn step_family(c: &mut Criterion, family: &str, members: Vec<(Vec<usize>, Activation)>) {
    let mut group = c.benchmark_group(format!("scaling/{family}/f32/{}/1t", settings::BACKEND));
    for (sizes, g) in members {
        let loss = Loss::CategoricalCrossEntropy;
        let mut net = configs::build(&sizes, g, loss);
        let b = configs::SCALING_BATCH;
        let x = configs::inputs(b, sizes[0], 3);
        let y = configs::targets(b, *sizes.last().unwrap(), loss);
        let mut ws = net.workspace(b);
        let mut sgd = Sgd::default();
        let n = net.n_params();
        settings::size_group(&mut group, n > 3_000_000);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("N", n), |bench| {
            bench.iter(|| {
                let j = net
                    .compute_gradient(&mut ws, x.view(), y.view(), 0.0)
                    .unwrap();
                sgd.step(&mut net, ws.gradient(), configs::LEARNING_RATE)
                    .unwrap();
                black_box(j)
            })
        });
    }
    group.finish();
}

fn scaling(c: &mut Criterion) {
    parallel::set_num_threads(1).expect("one thread");
    let quick = configs::quick();
    let widths = if quick {
        configs::WIDTH_FAMILY_SMOKE
    } else {
        configs::WIDTH_FAMILY
    };
    let depths = if quick {
        configs::DEPTH_FAMILY_SMOKE
    } else {
        configs::DEPTH_FAMILY
    };
    step_family(
        c,
        "width",
        widths
            .iter()
            .map(|&w| (configs::width_sizes(w), Activation::Relu))
            .collect(),
    );
    step_family(
        c,
        "depth",
        depths
            .iter()
            .map(|&d| (configs::depth_sizes(d), Activation::Tanh))
            .collect(),
    );
}

fn gradient(c: &mut Criterion) {
    parallel::set_num_threads(1).expect("one thread");
    let hs = if configs::quick() {
        configs::FD_FAMILY_SMOKE
    } else {
        configs::FD_FAMILY
    };
    let mut group = c.benchmark_group(format!("gradient/f32/{}/1t", settings::BACKEND));
    // A full central-difference gradient takes up to about a second at
    // N = 10⁴: ten flat samples keep the group to a minute.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    for &h in hs {
        let sizes = configs::fd_sizes(h);
        let loss = Loss::CategoricalCrossEntropy;
        let mut net = configs::build(&sizes, Activation::Tanh, loss);
        let m = configs::FD_BATCH;
        let x = configs::inputs(m, sizes[0], 4);
        let y = configs::targets(m, *sizes.last().unwrap(), loss);
        let n = net.n_params();
        group.throughput(Throughput::Elements(n as u64));
        let mut ws = net.workspace(m);
        group.bench_function(BenchmarkId::new("backprop", n), |bench| {
            bench.iter(|| {
                black_box(
                    net.compute_gradient(&mut ws, x.view(), y.view(), 0.0)
                        .unwrap(),
                )
            })
        });
        let mut ws = net.inference_workspace(m);
        let mut grad = vec![0.0f32; n];
        group.bench_function(BenchmarkId::new("central_differences", n), |bench| {
            bench.iter(|| {
                central_differences(&mut net, &mut ws, &x, &y, &mut grad);
                black_box(grad[0])
            })
        });
    }
    group.finish();
}

/// ∂J/∂θⱼ ≈ (J(θ + ε·1ⱼ) − J(θ − ε·1ⱼ)) / 2ε for every j: 2N forward passes.
fn central_differences(
    net: &mut backprop::Network<f32>,
    ws: &mut backprop::Workspace<f32>,
    x: &ndarray::Array2<f32>,
    y: &configs::OwnedTargets,
    grad: &mut [f32],
) {
    for (j, g) in grad.iter_mut().enumerate() {
        let theta = net.params()[j];
        net.params_mut()[j] = theta + FD_EPSILON;
        let plus = net.cost(ws, x.view(), y.view(), 0.0).unwrap();
        net.params_mut()[j] = theta - FD_EPSILON;
        let minus = net.cost(ws, x.view(), y.view(), 0.0).unwrap();
        net.params_mut()[j] = theta;
        *g = (plus - minus) / (2.0 * FD_EPSILON);
    }
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = scaling, gradient
}
criterion_main!(benches);
