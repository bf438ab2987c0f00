//! [`Trainer`]: every training setting, checked once, and the ways to run
//! it (`fit`, `fit_with`, `fit_with_optimizer`, `fit_continuing`,
//! `fit_restarts`).

use crate::data::{Dataset, ImageAugment, OwnedDataset, holdout_split};
use crate::distributed::{self, Distributed};
use crate::{
    Error, Network, NetworkBuilder, Optimizer, Result, Scalar, Schedule, SchedulePosition, Solver,
    check, parallel,
};

use super::checkpoint::{Resume, check_resumable, run_key};
use super::stepper::{self, OptimizerSource, Stepper};
use super::{Callback, EarlyStopping, History, Monitor, Restarts, RunReport};

/// The smallest hold-out [`Trainer`] takes for
/// [`validation_fraction`](Trainer#structfield.validation_fraction).
pub const MIN_VALIDATION_SAMPLES: usize = 2;

/// Trains networks. Every setting is a public field with a documented
/// default (the builder methods set them one by one) and is checked by
/// [`validate`](Trainer::validate) once, at the start of each fit.
///
/// Four settings belong to mini-batch training only: the batch size, the
/// learning rate, the schedule and clipping. With the full-batch
/// [`LbfgsConfig`](crate::LbfgsConfig) solver they must stay unset (the
/// schedule [`Schedule::Constant`]); [`validate`](Trainer::validate) names
/// any that is set.
///
/// ```
/// use backprop::{Activation, AdamConfig, Loss, Network, Trainer};
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
///     .solver(AdamConfig::default())
///     .learning_rate(0.05)
///     .epochs(300)
///     .lambda(0.0)
///     .fit(&mut net, Dataset::new(x.view(), &labels), None)?;
/// assert_eq!(net.predict_classes(x.view())?, labels);
/// assert!(history.last().unwrap().train_loss < 0.1);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Trainer {
    /// Maximum number of epochs (≥ 1). Default 200 (scikit-learn's
    /// `max_iter`).
    pub epochs: usize,
    /// The optimizer and its settings. Default `None`: Adam with its
    /// defaults for [`fit`](Trainer::fit); must be `None` for
    /// [`fit_with_optimizer`](Trainer::fit_with_optimizer), whose optimizer
    /// is given.
    pub solver: Option<Solver>,
    /// Rows per mini-batch B (≥ 1; values above m mean full batch). Default
    /// `None`: min(200, m), scikit-learn's `"auto"`. Mini-batch only.
    pub batch_size: Option<usize>,
    /// Initial learning rate η₀ (finite, > 0). Default `None`: 10⁻³.
    /// Mini-batch only.
    pub learning_rate: Option<f64>,
    /// How η evolves over epochs. Default [`Schedule::Constant`]. Mini-batch
    /// only.
    pub schedule: Schedule,
    /// L2 coefficient λ ≥ 0 of (λ/2m)·ΣW² with m the batch's rows; equal to
    /// scikit-learn's `alpha`. Default 10⁻⁴ (scikit-learn's).
    pub lambda: f64,
    /// Rescale ∇J to norm c whenever ‖∇J‖₂ > c (c finite, > 0). Default
    /// `None`: no clipping. Mini-batch only.
    pub clip_norm: Option<f64>,
    /// Hold out this fraction of the training data (stratified for class
    /// targets, seeded by `seed`) when no validation set is passed. Must lie
    /// in (0, 1) and hold out at least [`MIN_VALIDATION_SAMPLES`] samples
    /// (else [`Error::ValidationSplit`]). Default `None`.
    pub validation_fraction: Option<f64>,
    /// Early stopping. Default `None`: all epochs run.
    pub early_stopping: Option<EarlyStopping>,
    /// Number of runs of [`fit_restarts`](Trainer::fit_restarts) (≥ 1).
    /// Default 1.
    pub restarts: usize,
    /// Seed of the mini-batch permutations and of the hold-out split; run k
    /// of [`fit_restarts`](Trainer::fit_restarts) initializes its network
    /// with seed + k. Default 0.
    pub seed: u64,
    /// Draw a new permutation each epoch. Default true; false visits the
    /// samples in their given order (as L-BFGS always does).
    pub shuffle: bool,
    /// Show a progress bar on stderr (needs the `progress` feature).
    /// Default false.
    pub progress: bool,
    /// Train data-parallel over the ranks of a communicator (see
    /// [`distributed`](crate::distributed)): every rank runs the same fit on
    /// the same data, each computing its shard of every batch. Default
    /// `None`: one process.
    pub distributed: Option<Distributed>,
    /// Label smoothing ε ∈ [0, 1) of a cross-entropy head: the training
    /// passes use the targets y′ = (1 − ε)·y + ε/K (see
    /// [`Loss::smoothing`](crate::Loss::smoothing) for K), so the training
    /// loss reported is the smoothed one; validation scores the plain
    /// targets. Default 0: none. Refused for a squared-error head.
    pub label_smoothing: f64,
    /// Max-norm constraint c (finite, > 0): after each optimizer step,
    /// every unit's incoming weight vector (each row of every W⁽ˡ⁾, the
    /// output layer's included; biases untouched) longer than c is rescaled
    /// to norm c ([`Network::apply_max_norm`]). Default `None`: no
    /// constraint. Mini-batch only.
    pub max_norm: Option<f64>,
    /// Random shifts and mirrors of image rows in the training batches
    /// ([`ImageAugment`], checked against the network's inputs), drawn from
    /// a stream seeded by [`seed`](Trainer#structfield.seed). Default
    /// `None`. Mini-batch only.
    pub augment: Option<ImageAugment>,
}

impl Default for Trainer {
    fn default() -> Self {
        Self::new()
    }
}

impl Trainer {
    /// A trainer with every default.
    pub fn new() -> Self {
        Trainer {
            epochs: 200,
            solver: None,
            batch_size: None,
            learning_rate: None,
            schedule: Schedule::Constant,
            lambda: 1e-4,
            clip_norm: None,
            validation_fraction: None,
            early_stopping: None,
            restarts: 1,
            seed: 0,
            shuffle: true,
            progress: false,
            distributed: None,
            label_smoothing: 0.0,
            max_norm: None,
            augment: None,
        }
    }

    /// Sets [`epochs`](Trainer#structfield.epochs).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the [`solver`](Trainer#structfield.solver): any optimizer config
    /// ([`SgdConfig`](crate::SgdConfig), [`AdamConfig`](crate::AdamConfig),
    /// ...) or a [`Solver`].
    pub fn solver(mut self, solver: impl Into<Solver>) -> Self {
        self.solver = Some(solver.into());
        self
    }

    /// Sets [`batch_size`](Trainer#structfield.batch_size).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Sets [`learning_rate`](Trainer#structfield.learning_rate) η₀.
    pub fn learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = Some(learning_rate);
        self
    }

    /// Sets [`schedule`](Trainer#structfield.schedule).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets [`lambda`](Trainer#structfield.lambda) λ.
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.lambda = lambda;
        self
    }

    /// Sets [`clip_norm`](Trainer#structfield.clip_norm) c.
    pub fn clip_norm(mut self, c: f64) -> Self {
        self.clip_norm = Some(c);
        self
    }

    /// Sets [`validation_fraction`](Trainer#structfield.validation_fraction).
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = Some(fraction);
        self
    }

    /// Sets [`early_stopping`](Trainer#structfield.early_stopping).
    pub fn early_stopping(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }

    /// Sets [`restarts`](Trainer#structfield.restarts).
    pub fn restarts(mut self, restarts: usize) -> Self {
        self.restarts = restarts;
        self
    }

    /// Sets [`seed`](Trainer#structfield.seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`shuffle`](Trainer#structfield.shuffle).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets [`progress`](Trainer#structfield.progress): a bar on stderr
    /// (epoch, batch, training loss, samples/s). Library use stays silent
    /// by default; `log` records are emitted either way.
    #[cfg(feature = "progress")]
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Sets [`distributed`](Trainer#structfield.distributed).
    pub fn distributed(mut self, comm: Distributed) -> Self {
        self.distributed = Some(comm);
        self
    }

    /// Sets [`label_smoothing`](Trainer#structfield.label_smoothing) ε.
    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    /// Sets [`max_norm`](Trainer#structfield.max_norm) c.
    pub fn max_norm(mut self, c: f64) -> Self {
        self.max_norm = Some(c);
        self
    }

    /// Sets [`augment`](Trainer#structfield.augment).
    pub fn augment(mut self, augment: ImageAugment) -> Self {
        self.augment = Some(augment);
        self
    }

    /// This trainer reduced to one pass over the data, without hold-out,
    /// early stopping or solver (its optimizer is given), shuffling with
    /// `seed`: what `partial_fit` runs.
    pub(crate) fn one_pass(&self, seed: u64) -> Trainer {
        Trainer {
            epochs: 1,
            solver: None,
            validation_fraction: None,
            early_stopping: None,
            restarts: 1,
            seed,
            ..self.clone()
        }
    }

    /// Checks every setting, the solver's included, and that the settings
    /// fit the solver's mode.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the first setting out of
    /// range, or a mini-batch setting given to L-BFGS.
    pub fn validate(&self) -> Result<()> {
        check::at_least_one("epochs", self.epochs)?;
        check::at_least_one("restarts", self.restarts)?;
        check::non_negative("lambda", self.lambda)?;
        if let Some(f) = self.validation_fraction {
            check::open_unit_interval("validation_fraction", f)?;
        }
        if let Some(es) = &self.early_stopping {
            check::at_least_one("patience", es.patience)?;
            check::non_negative("min_delta", es.min_delta)?;
        }
        if let Some(s) = &self.solver {
            s.validate()?;
        }
        check::unit_interval("label_smoothing", self.label_smoothing)?;
        if let Some(c) = self.max_norm {
            check::positive("max_norm", c)?;
        }
        stepper::check_settings(self)
    }

    /// Trains `net` from its current parameters with a fresh optimizer
    /// built from the solver. `val` is the validation set; without one,
    /// [`validation_fraction`](Trainer#structfield.validation_fraction) (if
    /// set) holds out part of `train`.
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
        self.fit_with(net, train, val, &mut [])
    }

    /// As [`fit`](Self::fit), calling `callbacks` (see [`Callback`]) at
    /// every point of the run.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_with<S: Scalar>(
        &self,
        net: &mut Network<S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        self.validate()?;
        let (held_train, held_val) = self.split(Some(&*net), &train, val.as_ref())?;
        let (train, val) = (held_train.view(), held_val.as_ref().map(Held::view));
        self.run(
            net,
            OptimizerSource::Solver,
            train,
            val,
            self.seed,
            callbacks,
        )
    }

    /// As [`fit_with`](Self::fit_with), stepping with the caller's
    /// `optimizer` (any [`Optimizer`], its state kept across calls: this is
    /// how warm starts and `partial_fit` work). The trainer's
    /// [`solver`](Trainer#structfield.solver) must be unset, since the
    /// optimizer takes its place; the learning rate, schedule, batch size
    /// and clipping still apply.
    ///
    /// # Errors
    /// As [`fit`](Self::fit); [`Error::InvalidHyperparameter`] naming
    /// `solver` when a solver is set.
    pub fn fit_with_optimizer<S: Scalar>(
        &self,
        net: &mut Network<S>,
        optimizer: &mut dyn Optimizer<S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        let source = OptimizerSource::Given(optimizer);
        self.run_given(net, source, train, val, callbacks)
    }

    /// As [`fit_with_optimizer`](Self::fit_with_optimizer), continuing the
    /// learning-rate schedule from `position` (where an earlier run left
    /// it, or [`SchedulePosition::default`] to start one) instead of
    /// starting again at η₀, and leaving `position` where this run ends:
    /// epoch-based schedules count the epochs of every run, invscaling the
    /// samples of every run (scikit-learn's `t_`). With the optimizer's own
    /// state (Adam's moments and step count t) also carried by `optimizer`,
    /// a sequence of calls trains as one longer run would, the shuffling
    /// aside (each call draws permutations from the trainer's seed).
    ///
    /// # Errors
    /// As [`fit_with_optimizer`](Self::fit_with_optimizer).
    pub fn fit_continuing<S: Scalar>(
        &self,
        net: &mut Network<S>,
        optimizer: &mut dyn Optimizer<S>,
        position: &mut SchedulePosition,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        let source = OptimizerSource::Continuing(optimizer, position);
        self.run_given(net, source, train, val, callbacks)
    }

    /// A run with the caller's optimizer: no solver may be set beside it.
    fn run_given<S: Scalar>(
        &self,
        net: &mut Network<S>,
        source: OptimizerSource<'_, S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        if let Some(s) = &self.solver {
            return Err(given_optimizer_with_solver(s));
        }
        self.validate()?;
        let (held_train, held_val) = self.split(Some(&*net), &train, val.as_ref())?;
        let (train, val) = (held_train.view(), held_val.as_ref().map(Held::view));
        self.run(net, source, train, val, self.seed, callbacks)
    }

    /// Trains [`restarts`](Trainer#structfield.restarts) networks built by
    /// `builder` with seeds seed, seed + 1, ... and returns the one with the
    /// best monitored score (see [`History::score`]), with a report of every
    /// run. Runs that diverge are reported and skipped. All runs see the
    /// same hold-out split.
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
        let (held_train, held_val) = self.split(None, &train, val.as_ref())?;
        let (train, val) = (held_train.view(), held_val.as_ref().map(Held::view));
        let mut runs = Vec::with_capacity(self.restarts);
        let mut best: Option<(usize, Network<S>, f64, Monitor)> = None;
        for k in 0..self.restarts {
            let seed = self.seed.wrapping_add(k as u64);
            let mut net = builder.clone().seed(seed).build()?;
            let outcome = self.run(&mut net, OptimizerSource::Solver, train, val, seed, &mut []);
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

    /// The training and validation sets of a run: `val` as given, else the
    /// hold-out split of `train` when a fraction is set (after checking
    /// `train`, against `net` when there is one).
    fn split<'a, S: Scalar>(
        &self,
        net: Option<&Network<S>>,
        train: &'a Dataset<'_, S>,
        val: Option<&'a Dataset<'_, S>>,
    ) -> Result<(Held<'a, S>, Option<Held<'a, S>>)> {
        match (val, self.validation_fraction) {
            (Some(v), _) => Ok((
                Held::Borrowed(train.reborrow()),
                Some(Held::Borrowed(v.reborrow())),
            )),
            (None, Some(f)) => {
                match net {
                    Some(net) => super::check_data(net, train, "training set")?,
                    None => train.check("training set")?,
                }
                let (t, v) = holdout_split(train, f, self.seed)?;
                // One sample cannot tell epochs apart (scikit-learn refuses it too).
                if v.view().len() < MIN_VALIDATION_SAMPLES {
                    return Err(Error::ValidationSplit {
                        n_samples: train.len(),
                        fraction: f,
                        reason: "a validation set of fewer than 2 samples, too few to judge \
                                 epochs by",
                    });
                }
                Ok((Held::Owned(t), Some(Held::Owned(v))))
            }
            (None, None) => Ok((Held::Borrowed(train.reborrow()), None)),
        }
    }

    /// One run: checks the data against `net` once, then the epochs, on a
    /// thread of the elementwise pool (see [`parallel::install`]): the pool
    /// is entered once per run, so steps allocate nothing whatever the
    /// thread count.
    fn run<S: Scalar>(
        &self,
        net: &mut Network<S>,
        source: OptimizerSource<'_, S>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        seed: u64,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        parallel::install(|| {
            super::check_data(net, &train, "training set")?;
            if let Some(v) = &val {
                super::check_data(net, v, "validation set")?;
            }
            if !S::cast(self.lambda).is_finite() {
                return Err(Error::InvalidHyperparameter {
                    name: "lambda",
                    value: self.lambda.to_string(),
                    reason: "the L2 coefficient overflows the network's scalar type",
                });
            }
            net.loss().check_label_smoothing(self.label_smoothing)?;
            if let Some(a) = &self.augment {
                a.check(net.n_inputs())?;
            }
            let monitor = self.monitor(val.is_some())?;
            if let Some(comm) = &self.distributed {
                distributed::start(comm, net, &train)?;
            }
            let resume = Resume {
                key: run_key(self, net, train.len(), val.as_ref().map(Dataset::len)),
                from: match source {
                    OptimizerSource::Checkpoint(c) => Some(c),
                    _ => None,
                },
            };
            let stepper = Stepper::new(self, source, net, &train, seed)?;
            let data = (train, val);
            super::epochs(self, net, stepper, monitor, data, callbacks, resume)
        })
    }

    /// The early-stopping monitor, else the validation loss when there is a
    /// validation set, else the training loss.
    fn monitor(&self, has_val: bool) -> Result<Monitor> {
        match (&self.early_stopping, has_val) {
            (Some(es), false) if es.monitor.needs_validation() => {
                Err(Error::InvalidHyperparameter {
                    name: "early_stopping",
                    value: format!("{:?}", es.monitor),
                    reason: "watches the validation set but there is none; pass a validation \
                             set, set validation_fraction, or monitor the training loss",
                })
            }
            (Some(es), _) => Ok(es.monitor),
            (None, true) => Ok(Monitor::ValLoss),
            (None, false) => Ok(Monitor::TrainLoss),
        }
    }
}

/// Resuming from a checkpoint (see [`Checkpoints`](super::Checkpoints)).
impl Trainer {
    /// Continues the run saved in `checkpoint` (by
    /// [`Checkpoints`](super::Checkpoints)) up to
    /// [`epochs`](Trainer#structfield.epochs), as
    /// [`fit_with`](Self::fit_with) would have: θ, the optimizer's state, the
    /// schedule, the shuffling stream, early stopping and the history come
    /// from the checkpoint. With the settings, data and thread count of the
    /// checkpointed run, the result equals the uninterrupted run's bit for
    /// bit (the history's wall times aside). `net` must have the
    /// checkpointed network's shape; its parameters are replaced.
    ///
    /// # Errors
    /// As [`fit`](Self::fit); [`Error::Io`] / [`Error::Malformed`] for an
    /// unreadable checkpoint; [`Error::ModelMismatch`] naming the first
    /// setting (layer sizes, activations, loss, solver, rows of data, batch
    /// size, seed, ...) that differs from the checkpointed run's, or when
    /// the checkpoint has done all the epochs asked; [`Error::Checkpoint`]
    /// for an L-BFGS solver.
    pub fn resume<S: Scalar>(
        &self,
        net: &mut Network<S>,
        checkpoint: impl AsRef<std::path::Path>,
        train: Dataset<'_, S>,
        val: Option<Dataset<'_, S>>,
        callbacks: &mut [&mut dyn Callback<S>],
    ) -> Result<History> {
        self.validate()?;
        if let Some(Solver::Lbfgs(_)) = self.solver {
            return Err(stepper::lbfgs_refused());
        }
        let path = checkpoint.as_ref();
        let c = crate::io::checkpoint::Checkpoint::load(path)?;
        let (held_train, held_val) = self.split(Some(&*net), &train, val.as_ref())?;
        let (train, val) = (held_train.view(), held_val.as_ref().map(Held::view));
        let key = run_key(self, net, train.len(), val.as_ref().map(Dataset::len));
        check_resumable(path, &c, &key, self.epochs)?;
        let source = OptimizerSource::Checkpoint(&c);
        self.run(net, source, train, val, self.seed, callbacks)
    }
}

/// The error for a solver set beside a given optimizer.
fn given_optimizer_with_solver(s: &Solver) -> Error {
    Error::InvalidHyperparameter {
        name: "solver",
        value: s.name().into(),
        reason: "fit_with_optimizer and fit_continuing step with the optimizer they are \
                 given, which would replace the solver; leave the solver unset",
    }
}

/// A data set of a run: the caller's, or a part of the hold-out split.
enum Held<'a, S> {
    Borrowed(Dataset<'a, S>),
    Owned(OwnedDataset<S>),
}

impl<S: Scalar> Held<'_, S> {
    fn view(&self) -> Dataset<'_, S> {
        match self {
            Held::Borrowed(d) => d.reborrow(),
            Held::Owned(d) => d.view(),
        }
    }
}
