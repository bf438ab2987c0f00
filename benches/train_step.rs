//! One training step (forward, backward, plain SGD update) per configuration
//! of `common/configs.rs`, on fresh and on converged weights
//! (`common/weights.rs`), f32, in samples/s. Converged weights expose the
//! cost of subnormal numbers where the CPU charges for them.
//!
//! `BACKPROP_BENCH_QUICK=1` shortens every measurement and skips L and XL;
//! `BACKPROP_BENCH_CONFIGS=S,M` picks configurations by name.

use backprop::{Optimizer, Sgd, parallel};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "common/configs.rs"]
mod configs;
#[path = "common/settings.rs"]
mod settings;
#[path = "common/weights.rs"]
mod weights;

use weights::Weights;

fn train_step(c: &mut Criterion) {
    for w in Weights::ALL {
        for &threads in configs::THREADS {
            parallel::set_num_threads(threads).expect("thread count is positive");
            let name = format!(
                "train_step/f32/{}/{}/{threads}t",
                w.name(),
                settings::BACKEND
            );
            let mut group = c.benchmark_group(name);
            for cfg in configs::selected_configs() {
                let mut net = weights::network(&cfg, w);
                let batch = weights::task(&cfg, cfg.batch);
                let (x, y) = (batch.x.view(), batch.y.view());
                let mut ws = net.workspace(cfg.batch);
                let mut sgd = Sgd::default();
                settings::size_group(&mut group, cfg.big);
                group.throughput(Throughput::Elements(cfg.batch as u64));
                group.bench_function(BenchmarkId::from_parameter(cfg.name), |b| {
                    b.iter(|| {
                        let j = net.compute_gradient(&mut ws, x, y, 0.0).unwrap();
                        sgd.step(&mut net, ws.gradient(), configs::LEARNING_RATE)
                            .unwrap();
                        black_box(j)
                    })
                });
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = train_step
}
criterion_main!(benches);
