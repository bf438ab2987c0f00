//! Every error a user can trigger through the training API, one by one.

use backprop::data::{Batcher, Dataset};
use backprop::{
    Activation, Adam, AdamW, EarlyStopping, Error, Loss, Monitor, Network, Rmsprop, Schedule, Sgd,
    Solver, Trainer,
};
use ndarray::{Array2, array};

fn setup() -> (Network<f64>, Array2<f64>, Array2<f64>) {
    let net = Network::<f64>::builder(2)
        .hidden(3, Activation::Tanh)
        .output(1, Loss::SquaredError)
        .build()
        .unwrap();
    let x = array![[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
    let y = array![[1.0], [1.0], [0.0], [0.0]];
    (net, x, y)
}

fn name_of(e: Error) -> &'static str {
    match e {
        Error::InvalidHyperparameter { name, .. } => name,
        other => panic!("expected InvalidHyperparameter, got {other}"),
    }
}

#[test]
fn each_setting_is_validated_with_its_name() {
    let (mut net, x, y) = setup();
    let cases: Vec<(Trainer, &str)> = vec![
        (Trainer::new().epochs(0), "epochs"),
        (Trainer::new().batch_size(0), "batch_size"),
        (Trainer::new().restarts(0), "restarts"),
        (Trainer::new().learning_rate(-0.1), "learning_rate"),
        (Trainer::new().learning_rate(f64::NAN), "learning_rate"),
        (Trainer::new().lambda(-1.0), "lambda"),
        (Trainer::new().lambda(f64::INFINITY), "lambda"),
        (Trainer::new().clip_norm(0.0), "clip_norm"),
        (
            Trainer::new().validation_fraction(1.0),
            "validation_fraction",
        ),
        (
            Trainer::new().validation_fraction(0.0),
            "validation_fraction",
        ),
        (
            Trainer::new().early_stopping(EarlyStopping {
                patience: 0,
                ..EarlyStopping::default()
            }),
            "patience",
        ),
        (
            Trainer::new().early_stopping(EarlyStopping {
                min_delta: -1.0,
                ..EarlyStopping::default()
            }),
            "min_delta",
        ),
        (
            Trainer::new().solver(Solver::momentum(1.0, false)),
            "momentum",
        ),
        (
            Trainer::new().solver(Solver::momentum(-0.1, true)),
            "momentum",
        ),
        (
            Trainer::new().solver(Solver::Adam {
                beta1: 1.0,
                beta2: 0.999,
                epsilon: 1e-8,
            }),
            "beta1",
        ),
        (
            Trainer::new().solver(Solver::Adam {
                beta1: 0.9,
                beta2: 1.5,
                epsilon: 1e-8,
            }),
            "beta2",
        ),
        (
            Trainer::new().solver(Solver::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 0.0,
            }),
            "epsilon",
        ),
        (Trainer::new().solver(Solver::adamw(-0.01)), "weight_decay"),
        (
            Trainer::new().solver(Solver::Rmsprop {
                alpha: 1.0,
                epsilon: 1e-8,
            }),
            "alpha",
        ),
        (
            Trainer::new().schedule(Schedule::Step {
                step_size: 0,
                gamma: 0.5,
            }),
            "step_size",
        ),
        (
            Trainer::new().schedule(Schedule::Exponential { gamma: 0.0 }),
            "gamma",
        ),
        (
            Trainer::new().schedule(Schedule::Cosine {
                t_max: 10,
                eta_min: 1.0,
            }),
            "eta_min",
        ),
        (
            Trainer::new().schedule(Schedule::InvScaling { power_t: -0.5 }),
            "power_t",
        ),
        (
            Trainer::new().schedule(Schedule::ReduceOnPlateau {
                factor: 1.0,
                patience: 2,
                threshold: 0.0,
                min_lr: 0.0,
            }),
            "factor",
        ),
    ];
    for (t, name) in cases {
        let e = t
            .fit(&mut net, Dataset::new(x.view(), &y), None)
            .unwrap_err();
        assert_eq!(name_of(e), name);
    }
}

#[test]
fn optimizer_constructors_validate() {
    assert!(Sgd::new(0.0).is_err());
    assert!(Sgd::new(0.1).unwrap().momentum(1.0).is_err());
    assert!(Adam::new(0.1).unwrap().betas(0.9, 1.0).is_err());
    assert!(Adam::new(0.1).unwrap().epsilon(-1.0).is_err());
    assert!(AdamW::new(0.1, f64::NAN).is_err());
    assert!(Rmsprop::new(0.1).unwrap().alpha(-0.5).is_err());
    assert!(Rmsprop::new(f64::INFINITY).is_err());
}

#[test]
fn early_stopping_on_validation_needs_a_validation_set() {
    let (mut net, x, y) = setup();
    let e = Trainer::new()
        .early_stopping(EarlyStopping::default())
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap_err();
    assert_eq!(name_of(e), "early_stopping");
    // Monitoring the training loss needs none.
    Trainer::new()
        .epochs(2)
        .early_stopping(EarlyStopping {
            monitor: Monitor::TrainLoss,
            ..EarlyStopping::default()
        })
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
}

#[test]
fn a_split_that_empties_a_side_is_an_error() {
    let (mut net, x, y) = setup();
    let e = Trainer::new()
        .validation_fraction(0.9)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap_err();
    assert!(
        matches!(e, Error::ValidationSplit { n_samples: 4, .. }),
        "{e}"
    );
}

#[test]
fn data_errors_are_reported_before_training() {
    let (mut net, x, y) = setup();
    let t = Trainer::new().epochs(1);
    let wide = Array2::<f64>::zeros((4, 3));
    assert!(matches!(
        t.fit(&mut net, Dataset::new(wide.view(), &y), None),
        Err(Error::InputWidth {
            got: 3,
            expected: 2
        })
    ));
    let short = array![[1.0]];
    assert!(matches!(
        t.fit(&mut net, Dataset::new(x.view(), &short), None),
        Err(Error::SampleCount { .. })
    ));
    let empty = Array2::<f64>::zeros((0, 2));
    let empty_y = Array2::<f64>::zeros((0, 1));
    assert!(matches!(
        t.fit(&mut net, Dataset::new(empty.view(), &empty_y), None),
        Err(Error::Empty { .. })
    ));
    let mut bad = x.clone();
    bad[[2, 1]] = f64::NAN;
    assert!(matches!(
        t.fit(&mut net, Dataset::new(bad.view(), &y), None),
        Err(Error::NonFinite { row: 2, col: 1, .. })
    ));
    let val_wide = Array2::<f64>::zeros((2, 5));
    let val_y = Array2::<f64>::zeros((2, 1));
    assert!(matches!(
        t.fit(
            &mut net,
            Dataset::new(x.view(), &y),
            Some(Dataset::new(val_wide.view(), &val_y))
        ),
        Err(Error::InputWidth { got: 5, .. })
    ));
}

#[test]
fn sample_weight_errors() {
    let (mut net, x, y) = setup();
    let t = Trainer::new().epochs(1);
    for (w, index) in [
        (vec![1.0, -1.0, 1.0, 1.0], 1),
        (vec![1.0, 1.0, f64::NAN, 1.0], 2),
        (vec![0.0; 4], 0),
    ] {
        let e = t
            .fit(
                &mut net,
                Dataset::new(x.view(), &y).with_sample_weight(&w),
                None,
            )
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidSampleWeight { index: i, .. } if i == index),
            "{e}"
        );
    }
    let w = [1.0, 2.0];
    assert!(matches!(
        t.fit(
            &mut net,
            Dataset::new(x.view(), &y).with_sample_weight(&w),
            None
        ),
        Err(Error::SampleCount { .. })
    ));
}

#[test]
fn a_batcher_needs_a_batch_size() {
    let (_, x, y) = setup();
    let e = Batcher::new(&Dataset::new(x.view(), &y), 0, 0).unwrap_err();
    assert_eq!(name_of(e), "batch_size");
}
