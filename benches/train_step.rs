//! One training step (forward + backward + plain SGD update), f32, in
//! samples/s. Backend and thread count are in the group name.

use backprop::{Activation, Loss, Network, Optimizer, Sgd, Targets};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

/// (name, layer sizes, batch): ReLU hidden layers, softmax cross-entropy.
const CONFIGS: &[(&str, &[usize], usize)] = &[
    ("S", &[784, 128, 10], 64),
    ("M", &[784, 512, 256, 10], 128),
    ("L", &[2048, 2048, 2048, 2048, 10], 256),
];

fn train_step(c: &mut Criterion) {
    let threads = std::env::var("BACKPROP_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    backprop::parallel::set_num_threads(threads).unwrap();
    let mut group = c.benchmark_group(format!("train_step/openblas/{threads}t"));
    for &(name, sizes, batch) in CONFIGS {
        let mut b = Network::<f32>::builder(sizes[0]);
        for &n in &sizes[1..sizes.len() - 1] {
            b = b.hidden(n, Activation::Relu);
        }
        let k = *sizes.last().unwrap();
        let mut net = b
            .output(k, Loss::CategoricalCrossEntropy)
            .seed(1)
            .build()
            .unwrap();
        let x = Array2::from_shape_fn((batch, sizes[0]), |(i, j)| {
            ((i * 131 + j * 17) % 256) as f32 / 255.0
        });
        let labels: Vec<usize> = (0..batch).map(|i| i % k).collect();
        let mut ws = net.workspace(batch);
        let mut sgd = Sgd::new(1e-3).unwrap();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| {
                net.compute_gradient(&mut ws, x.view(), Targets::Classes(&labels), 0.0)
                    .unwrap();
                sgd.step(&mut net, ws.gradient()).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
