//! The optimizer updates alone, on the parameters of configuration M
//! (784-512-256-10, N = 535 818) in f32: plain SGD, SGD with momentum,
//! RMSprop, Adam and AdamW, one thread, each step at η = 10⁻⁶ on a fixed
//! gradient of ordinary magnitude. The update is a pass over θ, ∇J and the
//! optimizer's state, so it is bound by memory traffic: the throughput is
//! reported in parameters per second.

use backprop::{
    Activation, AdamConfig, AdamWConfig, Loss, Network, Optimizer, RmspropConfig, SgdConfig,
    Solver, parallel,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

#[path = "common/settings.rs"]
mod settings;

fn updates(c: &mut Criterion) {
    parallel::set_num_threads(1).unwrap();
    let mut group = c.benchmark_group(format!("optimizer/M/{}/1t", settings::BACKEND));
    if std::env::var_os("BACKPROP_BENCH_QUICK").is_some() {
        group
            .sample_size(10)
            .measurement_time(std::time::Duration::from_millis(200));
    }
    let mut net = Network::<f32>::builder(784)
        .hidden(512, Activation::Relu)
        .hidden(256, Activation::Relu)
        .output(10, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap();
    let x = Array2::from_shape_fn((128, 784), |(i, j)| ((i * 7 + j * 3) % 17) as f32 / 17.0);
    let y: Vec<usize> = (0..128).map(|i| i % 10).collect();
    let mut ws = net.workspace(128);
    net.compute_gradient(&mut ws, &x, &y, 0.0).unwrap();
    group.throughput(Throughput::Elements(net.n_params() as u64));
    let solvers: [(&str, Solver); 5] = [
        ("sgd", SgdConfig::default().into()),
        (
            "sgd_momentum",
            SgdConfig {
                momentum: 0.9,
                nesterov: false,
            }
            .into(),
        ),
        ("rmsprop", RmspropConfig::default().into()),
        ("adam", AdamConfig::default().into()),
        ("adamw", AdamWConfig::default().into()),
    ];
    for (name, solver) in solvers {
        let mut opt: Box<dyn Optimizer<f32>> = solver.optimizer().unwrap();
        group.bench_function(name, |b| {
            b.iter(|| opt.step(&mut net, ws.gradient(), 1e-6).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, updates);
criterion_main!(benches);
