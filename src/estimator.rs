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
//! Each holds a [`Trainer`] (all training settings; defaults as documented
//! there) and the hidden layers (default one layer of 100 ReLU units,
//! scikit-learn's). `fit` starts from a fresh network (seeded) and a fresh
//! optimizer; `partial_fit` makes one more pass over the data it is given,
//! keeping the network and the optimizer's state.
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
    Activation, Adam, AdamW, AsLabels, Dense, Error, History, Loss, Network, Optimizer, Result,
    Rmsprop, Scalar, Sgd, Solver, Targets, Trainer,
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
/// and the optimizer kept for `partial_fit`.
struct Core<S: Scalar> {
    hidden: Vec<Dense>,
    trainer: Trainer,
    seed: u64,
    net: Option<Network<S>>,
    optimizer: Option<Box<dyn StepState<S>>>,
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

impl<S: Scalar> Clone for Core<S> {
    fn clone(&self) -> Self {
        Core {
            hidden: self.hidden.clone(),
            trainer: self.trainer.clone(),
            seed: self.seed,
            net: self.net.clone(),
            optimizer: self.optimizer.as_ref().map(|o| o.clone_box()),
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
            .field("fitted", &self.net.is_some())
            .finish()
    }
}

impl<S: Scalar> Core<S> {
    fn new() -> Self {
        Core {
            hidden: vec![Dense::new(100, Activation::Relu)],
            trainer: Trainer::new(),
            seed: 0,
            net: None,
            optimizer: None,
            history: None,
            passes: 0,
        }
    }

    fn builder(&self, n_in: usize, n_out: usize, loss: Loss) -> crate::NetworkBuilder<S> {
        Network::builder(n_in)
            .layers(&self.hidden)
            .output(n_out, loss)
            .seed(self.seed)
    }

    /// A fresh fit (restarts if the trainer asks for several).
    fn fit(&mut self, n_out: usize, loss: Loss, data: Dataset<'_, S>) -> Result<&History> {
        let builder = self.builder(data.x.ncols(), n_out, loss);
        self.trainer.validate()?;
        let (net, history) = if self.trainer.restarts > 1 {
            let (net, report) = self.trainer.fit_restarts(&builder, data, None)?;
            let h = report.runs[report.best]
                .outcome
                .clone()
                .expect("the best run succeeded");
            (net, h)
        } else {
            let mut net = builder.build()?;
            let h = self.trainer.fit(&mut net, data, None)?;
            (net, h)
        };
        self.net = Some(net);
        // L-BFGS has no step-wise optimizer; partial_fit then reports it.
        self.optimizer = step_state(self.solver()).ok();
        self.passes = 0;
        Ok(self.history.insert(history))
    }

    /// The trainer's solver (Adam when unset).
    fn solver(&self) -> crate::Solver {
        self.trainer.solver.unwrap_or_default()
    }

    /// One pass over `data`, warm (building the network on the first call).
    fn partial_fit(&mut self, n_out: usize, loss: Loss, data: Dataset<'_, S>) -> Result<()> {
        if self.optimizer.is_none() {
            self.trainer.validate()?;
            self.optimizer = Some(step_state(self.solver())?);
        }
        if self.net.is_none() {
            self.net = Some(self.builder(data.x.ncols(), n_out, loss).build()?);
        }
        let net = self.net.as_mut().expect("set above");
        let opt = self.optimizer.as_mut().expect("set with the network");
        self.passes += 1;
        let pass = self.trainer.one_pass(self.seed.wrapping_add(self.passes));
        let h = pass.fit_with_optimizer(net, opt.optimizer(), data, None, &mut [])?;
        match &mut self.history {
            Some(hist) => {
                let mut r = h.epochs[0];
                r.epoch = hist.epochs.len();
                hist.epochs.push(r);
            }
            None => self.history = Some(h),
        }
        Ok(())
    }

    fn net(&self, what: &'static str) -> Result<&Network<S>> {
        self.net.as_ref().ok_or(Error::NotFitted { what })
    }
}

macro_rules! common_settings {
    () => {
        /// Hidden layers, in order. Default one layer of 100 ReLU units.
        pub fn hidden_layers(mut self, layers: &[Dense]) -> Self {
            self.core.hidden = layers.to_vec();
            self
        }

        /// Training settings. Default [`Trainer::new`].
        pub fn trainer(mut self, trainer: Trainer) -> Self {
            self.core.trainer = trainer;
            self
        }

        /// Seed of the network's initialization. Default 0.
        pub fn seed(mut self, seed: u64) -> Self {
            self.core.seed = seed;
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

    /// Fits a fresh network to (`x`, `y`), optionally weighting samples.
    ///
    /// # Errors
    /// [`Error::TooFewClasses`], [`Error::SampleCount`], and every error of
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
        self.classes = sorted_classes(y)?;
        let (idx, w) = self.encode(x, y, sample_weight)?;
        let (n_out, loss) = self.head();
        let data = dataset(x, &idx, w.as_deref());
        self.core.fit(n_out, loss, data)
    }

    /// One more pass over (`x`, `y`), keeping the network and optimizer
    /// state. The first call (on an unfitted classifier) fixes the classes:
    /// `classes` if given, else those present in `y`.
    ///
    /// # Errors
    /// [`Error::UnknownClass`] for a label outside the classes,
    /// [`Error::TooFewClasses`], and every error of [`Trainer::fit`].
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

    /// One more pass, warm.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
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

    /// One more pass, warm.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
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
