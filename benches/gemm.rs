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
//!
//! The group `sgemm_threads` times every product of a training step of S, M
//! and T at 1 and at 2 BLAS threads, side by side and ordered by work
//! (m·n·k), so that the size above which a second thread pays off can be
//! read off for `parallel::set_min_parallel_gemm`:
//! `cargo bench --bench gemm -- sgemm_threads`.

use std::time::Duration;

use backprop::parallel;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;

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

/// Layer sizes (input first) and batch of S, M and T, as in the
/// training-step benches; restated so that this group stands alone.
const SMALL_CONFIGS: &[(&str, &[usize], usize)] = &[
    ("S", &[784, 128, 10], 64),
    ("M", &[784, 512, 256, 10], 128),
    ("T", &[784, 256, 256, 10], 128),
];

/// Thread counts compared per product.
const THREAD_COUNTS: &[usize] = &[1, 2];

/// One product C (m×n) = op(A)·op(B) of a training step, with the operand
/// layouts the network uses (row-major buffers, W stored n_out×n_in).
struct Product {
    label: String,
    m: usize,
    n: usize,
    k: usize,
    /// A stored k×m, passed transposed.
    trans_a: bool,
    /// B stored n×k, passed transposed.
    trans_b: bool,
}

/// The distinct products of one step of each configuration, smallest work
/// first: per layer Zᵀ = Aᵀ·Wᵀ (`fwd`), ∂J/∂W = Δᵀ·A (`dW`) and, above the
/// first layer, the back-propagated Δ·W (`dX`).
fn step_products() -> Vec<Product> {
    let mut out: Vec<Product> = Vec::new();
    for &(name, sizes, batch) in SMALL_CONFIGS {
        for (l, p) in sizes.windows(2).enumerate() {
            let (n_in, n_out) = (p[0], p[1]);
            let mut shapes = vec![
                ("fwd", batch, n_out, n_in, false, true),
                ("dW", n_out, n_in, batch, true, false),
            ];
            if l > 0 {
                shapes.push(("dX", batch, n_in, n_out, false, false));
            }
            for (op, m, n, k, trans_a, trans_b) in shapes {
                let seen = out
                    .iter()
                    .any(|q| (q.m, q.n, q.k, q.trans_a, q.trans_b) == (m, n, k, trans_a, trans_b));
                if !seen {
                    out.push(Product {
                        label: format!("{op}[{m}x{n}x{k}]-{name}-L{l}"),
                        m,
                        n,
                        k,
                        trans_a,
                        trans_b,
                    });
                }
            }
        }
    }
    out.sort_by_key(|p| p.m * p.n * p.k);
    out
}

fn gemm_threads(c: &mut Criterion) {
    let quick = std::env::var("BACKPROP_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut group = c.benchmark_group(format!("sgemm_threads/{}", settings::BACKEND));
    if !quick {
        // 2 × 21 products: a few seconds each keeps the group to minutes.
        group.sample_size(30);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
    }
    for p in step_products() {
        let fill = |rows, cols| {
            Array2::from_shape_fn((rows, cols), |(i, j)| {
                ((i * 7 + j * 3) % 13) as f32 / 13.0 - 0.5
            })
        };
        let a = if p.trans_a {
            fill(p.k, p.m)
        } else {
            fill(p.m, p.k)
        };
        let b = if p.trans_b {
            fill(p.n, p.k)
        } else {
            fill(p.k, p.n)
        };
        let a = if p.trans_a { a.reversed_axes() } else { a };
        let b = if p.trans_b { b.reversed_axes() } else { b };
        let mut out = Array2::<f32>::zeros((p.m, p.n));
        group.throughput(Throughput::Elements(2 * (p.m * p.n * p.k) as u64));
        for &threads in THREAD_COUNTS {
            parallel::set_num_threads(threads).expect("thread count is positive");
            let id = BenchmarkId::new(
                format!("w{}-{}", p.m * p.n * p.k, p.label),
                format!("{threads}t"),
            );
            // C ← A·B: with a BLAS feature, one cblas_sgemm with the layouts above.
            group.bench_function(id, |bench| {
                bench.iter(|| ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut out))
            });
        }
    }
    group.finish();
    parallel::set_num_threads(1).expect("thread count is positive");
}

criterion_group! {
    name = benches;
    config = settings::criterion();
    targets = gemm, gemm_threads
}
criterion_main!(benches);
