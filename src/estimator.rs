//! Front doors in the spirit of scikit-learn's `MLPClassifier` and
//! `MLPRegressor`: give arrays, get a fitted model.
//!
//! - [`Classifier`]: labels of any ordered type (integers, strings, ...) are
//!   mapped to classes sorted ascending and back. Two classes use one
//!   logistic output with binary cross-entropy (as scikit-learn does); more
//!   use softmax with categorical cross-entropy.
//! - [`MultiLabelClassifier`]: a 0/1 target matrix, one logistic output per
//!   label, binary cross-entropy summed over labels.
//! - [`Regressor`]: identity outputs with squared error.
//!
//! Each holds a [`Trainer`] (all training settings; default
//! [`default_trainer`], scikit-learn's settings and stopping rule) and the
//! hidden layers (default one layer of 100 ReLU units, scikit-learn's).
//! Hidden weights are Glorot-uniform unless a layer names its own scheme,
//! as scikit-learn initializes them. `fit` starts from a fresh network
//! (seeded) and a fresh optimizer, or with [`warm_start`](Classifier::warm_start)
//! continues the fitted one; `partial_fit` makes one more pass over the data
//! it is given. Both continue the optimizer's state (Adam's moments and step
//! count) and the learning-rate schedule's position ([`SchedulePosition`]:
//! invscaling's η₀/(t + 1)^p keeps counting samples across calls), as
//! scikit-learn's `partial_fit` does.
//!
//! # Differences from scikit-learn
//! What a scikit-learn user could rely on and finds otherwise here:
//! - **Biases** start at 0; scikit-learn draws them from the weights'
//!   Glorot-uniform range. **Logistic hidden layers** use the bound
//!   √(6/(n_in + n_out)) here, √(2/(n_in + n_out)) there. The random
//!   streams differ, so no seed gives scikit-learn's weights.
//! - **Stopping** on the training loss keeps the last epoch's parameters
//!   (as scikit-learn); with a hold-out, [`EarlyStopping`] restores the best
//!   epoch's by default (as scikit-learn's `early_stopping`). A hold-out
//!   ([`Trainer::validation_fraction`](Trainer#structfield.validation_fraction))
//!   is watched by the validation loss unless the early stopping's monitor
//!   says [`Monitor::ValMetric`] (scikit-learn always watches the score).
//!   The stopping rule is the whole trainer's: a trainer given with
//!   [`trainer`](Classifier::trainer) has none unless it sets one (start
//!   from [`default_trainer`] to keep it).
//! - **Adaptive** learning rate: scikit-learn's `learning_rate="adaptive"`
//!   divides η by 5 when stopping would trigger; here
//!   [`Schedule::ReduceOnPlateau`](crate::Schedule::ReduceOnPlateau) cuts
//!   η when the loss has not improved on its value `patience` epochs ago.
//! - **Warm starts** keep the optimizer's state and the schedule; scikit-learn
//!   builds a fresh optimizer on every `fit`, warm or not (the schedule's
//!   sample count `t_` carries over there too).
//! - **`partial_fit`** refuses a hold-out or early stopping on it with an
//!   error (scikit-learn refuses `early_stopping=True` likewise); a stopping
//!   rule on the training loss has nothing to do over one pass and is
//!   ignored, as scikit-learn ignores `tol` there.
//! - **L-BFGS** stops on scipy's relative decrease of J (`factr`), on
//!   [`max_fun`](Classifier::max_fun) and on the epochs, but not on the
//!   gradient norm (scikit-learn's `tol` as `gtol`); see
//!   [`LbfgsConfig`].
//! - **Small hold-outs** are refused with [`Error::ValidationSplit`]: fewer
//!   than [`MIN_VALIDATION_SAMPLES`](crate::train::MIN_VALIDATION_SAMPLES)
//!   validation samples, and for a classifier a class with a single sample
//!   or fewer validation samples than classes (scikit-learn raises in the
//!   same cases).
//! - **No warnings**: where scikit-learn warns (`ConvergenceWarning` at
//!   `max_iter`), the [`History`] says what happened
//!   ([`stopped_early`](History#structfield.stopped_early), the epochs run).
//! - **Labels** of any ordered type are sorted with `Ord`; the multilabel
//!   classifier takes a 0/1 matrix rather than inferring the task from `y`.
//!
//! Inputs are any 2-D array of the scalar type (`&Array2`, a view, a shared
//! array), labels a slice, `Vec` or `Array1` ([`AsLabels`]). The estimators
//! are `Clone + Send + Sync`: a clone carries its own copy of the network and
//! of the optimizer's state, so two clones continue `partial_fit`
//! independently.
//!
//! # Sample and class weights
//! Per-sample weights wᵢ make the data term (1/Σw)·Σ wᵢ J⁽ⁱ⁾ on every batch
//! (see [`Network::cost_weighted`]). Class weights multiply them:
//! [`ClassWeight::Balanced`] gives class c the weight m/(k·m_c), scikit-learn's
//! `"balanced"`.

use std::fmt::Debug;

use ndarray::{Array2, ArrayView2, AsArray, Ix2};

use crate::data::Dataset;
use crate::train::check_data;
use crate::{
    Activation, Adam, AdamW, AsLabels, Dense, EarlyStopping, Error, History, Init, LbfgsConfig,
    Loss, Monitor, Network, Optimizer, Result, Rmsprop, Scalar, SchedulePosition, Sgd, Solver,
    Targets, Trainer,
};

/// Weights per class for [`Classifier`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ClassWeight<L> {
    /// Every class weighs 1 (the default).
    #[default]
    Uniform,
    /// Class c weighs m/(k·m_c): m samples, k classes, m_c samples of class c.
    Balanced,
    /// Given weights; classes not listed weigh 1.
    Given(Vec<(L, f64)>),
}

/// The state shared by the estimators: architecture, trainer, fitted network
/// and what `partial_fit` and warm starts continue (the optimizer and the
/// schedule's position).
struct Core<S: Scalar> {
    hidden: Vec<Dense>,
    trainer: Trainer,
    seed: u64,
    warm_start: bool,
    max_fun: Option<usize>,
    net: Option<Network<S>>,
    /// The step-wise optimizer kept for continuing, with the solver it was
    /// built from.
    optimizer: Option<(Solver, Box<dyn StepState<S>>)>,
    schedule: SchedulePosition,
    history: Option<History>,
    passes: u64,
}

/// An optimizer's state that the estimators can clone and share between
/// threads (every built-in step-wise optimizer), so that they are
/// `Clone + Send + Sync`.
trait StepState<S: Scalar>: Send + Sync {
    fn optimizer(&mut self) -> &mut dyn Optimizer<S>;
    fn clone_box(&self) -> Box<dyn StepState<S>>;
}

impl<S: Scalar, O: Optimizer<S> + Clone + Sync + 'static> StepState<S> for O {
    fn optimizer(&mut self) -> &mut dyn Optimizer<S> {
        self
    }

    fn clone_box(&self) -> Box<dyn StepState<S>> {
        Box::new(self.clone())
    }
}

/// A fresh optimizer for `solver`, as [`Solver::optimizer`] makes one.
///
/// # Errors
/// As [`Solver::optimizer`] (L-BFGS has no step-wise optimizer).
fn step_state<S: Scalar>(solver: Solver) -> Result<Box<dyn StepState<S>>> {
    Ok(match solver {
        Solver::Sgd(c) => Box::new(Sgd::new(c)?),
        Solver::Adam(c) => Box::new(Adam::new(c)?),
        Solver::AdamW(c) => Box::new(AdamW::new(c)?),
        Solver::Rmsprop(c) => Box::new(Rmsprop::new(c)?),
        other => {
            // Full-batch solvers: the solver's own error says so.
            other.optimizer::<S>()?;
            return Err(Error::InvalidHyperparameter {
                name: "solver",
                value: other.name().into(),
                reason: "the estimators keep only the built-in step-wise optimizers",
            });
        }
    })
}

/// The estimators' training settings unless [`trainer`](Classifier::trainer)
/// replaces them: [`Trainer::new`] (Adam, η₀ = 10⁻³, batches of
/// min(200, m), at most 200 epochs, λ = 10⁻⁴, no hold-out) plus
/// scikit-learn's stopping rule, `tol` = 10⁻⁴ and `n_iter_no_change` = 10:
/// training ends once the training loss has failed to fall 10⁻⁴ below its
/// best for 11 epochs in a row (an [`EarlyStopping`] on
/// [`Monitor::TrainLoss`] that keeps the last parameters). Start from it to
/// change one setting and keep the rest:
///
/// ```
/// use backprop::estimator::{Classifier, default_trainer};
/// let clf = Classifier::<u8>::new().trainer(default_trainer().learning_rate(0.01));
/// ```
pub fn default_trainer() -> Trainer {
    Trainer::new().early_stopping(EarlyStopping {
        monitor: Monitor::TrainLoss,
        patience: 11,
        min_delta: 1e-4,
        restore_best: false,
    })
}

impl<S: Scalar> Clone for Core<S> {
    fn clone(&self) -> Self {
        Core {
            hidden: self.hidden.clone(),
            trainer: self.trainer.clone(),
            seed: self.seed,
            warm_start: self.warm_start,
            max_fun: self.max_fun,
            net: self.net.clone(),
            optimizer: self.optimizer.as_ref().map(|(s, o)| (*s, o.clone_box())),
            schedule: self.schedule.clone(),
            history: self.history.clone(),
            passes: self.passes,
        }
    }
}

impl<S: Scalar> Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("hidden", &self.hidden)
            .field("trainer", &self.trainer)
            .field("seed", &self.seed)
            .field("warm_start", &self.warm_start)
            .field("max_fun", &self.max_fun)
            .field("fitted", &self.net.is_some())
            .finish()
    }
}

impl<S: Scalar> Core<S> {
    fn new() -> Self {
        Core {
            hidden: vec![Dense::new(100, Activation::Relu)],
            trainer: default_trainer(),
            seed: 0,
            warm_start: false,
            max_fun: None,
            net: None,
            optimizer: None,
            schedule: SchedulePosition::default(),
            history: None,
            passes: 0,
        }
    }

    /// The network's builder: hidden weights Glorot-uniform unless a layer
    /// names its own scheme (scikit-learn's initialization, biases aside).
    fn builder(&self, n_in: usize, n_out: usize, loss: Loss) -> crate::NetworkBuilder<S> {
        Network::builder(n_in)
            .layers(&self.hidden)
            .init(Init::Glorot)
            .output(n_out, loss)
            .seed(self.seed)
    }

    /// A fit: fresh (restarts if the trainer asks for several), or, with
    /// `warm_start` on a fitted estimator, continued from the network, the
    /// optimizer and the schedule's position.
    fn fit(&mut self, n_out: usize, loss: Loss, data: Dataset<'_, S>) -> Result<&History> {
        self.trainer.validate()?;
        let trainer = Trainer {
            solver: Some(self.solver()?),
            ..self.trainer.clone()
        };
        let warm = match &self.net {
            Some(net) if self.warm_start => {
                check_warm(net, &trainer, n_out, data.x.ncols())?;
                Some(net.clone())
            }
            _ => None,
        };
        if warm.is_none() && trainer.restarts > 1 {
            let builder = self.builder(data.x.ncols(), n_out, loss);
            let (net, report) = trainer.fit_restarts(&builder, data, None)?;
            let h = report.runs[report.best].outcome.clone();
            self.net = Some(net);
            self.optimizer = None;
            self.schedule = SchedulePosition::default();
            self.passes = 0;
            return Ok(self.history.insert(h.expect("the best run succeeded")));
        }
        let extend = warm.is_some();
        let mut net = match warm {
            Some(net) => net,
            None => {
                self.optimizer = None;
                self.schedule = SchedulePosition::default();
                self.passes = 0;
                self.builder(data.x.ncols(), n_out, loss).build()?
            }
        };
        let h = match trainer.solver.expect("set above") {
            Solver::Lbfgs(_) => trainer.fit(&mut net, data, None)?,
            solver => {
                let opt = kept_optimizer(&mut self.optimizer, solver)?;
                let t = Trainer {
                    solver: None,
                    ..trainer
                };
                t.fit_continuing(&mut net, opt, &mut self.schedule, data, None, &mut [])?
            }
        };
        self.net = Some(net);
        Ok(self.record(h, extend))
    }

    /// Keeps `h` as the history, or appends its epochs to the one kept.
    fn record(&mut self, h: History, extend: bool) -> &History {
        let merged = match self.history.take() {
            Some(mut hist) if extend => {
                for mut r in h.epochs {
                    r.epoch = hist.epochs.len();
                    hist.epochs.push(r);
                }
                hist.stopped_early = h.stopped_early;
                hist
            }
            _ => h,
        };
        self.history.insert(merged)
    }

    /// The trainer's solver (Adam when unset), with `max_fun` for L-BFGS.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming `max_fun` for a step-wise
    /// solver.
    fn solver(&self) -> Result<Solver> {
        match (self.max_fun, self.trainer.solver.unwrap_or_default()) {
            (None, s) => Ok(s),
            (Some(n), Solver::Lbfgs(c)) => Ok(Solver::Lbfgs(LbfgsConfig {
                max_fun: Some(n),
                ..c
            })),
            (Some(n), _) => Err(Error::InvalidHyperparameter {
                name: "max_fun",
                value: n.to_string(),
                reason: "caps L-BFGS's function evaluations, and the solver is step-wise; \
                         choose an L-BFGS solver or leave max_fun unset",
            }),
        }
    }

    /// One pass over `data`, warm (building the network on the first call),
    /// continuing the optimizer and the schedule.
    fn partial_fit(&mut self, n_out: usize, loss: Loss, data: Dataset<'_, S>) -> Result<()> {
        refuse_hold_out(&self.trainer)?;
        self.trainer.validate()?;
        let solver = self.solver()?;
        if self.net.is_none() {
            self.net = Some(self.builder(data.x.ncols(), n_out, loss).build()?);
        }
        let net = self.net.as_mut().expect("set above");
        let opt = kept_optimizer(&mut self.optimizer, solver)?;
        self.passes += 1;
        let pass = self.trainer.one_pass(self.seed.wrapping_add(self.passes));
        let h = pass.fit_continuing(net, opt, &mut self.schedule, data, None, &mut [])?;
        self.record(h, true);
        Ok(())
    }

    fn net(&self, what: &'static str) -> Result<&Network<S>> {
        self.net.as_ref().ok_or(Error::NotFitted { what })
    }
}

/// The kept optimizer when it was built from `solver`, else a fresh one for
/// `solver` in its place (the trainer's solver changed since).
///
/// # Errors
/// As [`step_state`].
fn kept_optimizer<S: Scalar>(
    slot: &mut Option<(Solver, Box<dyn StepState<S>>)>,
    solver: Solver,
) -> Result<&mut dyn Optimizer<S>> {
    if slot.as_ref().is_none_or(|(s, _)| *s != solver) {
        *slot = Some((solver, step_state(solver)?));
    }
    Ok(slot.as_mut().expect("set above").1.optimizer())
}

/// A warm start needs the fitted network's shape and a single run.
///
/// # Errors
/// [`Error::InputWidth`] for other features; [`Error::InvalidHyperparameter`]
/// naming `warm_start` for other outputs or several restarts.
fn check_warm<S: Scalar>(net: &Network<S>, t: &Trainer, n_out: usize, n_in: usize) -> Result<()> {
    if n_in != net.n_inputs() {
        return Err(Error::InputWidth {
            got: n_in,
            expected: net.n_inputs(),
        });
    }
    let refuse = |value: String, reason| Error::InvalidHyperparameter {
        name: "warm_start",
        value,
        reason,
    };
    if n_out != net.n_outputs() {
        return Err(refuse(
            format!(
                "true, with {n_out} outputs for a network of {}",
                net.n_outputs()
            ),
            "a warm start continues the fitted network, whose outputs must match the \
             targets; fit afresh (warm_start off) for other targets",
        ));
    }
    if t.restarts > 1 {
        return Err(refuse(
            format!("true, with {} restarts", t.restarts),
            "restarts train fresh networks, a warm start continues the fitted one; \
             set restarts to 1 or warm_start off",
        ));
    }
    Ok(())
}

/// `partial_fit` makes one pass over the data it is given, without a
/// hold-out: settings that need one are refused, as scikit-learn refuses
/// `early_stopping` in `partial_fit`.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] naming the setting.
fn refuse_hold_out(t: &Trainer) -> Result<()> {
    let reason = "partial_fit makes one pass over the data it is given, with no hold-out \
                  and no early stopping; unset it for partial_fit (or use fit)";
    if let Some(f) = t.validation_fraction {
        return Err(Error::InvalidHyperparameter {
            name: "validation_fraction",
            value: f.to_string(),
            reason,
        });
    }
    match &t.early_stopping {
        Some(es) if es.monitor.needs_validation() => Err(Error::InvalidHyperparameter {
            name: "early_stopping",
            value: format!("{:?}", es.monitor),
            reason,
        }),
        _ => Ok(()),
    }
}

macro_rules! common_settings {
    () => {
        /// Hidden layers, in order. Default one layer of 100 ReLU units.
        pub fn hidden_layers(mut self, layers: &[Dense]) -> Self {
            self.core.hidden = layers.to_vec();
            self
        }

        /// Training settings. Default [`default_trainer`]: [`Trainer::new`]
        /// with scikit-learn's `tol` stopping rule.
        pub fn trainer(mut self, trainer: Trainer) -> Self {
            self.core.trainer = trainer;
            self
        }

        /// Seed of the network's initialization. Default 0.
        pub fn seed(mut self, seed: u64) -> Self {
            self.core.seed = seed;
            self
        }

        /// Whether `fit` on a fitted estimator continues from its network,
        /// its optimizer's state and its schedule's position (true) instead
        /// of starting afresh (scikit-learn's `warm_start`). The data must
        /// have the fitted network's features and outputs (a classifier's
        /// classes must be the fitted ones) and the trainer a single run.
        /// Default false.
        pub fn warm_start(mut self, on: bool) -> Self {
            self.core.warm_start = on;
            self
        }

        /// Cap on L-BFGS's evaluations of the loss and its gradient
        /// (scikit-learn's `max_fun`; see
        /// [`LbfgsConfig::max_fun`](crate::LbfgsConfig#structfield.max_fun)):
        /// training ends without error once the cap is reached, with
        /// [`History::stopped_early`] set. `fit` refuses it
        /// ([`Error::InvalidHyperparameter`]) unless the trainer's solver is
        /// L-BFGS. Default unset: no cap.
        pub fn max_fun(mut self, n: usize) -> Self {
            self.core.max_fun = Some(n);
            self
        }

        /// The fitted network, if any.
        pub fn network(&self) -> Option<&Network<S>> {
            self.core.net.as_ref()
        }

        /// The history of the last `fit`, extended by each `partial_fit`.
        pub fn history(&self) -> Option<&History> {
            self.core.history.as_ref()
        }
    };
}

/// A multilayer-perceptron classifier with labels of any ordered type.
///
/// For the differences from scikit-learn's `MLPClassifier` see the
/// [module docs](crate::estimator#differences-from-scikit-learn).
///
/// ```
/// use backprop::estimator::Classifier;
/// use backprop::{Activation, Dense, Solver, Trainer};
/// use ndarray::array;
///
/// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let y = ["no", "yes", "yes", "no"];
/// let mut clf = Classifier::new()
///     .hidden_layers(&[Dense::new(8, Activation::Tanh)])
///     .trainer(Trainer::new().learning_rate(0.05).epochs(300).lambda(0.0))
///     .seed(1);
/// clf.fit(x.view(), &y, None)?;
/// assert_eq!(clf.predict(x.view())?, y.to_vec());
/// assert_eq!(clf.classes(), &["no", "yes"]);
/// assert_eq!(clf.score(x.view(), &y)?, 1.0);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Classifier<L, S: Scalar = f32> {
    core: Core<S>,
    class_weight: ClassWeight<L>,
    classes: Vec<L>,
}

impl<L: Clone + Ord + Debug, S: Scalar> Default for Classifier<L, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Clone + Ord + Debug, S: Scalar> Classifier<L, S> {
    /// A classifier with every default.
    pub fn new() -> Self {
        Classifier {
            core: Core::new(),
            class_weight: ClassWeight::Uniform,
            classes: Vec::new(),
        }
    }

    common_settings!();

    /// Class weights. Default [`ClassWeight::Uniform`].
    pub fn class_weight(mut self, w: ClassWeight<L>) -> Self {
        self.class_weight = w;
        self
    }

    /// The classes, sorted ascending (empty before fitting).
    pub fn classes(&self) -> &[L] {
        &self.classes
    }

    /// Fits a fresh network to (`x`, `y`), optionally weighting samples (or,
    /// with [`warm_start`](Self::warm_start), continues the fitted one).
    ///
    /// # Errors
    /// [`Error::TooFewClasses`], [`Error::SampleCount`];
    /// [`Error::ClassesChanged`] for a warm start on other classes;
    /// [`Error::ValidationSplit`] for a hold-out a stratified split cannot
    /// make (a class with a single sample, fewer validation samples than
    /// classes, fewer than 2 validation samples); every error of
    /// [`Trainer::fit`].
    pub fn fit<'x>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: &(impl AsLabels<L> + ?Sized),
        sample_weight: Option<&[S]>,
    ) -> Result<&History> {
        let x: ArrayView2<'x, S> = x.into();
        let y = y.as_labels();
        let y: &[L] = &y;
        let classes = sorted_classes(y)?;
        if self.core.warm_start && self.core.net.is_some() {
            self.same_classes(&classes)?;
        }
        self.classes = classes;
        let (idx, w) = self.encode(x, y, sample_weight)?;
        check_stratified_hold_out(&self.core.trainer, &idx, self.classes.len())?;
        let (n_out, loss) = self.head();
        let data = dataset(x, &idx, w.as_deref());
        self.core.fit(n_out, loss, data)
    }

    /// One more pass over (`x`, `y`), keeping the network, the optimizer's
    /// state and the schedule's position. The first call (on an unfitted
    /// classifier) fixes the classes: `classes` if given, else those present
    /// in `y`; later calls may repeat the same `classes` or omit them.
    ///
    /// No hold-out and no early stopping: the pass sees all of `x`, and a
    /// trainer that holds data out or stops on the validation set is
    /// refused (scikit-learn refuses `early_stopping=True` in `partial_fit`
    /// too); a stopping rule on the training loss does nothing over one
    /// pass.
    ///
    /// # Errors
    /// [`Error::UnknownClass`] for a label outside the classes,
    /// [`Error::ClassesChanged`] for `classes` other than the fitted ones,
    /// [`Error::TooFewClasses`], [`Error::InvalidHyperparameter`] naming
    /// `validation_fraction` or `early_stopping` when set as above, and
    /// every error of [`Trainer::fit`].
    pub fn partial_fit<'x>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: &(impl AsLabels<L> + ?Sized),
        classes: Option<&[L]>,
        sample_weight: Option<&[S]>,
    ) -> Result<()> {
        let x: ArrayView2<'x, S> = x.into();
        let y = y.as_labels();
        let y: &[L] = &y;
        if self.core.net.is_none() {
            self.classes = sorted_classes(classes.unwrap_or(y))?;
        } else if let Some(given) = classes {
            self.same_classes(&sorted_classes(given)?)?;
        }
        let (idx, w) = self.encode(x, y, sample_weight)?;
        let (n_out, loss) = self.head();
        self.core
            .partial_fit(n_out, loss, dataset(x, &idx, w.as_deref()))
    }

    /// Predicted label of each row.
    ///
    /// # Errors
    /// [`Error::NotFitted`]; input errors of [`Network::predict`].
    pub fn predict<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Vec<L>> {
        let x: ArrayView2<'x, S> = x.into();
        let net = self.core.net("classifier")?;
        Ok(net
            .predict_classes(x)?
            .into_iter()
            .map(|c| self.classes[c].clone())
            .collect())
    }

    /// Probability of each class (columns in the order of
    /// [`classes`](Self::classes)) for each row.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn predict_proba<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        let net = self.core.net("classifier")?;
        let a = net.predict(x)?;
        if self.classes.len() == 2 {
            let mut p = Array2::zeros((a.nrows(), 2));
            for (i, &p1) in a.column(0).iter().enumerate() {
                p[[i, 0]] = S::one() - p1;
                p[[i, 1]] = p1;
            }
            Ok(p)
        } else {
            Ok(a)
        }
    }

    /// Accuracy on (`x`, `y`); labels outside the classes count as wrong.
    ///
    /// # Errors
    /// As [`predict`](Self::predict), and [`Error::SampleCount`].
    pub fn score<'x>(
        &self,
        x: impl AsArray<'x, S, Ix2>,
        y: &(impl AsLabels<L> + ?Sized),
    ) -> Result<f64> {
        let x: ArrayView2<'x, S> = x.into();
        let y = y.as_labels();
        let y: &[L] = &y;
        if y.len() != x.nrows() {
            return Err(Error::SampleCount {
                inputs: x.nrows(),
                targets: y.len(),
            });
        }
        let p = self.predict(x)?;
        let hits = p.iter().zip(y).filter(|(a, b)| a == b).count();
        Ok(hits as f64 / y.len().max(1) as f64)
    }

    /// # Errors
    /// [`Error::ClassesChanged`] naming both lists when `classes` are not
    /// the fitted ones.
    fn same_classes(&self, classes: &[L]) -> Result<()> {
        if classes == self.classes.as_slice() {
            return Ok(());
        }
        Err(Error::ClassesChanged {
            fitted: format!("{:?}", self.classes),
            given: format!("{classes:?}"),
        })
    }

    fn head(&self) -> (usize, Loss) {
        if self.classes.len() == 2 {
            (1, Loss::BinaryCrossEntropy)
        } else {
            (self.classes.len(), Loss::CategoricalCrossEntropy)
        }
    }

    /// Class indices for `y` and the combined sample × class weights.
    fn encode(
        &self,
        x: ArrayView2<'_, S>,
        y: &[L],
        sample_weight: Option<&[S]>,
    ) -> Result<(Vec<usize>, Option<Vec<S>>)> {
        if y.len() != x.nrows() {
            return Err(Error::SampleCount {
                inputs: x.nrows(),
                targets: y.len(),
            });
        }
        let mut idx = Vec::with_capacity(y.len());
        for (index, l) in y.iter().enumerate() {
            match self.classes.binary_search(l) {
                Ok(c) => idx.push(c),
                Err(_) => {
                    return Err(Error::UnknownClass {
                        label: format!("{l:?}"),
                        index,
                        classes: format!("{:?}", self.classes),
                    });
                }
            }
        }
        let k = self.classes.len();
        let per_class: Option<Vec<f64>> = match &self.class_weight {
            ClassWeight::Uniform => None,
            ClassWeight::Balanced => {
                let mut count = vec![0usize; k];
                idx.iter().for_each(|&c| count[c] += 1);
                Some(
                    count
                        .iter()
                        .map(|&n| {
                            if n == 0 {
                                0.0
                            } else {
                                y.len() as f64 / (k as f64 * n as f64)
                            }
                        })
                        .collect(),
                )
            }
            ClassWeight::Given(list) => {
                let mut w = vec![1.0; k];
                for (l, v) in list {
                    if let Ok(c) = self.classes.binary_search(l) {
                        w[c] = *v;
                    }
                }
                Some(w)
            }
        };
        let w = match (per_class, sample_weight) {
            (None, None) => None,
            (None, Some(sw)) => Some(sw.to_vec()),
            (Some(cw), sw) => Some(
                idx.iter()
                    .enumerate()
                    .map(|(i, &c)| S::cast(cw[c]) * sw.map_or(S::one(), |sw| sw[i]))
                    .collect(),
            ),
        };
        Ok((idx, w))
    }
}

/// One logistic output per label: each row of the target matrix says which
/// labels apply (0 or 1).
///
/// ```
/// use backprop::estimator::MultiLabelClassifier;
/// use backprop::{Activation, Dense, Trainer};
/// use ndarray::array;
/// // Label 0: x₀ > 0.5; label 1: x₁ > 0.5.
/// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let y = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// let mut clf = MultiLabelClassifier::new()
///     .hidden_layers(&[Dense::new(4, Activation::Tanh)])
///     .trainer(Trainer::new().learning_rate(0.05).epochs(300).lambda(0.0));
/// clf.fit(x.view(), y.view(), None)?;
/// assert_eq!(clf.predict(x.view())?, y.mapv(|v| v == 1.0));
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiLabelClassifier<S: Scalar = f32> {
    core: Core<S>,
}

impl<S: Scalar> Default for MultiLabelClassifier<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Scalar> MultiLabelClassifier<S> {
    /// A multilabel classifier with every default.
    pub fn new() -> Self {
        MultiLabelClassifier { core: Core::new() }
    }

    common_settings!();

    /// Fits a fresh network; `y` is m × n_labels with entries 0 or 1.
    ///
    /// # Errors
    /// Every error of [`Trainer::fit`] (targets outside [0, 1] give
    /// [`Error::InvalidTarget`]).
    pub fn fit<'x, 'y>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
        sample_weight: Option<&[S]>,
    ) -> Result<&History> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        let data = dataset(x, y, sample_weight);
        self.core.fit(y.ncols(), Loss::BinaryCrossEntropy, data)
    }

    /// One more pass, warm: the network, the optimizer's state and the
    /// schedule's position carry over. No hold-out and no early stopping
    /// (see [`Classifier::partial_fit`]).
    ///
    /// # Errors
    /// As [`fit`](Self::fit); [`Error::InvalidHyperparameter`] naming
    /// `validation_fraction` or `early_stopping` when the trainer holds
    /// data out or stops on the validation set.
    pub fn partial_fit<'x, 'y>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
        sample_weight: Option<&[S]>,
    ) -> Result<()> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        let data = dataset(x, y, sample_weight);
        self.core
            .partial_fit(y.ncols(), Loss::BinaryCrossEntropy, data)
    }

    /// P(label applies) for each row and label.
    ///
    /// # Errors
    /// [`Error::NotFitted`]; input errors of [`Network::predict`].
    pub fn predict_proba<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        self.core.net("multilabel classifier")?.predict(x)
    }

    /// Whether each label applies (probability ≥ ½).
    ///
    /// # Errors
    /// As [`predict_proba`](Self::predict_proba).
    pub fn predict<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<bool>> {
        let x: ArrayView2<'x, S> = x.into();
        Ok(self.predict_proba(x)?.mapv(|p| p >= S::cast(0.5)))
    }

    /// Subset accuracy: the fraction of rows with every label right.
    ///
    /// # Errors
    /// As [`predict`](Self::predict), [`Error::SampleCount`].
    pub fn score<'x, 'y>(
        &self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
    ) -> Result<f64> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        if y.nrows() != x.nrows() {
            return Err(Error::SampleCount {
                inputs: x.nrows(),
                targets: y.nrows(),
            });
        }
        let p = self.predict(x)?;
        let half = S::cast(0.5);
        let hits = p
            .rows()
            .into_iter()
            .zip(y.rows())
            .filter(|(p, t)| p.iter().zip(t.iter()).all(|(&p, &t)| p == (t >= half)))
            .count();
        Ok(hits as f64 / x.nrows().max(1) as f64)
    }
}

/// A multilayer-perceptron regressor: identity outputs, squared error.
///
/// Its score is R² (scikit-learn's). For the differences from
/// scikit-learn's `MLPRegressor` see the [module docs](crate::estimator#differences-from-scikit-learn).
///
/// ```
/// use backprop::estimator::Regressor;
/// use backprop::{Activation, Trainer};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((20, 1), |(i, _)| i as f64 / 19.0);
/// let y = x.mapv(|v| 2.0 * v - 1.0);
/// let mut reg = Regressor::<f64>::new()
///     .hidden_layers(&[])
///     .trainer(Trainer::new().learning_rate(0.05).epochs(500).lambda(0.0));
/// reg.fit(x.view(), y.view(), None)?;
/// assert!(reg.score(x.view(), y.view())? > 0.999);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Regressor<S: Scalar = f32> {
    core: Core<S>,
}

impl<S: Scalar> Default for Regressor<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Scalar> Regressor<S> {
    /// A regressor with every default.
    pub fn new() -> Self {
        Regressor { core: Core::new() }
    }

    common_settings!();

    /// Fits a fresh network to `y` (m × n_outputs; for a single target use
    /// `y.insert_axis(Axis(1))`).
    ///
    /// # Errors
    /// Every error of [`Trainer::fit`].
    pub fn fit<'x, 'y>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
        sample_weight: Option<&[S]>,
    ) -> Result<&History> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        let data = dataset(x, y, sample_weight);
        self.core.fit(y.ncols(), Loss::SquaredError, data)
    }

    /// One more pass, warm: the network, the optimizer's state and the
    /// schedule's position carry over. No hold-out and no early stopping
    /// (see [`Classifier::partial_fit`]).
    ///
    /// # Errors
    /// As [`fit`](Self::fit); [`Error::InvalidHyperparameter`] naming
    /// `validation_fraction` or `early_stopping` when the trainer holds
    /// data out or stops on the validation set.
    pub fn partial_fit<'x, 'y>(
        &mut self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
        sample_weight: Option<&[S]>,
    ) -> Result<()> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        let data = dataset(x, y, sample_weight);
        self.core.partial_fit(y.ncols(), Loss::SquaredError, data)
    }

    /// Predictions, m × n_outputs.
    ///
    /// # Errors
    /// [`Error::NotFitted`]; input errors of [`Network::predict`].
    pub fn predict<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        self.core.net("regressor")?.predict(x)
    }

    /// R² of the predictions (see [`r2_score`](crate::metrics::r2_score)).
    ///
    /// # Errors
    /// As [`predict`](Self::predict); data errors as [`Trainer::fit`].
    pub fn score<'x, 'y>(
        &self,
        x: impl AsArray<'x, S, Ix2>,
        y: impl AsArray<'y, S, Ix2>,
    ) -> Result<f64> {
        let x: ArrayView2<'x, S> = x.into();
        let y: ArrayView2<'y, S> = y.into();
        let net = self.core.net("regressor")?;
        check_data(net, &Dataset::new(x, y), "scoring set")?;
        let p = net.predict(x)?;
        crate::metrics::r2_score(p.view(), y, None)
    }
}

/// A stratified hold-out (`validation_fraction` on class targets) must put
/// every class on both sides: each class needs two samples, and the
/// validation set one sample per class. scikit-learn's `train_test_split`
/// refuses the same cases.
///
/// # Errors
/// [`Error::ValidationSplit`] saying which rule fails.
fn check_stratified_hold_out(t: &Trainer, class_of: &[usize], k: usize) -> Result<()> {
    let Some(fraction) = t.validation_fraction else {
        return Ok(());
    };
    let m = class_of.len();
    let fail = |reason| Error::ValidationSplit {
        n_samples: m,
        fraction,
        reason,
    };
    let mut count = vec![0usize; k];
    class_of.iter().for_each(|&c| count[c] += 1);
    if count.contains(&1) {
        return Err(fail(
            "a class with a single sample, which a stratified hold-out cannot put on both sides",
        ));
    }
    // As many rows as the split holds out (see `data::holdout_split`).
    let n_val = (fraction * m as f64).ceil() as usize;
    if n_val < k {
        return Err(fail(
            "fewer validation samples than classes, so a stratified hold-out cannot hold \
             every class",
        ));
    }
    Ok(())
}

/// The distinct labels, sorted ascending; at least two.
fn sorted_classes<L: Clone + Ord>(labels: &[L]) -> Result<Vec<L>> {
    let mut classes = labels.to_vec();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(Error::TooFewClasses {
            found: classes.len(),
        });
    }
    Ok(classes)
}

/// The data set (`x`, `y`), weighted per sample when `w` is given.
fn dataset<'a, S: Scalar>(
    x: ArrayView2<'a, S>,
    y: impl Into<Targets<'a, S>>,
    w: Option<&'a [S]>,
) -> Dataset<'a, S> {
    let d = Dataset::new(x, y);
    match w {
        Some(w) => d.with_sample_weight(w),
        None => d,
    }
}
