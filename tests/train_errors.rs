//! Every error a user can trigger through the training API, one by one.

use backprop::data::Dataset;
use backprop::{
    Activation, Adam, AdamConfig, AdamW, AdamWConfig, EarlyStopping, Error, LbfgsConfig, Loss,
    Monitor, Network, Optimizer, Rmsprop, RmspropConfig, Schedule, Sgd, SgdConfig, Trainer,
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
            Trainer::new().solver(SgdConfig {
                momentum: 1.0,
                nesterov: false,
            }),
            "momentum",
        ),
        (
            Trainer::new().solver(SgdConfig {
                momentum: -0.1,
                nesterov: true,
            }),
            "momentum",
        ),
        (
            Trainer::new().solver(AdamConfig {
                beta1: 1.0,
                beta2: 0.999,
                epsilon: 1e-8,
            }),
            "beta1",
        ),
        (
            Trainer::new().solver(AdamConfig {
                beta1: 0.9,
                beta2: 1.5,
                epsilon: 1e-8,
            }),
            "beta2",
        ),
        (
            Trainer::new().solver(AdamConfig {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 0.0,
            }),
            "epsilon",
        ),
        (
            Trainer::new().solver(AdamWConfig {
                weight_decay: -0.01,
                ..AdamWConfig::default()
            }),
            "weight_decay",
        ),
        (
            Trainer::new().solver(RmspropConfig {
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
    let (net, x, y) = setup();
    let mut ws = net.workspace(4);
    net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
    let step = |opt: &mut dyn Optimizer<f64>, lr| opt.step(&mut net.clone(), ws.gradient(), lr);
    assert!(step(&mut Sgd::default(), 0.0).is_err());
    let momentum = SgdConfig {
        momentum: 1.0,
        nesterov: false,
    };
    assert!(Sgd::new(momentum).is_err());
    let betas = AdamConfig {
        beta2: 1.0,
        ..AdamConfig::default()
    };
    assert!(Adam::new(betas).is_err());
    let epsilon = AdamConfig {
        epsilon: -1.0,
        ..AdamConfig::default()
    };
    assert!(Adam::new(epsilon).is_err());
    let decay = AdamWConfig {
        weight_decay: f64::NAN,
        ..AdamWConfig::default()
    };
    assert!(AdamW::new(decay).is_err());
    let alpha = RmspropConfig {
        alpha: -0.5,
        ..RmspropConfig::default()
    };
    assert!(Rmsprop::new(alpha).is_err());
    let mut rms = Rmsprop::new(RmspropConfig::default()).unwrap();
    assert!(step(&mut rms, f64::INFINITY).is_err());
}

#[test]
fn optimizer_configs_validate_with_the_field_name() {
    let (mut net, x, y) = setup();
    let cases: Vec<(Trainer, &str)> = vec![
        (
            Trainer::new().solver(LbfgsConfig {
                memory: 0,
                ..LbfgsConfig::default()
            }),
            "memory",
        ),
        (
            Trainer::new().solver(SgdConfig {
                momentum: 0.0,
                nesterov: true,
            }),
            "nesterov",
        ),
    ];
    for (t, name) in cases {
        assert_eq!(name_of(t.validate().unwrap_err()), name);
        let e = t
            .fit(&mut net, Dataset::new(x.view(), &y), None)
            .unwrap_err();
        assert_eq!(name_of(e), name);
    }
}

#[test]
fn lbfgs_rejects_every_mini_batch_setting() {
    let (mut net, x, y) = setup();
    let lbfgs = Trainer::new().solver(LbfgsConfig::default());
    let cases: Vec<(Trainer, &str)> = vec![
        (lbfgs.clone().batch_size(2), "batch_size"),
        (lbfgs.clone().learning_rate(0.1), "learning_rate"),
        (
            lbfgs.clone().schedule(Schedule::Exponential { gamma: 0.9 }),
            "schedule",
        ),
        (lbfgs.clone().clip_norm(1.0), "clip_norm"),
    ];
    for (t, name) in cases {
        let e = t
            .fit(&mut net, Dataset::new(x.view(), &y), None)
            .unwrap_err();
        let text = e.to_string();
        assert_eq!(name_of(e), name);
        assert!(text.contains("L-BFGS works on the full batch"), "{text}");
    }
    assert!(
        lbfgs
            .epochs(3)
            .fit(&mut net, Dataset::new(x.view(), &y), None)
            .is_ok()
    );
}

#[test]
fn a_given_optimizer_does_not_silently_replace_a_solver() {
    let (mut net, x, y) = setup();
    let mut opt = Sgd::default();
    let e = Trainer::new()
        .solver(AdamConfig::default())
        .fit_with_optimizer(
            &mut net,
            &mut opt,
            Dataset::new(x.view(), &y),
            None,
            &mut [],
        )
        .unwrap_err();
    assert_eq!(name_of(e), "solver");
    let h = Trainer::new()
        .epochs(2)
        .fit_with_optimizer(
            &mut net,
            &mut opt,
            Dataset::new(x.view(), &y),
            None,
            &mut [],
        )
        .unwrap();
    assert_eq!(h.epochs.len(), 2);
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
