//! The sample-weighted cost J = (1/Σw)·Σ wᵢ J⁽ⁱ⁾ + (λ/2m)·ΣW² and its gradient.

use backprop::{Activation, Loss, Network, Targets};
use ndarray::{Array2, array};

/// Central differences of `cost_weighted` against `compute_gradient_weighted`.
fn check(net: &Network<f64>, x: &Array2<f64>, y: Targets<'_, f64>, w: &[f64], lambda: f64) {
    let m = x.nrows();
    let mut ws = net.workspace(m);
    net.compute_gradient_weighted(&mut ws, x.view(), y, w, lambda)
        .unwrap();
    let analytic = ws.gradient().as_slice().to_vec();
    let mut probe = net.clone();
    // ε = 1e-6 is near the optimum for central differences in f64; 1e-6
    // relative agreement is what the core's own gradient checks use.
    const EPS: f64 = 1e-6;
    const TOL: f64 = 1e-6;
    for (j, &a) in analytic.iter().enumerate() {
        let t = probe.params()[j];
        probe.params_mut()[j] = t + EPS;
        let plus = probe
            .cost_weighted(&mut ws, x.view(), y, w, lambda)
            .unwrap();
        probe.params_mut()[j] = t - EPS;
        let minus = probe
            .cost_weighted(&mut ws, x.view(), y, w, lambda)
            .unwrap();
        probe.params_mut()[j] = t;
        let numeric = (plus - minus) / (2.0 * EPS);
        let rel = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-8);
        assert!(rel < TOL, "param {j}: {a} vs {numeric}");
    }
}

#[test]
fn weighted_gradients_match_finite_differences() {
    let x = Array2::from_shape_fn((5, 3), |(i, j)| ((i * 3 + j * 7) % 5) as f64 / 2.0 - 1.0);
    let w = [0.5, 2.0, 0.0, 1.0, 3.5];
    for loss in Loss::ALL {
        let n_out = if loss == Loss::BinaryCrossEntropy {
            1
        } else {
            3
        };
        let net = Network::<f64>::builder(3)
            .hidden(4, Activation::Tanh)
            .output(n_out, loss)
            .seed(2)
            .build()
            .unwrap();
        let labels = vec![0usize, 1, 0, 1, 1];
        let labels3 = vec![0usize, 2, 1, 1, 2];
        let dense = Array2::from_shape_fn((5, 3), |(i, j)| ((i + j) % 3) as f64 - 0.5);
        match loss {
            Loss::SquaredError => check(&net, &x, Targets::Dense(dense.view()), &w, 0.3),
            Loss::BinaryCrossEntropy => check(&net, &x, Targets::Classes(&labels), &w, 0.3),
            Loss::CategoricalCrossEntropy => check(&net, &x, Targets::Classes(&labels3), &w, 0.3),
        }
    }
}

#[test]
fn integer_weights_equal_repeated_rows() {
    let net = Network::<f64>::builder(2)
        .hidden(3, Activation::Relu)
        .output(2, Loss::CategoricalCrossEntropy)
        .seed(4)
        .build()
        .unwrap();
    let x = array![[0.5, -1.0], [1.0, 2.0]];
    let labels = vec![1usize, 0];
    let mut ws = net.workspace(3);
    let jw = net
        .compute_gradient_weighted(&mut ws, x.view(), &labels, &[2.0, 1.0], 0.0)
        .unwrap();
    let gw = ws.gradient().as_slice().to_vec();
    let x3 = array![[0.5, -1.0], [0.5, -1.0], [1.0, 2.0]];
    let labels3 = vec![1usize, 1, 0];
    let j3 = net
        .compute_gradient(&mut ws, x3.view(), &labels3, 0.0)
        .unwrap();
    // Same sums in a different order: agreement to a few ulps.
    const TOL: f64 = 1e-14;
    assert!((jw - j3).abs() < TOL);
    for (a, b) in gw.iter().zip(ws.gradient().as_slice()) {
        assert!((a - b).abs() < TOL);
    }
}

#[test]
fn unit_weights_equal_the_unweighted_path() {
    let net = Network::<f64>::builder(2)
        .output(1, Loss::SquaredError)
        .seed(1)
        .build()
        .unwrap();
    let x = array![[0.5, -1.0], [1.0, 2.0], [3.0, 0.0]];
    let y = array![[1.0], [0.0], [2.0]];
    let mut ws = net.workspace(3);
    let a = net
        .compute_gradient_weighted(&mut ws, x.view(), &y, &[1.0; 3], 0.1)
        .unwrap();
    let ga = ws.gradient().as_slice().to_vec();
    let b = net.compute_gradient(&mut ws, x.view(), &y, 0.1).unwrap();
    assert_eq!(a, b);
    assert_eq!(ga, ws.gradient().as_slice());
}
