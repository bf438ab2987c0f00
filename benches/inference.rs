//! Forward pass only (`predict_into`) for every configuration of
//! `common/configs.rs` at batches 1, 64 and 1024, on fresh and on converged
//! weights (`common/weights.rs`), f32, in samples/s.
//!
//! `BACKPROP_BENCH_QUICK=1` shortens every measurement and skips L and XL;
//! `BACKPROP_BENCH_CONFIGS=S,M` picks configurations by name.

use std::hint::black_box;

use backprop::parallel;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

#[path = "common/configs.rs"]
mod configs;
#[path = "common/settings.rs"]
mod settings;
#[path = "common/weights.rs"]
mod weights;

use weights::Weights;

fn inference(c: &mut Criterion) {
    for w in Weights::ALL {
        for &threads in configs::THREADS {
            parallel::set_num_threads(threads).expect("thread count is positive");
            let name = format!(
                "inference/f32/{}/{}/{threads}t",
                w.name(),
                settings::BACKEND
            );
            let mut group = c.benchmark_group(name);
            for cfg in configs::selected_configs() {
                let net = weights::network(&cfg, w);
                for &batch in configs::INFERENCE_BATCHES {
                    let x = configs::inputs(batch, cfg.sizes[0], 2);
                    let mut out = Array2::<f32>::zeros((batch, net.n_outputs()));
                    let mut ws = net.inference_workspace(batch);
                    settings::size_group(&mut group, cfg.big);
                    group.throughput(Throughput::Elements(batch as u64));
                    let id = BenchmarkId::new(cfg.name, format!("b{batch}"));
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            net.predict_into(&mut ws, x.view(), out.view_mut()).unwrap();
                            black_box(out[[0, 0]])
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = inference
}
criterion_main!(benches);
