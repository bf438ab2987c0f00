//! Behaviour of the training loop: problems learned under fixed seeds,
//! optimizers against hand-computed updates, early stopping, divergence,
//! restarts and reproducibility.

use backprop::data::Dataset;
use backprop::{
    Activation, Adam, AdamConfig, AdamW, AdamWConfig, Control, EarlyStopping, EpochRecord, Error,
    LbfgsConfig, Loss, Monitor, Network, Optimizer, Rmsprop, RmspropConfig, Schedule, Sgd,
    SgdConfig, Solver, Trainer,
};
use ndarray::{Array2, array};

/// Two interleaved spirals, `n` points per arm, 1.5 turns each (after Lang
/// and Witbrock's benchmark), generated without randomness.
fn spirals(n: usize) -> (Array2<f64>, Vec<usize>) {
    let mut x = Array2::zeros((2 * n, 2));
    let mut y = vec![0; 2 * n];
    for i in 0..n {
        let t = i as f64 / n as f64;
        let r = 0.1 + 0.9 * t;
        let a = 3.0 * std::f64::consts::PI * t;
        for arm in 0..2 {
            let s = if arm == 0 { 1.0 } else { -1.0 };
            let row = 2 * i + arm;
            x[[row, 0]] = s * r * a.cos();
            x[[row, 1]] = s * r * a.sin();
            y[row] = arm;
        }
    }
    (x, y)
}

fn xor() -> (Array2<f32>, Vec<usize>) {
    (
        array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        vec![0, 1, 1, 0],
    )
}

#[test]
fn xor_is_learned_exactly() {
    let (x, y) = xor();
    let mut net = Network::<f32>::builder(2)
        .hidden(4, Activation::Tanh)
        .output(1, Loss::BinaryCrossEntropy)
        .seed(3)
        .build()
        .unwrap();
    let h = Trainer::new()
        .solver(SgdConfig {
            momentum: 0.9,
            nesterov: false,
        })
        .learning_rate(0.1)
        .lambda(0.0)
        .epochs(500)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    assert_eq!(net.predict_classes(x.view()).unwrap(), y);
    assert_eq!(h.epochs.len(), 500);
}

#[test]
fn two_spirals_are_learned_exactly() {
    let (x, y) = spirals(50);
    let mut net = Network::<f64>::builder(2)
        .hidden(32, Activation::Relu)
        .hidden(32, Activation::Relu)
        .output(2, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap();
    Trainer::new()
        .solver(AdamConfig::default())
        .learning_rate(0.01)
        .lambda(0.0)
        .batch_size(20)
        .epochs(300)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let pred = net.predict_classes(x.view()).unwrap();
    let wrong = pred.iter().zip(&y).filter(|(p, t)| p != t).count();
    assert_eq!(wrong, 0, "{wrong} of {} misclassified", y.len());
}

#[test]
fn a_smooth_regression_target_is_fit() {
    // y = sin(2x) on [-1.5, 1.5].
    let m = 40;
    let x = Array2::from_shape_fn((m, 1), |(i, _)| -1.5 + 3.0 * i as f64 / (m - 1) as f64);
    let y = x.mapv(|v| (2.0 * v).sin());
    let mut net = Network::<f64>::builder(1)
        .hidden(16, Activation::Tanh)
        .output(1, Loss::SquaredError)
        .seed(2)
        .build()
        .unwrap();
    Trainer::new()
        .learning_rate(0.02)
        .lambda(0.0)
        .batch_size(m)
        .epochs(2000)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let p = net.predict(x.view()).unwrap();
    let mse = backprop::metrics::mean_squared_error(p.view(), y.view(), None).unwrap();
    // Targets have variance ~0.5; 1e-3 is R² > 0.998. Seeds 0-2 reach
    // 1e-5 to 5e-5 here.
    assert!(mse < 1e-3, "mse {mse}");
}

#[test]
fn optimizers_match_hand_computed_steps() {
    // One input, one identity output, squared error, x = 1, y = 0, θ = (w, b)
    // = (0.5, 0): g = ∂J/∂w = ∂J/∂b = w + b.
    let x = array![[1.0f64]];
    let y = array![[0.0f64]];
    let two_steps = |opt: &mut dyn Optimizer<f64>, lr: f64| {
        let mut net =
            Network::<f64>::from_params(&[1, 1], &[], Loss::SquaredError, vec![0.5, 0.0]).unwrap();
        let mut ws = net.workspace(1);
        let mut out = Vec::new();
        for _ in 0..2 {
            net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
            opt.step(&mut net, ws.gradient(), lr).unwrap();
            out.push((net.params()[0], net.params()[1]));
        }
        out
    };
    // Tolerance: a few ulps of the f64 recurrences.
    const TOL: f64 = 1e-14;
    let close = |got: &[(f64, f64)], want: &[(f64, f64)]| {
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < TOL && (g.1 - w.1).abs() < TOL,
                "{got:?} vs {want:?}"
            );
        }
    };
    // Momentum μ = 0.9, η = 0.1: v = 0.5 → θ = (0.45, −0.05); g = 0.4,
    // v = 0.85 → θ = (0.365, −0.135).
    let momentum = |nesterov| SgdConfig {
        momentum: 0.9,
        nesterov,
    };
    let mut sgd = Sgd::new(momentum(false)).unwrap();
    close(&two_steps(&mut sgd, 0.1), &[(0.45, -0.05), (0.365, -0.135)]);
    // Nesterov: d = g + μv = 0.95 → (0.405, −0.095); g = 0.31, v = 0.76,
    // d = 0.994 → (0.3056, −0.1944).
    let mut nag = Sgd::new(momentum(true)).unwrap();
    close(
        &two_steps(&mut nag, 0.1),
        &[(0.405, -0.095), (0.3056, -0.1944)],
    );
    // Adam η = 0.1, defaults; values from this Python transcription of the
    // update (PyTorch's formula):
    //   b1,b2,lr,eps=0.9,0.999,0.1,1e-8; w,b=0.5,0.0; m=[0,0]; v=[0,0]
    //   for t in (1,2):
    //     g=w+b; p=[w,b]
    //     for i in range(2):
    //       m[i]=b1*m[i]+(1-b1)*g; v[i]=b2*v[i]+(1-b2)*g*g
    //       p[i]-=lr*(m[i]/(1-b1**t))/((v[i]/(1-b2**t))**0.5+eps)
    //     w,b=p; print(repr(w),repr(b))
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    close(
        &two_steps(&mut adam, 0.1),
        &[
            (0.40000000199999997, -0.09999999800000003),
            (0.3042509865364011, -0.1957490134635989),
        ],
    );
}

#[test]
fn every_optimizer_decreases_the_loss() {
    let m = 20;
    let x = Array2::from_shape_fn((m, 1), |(i, _)| -1.5 + 3.0 * i as f64 / (m - 1) as f64);
    let y = x.mapv(|v| (2.0 * v).sin());
    let net0 = Network::<f64>::builder(1)
        .hidden(8, Activation::Tanh)
        .output(1, Loss::SquaredError)
        .seed(5)
        .build()
        .unwrap();
    let momentum = |nesterov| SgdConfig {
        momentum: 0.9,
        nesterov,
    };
    let opts: Vec<(&str, Box<dyn Optimizer<f64>>, f64)> = vec![
        ("sgd", Box::new(Sgd::default()), 0.5),
        (
            "momentum",
            Box::new(Sgd::new(momentum(false)).unwrap()),
            0.05,
        ),
        (
            "nesterov",
            Box::new(Sgd::new(momentum(true)).unwrap()),
            0.05,
        ),
        (
            "adam",
            Box::new(Adam::new(AdamConfig::default()).unwrap()),
            0.01,
        ),
        (
            "adamw",
            Box::new(AdamW::new(AdamWConfig::default()).unwrap()),
            0.01,
        ),
        (
            "rmsprop",
            Box::new(Rmsprop::new(RmspropConfig::default()).unwrap()),
            0.01,
        ),
    ];
    for (name, mut opt, lr) in opts {
        let mut net = net0.clone();
        let mut ws = net.workspace(m);
        let j0 = net.cost(&mut ws, x.view(), &y, 0.0).unwrap();
        for _ in 0..50 {
            net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
            opt.step(&mut net, ws.gradient(), lr).unwrap();
        }
        let j1 = net.cost(&mut ws, x.view(), &y, 0.0).unwrap();
        assert!(j1 < 0.95 * j0, "{name}: {j0} -> {j1}");
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    // The validation targets contradict the training targets, so the
    // validation loss rises as training fits the training set.
    let x = array![[0.0f64], [1.0], [2.0], [3.0]];
    let y = array![[0.0f64], [1.0], [2.0], [3.0]];
    let y_val = y.mapv(|v| -v);
    let mut net = Network::<f64>::builder(1)
        .hidden(4, Activation::Tanh)
        .output(1, Loss::SquaredError)
        .seed(0)
        .build()
        .unwrap();
    let mut snapshots: Vec<Vec<f64>> = Vec::new();
    let mut record = |_: &EpochRecord, n: &Network<f64>| {
        snapshots.push(n.params().to_vec());
        Control::Continue
    };
    let trainer = Trainer::new()
        .learning_rate(0.05)
        .lambda(0.0)
        .epochs(200)
        .early_stopping(EarlyStopping {
            patience: 5,
            ..EarlyStopping::default()
        });
    let mut opt = Sgd::default();
    let h = trainer
        .fit_with_optimizer(
            &mut net,
            &mut opt,
            Dataset::new(x.view(), &y),
            Some(Dataset::new(x.view(), &y_val)),
            &mut [&mut record],
        )
        .unwrap();
    assert!(h.stopped_early);
    let best = h.best_epoch.unwrap();
    let argmin = h
        .epochs
        .iter()
        .min_by(|a, b| a.val_loss.unwrap().total_cmp(&b.val_loss.unwrap()))
        .unwrap()
        .epoch;
    assert_eq!(best, argmin);
    assert_eq!(h.epochs.len(), best + 6, "stops after patience epochs");
    assert_eq!(net.params(), &snapshots[best][..]);
    assert_ne!(net.params(), &snapshots.last().unwrap()[..]);
    assert_eq!(h.score, h.epochs[best].val_loss.unwrap());
}

#[test]
fn a_divergent_learning_rate_is_reported_and_leaves_a_finite_model() {
    let x = Array2::from_shape_fn((16, 2), |(i, j)| (i * 3 + j) as f32);
    let y = x
        .map_axis(ndarray::Axis(1), |r| 100.0 * r.sum())
        .insert_axis(ndarray::Axis(1));
    let mut net = Network::<f32>::builder(2)
        .hidden(8, Activation::Relu)
        .output(1, Loss::SquaredError)
        .seed(0)
        .build()
        .unwrap();
    let err = Trainer::new()
        .solver(SgdConfig::default())
        .learning_rate(1e3)
        .batch_size(4)
        .epochs(50)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap_err();
    let Error::Diverged {
        epoch,
        batch,
        layer,
        what,
    } = err
    else {
        panic!("expected divergence, got {err}")
    };
    assert!(batch < 4 && layer < 2, "{epoch} {batch} {layer} {what}");
    assert!(net.params().iter().all(|v| v.is_finite()));
    assert!(err.to_string().contains("epoch"));
}

#[test]
fn same_seed_same_bits() {
    let (x, y) = spirals(20);
    let run = || {
        let mut net = Network::<f64>::builder(2)
            .hidden(8, Activation::Relu)
            .output(2, Loss::CategoricalCrossEntropy)
            .seed(9)
            .build()
            .unwrap();
        let h = Trainer::new()
            .learning_rate(0.01)
            .batch_size(7)
            .epochs(20)
            .validation_fraction(0.25)
            .seed(4)
            .fit(&mut net, Dataset::new(x.view(), &y), None)
            .unwrap();
        let rows: Vec<_> = h
            .epochs
            .iter()
            .map(|r| {
                (
                    r.train_loss.to_bits(),
                    r.val_loss.unwrap().to_bits(),
                    r.val_metric.unwrap().to_bits(),
                    r.learning_rate.to_bits(),
                )
            })
            .collect();
        let bits: Vec<u64> = net.params().iter().map(|v| v.to_bits()).collect();
        (bits, rows)
    };
    assert_eq!(run(), run());
}

#[test]
fn restarts_report_every_run_and_keep_the_best() {
    let (x, y) = spirals(15);
    let builder = Network::<f64>::builder(2)
        .hidden(6, Activation::Tanh)
        .output(2, Loss::CategoricalCrossEntropy);
    let (net, report) = Trainer::new()
        .learning_rate(0.02)
        .epochs(30)
        .restarts(3)
        .seed(10)
        .validation_fraction(0.3)
        .fit_restarts(&builder, Dataset::new(x.view(), &y), None)
        .unwrap();
    assert_eq!(report.runs.len(), 3);
    let scores: Vec<f64> = report
        .runs
        .iter()
        .map(|r| r.outcome.as_ref().unwrap().score)
        .collect();
    let best = scores
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(report.best, best);
    assert_eq!(report.runs[1].seed, 11);
    let rebuilt = builder.clone().seed(10 + best as u64).build().unwrap();
    assert_eq!(net.sizes(), rebuilt.sizes());
}

#[test]
fn schedule_and_history_record_the_learning_rate() {
    let (x, y) = xor();
    let mut net = Network::<f32>::builder(2)
        .hidden(3, Activation::Tanh)
        .output(2, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let h = Trainer::new()
        .solver(SgdConfig::default())
        .learning_rate(0.4)
        .schedule(Schedule::Step {
            step_size: 2,
            gamma: 0.5,
        })
        .epochs(5)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let lrs: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
    assert_eq!(lrs, vec![0.4, 0.4, 0.2, 0.2, 0.1]);
    assert_eq!(h.monitor, Monitor::TrainLoss);
}

#[test]
fn clipping_bounds_the_step() {
    let x = array![[1.0f64, 2.0], [3.0, -1.0]];
    let y = array![[100.0f64], [-50.0]];
    let mut net = Network::<f64>::builder(2)
        .output(1, Loss::SquaredError)
        .build()
        .unwrap();
    let before = net.params().to_vec();
    Trainer::new()
        .solver(SgdConfig::default())
        .learning_rate(1.0)
        .lambda(0.0)
        .clip_norm(0.5)
        .epochs(1)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let step: f64 = net
        .params()
        .iter()
        .zip(&before)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((step - 0.5).abs() < 1e-12, "step {step}");
}

#[test]
fn a_callback_can_stop_training() {
    let (x, y) = xor();
    let mut net = Network::<f32>::builder(2)
        .hidden(3, Activation::Tanh)
        .output(2, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let mut stop_at_3 = |r: &EpochRecord, _: &Network<f32>| {
        if r.epoch == 3 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let h = Trainer::new()
        .solver(AdamConfig::default())
        .epochs(100)
        .fit_with(
            &mut net,
            Dataset::new(x.view(), &y),
            None,
            &mut [&mut stop_at_3],
        )
        .unwrap();
    assert_eq!(h.epochs.len(), 4);
    assert!(h.stopped_early);
}

#[test]
fn validation_metric_monitor_and_holdout() {
    let (x, y) = spirals(20);
    let mut net = Network::<f64>::builder(2)
        .hidden(8, Activation::Tanh)
        .output(2, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let h = Trainer::new()
        .learning_rate(0.01)
        .epochs(30)
        .validation_fraction(0.2)
        .early_stopping(EarlyStopping {
            monitor: Monitor::ValMetric,
            patience: 30,
            ..EarlyStopping::default()
        })
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    let best = h
        .epochs
        .iter()
        .map(|r| r.val_metric.unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(h.score, best);
    assert!(h.epochs.iter().all(|r| {
        let a = r.val_metric.unwrap() * 8.0; // 8 validation samples
        (a - a.round()).abs() < 1e-9
    }));
}

#[test]
fn lbfgs_learns_xor_and_refuses_step_wise_use() {
    let (x, y) = xor();
    let mut net = Network::<f32>::builder(2)
        .hidden(4, Activation::Tanh)
        .output(1, Loss::BinaryCrossEntropy)
        .seed(3)
        .build()
        .unwrap();
    let t = Trainer::new()
        .solver(LbfgsConfig::default())
        .lambda(0.0)
        .epochs(200);
    let h = t.fit(&mut net, Dataset::new(x.view(), &y), None).unwrap();
    assert_eq!(net.predict_classes(x.view()).unwrap(), y);
    let losses = h.train_losses();
    assert!(
        losses.windows(2).all(|w| w[1] <= w[0]),
        "monotone: {losses:?}"
    );
    let err = Solver::from(LbfgsConfig::default())
        .optimizer::<f32>()
        .err()
        .unwrap();
    assert!(matches!(
        err,
        Error::InvalidHyperparameter { name: "solver", .. }
    ));
}

#[cfg(feature = "progress")]
#[test]
fn progress_bar_can_be_switched_on() {
    let (x, y) = xor();
    let mut net = Network::<f32>::builder(2)
        .hidden(3, Activation::Tanh)
        .output(2, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let h = Trainer::new()
        .epochs(3)
        .batch_size(2)
        .progress(true)
        .fit(&mut net, Dataset::new(x.view(), &y), None)
        .unwrap();
    assert_eq!(h.epochs.len(), 3);
}
