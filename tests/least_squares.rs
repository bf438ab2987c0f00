//! The linear-regression special case: a network with no hidden layer, an
//! identity output and squared error minimizes (1/2m)·‖Xw + b − y‖², so full-
//! batch gradient descent must land on the least-squares solution.

use backprop::data::Dataset;
use backprop::{LbfgsConfig, Loss, Network, SgdConfig, Trainer};
use ndarray::{Array1, Array2, Axis, concatenate};
use ndarray_linalg::LeastSquaresSvd;

fn problem() -> (Array2<f64>, Array2<f64>, Array1<f64>) {
    let m = 30;
    // Deterministic features in [-1, 1] and a noisy linear target.
    let x = Array2::from_shape_fn((m, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64 / 8.0 - 1.0);
    let noise = Array1::from_shape_fn(m, |i| ((i * 5) % 11) as f64 / 50.0 - 0.1);
    let y = (x.dot(&ndarray::array![1.5, -2.0, 0.5]) + 0.3 + noise).insert_axis(Axis(1));

    // Reference: least squares on [X 1].
    let xa = concatenate![Axis(1), x, Array2::ones((m, 1))];
    let reference = xa.least_squares(&y.column(0).to_owned()).unwrap().solution;
    (x, y, reference)
}

fn coefficients(net: &Network<f64>) -> [f64; 4] {
    [
        net.weights(0)[[0, 0]],
        net.weights(0)[[0, 1]],
        net.weights(0)[[0, 2]],
        net.biases(0)[0],
    ]
}

#[test]
fn full_batch_descent_finds_the_least_squares_solution() {
    let (x, y, reference) = problem();
    let m = x.nrows();

    let mut net = Network::<f64>::builder(3)
        .output(1, Loss::SquaredError)
        .build()
        .unwrap();
    Trainer::new()
        .solver(SgdConfig {
            momentum: 0.9,
            nesterov: false,
        })
        .learning_rate(0.1)
        .lambda(0.0)
        .batch_size(m)
        .epochs(1500)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let got = coefficients(&net);
    // Heavy-ball descent on this well-conditioned quadratic contracts the
    // error by a fixed factor per step; 1500 steps take it to rounding level,
    // so 1e-9 leaves margin for f64 round-off in the sums.
    const TOL: f64 = 1e-9;
    for (g, r) in got.iter().zip(reference.iter()) {
        assert!((g - r).abs() < TOL, "{got:?} vs {reference}");
    }
}

#[test]
fn lbfgs_finds_the_least_squares_solution() {
    let (x, y, reference) = problem();
    let mut net = Network::<f64>::builder(3)
        .output(1, Loss::SquaredError)
        .build()
        .unwrap();
    let h = Trainer::new()
        .solver(LbfgsConfig::default())
        .lambda(0.0)
        .epochs(100)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let got = coefficients(&net);
    // L-BFGS stops once an iteration lowers J by less than ~2.2e-9 (scipy's
    // and scikit-learn's ftol). Near the minimum J − J* = ½·eᵀHe, so that
    // leaves coefficient errors around 1e-7 here (measured 1.7e-7 after 9
    // iterations); 1e-6 allows for that, not for a wrong answer.
    const TOL: f64 = 1e-6;
    for (g, r) in got.iter().zip(reference.iter()) {
        assert!(
            (g - r).abs() < TOL,
            "{got:?} vs {reference} after {} iterations",
            h.epochs.len()
        );
    }
    assert!(h.epochs.len() < 100, "{} iterations", h.epochs.len());
}
