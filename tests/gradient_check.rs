//! Backprop against central differences for every hidden activation × every
//! output head × λ ∈ {0, 0.7}, in f64, on odd shapes on both sides of
//! ndarray's small-matrix GEMM cut-off (7): every dimension ≤ 7 in the small
//! case, every dimension > 7 in the large one.

mod common;

use backprop::{
    Activation, BiasInit, Dense, GradCheck, Loss, Network, Targets, check_gradient,
    check_gradient_in,
};

/// Central differences in f64 with the default ε = 1e-5 agree with backprop to
/// 1e-8…1e-7 on most cases here. The hardest case, logistic hidden layers with
/// the lecture's 4×Glorot weights (partly saturated) under squared error,
/// reaches ~2e-6: there the rounding noise of J(θ+ε) − J(θ−ε) (~1e-10 for
/// J ≈ 12) meets gradient entries ~400× smaller than the layer's largest, and
/// an ε sweep shows the error falling as ε² down to 1.7e-7 at ε = 3e-4 before
/// rounding takes over: the signature of a correct gradient. Any formula error
/// (a missing 1/m, a transposed product, a wrong g′, L2 on a bias) shows up at
/// 1e-2 or worse, so 1e-5 separates the two by three orders of magnitude.
const GRAD_TOL: f64 = 1e-5;

struct Case {
    sizes: &'static [usize],
    m: usize,
}

const SMALL: Case = Case {
    sizes: &[3, 5, 2],
    m: 6,
};
const LARGE: Case = Case {
    sizes: &[17, 9, 11, 13],
    m: 23,
};

fn build(case: &Case, g: Activation, loss: Loss, seed: u64) -> Network<f64> {
    let mut b = Network::<f64>::builder(case.sizes[0]);
    for &n in &case.sizes[1..case.sizes.len() - 1] {
        b = b.hidden(n, g);
    }
    b.output(*case.sizes.last().unwrap(), loss)
        // Non-zero biases so that ∂J/∂b is tested away from the origin.
        .bias_init(BiasInit::Gaussian)
        .seed(seed)
        .build()
        .unwrap()
}

fn run(case: &Case) {
    let k = *case.sizes.last().unwrap();
    let mut seed = 0;
    for g in Activation::ALL {
        for loss in Loss::ALL {
            for lambda in [0.0, 0.7] {
                seed += 1;
                let net = build(case, g, loss, seed);
                let x = common::uniform(case.m, case.sizes[0], -1.0, 1.0, 100 + seed);
                let y = common::dense_targets(loss, case.m, k, 200 + seed);
                let report =
                    check_gradient(&net, x.view(), &y, lambda, &GradCheck::default()).unwrap();
                assert!(
                    report.max_rel_error() < GRAD_TOL,
                    "{g} / {loss} / λ={lambda} on {:?}:\n{report}",
                    case.sizes
                );
                let checked: usize = report
                    .layers
                    .iter()
                    .map(|l| l.checked_weights + l.checked_biases)
                    .sum();
                assert_eq!(checked, net.n_params());
            }
        }
    }
}

#[test]
fn every_activation_loss_and_lambda_small_shapes() {
    run(&SMALL);
}

#[test]
fn every_activation_loss_and_lambda_large_shapes() {
    run(&LARGE);
}

#[test]
fn class_label_targets() {
    for (loss, k) in [
        (Loss::CategoricalCrossEntropy, 4),
        (Loss::BinaryCrossEntropy, 1),
    ] {
        let net = Network::<f64>::builder(9)
            .hidden(8, Activation::Relu)
            .hidden(7, Activation::Logistic)
            .output(k, loss)
            .bias_init(BiasInit::Gaussian)
            .seed(5)
            .build()
            .unwrap();
        let x = common::uniform(11, 9, -1.0, 1.0, 9);
        let labels = common::labels(11, k.max(2), 10);
        let report = check_gradient(
            &net,
            x.view(),
            Targets::Classes(&labels),
            0.3,
            &GradCheck::default(),
        )
        .unwrap();
        assert!(report.max_rel_error() < GRAD_TOL, "{loss}:\n{report}");
    }
}

#[test]
fn no_hidden_layer() {
    for loss in Loss::ALL {
        let net = Network::<f64>::builder(8)
            .output(3, loss)
            .bias_init(BiasInit::Gaussian)
            .seed(2)
            .build()
            .unwrap();
        let x = common::uniform(10, 8, -1.0, 1.0, 3);
        let y = common::dense_targets(loss, 10, 3, 4);
        let report = check_gradient(&net, x.view(), &y, 1.3, &GradCheck::default()).unwrap();
        assert!(report.max_rel_error() < GRAD_TOL, "{loss}:\n{report}");
    }
}

#[test]
fn sampled_check_covers_the_requested_count() {
    let net = build(&LARGE, Activation::Tanh, Loss::SquaredError, 77);
    let x = common::uniform(LARGE.m, 17, -1.0, 1.0, 1);
    let y = common::dense_targets(Loss::SquaredError, LARGE.m, 13, 2);
    let opts = GradCheck {
        max_per_layer: Some(5),
        seed: 9,
        ..GradCheck::default()
    };
    let report = check_gradient(&net, x.view(), &y, 0.0, &opts).unwrap();
    for l in &report.layers {
        assert_eq!(l.checked_weights, 5);
        assert_eq!(l.checked_biases, 5);
    }
    assert!(report.max_rel_error() < GRAD_TOL);
    // Same seed, same sample, same report.
    assert_eq!(
        report,
        check_gradient(&net, x.view(), &y, 0.0, &opts).unwrap()
    );
}

/// Dropout masks drawn by the backprop pass and held for every finite
/// difference (`check_gradient_in`): both sides differentiate the same
/// thinned network, so the tolerance is the one above. Every activation,
/// every head, both shapes; the held mask must change the cost, or the
/// check would not be testing the masked passes.
#[test]
fn dropout_with_the_mask_held_fixed() {
    let mut seed = 500;
    for case in [&SMALL, &LARGE] {
        let k = *case.sizes.last().unwrap();
        for g in Activation::ALL {
            for loss in Loss::ALL {
                seed += 1;
                let mut b = Network::<f64>::builder(case.sizes[0]);
                for &n in &case.sizes[1..case.sizes.len() - 1] {
                    b = b.layer(Dense::new(n, g).dropout(0.4));
                }
                let net = b
                    .output(k, loss)
                    .bias_init(BiasInit::Gaussian)
                    .seed(seed)
                    .build()
                    .unwrap();
                let x = common::uniform(case.m, case.sizes[0], -1.0, 1.0, 100 + seed);
                let y = common::dense_targets(loss, case.m, k, 200 + seed);
                let mut ws = net.workspace(case.m);
                ws.seed_dropout(seed);
                let report =
                    check_gradient_in(&mut ws, &net, x.view(), &y, 0.7, &GradCheck::default())
                        .unwrap();
                assert!(
                    report.max_rel_error() < GRAD_TOL,
                    "{g} / {loss} with dropout on {:?}:\n{report}",
                    case.sizes
                );
                let plain = net
                    .cost(&mut net.workspace(case.m), x.view(), &y, 0.7)
                    .unwrap();
                assert!(
                    (report.cost - plain).abs() > 1e-6,
                    "{g} / {loss}: the mask changed nothing"
                );
            }
        }
    }
}

/// Label smoothing y′ = (1 − ε)·y + ε/K in both J and δᴸ = aᴸ − y′, for the
/// two cross-entropy heads, class labels and dense targets, with and
/// without dropout.
#[test]
fn label_smoothing_on_the_cross_entropy_heads() {
    let mut seed = 900;
    for (loss, k) in [
        (Loss::CategoricalCrossEntropy, 5),
        (Loss::BinaryCrossEntropy, 1),
        (Loss::BinaryCrossEntropy, 4),
    ] {
        for p in [0.0, 0.3] {
            for eps in [0.1, 0.25] {
                seed += 1;
                let net = Network::<f64>::builder(9)
                    .layer(Dense::new(8, Activation::Tanh).dropout(p))
                    .layer(Dense::new(10, Activation::Relu).dropout(p))
                    .output(k, loss)
                    .bias_init(BiasInit::Gaussian)
                    .seed(seed)
                    .build()
                    .unwrap();
                let x = common::uniform(13, 9, -1.0, 1.0, seed);
                let dense = common::dense_targets(loss, 13, k, seed + 1);
                let labels = common::labels(13, k.max(2), seed + 2);
                let targets: Vec<Targets<'_, f64>> = match (loss, k) {
                    (Loss::BinaryCrossEntropy, 4) => vec![(&dense).into()],
                    _ => vec![(&dense).into(), Targets::Classes(&labels)],
                };
                for y in targets {
                    let mut ws = net.workspace(13);
                    ws.set_label_smoothing(eps).unwrap();
                    let report =
                        check_gradient_in(&mut ws, &net, x.view(), y, 0.2, &GradCheck::default())
                            .unwrap();
                    assert!(
                        report.max_rel_error() < GRAD_TOL,
                        "{loss} (k = {k}, p = {p}, ε = {eps}):\n{report}"
                    );
                    let mut plain = net.workspace(13);
                    plain.seed_dropout(0x00D2_0B0E);
                    let unsmoothed = check_gradient_in(
                        &mut plain,
                        &net,
                        x.view(),
                        y,
                        0.2,
                        &GradCheck::default(),
                    )
                    .unwrap();
                    assert!((report.cost - unsmoothed.cost).abs() > 1e-6);
                }
            }
        }
    }
}
