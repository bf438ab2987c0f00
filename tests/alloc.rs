//! After the first step, forward + backward + update + prediction allocate
//! nothing, with and without dropout (whose masks are drawn into the
//! workspace) and label smoothing: counted by a global allocator (`common/counting_alloc.rs`) that
//! tallies every allocation made through Rust's allocator by any thread (the
//! caller's and the elementwise pool's). The file runs without libtest, so no
//! other thread of the test process allocates meanwhile.

use backprop::{Activation, Dense, Loss, Network, Optimizer, Sgd, Targets};
use ndarray::Array2;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations_in;

fn steps(sizes: &[usize], batch: usize, steps: usize) -> u64 {
    steps_with(sizes, batch, steps, 0.0)
}

/// As [`steps`], every hidden layer with dropout rate `p`, the loss with
/// label smoothing when `p` > 0, and max-norm after each step.
fn steps_with(sizes: &[usize], batch: usize, steps: usize, p: f64) -> u64 {
    let mut b = Network::<f32>::builder(sizes[0]);
    for &n in &sizes[1..sizes.len() - 1] {
        b = b.layer(Dense::new(n, Activation::Relu).dropout(p));
    }
    let k = *sizes.last().unwrap();
    let mut net = b
        .output(k, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap();
    let x = Array2::from_shape_fn((batch, sizes[0]), |(i, j)| {
        ((i * 31 + j * 7) % 13) as f32 / 13.0
    });
    let labels: Vec<usize> = (0..batch).map(|i| i % k).collect();
    let mut ws = net.workspace(batch);
    if p > 0.0 {
        ws.set_label_smoothing(0.1).unwrap();
    }
    let mut pred_ws = net.inference_workspace(batch);
    let mut out = Array2::zeros((batch, k));
    let mut classes = vec![0; batch];
    let mut sgd = Sgd::default();
    let mut step = |net: &mut Network<f32>| {
        net.compute_gradient(&mut ws, x.view(), Targets::Classes(&labels), 1e-4)
            .unwrap();
        sgd.step(net, ws.gradient(), 0.01).unwrap();
        if p > 0.0 {
            net.apply_max_norm(3.0);
        }
        net.predict_into(&mut pred_ws, x.view(), out.view_mut())
            .unwrap();
        net.predict_classes_into(&mut pred_ws, x.view(), &mut classes)
            .unwrap();
    };
    step(&mut net); // warm-up: BLAS and the thread pool initialize here
    allocations_in(|| {
        for _ in 0..steps {
            step(&mut net);
        }
    })
    .1
}

fn steps_allocate_nothing_after_warm_up() {
    // Sequential elementwise passes, any entry point.
    backprop::parallel::set_num_threads(1).unwrap();
    assert_eq!(steps(&[37, 29, 11], 16, 20), 0);
    assert_eq!(steps(&[300, 1100, 10], 64, 20), 0);
    assert_eq!(steps_with(&[37, 29, 17, 11], 16, 20, 0.3), 0);
    assert_eq!(steps_with(&[300, 1100, 10], 64, 20, 0.5), 0);

    // Two threads, every elementwise pass sent to the pool, loop inside
    // `install`.
    backprop::parallel::set_num_threads(2).unwrap();
    backprop::parallel::set_min_parallel_len(0);
    // Once untimed, so the new pool's threads finish starting up (they
    // allocate their own bookkeeping) before anything is counted.
    backprop::parallel::install(|| steps(&[300, 1100, 10], 64, 1));
    let n = backprop::parallel::install(|| steps(&[300, 1100, 10], 64, 20));
    assert_eq!(n, 0);
    let n = backprop::parallel::install(|| steps_with(&[300, 1100, 10], 64, 20, 0.5));
    assert_eq!(n, 0);
    // Products below 2²⁰ multiply-adds (here 64·10·1100 and 64·1100·10, not
    // 64·1100·300) switched to one BLAS thread around each call.
    backprop::parallel::set_min_parallel_gemm(1 << 20);
    let n = backprop::parallel::install(|| steps(&[300, 1100, 10], 64, 20));
    assert_eq!(n, 0);
    backprop::parallel::set_min_parallel_gemm(0);
}

/// Runs without libtest (`harness = false` in Cargo.toml): the harness's own
/// threads would allocate while the global counter is on.
fn main() {
    if cfg!(not(any(feature = "openblas", feature = "blis"))) {
        // matrixmultiply, the pure-Rust fallback GEMM, allocates its packing
        // buffers on every call; the guarantee is the BLAS backends'.
        println!(
            "test steps_allocate_nothing_after_warm_up ... skipped: built without a BLAS feature"
        );
        println!("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        return;
    }
    steps_allocate_nothing_after_warm_up();
    println!("test steps_allocate_nothing_after_warm_up ... ok");
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}
