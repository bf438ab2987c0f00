//! The scikit-learn-style front doors.

use backprop::estimator::{ClassWeight, Classifier, MultiLabelClassifier, Regressor};
use backprop::{Activation, Dense, Error, Trainer};
use ndarray::{Array2, array};

fn blobs() -> (Array2<f32>, Vec<i32>) {
    // Three separable groups around (0,0), (3,0), (0,3), labelled 7, -1, 42.
    let mut x = Array2::zeros((30, 2));
    let mut y = Vec::new();
    let centers = [(0.0, 0.0, 7), (3.0, 0.0, -1), (0.0, 3.0, 42)];
    for i in 0..30 {
        let (cx, cy, label) = centers[i % 3];
        let d = (i / 3) as f32 / 10.0 - 0.5;
        x[[i, 0]] = cx + d;
        x[[i, 1]] = cy - 0.5 * d;
        y.push(label);
    }
    (x, y)
}

fn trainer() -> Trainer {
    Trainer::new()
        .learning_rate(0.05)
        .epochs(150)
        .batch_size(10)
        .lambda(0.0)
}

#[test]
fn integer_labels_round_trip_and_probabilities_sum_to_one() {
    let (x, y) = blobs();
    let mut clf = Classifier::new()
        .hidden_layers(&[Dense::new(8, Activation::Relu)])
        .trainer(trainer())
        .seed(1);
    clf.fit(x.view(), &y, None).unwrap();
    assert_eq!(clf.classes(), &[-1, 7, 42]);
    assert_eq!(clf.predict(x.view()).unwrap(), y);
    assert_eq!(clf.score(x.view(), &y).unwrap(), 1.0);
    let p = clf.predict_proba(x.view()).unwrap();
    assert_eq!(p.dim(), (30, 3));
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn binary_string_labels_use_one_logistic_output() {
    let x = array![[0.0f32], [1.0], [2.0], [3.0]];
    let y = ["cold", "cold", "hot", "hot"];
    let mut clf = Classifier::new()
        .hidden_layers(&[])
        .trainer(trainer().epochs(300).batch_size(4));
    clf.fit(x.view(), &y, None).unwrap();
    assert_eq!(clf.network().unwrap().n_outputs(), 1);
    assert_eq!(clf.predict(x.view()).unwrap(), y);
    let p = clf.predict_proba(x.view()).unwrap();
    assert_eq!(p.ncols(), 2);
    assert!(p[[0, 0]] > 0.5 && p[[3, 1]] > 0.5);
}

#[test]
fn partial_fit_keeps_learning() {
    let (x, y) = blobs();
    let mut clf = Classifier::new()
        .hidden_layers(&[Dense::new(8, Activation::Relu)])
        .trainer(trainer())
        .seed(2);
    clf.partial_fit(x.view(), &y, Some(&[-1, 7, 42]), None)
        .unwrap();
    let first = clf.history().unwrap().epochs[0].train_loss;
    for _ in 0..60 {
        clf.partial_fit(x.view(), &y, None, None).unwrap();
    }
    let h = clf.history().unwrap();
    assert_eq!(h.epochs.len(), 61);
    assert!(h.epochs[60].train_loss < 0.5 * first);
    let err = clf.partial_fit(x.view(), &[5; 30], None, None).unwrap_err();
    assert!(matches!(err, Error::UnknownClass { index: 0, .. }), "{err}");
}

#[test]
fn balanced_class_weight_equals_explicit_sample_weights() {
    // 2 samples of class 1, 6 of class 0: balanced weights 8/(2·6) and 8/(2·2).
    let x = Array2::from_shape_fn((8, 1), |(i, _)| i as f64);
    let y = [0, 0, 0, 0, 0, 0, 1, 1];
    let w: Vec<f64> = y
        .iter()
        .map(|&c| if c == 0 { 8.0 / 12.0 } else { 2.0 })
        .collect();
    let t = Trainer::new().epochs(5).batch_size(3).learning_rate(0.01);
    let mut a = Classifier::<i32, f64>::new()
        .hidden_layers(&[Dense::new(3, Activation::Tanh)])
        .trainer(t.clone())
        .class_weight(ClassWeight::Balanced);
    let mut b = Classifier::<i32, f64>::new()
        .hidden_layers(&[Dense::new(3, Activation::Tanh)])
        .trainer(t);
    a.fit(x.view(), &y, None).unwrap();
    b.fit(x.view(), &y, Some(&w)).unwrap();
    assert_eq!(a.network().unwrap().params(), b.network().unwrap().params());
    assert_eq!(
        a.history().unwrap().train_losses(),
        b.history().unwrap().train_losses()
    );
}

#[test]
fn unfitted_and_degenerate_inputs_are_errors() {
    let clf = Classifier::<u8, f32>::new();
    let x = array![[0.0f32]];
    assert!(matches!(
        clf.predict(x.view()),
        Err(Error::NotFitted { .. })
    ));
    let mut clf = Classifier::<u8, f32>::new();
    assert!(matches!(
        clf.fit(x.view(), &[3], None),
        Err(Error::TooFewClasses { found: 1 })
    ));
    assert!(matches!(
        clf.fit(x.view(), &[3, 4], None),
        Err(Error::SampleCount { .. })
    ));
    let reg = Regressor::<f32>::new();
    assert!(matches!(
        reg.predict(x.view()),
        Err(Error::NotFitted { .. })
    ));
}

#[test]
fn regressor_fits_two_outputs() {
    let x = Array2::from_shape_fn((25, 2), |(i, j)| ((i * 3 + j * 5) % 7) as f64 / 3.0 - 1.0);
    let y = Array2::from_shape_fn((25, 2), |(i, j)| {
        if j == 0 {
            x[[i, 0]] - 2.0 * x[[i, 1]]
        } else {
            0.5 * x[[i, 0]] + 1.0
        }
    });
    let mut reg = Regressor::<f64>::new().hidden_layers(&[]).trainer(
        Trainer::new()
            .learning_rate(0.05)
            .epochs(400)
            .lambda(0.0)
            .batch_size(25),
    );
    reg.fit(x.view(), y.view(), None).unwrap();
    assert!(reg.score(x.view(), y.view()).unwrap() > 0.9999);
    assert_eq!(reg.predict(x.view()).unwrap().dim(), (25, 2));
}

#[test]
fn multilabel_subset_accuracy() {
    let x = Array2::from_shape_fn((16, 2), |(i, j)| {
        ((i >> j) & 1) as f32 + 0.1 * (i / 4) as f32
    });
    let y = x.mapv(|v| if v >= 0.9 { 1.0f32 } else { 0.0 });
    let mut clf = MultiLabelClassifier::new()
        .hidden_layers(&[Dense::new(6, Activation::Tanh)])
        .trainer(trainer().epochs(200));
    clf.fit(x.view(), y.view(), None).unwrap();
    assert_eq!(clf.score(x.view(), y.view()).unwrap(), 1.0);
}

#[test]
fn lbfgs_regressor_and_no_partial_fit_with_it() {
    let x = Array2::from_shape_fn((20, 1), |(i, _)| i as f64 / 19.0);
    let y = x.mapv(|v| 2.0 * v - 1.0);
    let mut reg = Regressor::<f64>::new()
        .hidden_layers(&[Dense::new(4, Activation::Tanh)])
        .trainer(
            Trainer::new()
                .solver(backprop::LbfgsConfig::default())
                .epochs(200),
        );
    reg.fit(x.view(), y.view(), None).unwrap();
    assert!(reg.score(x.view(), y.view()).unwrap() > 0.999);
    let err = reg.partial_fit(x.view(), y.view(), None).unwrap_err();
    assert!(
        matches!(err, Error::InvalidHyperparameter { name: "solver", .. }),
        "{err}"
    );
}
