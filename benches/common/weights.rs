//! Fresh and converged weights for the training-step and inference
//! measurements, and the synthetic task both are measured on.
//!
//! A confident network is slower than a fresh one where subnormal numbers
//! cost a microcode assist (Intel): its softmax underflows into subnormal
//! floats, Δᴸ = Aᴸ − Y carries them into the backward GEMMs, and each one
//! costs. Every configuration is therefore measured on both:
//!
//! - **fresh**: the seeded initialization of [`configs::build`];
//! - **converged**: the same network trained with Adam on a learnable task
//!   (labels from a fixed random linear teacher on the benchmark's own
//!   inputs) until its training accuracy is 100%, then with its output layer
//!   scaled to the confidence at which the most entries of Δᴸ on the
//!   benchmark batch are subnormal.
//!
//! The scaling stands in for long training: on a task it can memorize, Adam
//! stops growing the logits once the wrong-class probabilities near its ε
//! (here about 1e−8), whereas a network trained for many epochs on a data
//! set it cannot memorize keeps growing its output layer, and its logit gaps
//! pass through the range (about 87 to 103 nats) where the output activation
//! gives subnormal f32 numbers. Scaling W_L and b_L by one factor multiplies
//! every logit by it: the converged weights sit at the worst point of that
//! path, reached in seconds.
//!
//! The big configurations (L, XL) would take minutes to train end to end:
//! their hidden layers keep the fresh weights and only the output layer is
//! trained (Adam, full batch, on the last hidden layer's features) before
//! the same scaling.
//!
//! Converged networks are made once per configuration and process and kept
//! in memory.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use backprop::{Adam, Loss, Network, Optimizer};
use ndarray::{Array2, ArrayView2, s};

use crate::configs::{self, Config, OwnedTargets};

/// The weights a measurement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weights {
    /// The seeded initialization.
    Fresh,
    /// Trained until confident (see the module docs).
    Converged,
}

impl Weights {
    /// Both, fresh first.
    pub const ALL: [Weights; 2] = [Weights::Fresh, Weights::Converged];

    /// `fresh` or `converged`, as in group names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Weights::Fresh => "fresh",
            Weights::Converged => "converged",
        }
    }
}

/// Samples of the training set; the benchmark batch is its first rows.
pub const TRAIN_ROWS: usize = 512;

/// Seed of the inputs: [`configs::inputs`]`(batch, n₀, 1)` is the batch of
/// the step measurements, so it is part of the training set.
const INPUT_SEED: u64 = 1;

/// Seed of the teacher's weights.
const TEACHER_SEED: u64 = 99;

/// Adam's learning rate for training all layers and for the output layer
/// alone (on fixed features, which tolerate a larger step).
const LEARNING_RATE: f64 = 1e-3;
const HEAD_LEARNING_RATE: f64 = 1e-2;

/// Bounds on training: epochs of all layers, full-batch steps of the head.
const MAX_EPOCHS: usize = 200;
const MAX_HEAD_STEPS: usize = 2000;

/// Inputs and teacher targets.
pub struct Task {
    pub x: Array2<f32>,
    pub y: OwnedTargets,
}

/// The first `rows` samples of `c`'s task: uniform inputs in [−1, 1) and
/// the targets of a fixed random linear teacher, Z = X·T: the arg-max class
/// for softmax cross-entropy, the 0/1 pattern Z > 0 for logistic outputs.
pub fn task(c: &Config, rows: usize) -> Task {
    let x = configs::inputs(rows, c.sizes[0], INPUT_SEED);
    let k = *c.sizes.last().unwrap();
    let z = x.dot(&configs::inputs(c.sizes[0], k, TEACHER_SEED));
    let y = match c.loss {
        Loss::CategoricalCrossEntropy => {
            OwnedTargets::Classes(z.rows().into_iter().map(|r| argmax(r.iter())).collect())
        }
        _ => OwnedTargets::Dense(z.mapv(|v| f32::from(u8::from(v > 0.0)))),
    };
    Task { x, y }
}

fn argmax<'a>(values: impl Iterator<Item = &'a f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (k, &v) in values.enumerate() {
        if v > best.1 {
            best = (k, v);
        }
    }
    best.0
}

/// How a converged network was made.
#[derive(Debug, Clone, Copy)]
pub struct Convergence {
    /// `all layers` or `output layer`.
    pub trained: &'static str,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Training accuracy reached before the scaling (per entry for logistic
    /// outputs); the scaling keeps every prediction.
    pub accuracy: f64,
    /// Factor applied to the output layer.
    pub head_scale: f64,
}

/// The network of `c` on `weights`.
pub fn network(c: &Config, weights: Weights) -> Network<f32> {
    match weights {
        Weights::Fresh => configs::build(c.sizes, c.hidden, c.loss),
        Weights::Converged => converged(c).0,
    }
}

/// The converged network of `c` and how it was made, trained on first use
/// in this process.
pub fn converged(c: &Config) -> (Network<f32>, Convergence) {
    type Cache = Mutex<HashMap<&'static str, (Network<f32>, Convergence)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(hit) = cache.lock().expect("no panics while held").get(c.name) {
        return hit.clone();
    }
    let made = converge(c);
    let mut map = cache.lock().expect("no panics while held");
    map.entry(c.name).or_insert(made).clone()
}

fn converge(c: &Config) -> (Network<f32>, Convergence) {
    let mut net = configs::build(c.sizes, c.hidden, c.loss);
    let train = task(c, TRAIN_ROWS.max(c.batch));
    let (trained, (steps, accuracy)) = if c.big {
        ("output layer", train_head(&mut net, &train))
    } else {
        (
            "all layers",
            train_all(&mut net, &train, c.batch, LEARNING_RATE, MAX_EPOCHS),
        )
    };
    let head_scale = scale_head(
        &mut net,
        train.x.slice(s![..c.batch, ..]),
        &task(c, c.batch).y,
    );
    let how = Convergence {
        trained,
        steps,
        accuracy,
        head_scale,
    };
    (net, how)
}

/// Mini-batch Adam over `train` until every training sample is right or
/// `max_epochs` have passed; returns the steps taken and the accuracy.
fn train_all(
    net: &mut Network<f32>,
    train: &Task,
    batch: usize,
    learning_rate: f64,
    max_epochs: usize,
) -> (usize, f64) {
    let rows = train.x.nrows();
    let mut ws = net.workspace(batch);
    let mut adam = Adam::new(backprop::AdamConfig::default()).expect("default settings are valid");
    let mut steps = 0;
    let mut acc = accuracy(net, train);
    for _ in 0..max_epochs {
        if acc == 1.0 {
            break;
        }
        for start in (0..rows).step_by(batch) {
            let end = (start + batch).min(rows);
            let x = train.x.slice(s![start..end, ..]);
            net.compute_gradient(&mut ws, x, train.y.rows(start, end), 0.0)
                .expect("the task fits the network");
            adam.step(net, ws.gradient(), learning_rate)
                .expect("gradient of the same network");
            steps += 1;
        }
        acc = accuracy(net, train);
    }
    (steps, acc)
}

/// Trains only the output layer, on the features of the fresh hidden layers.
fn train_head(net: &mut Network<f32>, train: &Task) -> (usize, f64) {
    let head_start = head_range(net).start;
    let features = Task {
        x: hidden_features(net, train.x.view()),
        y: match &train.y {
            OwnedTargets::Classes(c) => OwnedTargets::Classes(c.clone()),
            OwnedTargets::Dense(y) => OwnedTargets::Dense(y.clone()),
        },
    };
    let sizes = &net.sizes()[net.depth() - 1..];
    let params = net.params()[head_start..].to_vec();
    let mut head = Network::from_params(sizes, &[], net.loss(), params).expect("the output layer");
    let rows = features.x.nrows();
    let result = train_all(
        &mut head,
        &features,
        rows,
        HEAD_LEARNING_RATE,
        MAX_HEAD_STEPS,
    );
    net.params_mut()[head_start..].copy_from_slice(head.params());
    result
}

/// Index range of W_L and b_L in the flat parameter vector.
fn head_range(net: &Network<f32>) -> std::ops::Range<usize> {
    net.layout().weight_range(net.depth() - 1).start..net.n_params()
}

/// A⁽ᴸ⁻¹⁾ for the rows of `x`: the network without its output layer.
fn hidden_features(net: &Network<f32>, x: ArrayView2<'_, f32>) -> Array2<f32> {
    let depth = net.depth();
    let body = Network::from_params(
        &net.sizes()[..depth],
        &net.activations()[..depth - 2],
        Loss::SquaredError,
        net.params()[..head_range(net).start].to_vec(),
    )
    .expect("the hidden layers of a valid network");
    let g = net.activations()[depth - 2];
    body.predict(x)
        .expect("inputs fit the network")
        .mapv_into(|z| g.apply(z))
}

/// Zᴸ for the rows of `x`: the network with an identity output.
fn logits(net: &Network<f32>, x: ArrayView2<'_, f32>) -> Array2<f32> {
    let params = net.params().to_vec();
    Network::from_params(net.sizes(), net.activations(), Loss::SquaredError, params)
        .expect("the layers of a valid network")
        .predict(x)
        .expect("inputs fit the network")
}

/// Fraction of right predictions on `train` (of right entries for logistic
/// outputs).
fn accuracy(net: &Network<f32>, train: &Task) -> f64 {
    match &train.y {
        OwnedTargets::Classes(c) => {
            let predicted = net.predict_classes(train.x.view()).expect("inputs fit");
            let right = predicted.iter().zip(c).filter(|(p, c)| p == c).count();
            right as f64 / c.len() as f64
        }
        OwnedTargets::Dense(y) => {
            let a = net.predict(train.x.view()).expect("inputs fit");
            let right = a.iter().zip(y).filter(|&(&a, &y)| (a >= 0.5) == (y == 1.0));
            right.count() as f64 / y.len() as f64
        }
    }
}

/// Scales W_L and b_L by the factor that makes the most entries of
/// Δᴸ = Aᴸ − Y on the batch (`x`, `y`) subnormal, searched over the factors
/// that put the median logit gap (see [`median_gap`]) at 60 to 120; returns
/// it. Zᴸ scales with the factor, so the search needs the logits once and
/// then only the output activation, which it takes from the library itself.
fn scale_head(net: &mut Network<f32>, x: ArrayView2<'_, f32>, y: &OwnedTargets) -> f64 {
    let z = logits(net, x);
    let (m, k) = z.dim();
    let target = y.dense(m, k);
    let mut eye = Array2::<f32>::eye(k).into_raw_vec_and_offset().0;
    eye.extend(std::iter::repeat_n(0.0, k));
    // Aᴸ = activation(I·Z + 0), the activation alone.
    let head = Network::from_params(&[k, k], &[], net.loss(), eye).expect("a k×k layer");
    let median = median_gap(&z, net.loss());
    let count = |scale: f64| {
        let a = keeping_subnormals(|| head.predict(z.mapv(|v| v * scale as f32).view()))
            .expect("finite logits");
        (a - &target).iter().filter(|v| v.is_subnormal()).count()
    };
    let mut best = (0, 1.0);
    for gap in GAP_SEARCH {
        let scale = f64::from(gap) / median;
        let n = count(scale);
        if n > best.0 {
            best = (n, scale);
        }
    }
    let range = head_range(net);
    for v in &mut net.params_mut()[range] {
        *v *= best.1 as f32;
    }
    best.1
}

/// Median logit gaps searched by [`scale_head`], in nats: f32's subnormal
/// range is e^−103.3 to e^−87.3, and an output activation computed as
/// 1/(1 + e^−z) reaches it only from z ≈ −88.7, so the search spans both.
const GAP_SEARCH: std::ops::RangeInclusive<u16> = 60..=120;

/// The median gap between a sample's top logit and each of its others
/// (softmax), or of −z over the negative logits (logistic): for a confident
/// network, minus the log-probability of a wrong answer.
fn median_gap(z: &Array2<f32>, loss: Loss) -> f64 {
    let mut gaps: Vec<f64> = Vec::new();
    if loss == Loss::CategoricalCrossEntropy {
        for row in z.rows() {
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut others: Vec<f64> = row.iter().map(|&v| f64::from(top - v)).collect();
            others.sort_by(f64::total_cmp);
            gaps.extend(&others[1..]);
        }
    } else {
        gaps.extend(z.iter().filter(|&&v| v < 0.0).map(|&v| -f64::from(v)));
    }
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2).copied().unwrap_or(1.0).max(1e-3)
}

/// Subnormal entries of Δᴸ and of the gradient at a network's weights on a
/// batch, counted with flush-to-zero off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subnormals {
    pub delta: usize,
    pub delta_entries: usize,
    pub gradient: usize,
    pub gradient_entries: usize,
}

/// Counts the subnormal entries of Δᴸ = Aᴸ − Y (Aᴸ from `predict`) and of
/// ∂J/∂θ (from `compute_gradient`) on the batch `x`, `y`.
pub fn subnormals(net: &Network<f32>, x: ArrayView2<'_, f32>, y: &OwnedTargets) -> Subnormals {
    keeping_subnormals(|| {
        let m = x.nrows();
        let a = net.predict(x).expect("inputs fit the network");
        let delta = a - y.dense(m, net.n_outputs());
        let mut ws = net.workspace(m);
        net.compute_gradient(&mut ws, x, y.rows(0, m), 0.0)
            .expect("the batch fits the network");
        let grad = ws.gradient().as_slice();
        Subnormals {
            delta: delta.iter().filter(|v| v.is_subnormal()).count(),
            delta_entries: delta.len(),
            gradient: grad.iter().filter(|v| v.is_subnormal()).count(),
            gradient_entries: grad.len(),
        }
    })
}

/// Runs `f` with subnormal results kept rather than flushed to zero (the
/// library flushes them by default, see `backprop::denormal`), so that the
/// count shows what these weights would feed the GEMMs without flushing.
fn keeping_subnormals<R>(f: impl FnOnce() -> R) -> R {
    let was = backprop::denormal::flush_denormal();
    backprop::denormal::set_flush_denormal(false);
    let r = f();
    backprop::denormal::set_flush_denormal(was);
    r
}
