//! The training loop: epochs of seeded mini-batches, an optimizer, a
//! learning-rate schedule, validation, early stopping, restarts, history,
//! callbacks and a guard against divergence.
//!
//! One epoch, as the lecture describes mini-batch gradient descent:
//!
//! 1. η is set from the [`Schedule`];
//! 2. a fresh seeded permutation of the m training samples is cut into
//!    ⌈m/B⌉ batches (see [`data`](crate::data));
//! 3. for each batch: J and ∂J/∂θ by backpropagation (λ/2m·ΣW² with m the
//!    batch's rows, biases excluded), a check that both are finite, optional
//!    clipping of ‖∇J‖₂, one optimizer step, a check that θ is finite;
//! 4. the validation loss and metric are computed and recorded with the
//!    training loss, η and the epoch's wall time;
//! 5. callbacks and early stopping may end training.
//!
//! # What the recorded losses are
//! `train_loss` is the objective actually minimized, averaged over the
//! epoch's batches in proportion to their rows: (1/m)·Σ_b m_b·J_b, L2 term
//! included (scikit-learn's `loss_curve_`). It is computed on the fly, so it
//! mixes parameters from the whole epoch. `val_loss` is the data term alone,
//! (1/m_val)·Σᵢ J⁽ⁱ⁾ (weighted if validation weights are given), at the
//! parameters at the end of the epoch; it carries no L2 term, so it compares
//! across values of λ.
//!
//! # Divergence
//! A non-finite loss, gradient or parameter stops training with
//! [`Error::Diverged`] naming the epoch, the batch and the first layer
//! holding a non-finite value. The network is then put back to its
//! parameters from the start of that epoch: finite, and the last state known
//! to be good.

use std::time::Instant;

use ndarray::{Array2, ArrayView1, s};

use crate::data::{Batcher, Dataset, OwnedDataset, holdout_split};
use crate::optim::{Adam, AdamW, Rmsprop, check_learning_rate, check_non_negative, check_positive};
use crate::parallel;
use crate::schedule::{Schedule, Scheduler};
use crate::{
    Error, Layout, Loss, Network, NetworkBuilder, Optimizer, Result, Scalar, Sgd, Targets,
};

/// Which optimizer a [`Trainer`] builds for each run (the learning rate is
/// set separately, with [`Trainer::learning_rate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver {
    /// [`Sgd`]: momentum μ (0 for plain gradient descent), Nesterov or not.
    Sgd {
        /// μ in [0, 1).
        momentum: f64,
        /// Nesterov's look-ahead form.
        nesterov: bool,
    },
    /// [`Adam`].
    Adam {
        /// β₁ in [0, 1).
        beta1: f64,
        /// β₂ in [0, 1).
        beta2: f64,
        /// ε > 0.
        epsilon: f64,
    },
    /// [`AdamW`].
    AdamW {
        /// β₁ in [0, 1).
        beta1: f64,
        /// β₂ in [0, 1).
        beta2: f64,
        /// ε > 0.
        epsilon: f64,
        /// Decoupled weight decay ω ≥ 0.
        weight_decay: f64,
    },
    /// [`Rmsprop`].
    Rmsprop {
        /// α in [0, 1).
        alpha: f64,
        /// ε > 0.
        epsilon: f64,
    },
    /// Full-batch L-BFGS (see [`lbfgs`](crate::lbfgs)): each epoch is one
    /// quasi-Newton iteration with a backtracking line search over the whole
    /// training set; batch size, learning rate and schedule are ignored, and
    /// the recorded "learning rate" is the accepted step length. Training
    /// ends early when no step decreases the cost. Only
    /// [`Trainer::fit`] and [`Trainer::fit_restarts`] run it.
    Lbfgs {
        /// Number of (s, y) pairs kept (≥ 1); scipy's default is 10.
        memory: usize,
    },
}

impl Default for Solver {
    /// Adam with the usual (0.9, 0.999, 10⁻⁸).
    fn default() -> Self {
        Solver::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

impl Solver {
    /// Plain gradient descent.
    pub fn sgd() -> Self {
        Solver::Sgd {
            momentum: 0.0,
            nesterov: false,
        }
    }

    /// Gradient descent with momentum μ (Nesterov's form if `nesterov`).
    pub fn momentum(momentum: f64, nesterov: bool) -> Self {
        Solver::Sgd { momentum, nesterov }
    }

    /// Adam with the usual (0.9, 0.999, 10⁻⁸).
    pub fn adam() -> Self {
        Solver::default()
    }

    /// AdamW with decoupled weight decay ω and Adam's usual constants.
    pub fn adamw(weight_decay: f64) -> Self {
        Solver::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay,
        }
    }

    /// L-BFGS keeping 10 pairs.
    pub fn lbfgs() -> Self {
        Solver::Lbfgs { memory: 10 }
    }

    /// RMSprop with α = 0.99, ε = 10⁻⁸.
    pub fn rmsprop() -> Self {
        Solver::Rmsprop {
            alpha: 0.99,
            epsilon: 1e-8,
        }
    }

    /// A fresh optimizer with learning rate η.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the setting out of range, or
    /// naming `solver` for [`Solver::Lbfgs`], which is not a step-wise
    /// optimizer.
    pub fn build<S: Scalar>(&self, learning_rate: f64) -> Result<Box<dyn Optimizer<S>>> {
        Ok(match *self {
            Solver::Sgd { momentum, nesterov } => Box::new(
                Sgd::new(learning_rate)?
                    .momentum(momentum)?
                    .nesterov(nesterov),
            ),
            Solver::Adam {
                beta1,
                beta2,
                epsilon,
            } => Box::new(
                Adam::new(learning_rate)?
                    .betas(beta1, beta2)?
                    .epsilon(epsilon)?,
            ),
            Solver::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => Box::new(
                AdamW::new(learning_rate, weight_decay)?
                    .betas(beta1, beta2)?
                    .epsilon(epsilon)?,
            ),
            Solver::Rmsprop { alpha, epsilon } => Box::new(
                Rmsprop::new(learning_rate)?
                    .alpha(alpha)?
                    .epsilon(epsilon)?,
            ),
            Solver::Lbfgs { .. } => {
                return Err(Error::InvalidHyperparameter {
                    name: "solver",
                    value: "lbfgs".into(),
                    reason: "L-BFGS works on the full batch and has no step-wise optimizer; \
                             train with Trainer::fit or fit_restarts (partial_fit and fit_with \
                             need a step-wise solver)",
                });
            }
        })
    }
}

/// The quantity early stopping and restarts watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Monitor {
    /// Validation loss (lower is better). The default.
    #[default]
    ValLoss,
    /// Validation metric: accuracy for classification, R² for regression
    /// (higher is better).
    ValMetric,
    /// Training loss (lower is better); needs no validation set.
    TrainLoss,
}

impl Monitor {
    fn higher_is_better(self) -> bool {
        self == Monitor::ValMetric
    }

    fn needs_validation(self) -> bool {
        self != Monitor::TrainLoss
    }

    fn read(self, r: &EpochRecord) -> f64 {
        match self {
            Monitor::ValLoss => r.val_loss.unwrap_or(f64::NAN),
            Monitor::ValMetric => r.val_metric.unwrap_or(f64::NAN),
            Monitor::TrainLoss => r.train_loss,
        }
    }

    /// True when `new` beats `best` by more than `min_delta`.
    fn improves(self, new: f64, best: f64, min_delta: f64) -> bool {
        if self.higher_is_better() {
            new > best + min_delta
        } else {
            new < best - min_delta
        }
    }
}

/// Stop when the monitored quantity has not improved by more than
/// `min_delta` for `patience` consecutive epochs (Keras's `EarlyStopping`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// What to watch. Default [`Monitor::ValLoss`].
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (≥ 1). Default 10
    /// (scikit-learn's `n_iter_no_change`).
    pub patience: usize,
    /// Smallest change that counts as an improvement (≥ 0). Default 0.
    pub min_delta: f64,
    /// Put back the parameters of the best epoch when training ends.
    /// Default true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            monitor: Monitor::ValLoss,
            patience: 10,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// What a callback asks the loop to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// End training after this epoch (early-stopping restoration still
    /// applies).
    Stop,
}

/// Called after every epoch with its record and the network.
///
/// Closures `FnMut(&EpochRecord, &Network<S>) -> Control` are callbacks.
pub trait Callback<S: Scalar>: Send {
    /// Inspects the epoch just finished; returns whether to go on.
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control;
}

impl<S: Scalar, F: FnMut(&EpochRecord, &Network<S>) -> Control + Send> Callback<S> for F {
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control {
        self(record, net)
    }
}

/// One epoch of training, as recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean objective over the epoch's batches, L2 included.
    pub train_loss: f64,
    /// Data loss on the validation set at the end of the epoch.
    pub val_loss: Option<f64>,
    /// Validation accuracy (classification) or R² (regression).
    pub val_metric: Option<f64>,
    /// η used during the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch, validation included, in seconds.
    pub seconds: f64,
}

/// Everything recorded during one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose parameters the network holds when early stopping
    /// restored the best weights; `None` otherwise.
    pub best_epoch: Option<usize>,
    /// True when early stopping or a callback ended training before the
    /// last epoch.
    pub stopped_early: bool,
    /// What was monitored (the early-stopping monitor, else the validation
    /// loss when there is a validation set, else the training loss).
    pub monitor: Monitor,
    /// Its value for the parameters returned.
    pub score: f64,
}

impl History {
    /// The last record, if any epoch ran.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Training losses, one per epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|r| r.train_loss).collect()
    }
}

/// One run among restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Seed of the network's initialization (and, derived, of its
    /// mini-batch stream).
    pub seed: u64,
    /// The run's history, or the error that ended it.
    pub outcome: std::result::Result<History, Error>,
}

/// All runs of [`Trainer::fit_restarts`] and which one was kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Restarts {
    /// Every run, in order.
    pub runs: Vec<RunReport>,
    /// Index of the run whose network was returned.
    pub best: usize,
}

/// Trains networks: every setting has a documented default and is checked
/// by [`validate`](Trainer::validate) once, at the start of each fit.
///
/// ```
/// use backprop::{Activation, Loss, Network, Solver, Trainer};
/// use backprop::data::Dataset;
/// use ndarray::array;
///
/// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let labels = vec![0usize, 1, 1, 0];
/// let mut net = Network::<f32>::builder(2)
///     .hidden(8, Activation::Tanh)
///     .output(2, Loss::CategoricalCrossEntropy)
///     .seed(1)
///     .build()?;
/// let history = Trainer::new()
///     .solver(Solver::adam())
///     .learning_rate(0.05)
///     .epochs(300)
///     .lambda(0.0)
///     .fit(&mut net, Dataset::new(x.view(), &labels), None)?;
/// assert_eq!(net.predict_classes(x.view())?, labels);
/// assert!(history.last().unwrap().train_loss < 0.1);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trainer {
    epochs: usize,
    batch_size: Option<usize>,
    solver: Solver,
    learning_rate: f64,
    schedule: Schedule,
    lambda: f64,
    clip_norm: Option<f64>,
    validation_fraction: Option<f64>,
    early_stopping: Option<EarlyStopping>,
    restarts: usize,
    seed: u64,
    shuffle: bool,
    progress: bool,
}

impl Default for Trainer {
    fn default() -> Self {
        Self::new()
    }
}

/// Batch size when none is set: min(200, m), scikit-learn's `"auto"`.
pub const DEFAULT_BATCH_SIZE: usize = 200;

impl Trainer {
    /// A trainer with every default.
    pub fn new() -> Self {
        Trainer {
            epochs: 200,
            batch_size: None,
            solver: Solver::default(),
            learning_rate: 1e-3,
            schedule: Schedule::Constant,
            lambda: 1e-4,
            clip_norm: None,
            validation_fraction: None,
            early_stopping: None,
            restarts: 1,
            seed: 0,
            shuffle: true,
            progress: false,
        }
    }

    /// Maximum number of epochs (≥ 1). Default 200 (scikit-learn's
    /// `max_iter`).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Rows per mini-batch B (≥ 1; values above m mean full batch). Default
    /// min(200, m).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// The optimizer. Default [`Solver::adam`].
    pub fn solver(mut self, solver: Solver) -> Self {
        self.solver = solver;
        self
    }

    /// Initial learning rate η₀ (finite, > 0). Default 10⁻³.
    pub fn learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// How η evolves over epochs. Default [`Schedule::Constant`].
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// L2 coefficient λ ≥ 0 of (λ/2m)·ΣW² with m the batch's rows; equal to
    /// scikit-learn's `alpha`. Default 10⁻⁴ (scikit-learn's).
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }

    /// Rescale ∇J to norm c whenever ‖∇J‖₂ > c (c finite, > 0). Default: no
    /// clipping.
    pub fn clip_norm(mut self, c: f64) -> Self {
        self.clip_norm = Some(c);
        self
    }

    /// Hold out this fraction of the training data (stratified for class
    /// targets, seeded by [`seed`](Self::seed)) when no validation set is
    /// passed. Must lie in (0, 1). Default: none.
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = Some(fraction);
        self
    }

    /// Early stopping. Default: none (all epochs run).
    pub fn early_stopping(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }

    /// Number of runs for [`fit_restarts`](Self::fit_restarts) (≥ 1).
    /// Default 1.
    pub fn restarts(mut self, restarts: usize) -> Self {
        self.restarts = restarts;
        self
    }

    /// Seed of the mini-batch permutations and of the hold-out split; run k
    /// of [`fit_restarts`](Self::fit_restarts) initializes its network with
    /// seed + k. Default 0.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Draw a new permutation each epoch. Default true; false visits the
    /// samples in their given order.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Show a progress bar on stderr (epoch, batch, training loss,
    /// samples/s). Default false: library use stays silent; `log` records
    /// are emitted either way. Needs the `progress` feature.
    #[cfg(feature = "progress")]
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// The initial learning rate η₀.
    pub fn initial_learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The number of runs [`fit_restarts`](Self::fit_restarts) makes.
    pub fn n_restarts(&self) -> usize {
        self.restarts
    }

    /// A fresh optimizer from the [`Solver`] and η₀.
    ///
    /// # Errors
    /// As [`Solver::build`].
    pub fn build_optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        self.solver.build(self.learning_rate)
    }

    /// This trainer reduced to one pass over the data, without hold-out or
    /// early stopping, shuffling with `seed` (what `partial_fit` runs).
    pub(crate) fn one_pass(&self, seed: u64) -> Trainer {
        Trainer {
            epochs: 1,
            validation_fraction: None,
            early_stopping: None,
            restarts: 1,
            seed,
            ..self.clone()
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the first setting out of range.
    pub fn validate(&self) -> Result<()> {
        let at_least_one = |name: &'static str, v: usize| {
            if v == 0 {
                Err(Error::InvalidHyperparameter {
                    name,
                    value: "0".into(),
                    reason: "must be at least 1",
                })
            } else {
                Ok(())
            }
        };
        at_least_one("epochs", self.epochs)?;
        if let Some(b) = self.batch_size {
            at_least_one("batch_size", b)?;
        }
        at_least_one("restarts", self.restarts)?;
        check_learning_rate(self.learning_rate)?;
        self.schedule.validate(self.learning_rate)?;
        check_non_negative("lambda", self.lambda)?;
        if let Some(c) = self.clip_norm {
            check_positive("clip_norm", c)?;
        }
        if let Some(f) = self.validation_fraction
            && !(f.is_finite() && f > 0.0 && f < 1.0)
        {
            return Err(Error::InvalidHyperparameter {
                name: "validation_fraction",
                value: f.to_string(),
                reason: "must lie in (0, 1)",
            });
        }
        if let Some(es) = &self.early_stopping {
            at_least_one("patience", es.patience)?;
            check_non_negative("min_delta", es.min_delta)?;
        }
        match self.solver {
            Solver::Lbfgs { memory } => at_least_one("memory", memory),
            _ => self.solver.build::<f64>(self.learning_rate).map(|_| ()),
        }
    }

    /// Trains `net` from its current parameters with a fresh optimizer
    /// built from the [`Solver`]. `val` is the validation set; without one,
    /// [`validation_fraction`](Self::validation_fraction) (if set) holds out
    /// part of `train`.
    ///
    /// # Errors
    /// Invalid settings ([`validate`](Self::validate)); data that does not
    /// fit the network ([`Error::InputWidth`], target errors, ...);
    /// [`Error::InvalidHyperparameter`] when early stopping watches the
    /// validation set and there is none; [`Error::ValidationSplit`];
    /// [`Error::Diverged`], after which `net` holds the last good parameters.
    pub fn fit<S: Scalar>(
        &self,
        net: &mut Network<S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
    ) -> Result<History> {
        self.validate()?;
        match self.solver {
            Solver::Lbfgs { .. } => self.fit_inner(net, None, train, val, &mut []),
            _ => {
                let mut opt = self.solver.build::<S>(self.learning_rate)?;
                self.fit_inner(net, Some(opt.as_mut()), train, val, &mut [])
            }
        }
    }

    /// As [`fit`](Self::fit), with a caller-owned optimizer (any
    /// [`Optimizer`], state kept across calls: this is how warm starts work)
    /// and callbacks. The [`Solver`] setting is ignored.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_with<S: Scalar>(
        &self,
        net: &mut Network<S>,
        opt: &mut dyn Optimizer<S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        self.validate()?;
        self.fit_inner(net, Some(opt), train, val, callbacks)
    }

    fn fit_inner<S: Scalar>(
        &self,
        net: &mut Network<S>,
        opt: Option<&mut dyn Optimizer<S>>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        let split;
        let (train, val) = match (&val, self.validation_fraction) {
            (Some(v), _) => (train.reborrow(), Some(v.reborrow())),
            (None, Some(f)) => {
                check_data(net, &train, "training set")?;
                split = holdout_split(&train, f, self.seed)?;
                (split.0.view(), Some(split.1.view()))
            }
            (None, None) => (train.reborrow(), None),
        };
        self.run(net, opt, train, val, self.seed, callbacks)
    }

    /// Trains [`restarts`](Self::restarts) networks built by `builder` with
    /// seeds seed, seed + 1, ... and returns the one with the best monitored
    /// score (see [`History::score`]), with a report of every run. Runs that
    /// diverge are reported and skipped. All runs see the same hold-out
    /// split.
    ///
    /// # Errors
    /// Setting and data errors as [`fit`](Self::fit); when every run fails,
    /// the last run's error.
    pub fn fit_restarts<S: Scalar>(
        &self,
        builder: &NetworkBuilder<S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
    ) -> Result<(Network<S>, Restarts)> {
        self.validate()?;
        let split: Option<(OwnedDataset<S>, OwnedDataset<S>)>;
        let (train, val) = match (&val, self.validation_fraction) {
            (Some(v), _) => (train.reborrow(), Some(v.reborrow())),
            (None, Some(f)) => {
                train.check("training set")?;
                split = Some(holdout_split(&train, f, self.seed)?);
                let (t, v) = split.as_ref().expect("just set");
                (t.view(), Some(v.view()))
            }
            (None, None) => (train.reborrow(), None),
        };
        let mut runs = Vec::with_capacity(self.restarts);
        let mut best: Option<(usize, Network<S>, f64, Monitor)> = None;
        for k in 0..self.restarts {
            let seed = self.seed.wrapping_add(k as u64);
            let mut net = builder.clone().seed(seed).build()?;
            let outcome = match self.solver {
                Solver::Lbfgs { .. } => self.run(&mut net, None, train, val, seed, &mut []),
                _ => {
                    let mut opt = self.solver.build::<S>(self.learning_rate)?;
                    self.run(&mut net, Some(opt.as_mut()), train, val, seed, &mut [])
                }
            };
            match &outcome {
                Ok(h) => {
                    log::info!("restart {k} (seed {seed}): score {:.6e}", h.score);
                    let better = match &best {
                        None => true,
                        Some((_, _, s, mon)) => mon.improves(h.score, *s, 0.0),
                    };
                    if better && h.score.is_finite() {
                        best = Some((k, net, h.score, h.monitor));
                    }
                }
                // Errors in the data or settings would fail every run alike.
                Err(e @ Error::Diverged { .. }) => {
                    log::warn!("restart {k} (seed {seed}) failed: {e}");
                }
                Err(e) => return Err(e.clone()),
            }
            runs.push(RunReport { seed, outcome });
        }
        match best {
            Some((i, net, _, _)) => Ok((net, Restarts { runs, best: i })),
            None => Err(runs
                .pop()
                .and_then(|r| r.outcome.err())
                .expect("restarts >= 1 and no run succeeded")),
        }
    }

    /// The loop; `opt = None` runs L-BFGS.
    /// Runs the loop on a thread of the elementwise pool (see
    /// [`parallel::install`]): the pool is entered once per run, so steps
    /// allocate nothing whatever the thread count.
    fn run<S: Scalar>(
        &self,
        net: &mut Network<S>,
        opt: Option<&mut dyn Optimizer<S>>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        seed: u64,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        parallel::install(|| self.run_in_pool(net, opt, train, val, seed, callbacks))
    }

    fn run_in_pool<S: Scalar>(
        &self,
        net: &mut Network<S>,
        mut opt: Option<&mut dyn Optimizer<S>>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        seed: u64,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        check_data(net, &train, "training set")?;
        if let Some(v) = &val {
            check_data(net, v, "validation set")?;
        }
        let monitor = match (&self.early_stopping, &val) {
            (Some(es), None) if es.monitor.needs_validation() => {
                return Err(Error::InvalidHyperparameter {
                    name: "early_stopping",
                    value: format!("{:?}", es.monitor),
                    reason: "watches the validation set but there is none; pass a validation \
                             set, set validation_fraction, or monitor the training loss",
                });
            }
            (Some(es), _) => es.monitor,
            (None, Some(_)) => Monitor::ValLoss,
            (None, None) => Monitor::TrainLoss,
        };

        let m = train.len();
        let batch = self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE).min(m);
        let mut batcher = Batcher::new(&train, batch, shuffle_seed(seed))?;
        let mut lbfgs = match self.solver {
            Solver::Lbfgs { memory } if opt.is_none() => {
                Some(crate::lbfgs::Lbfgs::new(net.n_params(), memory))
            }
            _ => None,
        };
        let mut ws = net.workspace(if lbfgs.is_some() { m } else { batch });
        let mut val_eval = val.as_ref().map(|v| ValEval::new(net, v));
        let lambda = S::cast(self.lambda);
        let mut scheduler = Scheduler::new(self.schedule, self.learning_rate)?;
        let mut epoch_start = net.params().to_vec();
        let mut best_params = self
            .early_stopping
            .filter(|es| es.restore_best)
            .map(|_| net.params().to_vec());
        let mut best: Option<(usize, f64)> = None;
        let mut bad_epochs = 0;
        let mut history = History {
            epochs: Vec::with_capacity(self.epochs),
            best_epoch: None,
            stopped_early: false,
            monitor,
            score: f64::NAN,
        };
        let mut samples_seen = 0u64;
        let n_steps = if lbfgs.is_some() {
            1
        } else {
            batcher.n_batches()
        };
        let progress = Progress::new(self.progress, self.epochs, n_steps);

        for epoch in 0..self.epochs {
            let started = Instant::now();
            epoch_start.copy_from_slice(net.params());
            let (train_loss, eta) = match (&mut opt, &mut lbfgs) {
                (_, Some(state)) => {
                    let outcome = state.iterate(net, |n, g| {
                        let j = match train.sample_weight {
                            None => n.compute_gradient(&mut ws, train.x, train.y, lambda)?,
                            Some(w) => {
                                n.compute_gradient_weighted(&mut ws, train.x, train.y, w, lambda)?
                            }
                        };
                        for (gi, v) in g.iter_mut().zip(ws.gradient().as_slice()) {
                            *gi = v.wide();
                        }
                        Ok(j.wide())
                    })?;
                    match outcome {
                        Some(crate::lbfgs::Outcome::Moved { step, cost }) => (cost, step),
                        Some(crate::lbfgs::Outcome::Stalled) => {
                            log::info!(
                                "L-BFGS: no decrease along the search direction at epoch {epoch}; stopping"
                            );
                            history.stopped_early = true;
                            break;
                        }
                        None => {
                            let layer =
                                first_non_finite_layer(net.layout(), ws.gradient().as_slice())
                                    .unwrap_or(net.depth() - 1);
                            net.params_mut().copy_from_slice(&epoch_start);
                            return Err(Error::Diverged {
                                epoch,
                                batch: 0,
                                layer,
                                what: "loss",
                            });
                        }
                    }
                }
                (Some(opt), None) => {
                    let eta = scheduler.learning_rate();
                    opt.set_learning_rate(eta)?;
                    if self.shuffle {
                        batcher.shuffle();
                    }
                    let mut loss_sum = 0.0f64;
                    for b in 0..batcher.n_batches() {
                        let (xb, yb, wb) = batcher.gather(&train, b);
                        let rows = xb.nrows();
                        let cost = match wb {
                            None => net.compute_gradient(&mut ws, xb, yb, lambda)?,
                            Some(w) => net.compute_gradient_weighted(&mut ws, xb, yb, w, lambda)?,
                        };
                        let diverged = |layer, what| Error::Diverged {
                            epoch,
                            batch: b,
                            layer,
                            what,
                        };
                        let norm = ws.gradient().norm();
                        if !norm.is_finite() {
                            let layer =
                                first_non_finite_layer(net.layout(), ws.gradient().as_slice())
                                    .unwrap_or(net.depth() - 1);
                            net.params_mut().copy_from_slice(&epoch_start);
                            log::warn!("gradient not finite at epoch {epoch}, batch {b}");
                            return Err(diverged(layer, "gradient"));
                        }
                        if !cost.is_finite() {
                            net.params_mut().copy_from_slice(&epoch_start);
                            log::warn!("loss not finite at epoch {epoch}, batch {b}");
                            return Err(diverged(net.depth() - 1, "loss"));
                        }
                        if let Some(c) = self.clip_norm
                            && norm > c
                        {
                            let f = S::cast(c / norm);
                            ws.gradient_mut()
                                .as_mut_slice()
                                .iter_mut()
                                .for_each(|g| *g = *g * f);
                        }
                        opt.step(net, ws.gradient())?;
                        if let Some(layer) = first_non_finite_layer(net.layout(), net.params()) {
                            net.params_mut().copy_from_slice(&epoch_start);
                            log::warn!("parameters not finite at epoch {epoch}, batch {b}");
                            return Err(diverged(layer, "parameters"));
                        }
                        loss_sum += cost.wide() * rows as f64;
                        progress.batch();
                    }
                    (loss_sum / m as f64, eta)
                }
                (None, None) => unreachable!("run without an optimizer is L-BFGS"),
            };
            samples_seen += m as u64;
            let (val_loss, val_metric) = match (&mut val_eval, &val) {
                (Some(e), Some(v)) => {
                    let (l, s) = e.evaluate(net, v)?;
                    (Some(l), Some(s))
                }
                _ => (None, None),
            };
            let record = EpochRecord {
                epoch,
                train_loss,
                val_loss,
                val_metric,
                learning_rate: eta,
                seconds: started.elapsed().as_secs_f64(),
            };
            history.epochs.push(record);
            progress.epoch(&record, m);
            log::debug!(
                "epoch {epoch}: train loss {train_loss:.6e}, val loss {val_loss:?}, \
                 val metric {val_metric:?}, lr {eta:.3e}"
            );

            let mut stop = false;
            for cb in callbacks.iter_mut() {
                if cb.on_epoch_end(&record, net) == Control::Stop {
                    stop = true;
                }
            }
            let value = monitor.read(&record);
            if let Some(es) = &self.early_stopping {
                let improved = match best {
                    None => value.is_finite(),
                    Some((_, b)) => monitor.improves(value, b, es.min_delta),
                };
                if improved {
                    best = Some((epoch, value));
                    bad_epochs = 0;
                    if let Some(bp) = &mut best_params {
                        bp.copy_from_slice(net.params());
                    }
                } else {
                    bad_epochs += 1;
                    if bad_epochs >= es.patience {
                        log::info!(
                            "early stopping at epoch {epoch}: no improvement of {monitor:?} \
                             for {bad_epochs} epochs"
                        );
                        stop = true;
                    }
                }
            }
            if stop {
                history.stopped_early = epoch + 1 < self.epochs;
                break;
            }
            let plateau_loss = record.val_loss.unwrap_or(record.train_loss);
            scheduler.advance(epoch + 1, samples_seen, plateau_loss);
        }

        progress.finish();
        history.score = history.last().map_or(f64::NAN, |r| monitor.read(r));
        if let (Some(bp), Some((e, v))) = (&best_params, best) {
            net.params_mut().copy_from_slice(bp);
            history.best_epoch = Some(e);
            history.score = v;
        }
        Ok(history)
    }
}

/// The shuffle stream's seed, decorrelated from the initialization stream
/// that uses the same user seed (SplitMix64 finalizer).
fn shuffle_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The optional terminal progress bar; a no-op unless switched on (and
/// compiled in with the `progress` feature).
struct Progress {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn new(on: bool, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "progress")]
        {
            let bar = on.then(|| {
                let bar = indicatif::ProgressBar::new((epochs * batches) as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} batch {pos}/{len} [{elapsed_precise}] {msg}",
                    )
                    .expect("static template"),
                );
                bar
            });
            Progress { bar }
        }
        #[cfg(not(feature = "progress"))]
        Progress {}
    }

    fn batch(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn epoch(&self, r: &EpochRecord, m: usize) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            let rate = m as f64 / r.seconds.max(1e-12);
            bar.set_message(format!(
                "epoch {} loss {:.4e} {:.0} samples/s",
                r.epoch + 1,
                r.train_loss,
                rate
            ));
        }
    }

    fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Checks a whole data set against the network once, before training.
pub(crate) fn check_data<S: Scalar>(
    net: &Network<S>,
    d: &Dataset<'_, S>,
    what: &'static str,
) -> Result<()> {
    d.check(what)?;
    if d.x.ncols() != net.n_inputs() {
        return Err(Error::InputWidth {
            got: d.x.ncols(),
            expected: net.n_inputs(),
        });
    }
    crate::network::check_finite("input", d.x)?;
    net.loss().validate(&d.y, net.n_outputs())
}

/// The first layer whose weights or biases hold a NaN or infinity.
#[allow(clippy::eq_op)] // x − x is the finiteness test
fn first_non_finite_layer<S: Scalar>(layout: &Layout, flat: &[S]) -> Option<usize> {
    // Fast path: x − x is 0 for finite x and NaN otherwise.
    if flat.iter().fold(S::zero(), |acc, &v| acc + (v - v)) == S::zero() {
        return None;
    }
    (0..layout.depth()).find(|&l| {
        flat[layout.weight_range(l)]
            .iter()
            .chain(&flat[layout.bias_range(l)])
            .any(|v| !v.is_finite())
    })
}

/// Rows per chunk when evaluating the validation set.
const VAL_CHUNK: usize = 1024;

/// Buffers for the validation loss and metric, allocated once.
struct ValEval<S: Scalar> {
    ws: crate::Workspace<S>,
    out: Array2<S>,
    classes: Vec<usize>,
}

impl<S: Scalar> ValEval<S> {
    fn new(net: &Network<S>, v: &Dataset<'_, S>) -> Self {
        ValEval {
            ws: net.inference_workspace(v.len().clamp(1, VAL_CHUNK)),
            out: Array2::zeros((v.len(), net.n_outputs())),
            classes: vec![0; v.len()],
        }
    }

    /// (data loss, metric) on `v`. Allocates nothing.
    fn evaluate(&mut self, net: &Network<S>, v: &Dataset<'_, S>) -> Result<(f64, f64)> {
        let m = v.len();
        let mut loss = 0.0f64;
        let mut total_w = 0.0f64;
        let mut start = 0;
        while start < m {
            let end = (start + VAL_CHUNK).min(m);
            let x = v.x.slice(s![start..end, ..]);
            let y = match &v.y {
                Targets::Dense(y) => Targets::Dense(y.slice(s![start..end, ..])),
                Targets::Classes(c) => Targets::Classes(&c[start..end]),
            };
            match v.sample_weight {
                None => {
                    let j = net.cost(&mut self.ws, x, y, S::zero())?.wide();
                    loss += j * (end - start) as f64;
                    total_w += (end - start) as f64;
                }
                Some(w) => {
                    let w = &w[start..end];
                    let sw: f64 = w.iter().map(|v| v.wide()).sum();
                    if sw > 0.0 {
                        let j = net.cost_weighted(&mut self.ws, x, y, w, S::zero())?.wide();
                        loss += j * sw;
                        total_w += sw;
                    }
                }
            }
            start = end;
        }
        let loss = loss / total_w;
        let metric = match (net.loss(), v.y) {
            (_, Targets::Classes(c)) => {
                net.predict_classes_into(&mut self.ws, v.x, &mut self.classes)?;
                crate::metrics::accuracy(&self.classes, c, v.sample_weight)?
            }
            (Loss::SquaredError, Targets::Dense(y)) => {
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                crate::metrics::r2_score(self.out.view(), y, v.sample_weight)?
            }
            (Loss::CategoricalCrossEntropy, Targets::Dense(y)) => {
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                let w = v.sample_weight;
                let hit =
                    |i: usize| f64::from(u8::from(argmax(self.out.row(i)) == argmax(y.row(i))));
                crate::metrics::weighted_mean(m, w, hit)
            }
            (Loss::BinaryCrossEntropy, Targets::Dense(y)) => {
                // Subset accuracy: every label of the sample right.
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                let half = S::cast(0.5);
                let hit = |i: usize| {
                    let all = self
                        .out
                        .row(i)
                        .iter()
                        .zip(y.row(i))
                        .all(|(&p, &t)| (p >= half) == (t >= half));
                    f64::from(u8::from(all))
                };
                crate::metrics::weighted_mean(m, v.sample_weight, hit)
            }
        };
        Ok((loss, metric))
    }
}

fn argmax<S: Scalar>(row: ArrayView1<'_, S>) -> usize {
    let mut best = 0;
    for (k, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_directions() {
        assert!(Monitor::ValLoss.improves(0.9, 1.0, 0.05));
        assert!(!Monitor::ValLoss.improves(0.96, 1.0, 0.05));
        assert!(Monitor::ValMetric.improves(0.9, 0.8, 0.0));
        assert!(!Monitor::ValMetric.improves(0.8, 0.8, 0.0));
    }

    #[test]
    fn shuffle_seed_differs_from_seed() {
        assert_ne!(shuffle_seed(0), 0);
        assert_ne!(shuffle_seed(1), shuffle_seed(0));
    }
}
