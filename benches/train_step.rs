//! One training step (forward, backward, plain SGD update) per configuration
//! of `common/configs.rs`, f32, in samples/s.
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

fn train_step(c: &mut Criterion) {
    for &threads in configs::THREADS {
        parallel::set_num_threads(threads).expect("thread count is positive");
        let mut group =
            c.benchmark_group(format!("train_step/f32/{}/{threads}t", settings::BACKEND));
        for cfg in configs::selected_configs() {
            let mut net = configs::build(cfg.sizes, cfg.hidden, cfg.loss);
            let x = configs::inputs(cfg.batch, cfg.sizes[0], 1);
            let y = configs::targets(cfg.batch, *cfg.sizes.last().unwrap(), cfg.loss);
            let mut ws = net.workspace(cfg.batch);
            let mut sgd = Sgd::default();
            settings::size_group(&mut group, cfg.big);
            group.throughput(Throughput::Elements(cfg.batch as u64));
            group.bench_function(BenchmarkId::from_parameter(cfg.name), |b| {
                b.iter(|| {
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
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = train_step
}
criterion_main!(benches);
