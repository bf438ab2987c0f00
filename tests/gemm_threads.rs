//! Products below `parallel::min_parallel_gemm` run on one BLAS thread:
//! results are those of the configured thread count, and the count is back
//! after every call. One test in this binary, so that nothing else changes
//! the process-wide thread settings meanwhile.

use backprop::{Activation, Loss, Network, Targets, parallel};
use ndarray::Array2;

/// Largest relative difference allowed between a gradient computed with
/// some products on one thread and with all on two: the BLASes split a
/// product over rows and columns of C, not over the inner sum, so each entry
/// is the same sum either way; the margin only covers a BLAS that would.
const TOL: f64 = 1e-12;

#[test]
fn products_below_the_threshold_change_only_the_thread_count() -> backprop::Result<()> {
    assert_eq!(parallel::min_parallel_gemm(), 0, "off by default");
    parallel::set_num_threads(2)?;
    // Per step: forward 64·96·200 ≈ 1.2e6 and 64·10·96 ≈ 6.1e4 multiply-adds,
    // ∂J/∂W 96·200·64 ≈ 1.2e6 and 10·96·64, back-propagated δ 64·96·10, and
    // the bias gradients (matrix-vector, 96·64 and 10·64).
    let net = Network::<f64>::builder(200)
        .hidden(96, Activation::Tanh)
        .output(10, Loss::CategoricalCrossEntropy)
        .seed(5)
        .build()?;
    let x = Array2::from_shape_fn((64, 200), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5
    });
    let y: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let mut ws = net.workspace(64);

    let gradient = |ws: &mut backprop::Workspace<f64>| -> backprop::Result<(f64, Vec<f64>)> {
        let cost = net.compute_gradient(ws, x.view(), Targets::Classes(&y), 1e-3)?;
        Ok((cost, ws.gradient().as_slice().to_vec()))
    };
    let (cost_all, g_all) = gradient(&mut ws)?;
    // Every product on one thread; the small ones only; none again.
    for threshold in [usize::MAX, parallel::PAR_MIN_GEMM, 0] {
        parallel::set_min_parallel_gemm(threshold);
        let (cost, g) = gradient(&mut ws)?;
        assert_eq!(parallel::blas_threads(), 2, "threshold {threshold}");
        assert!((cost - cost_all).abs() <= TOL * cost_all.abs());
        let scale = g_all.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(&g_all) {
            assert!(
                (a - b).abs() <= TOL * scale,
                "threshold {threshold}: {a} vs {b}"
            );
        }
    }
    assert_eq!(parallel::min_parallel_gemm(), 0);
    parallel::set_num_threads(1)
}
