//! Subnormal values (see `backprop::denormal`): flushed to zero inside the
//! GEMMs on every BLAS thread and at their source in the output head, with
//! the caller's floating-point mode left as it was; kept exactly when
//! flushing is switched off.
//!
//! Each test first shows, with flushing off, that its setup really produces
//! subnormals, so that the "none with flushing on" half cannot pass vacuously.

use std::hint::black_box;
use std::sync::Mutex;

use backprop::{Loss, Network, Targets, denormal, parallel};
use ndarray::Array2;

/// The flushing switch is process-wide: tests that flip it run one at a time.
static SWITCH: Mutex<()> = Mutex::new(());

fn subnormals(values: &[f32]) -> usize {
    values
        .iter()
        .filter(|v| **v != 0.0 && v.abs() < f32::MIN_POSITIVE)
        .count()
}

#[test]
fn gemm_products_are_flushed_on_every_blas_thread() -> backprop::Result<()> {
    let _lock = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    // Two BLAS threads, and a GEMM large enough (512³) to be split between
    // them.
    parallel::set_num_threads(2)?;
    // BLAS threads first used without flushing must start flushing, and
    // ones first used while flushing must stop. A fresh calling thread gets
    // the second order whatever this thread did before: BLIS's OpenMP build
    // keeps one team of threads per calling thread, created on its first
    // call, in that call's mode (OpenBLAS's pool and BLIS's pthreads are
    // shared or made per call: the same expectation holds for every backend).
    products_follow_the_switch(false)?;
    std::thread::spawn(|| products_follow_the_switch(true))
        .join()
        .expect("the check on a fresh thread panicked")?;
    parallel::set_num_threads(1)
}

/// Products computed with flushing first `first`, then the other way, then
/// back: each time every output follows the setting.
fn products_follow_the_switch(first: bool) -> backprop::Result<()> {
    // Every output is Σ 512 × 1e-20·1e-21 ≈ 5.1e-39, below f32's smallest
    // normal (1.18e-38).
    let n = 512;
    let mut net = Network::<f32>::builder(n)
        .output(n, Loss::SquaredError)
        .seed(0)
        .build()?;
    net.weights_mut(0).fill(1e-20);
    net.biases_mut(0).fill(0.0);
    let x = Array2::from_elem((n, n), 1e-21f32);
    let check = |flush: bool| -> backprop::Result<Array2<f32>> {
        denormal::set_flush_denormal(flush);
        let out = net.predict(x.view())?;
        if flush {
            assert!(
                out.iter().all(|&v| v == 0.0),
                "a BLAS thread kept subnormals"
            );
        } else {
            // Exact gradual underflow on every thread.
            assert_eq!(subnormals(out.as_slice().unwrap()), n * n);
        }
        Ok(out)
    };
    let before = check(first)?;
    check(!first)?;
    let again = check(first)?;
    assert_eq!(again, before);
    denormal::set_flush_denormal(true);

    // The calling thread's own mode is back to IEEE 754 gradual underflow.
    let product = black_box(1e-20f32) * black_box(1e-21f32);
    assert!(product != 0.0 && product < f32::MIN_POSITIVE);
    Ok(())
}

/// A softmax head as confident as a converged network's: the wrong classes'
/// logits sit 89–97 below the right one's, so their probabilities e^(−89)…
/// e^(−97) are subnormal in f32, and so are δᴸ and ∂J/∂W of the output layer.
fn confident_net() -> backprop::Result<(Network<f32>, Array2<f32>, Vec<usize>)> {
    let mut net = Network::<f32>::builder(4)
        .hidden(8, backprop::Activation::Relu)
        .output(10, Loss::CategoricalCrossEntropy)
        .seed(3)
        .build()?;
    net.weights_mut(1).fill(0.0);
    for (k, b) in net.biases_mut(1).iter_mut().enumerate() {
        *b = if k == 0 { 0.0 } else { -88.0 - k as f32 };
    }
    let x = Array2::from_shape_fn((16, 4), |(i, j)| ((i * 4 + j) % 7) as f32 / 7.0 + 0.5);
    Ok((net, x, vec![0; 16]))
}

#[test]
fn a_confident_head_produces_no_subnormals() -> backprop::Result<()> {
    let _lock = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    let (net, x, y) = confident_net()?;
    let mut ws = net.workspace(x.nrows());

    denormal::set_flush_denormal(false);
    let p_exact = net.predict(x.view())?;
    let cost_exact = net.compute_gradient(&mut ws, x.view(), Targets::Classes(&y), 1e-3)?;
    let g_exact = ws.gradient().as_slice().to_vec();
    assert!(subnormals(p_exact.as_slice().unwrap()) > 0);
    assert!(subnormals(&g_exact) > 0);

    denormal::set_flush_denormal(true);
    let p = net.predict(x.view())?;
    let cost = net.compute_gradient(&mut ws, x.view(), Targets::Classes(&y), 1e-3)?;
    let g = ws.gradient().as_slice();
    assert_eq!(subnormals(p.as_slice().unwrap()), 0);
    assert_eq!(subnormals(g), 0);

    // Only the subnormal range changed.
    assert_eq!(cost, cost_exact);
    for (a, b) in p.iter().zip(&p_exact) {
        assert!((a - b).abs() < f32::MIN_POSITIVE, "{a} vs {b}");
    }
    for (a, b) in g.iter().zip(&g_exact) {
        assert!((a - b).abs() < f32::MIN_POSITIVE, "{a} vs {b}");
    }
    Ok(())
}
