//! Dropout, label smoothing and the max-norm constraint: what each does to
//! a training pass, that inference ignores dropout, determinism under a
//! seed, and one test per error a user can trigger. Their gradients are
//! checked in `gradient_check.rs`, their allocations in `alloc.rs` and
//! `alloc_fit.rs`.

mod common;

use backprop::data::Dataset;
use backprop::{
    Activation, AdamConfig, Dense, Error, LbfgsConfig, Loss, Network, SgdConfig, Trainer,
};
use ndarray::{Array2, array};

/// n → n identity layer (W = I, b = 0) with dropout `p`, then one output
/// with W = 0, b = 0 under squared error. With inputs of ones and targets
/// −1, δᴸ = 1 for every row, so ∂J/∂W⁽²⁾ⱼ = (1/m)·Σᵢ rᵢⱼ: the mean of unit
/// j's mask over the batch.
fn probe(n: usize, p: f64) -> Network<f64> {
    let mut params = vec![0.0; n * n + n + n + 1];
    for j in 0..n {
        params[j * n + j] = 1.0;
    }
    Network::from_params(
        &[n, n, 1],
        &[Activation::Identity],
        Loss::SquaredError,
        params,
    )
    .unwrap()
    .with_dropout(&[p])
    .unwrap()
}

#[test]
fn inverted_dropout_draws_zero_or_one_over_keep() {
    let (n, p) = (10, 0.5);
    let net = probe(n, p);
    // One row: each mask entry is visible on its own.
    let mut ws = net.workspace(1);
    let (x, y) = (Array2::ones((1, n)), array![[-1.0]]);
    let mut dropped = 0;
    for _ in 0..50 {
        net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
        for &r in ws.gradient().weights(1).iter() {
            assert!(r == 0.0 || r == 2.0, "mask entry {r}");
            dropped += usize::from(r == 0.0);
        }
    }
    // 500 draws at p = ½: 250 ± 11 (1σ); 6σ bounds.
    assert!((184..=316).contains(&dropped), "{dropped} of 500 dropped");

    // Many rows: the kept units' scale 1/(1 − p) keeps E[a] = a. Each unit's
    // mean over m rows has σ = √(p/(1 − p)/m) = 0.0158 at m = 4000, so the
    // mean over 10 units has σ = 0.005; 5σ bound.
    let m = 4000;
    let mut ws = net.workspace(m);
    let (x, y) = (Array2::ones((m, n)), Array2::from_elem((m, 1), -1.0));
    net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
    let mean = ws.gradient().weights(1).mean().unwrap();
    assert!((mean - 1.0).abs() < 0.025, "E[a] = {mean}");
}

#[test]
fn masks_follow_the_seed_and_change_every_pass() {
    let net = probe(16, 0.3);
    let (x, y) = (Array2::ones((8, 16)), Array2::from_elem((8, 1), -1.0));
    let grad = |ws: &mut backprop::Workspace<f64>| {
        net.compute_gradient(ws, x.view(), &y, 0.0).unwrap();
        ws.gradient().as_slice().to_vec()
    };
    let (mut a, mut b, mut c) = (net.workspace(8), net.workspace(8), net.workspace(8));
    a.seed_dropout(7);
    b.seed_dropout(7);
    c.seed_dropout(8);
    let first = grad(&mut a);
    assert_eq!(first, grad(&mut b), "same seed, same mask");
    assert_ne!(first, grad(&mut c), "another seed, another mask");
    assert_ne!(first, grad(&mut a), "a new mask at every pass");
    // Held, the last mask is reused.
    a.hold_dropout_mask(true);
    let held = grad(&mut a);
    assert_eq!(held, grad(&mut a));
}

#[test]
fn inference_ignores_dropout() {
    let with = Network::<f64>::builder(6)
        .layer(Dense::new(9, Activation::Tanh).dropout(0.5))
        .layer(Dense::new(7, Activation::Relu).dropout(0.2))
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(4)
        .build()
        .unwrap();
    assert_eq!(with.dropout(), &[0.5, 0.2]);
    let without = Network::from_params(
        with.sizes(),
        with.activations(),
        with.loss(),
        with.params().to_vec(),
    )
    .unwrap();
    let x = common::uniform(20, 6, -1.0, 1.0, 3);
    let labels = common::labels(20, 3, 4);
    assert_eq!(
        with.predict(x.view()).unwrap(),
        without.predict(x.view()).unwrap()
    );
    assert_eq!(
        with.predict_classes(x.view()).unwrap(),
        without.predict_classes(x.view()).unwrap()
    );
    // The cost (what validation reports) is the undropped one, on an
    // inference workspace and on a training workspace alike.
    let j = without
        .cost(&mut without.inference_workspace(20), x.view(), &labels, 0.1)
        .unwrap();
    let mut ws = with.workspace(20);
    with.compute_gradient(&mut ws, x.view(), &labels, 0.1)
        .unwrap();
    assert_eq!(with.cost(&mut ws, x.view(), &labels, 0.1).unwrap(), j);
    assert_eq!(
        with.cost(&mut with.inference_workspace(20), x.view(), &labels, 0.1)
            .unwrap(),
        j
    );
}

/// Label smoothing of the softmax head: J with ε equals J with the dense
/// targets (1 − ε)·onehot + ε/K, and so does δᴸ.
#[test]
fn label_smoothing_equals_smoothed_dense_targets() {
    let net = Network::<f64>::builder(4)
        .hidden(5, Activation::Tanh)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(2)
        .build()
        .unwrap();
    let x = common::uniform(6, 4, -1.0, 1.0, 5);
    let labels = common::labels(6, 3, 6);
    let eps = 0.3;
    let smooth = Array2::from_shape_fn((6, 3), |(i, k)| {
        (1.0 - eps) * f64::from(u8::from(labels[i] == k)) + eps / 3.0
    });
    let mut ws = net.workspace(6);
    ws.set_label_smoothing(eps).unwrap();
    let j = net
        .compute_gradient(&mut ws, x.view(), &labels, 0.0)
        .unwrap();
    let g = ws.gradient().as_slice().to_vec();
    let mut plain = net.workspace(6);
    let j_dense = net
        .compute_gradient(&mut plain, x.view(), &smooth, 0.0)
        .unwrap();
    assert!((j - j_dense).abs() < 1e-12, "{j} vs {j_dense}");
    for (a, b) in g.iter().zip(plain.gradient().as_slice()) {
        assert!((a - b).abs() < 1e-12);
    }
    // Binary head: K = 2 per output, so labels 0/1 become ε/2 and 1 − ε/2.
    let net = Network::<f64>::builder(4)
        .output(1, Loss::BinaryCrossEntropy)
        .seed(2)
        .build()
        .unwrap();
    let bits: Vec<usize> = labels.iter().map(|&c| c % 2).collect();
    let soft = Array2::from_shape_fn((6, 1), |(i, _)| {
        if bits[i] == 1 {
            1.0 - eps / 2.0
        } else {
            eps / 2.0
        }
    });
    let mut ws = net.workspace(6);
    ws.set_label_smoothing(eps).unwrap();
    let j = net.cost(&mut ws, x.view(), &bits, 0.0).unwrap();
    let j_dense = net
        .cost(&mut net.workspace(6), x.view(), &soft, 0.0)
        .unwrap();
    assert!((j - j_dense).abs() < 1e-12, "{j} vs {j_dense}");
}

fn blobs() -> (Array2<f32>, Vec<usize>) {
    let x = common::uniform(120, 5, -2.0, 2.0, 11).mapv(|v| v as f32);
    let labels = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] + r[1] > 0.0) + usize::from(r[2] > 1.0))
        .collect();
    (x, labels)
}

fn dropout_net(p: f64) -> Network<f32> {
    Network::<f32>::builder(5)
        .layer(Dense::new(32, Activation::Relu).dropout(p))
        .layer(Dense::new(16, Activation::Relu).dropout(p))
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap()
}

fn trainer() -> Trainer {
    Trainer::new()
        .solver(AdamConfig::default())
        .learning_rate(0.01)
        .batch_size(16)
        .epochs(60)
        .lambda(0.0)
}

#[test]
fn training_with_dropout_is_deterministic_and_learns() {
    let (x, labels) = blobs();
    let fit = |seed: u64, p: f64| {
        let mut net = dropout_net(p);
        let t = trainer().seed(seed).label_smoothing(0.1);
        t.fit(&mut net, Dataset::new(x.view(), &labels), None)
            .unwrap();
        net
    };
    let a = fit(3, 0.3);
    assert_eq!(a.params(), fit(3, 0.3).params(), "same seed, same run");
    assert_ne!(a.params(), fit(4, 0.3).params());
    assert_ne!(a.params(), fit(3, 0.0).params(), "dropout changes training");
    let predicted = a.predict_classes(x.view()).unwrap();
    let right = predicted
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count();
    assert!(right >= 108, "{right} of 120 right");
}

#[test]
fn max_norm_bounds_every_row_and_leaves_biases() {
    let (x, labels) = blobs();
    let row_norms = |net: &Network<f32>| -> Vec<f64> {
        (0..net.depth())
            .flat_map(|l| {
                net.weights(l)
                    .rows()
                    .into_iter()
                    .map(|r| r.iter().map(|&w| f64::from(w * w)).sum::<f64>().sqrt())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut free = dropout_net(0.0);
    trainer()
        .fit(&mut free, Dataset::new(x.view(), &labels), None)
        .unwrap();
    let c = 1.0;
    assert!(
        row_norms(&free).iter().any(|&n| n > 1.5 * c),
        "the bound must bite"
    );
    let mut bounded = dropout_net(0.0);
    trainer()
        .max_norm(c)
        .fit(&mut bounded, Dataset::new(x.view(), &labels), None)
        .unwrap();
    // f32 rescaling: the norm of the rescaled row is c to a few ulps.
    assert!(row_norms(&bounded).iter().all(|&n| n <= c * (1.0 + 1e-5)));

    // Biases untouched; short rows untouched; long rows to exactly c.
    let mut net = Network::<f64>::builder(3)
        .output(2, Loss::SquaredError)
        .build()
        .unwrap();
    net.weights_mut(0)
        .assign(&array![[2.0, 0.0, 0.0], [0.1, 0.2, 0.2]]);
    net.biases_mut(0).assign(&array![5.0, -7.0]);
    net.apply_max_norm(0.5);
    assert_eq!(net.weights(0), array![[0.5, 0.0, 0.0], [0.1, 0.2, 0.2]]);
    assert_eq!(net.biases(0), array![5.0, -7.0]);
}

fn invalid(e: Error) -> &'static str {
    match e {
        Error::InvalidHyperparameter { name, .. } => name,
        other => panic!("expected InvalidHyperparameter, got {other}"),
    }
}

#[test]
fn dropout_outside_zero_one_is_refused() {
    for p in [1.0, -0.1, f64::NAN, 1.5] {
        let e = Network::<f32>::builder(3)
            .layer(Dense::new(4, Activation::Relu).dropout(p))
            .output(2, Loss::CategoricalCrossEntropy)
            .build()
            .unwrap_err();
        assert_eq!(invalid(e), "dropout", "p = {p}");
    }
    let net = dropout_net(0.0);
    assert_eq!(
        invalid(net.clone().with_dropout(&[0.1]).unwrap_err()),
        "dropout"
    );
    assert_eq!(
        invalid(net.with_dropout(&[0.1, 1.0]).unwrap_err()),
        "dropout"
    );
}

#[test]
fn a_workspace_for_other_dropout_rates_is_refused() {
    let (x, labels) = blobs();
    let mut ws = dropout_net(0.0).workspace(120);
    let e = dropout_net(0.3)
        .compute_gradient(&mut ws, x.view(), &labels, 0.0)
        .unwrap_err();
    assert_eq!(invalid(e), "dropout");
}

#[test]
fn label_smoothing_out_of_range_or_on_squared_error_is_refused() {
    let (x, labels) = blobs();
    let data = || Dataset::new(x.view(), &labels);
    for eps in [1.0, -0.1, f64::NAN] {
        let e = trainer().label_smoothing(eps).validate().unwrap_err();
        assert_eq!(invalid(e), "label_smoothing", "ε = {eps}");
        assert!(
            dropout_net(0.0)
                .workspace(4)
                .set_label_smoothing(eps)
                .is_err()
        );
    }
    let y = Array2::<f32>::zeros((120, 1));
    let mut reg = Network::<f32>::builder(5)
        .output(1, Loss::SquaredError)
        .build()
        .unwrap();
    let e = trainer()
        .label_smoothing(0.1)
        .fit(&mut reg, Dataset::new(x.view(), &y), None)
        .unwrap_err();
    assert!(e.to_string().contains("cross-entropy"), "{e}");
    let mut ws = reg.workspace(120);
    ws.set_label_smoothing(0.1).unwrap();
    let e = reg
        .compute_gradient(&mut ws, x.view(), &y, 0.0)
        .unwrap_err();
    assert_eq!(invalid(e), "label_smoothing");
    // A valid setting still trains.
    let mut net = dropout_net(0.0);
    trainer()
        .epochs(1)
        .label_smoothing(0.2)
        .fit(&mut net, data(), None)
        .unwrap();
}

#[test]
fn max_norm_must_be_positive_and_step_wise() {
    for c in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let e = trainer().max_norm(c).validate().unwrap_err();
        assert_eq!(invalid(e), "max_norm", "c = {c}");
    }
    let e = Trainer::new()
        .solver(LbfgsConfig::default())
        .max_norm(1.0)
        .validate()
        .unwrap_err();
    assert_eq!(invalid(e), "max_norm");
    // SGD takes it.
    Trainer::new()
        .solver(SgdConfig::default())
        .max_norm(1.0)
        .validate()
        .unwrap();
}

#[test]
fn dropout_with_full_batch_lbfgs_is_refused() {
    let (x, labels) = blobs();
    let mut net = dropout_net(0.2);
    let e = Trainer::new()
        .solver(LbfgsConfig::default())
        .epochs(2)
        .fit(&mut net, Dataset::new(x.view(), &labels), None)
        .unwrap_err();
    assert_eq!(invalid(e), "dropout");
}
