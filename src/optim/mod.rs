//! Optimizers: rules that turn a gradient ∂J/∂θ into a parameter update.
//!
//! Each optimizer is described once, in its own file: a plain settings
//! struct with [`Default`] and one `validate()` (its [`SolverConfig`]), and
//! the state that carries across steps (velocities, moment estimates). The
//! [`Solver`] enum lists them all; a [`Trainer`](crate::Trainer), the
//! recipes and the command line all take that one list.
//!
//! The learning rate η is not an optimizer setting: the training loop owns
//! it (a [`Schedule`](crate::Schedule) sets it each epoch) and passes it to
//! every [`Optimizer::step`]. Every optimizer works on the flat parameter
//! and gradient vectors, whose layout is described by
//! [`Layout`](crate::Layout); its state is one vector of N entries per kind,
//! allocated on the first step and reused afterwards, so a step allocates
//! nothing.
//!
//! Conventions follow PyTorch's `torch.optim` (so that published
//! hyperparameters carry over), with g = ∂J/∂θ as computed by
//! [`Network::compute_gradient`], L2 term included:
//!
//! | optimizer | update |
//! |---|---|
//! | [`Sgd`] | θ ← θ − η·g |
//! | [`Sgd`], momentum μ > 0 | v ← μ·v + g; θ ← θ − η·v |
//! | [`Sgd`], Nesterov | v ← μ·v + g; θ ← θ − η·(g + μ·v) |
//! | [`Adam`] | m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) |
//! | [`AdamW`] | θ ← θ − η·ω·θ on weights (never biases), then the Adam step |
//! | [`Rmsprop`] | v ← αv + (1−α)g²; θ ← θ − η·g/(√v + ε) |
//! | [`LbfgsConfig`] | full batch: θ ← θ + t·d, d = −H·∇J from the last pairs (s, y), t by line search |
//!
//! State (velocities, moments) is kept and every update computed in the
//! network's float type: f32 for an f32 network, as PyTorch keeps it. The
//! update streams θ, ∇J and the state once per step, so f32 state halves
//! the memory traffic of f64 state and runs twice the SIMD lanes (Adam's
//! update on 535 818 parameters: 3.2× faster, `cargo bench --bench
//! optimizer`). Checkpoints store the state widened to f64, exactly.
//!
//! scikit-learn writes momentum as v ← μ·v − η·g; θ ← θ + v, which is the same
//! sequence of parameters as the table's form while η is constant (its v is
//! −η times ours); they differ only in how a change of η acts on the velocity.
//!
//! # Regularization
//! L2 enters through λ in the gradient, (λ/m)·W with m the rows of the batch
//! (see [`network`](crate::network)): scikit-learn's `alpha` is exactly λ
//! (it also divides by the batch size), and PyTorch's `weight_decay` ω on
//! plain SGD or Adam equals λ/B for batches of B rows (PyTorch also decays
//! biases unless told otherwise; here biases are never regularized).
//! [`AdamW`]'s ω is decoupled: it shrinks the weights directly and does not
//! depend on the batch size.
//!
//! # Adding an optimizer
//! 1. Write `src/optim/<name>.rs` holding `<Name>Config` (plain fields,
//!    `#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]`,
//!    `#[serde(default, deny_unknown_fields)]`, a documented [`Default`]),
//!    its [`SolverConfig`] impl (name, summary, `validate`, `optimizer`),
//!    and the state type implementing [`Optimizer`].
//! 2. Add one line `<name>::<Variant>(<Name>Config),` to the
//!    `solvers!` list below.
//!
//! The [`Trainer`](crate::Trainer) then accepts it, and the command line
//! offers `--optimizer <name>` with one flag per config field.

use serde::{Deserialize, Serialize};

use crate::{Error, Gradient, Network, Result, Scalar, check};

/// Updates a network's parameters from a gradient, given the learning rate
/// η of this step. State such as momentum lives in the optimizer, allocated
/// on the first step.
///
/// The set is open: implement this trait to train with a rule of your own
/// (see [`Trainer::fit_with`](crate::Trainer::fit_with)).
pub trait Optimizer<S: Scalar>: Send {
    /// Applies one update θ ← θ − (step computed from ∂J/∂θ and η).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0;
    /// [`Error::WorkspaceMismatch`] when the gradient belongs to a network of
    /// another shape, [`Error::ParameterCount`] when the optimizer's state was
    /// built for a network with another number of parameters.
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()>;

    /// As [`step`](Self::step), and whether every parameter is finite
    /// afterwards (the training loop's divergence guard). By default one
    /// pass over θ after the step; the built-in optimizers find it out in
    /// their update's own pass, for free.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    fn step_finite(
        &mut self,
        net: &mut Network<S>,
        grad: &Gradient<S>,
        learning_rate: f64,
    ) -> Result<bool> {
        self.step(net, grad, learning_rate)?;
        Ok(crate::simd::all_finite(net.params()))
    }

    /// The state carried between steps (step count, moments, velocity), for
    /// a checkpoint: restoring it with [`set_state`](Self::set_state) on a
    /// fresh optimizer of the same settings continues the same sequence of
    /// updates, bit for bit.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] by default: an optimizer of your own that
    /// writes neither method cannot be checkpointed.
    fn state(&self) -> Result<OptimizerState> {
        Err(no_state(std::any::type_name::<Self>()))
    }

    /// Puts back a state returned by [`state`](Self::state).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the state belongs to another optimizer or
    /// its vectors disagree in length; by default, as [`state`](Self::state).
    fn set_state(&mut self, state: &OptimizerState) -> Result<()> {
        let _ = state;
        Err(no_state(std::any::type_name::<Self>()))
    }
}

/// A borrowed optimizer steps as the optimizer itself (so that a caller can
/// lend one, keeping its state).
impl<S: Scalar, O: Optimizer<S> + ?Sized> Optimizer<S> for &mut O {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()> {
        (**self).step(net, grad, learning_rate)
    }

    fn step_finite(
        &mut self,
        net: &mut Network<S>,
        grad: &Gradient<S>,
        learning_rate: f64,
    ) -> Result<bool> {
        (**self).step_finite(net, grad, learning_rate)
    }

    fn state(&self) -> Result<OptimizerState> {
        (**self).state()
    }

    fn set_state(&mut self, state: &OptimizerState) -> Result<()> {
        (**self).set_state(state)
    }
}

/// The settings of one member of [`Solver`]: a plain struct with a
/// documented [`Default`], checked by one [`validate`](Self::validate).
pub trait SolverConfig: Copy + Default + Into<Solver> {
    /// Its name on the command line and in messages (`"adam"`).
    const NAME: &'static str;
    /// One line for `--help`.
    const SUMMARY: &'static str;

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming the first setting out of
    /// range.
    fn validate(&self) -> Result<()>;

    /// A fresh step-wise optimizer with these settings.
    ///
    /// # Errors
    /// As [`validate`](Self::validate); [`Error::InvalidHyperparameter`]
    /// naming `solver` for a full-batch method, which has no step-wise
    /// optimizer.
    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>>;
}

/// Declares the optimizer modules and the [`Solver`] enum listing them.
macro_rules! solvers {
    ($($(#[$doc:meta])* $module:ident :: $variant:ident($config:ident),)+) => {
        $(
            mod $module;
            pub use $module::*;
        )+

        /// Which optimizer a [`Trainer`](crate::Trainer) runs, with its
        /// settings (the learning rate is the trainer's). Each variant holds
        /// its optimizer's config; `From` turns a config into a `Solver`.
        ///
        /// Serialized (serde) as a map tagged by the optimizer's name:
        /// `{"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}`.
        ///
        /// ```
        /// use backprop::{AdamConfig, SgdConfig, Solver};
        /// let s: Solver = SgdConfig { momentum: 0.9, ..SgdConfig::default() }.into();
        /// assert_eq!(s.name(), "sgd");
        /// assert_eq!(Solver::default(), Solver::Adam(AdamConfig::default()));
        /// assert!(Solver::from(SgdConfig { momentum: 1.0, nesterov: false }).validate().is_err());
        /// # Ok::<(), backprop::Error>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "optimizer", rename_all = "lowercase")]
        #[non_exhaustive]
        pub enum Solver {
            $($(#[$doc])* $variant($config),)+
        }

        $(
            impl From<$config> for Solver {
                fn from(config: $config) -> Self {
                    Solver::$variant(config)
                }
            }
        )+

        impl Solver {
            /// Every optimizer, each with its default settings, in the
            /// order of the list.
            pub fn all() -> Vec<Solver> {
                vec![$(Solver::$variant($config::default()),)+]
            }

            /// The optimizer's name (`"sgd"`, `"adam"`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Solver::$variant(_) => <$config as SolverConfig>::NAME,)+
                }
            }

            /// One line describing the optimizer.
            pub fn summary(&self) -> &'static str {
                match self {
                    $(Solver::$variant(_) => <$config as SolverConfig>::SUMMARY,)+
                }
            }

            /// Checks every setting.
            ///
            /// # Errors
            /// [`Error::InvalidHyperparameter`] naming the first setting out
            /// of range.
            pub fn validate(&self) -> Result<()> {
                match self {
                    $(Solver::$variant(c) => c.validate(),)+
                }
            }

            /// A fresh step-wise optimizer.
            ///
            /// # Errors
            /// As [`SolverConfig::optimizer`].
            pub fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
                match self {
                    $(Solver::$variant(c) => c.optimizer(),)+
                }
            }
        }
    };
}

solvers! {
    /// Gradient descent, optionally with (Nesterov) momentum.
    sgd::Sgd(SgdConfig),
    /// Adam.
    adam::Adam(AdamConfig),
    /// AdamW: Adam with decoupled weight decay.
    adamw::AdamW(AdamWConfig),
    /// RMSprop.
    rmsprop::Rmsprop(RmspropConfig),
    /// Full-batch L-BFGS: each epoch is one quasi-Newton iteration with a
    /// line search over the whole training set.
    lbfgs::Lbfgs(LbfgsConfig),
}

impl Default for Solver {
    /// Adam with its default settings.
    fn default() -> Self {
        Solver::Adam(AdamConfig::default())
    }
}

/// One per-parameter state vector of an optimizer (a velocity, a moment
/// estimate), kept in the network's float type: an f32 network's state is
/// f32, as PyTorch keeps it, which halves the memory an update streams
/// through against f64 state. Allocated zeroed on the first step and reused
/// afterwards.
#[derive(Debug, Clone, PartialEq, Default)]
struct StateVec {
    f32: Vec<f32>,
    f64: Vec<f64>,
}

impl StateVec {
    /// The state for a network of `n` parameters of type `S`, zeroed on
    /// first use.
    ///
    /// # Errors
    /// [`Error::ParameterCount`] when the state was built for a network with
    /// another number of parameters, or for a network of the other float
    /// type.
    fn get<S: Scalar>(&mut self, n: usize) -> Result<&mut [S]> {
        let other = match S::NAME {
            "f32" => self.f64.len(),
            _ => self.f32.len(),
        };
        let state = typed::<S>(&mut self.f32)
            .or_else(|| typed::<S>(&mut self.f64))
            .expect("Scalar is implemented by f32 and f64 alone");
        if other > 0 {
            return Err(Error::ParameterCount {
                got: n,
                expected: other,
            });
        }
        if state.is_empty() {
            state.resize(n, S::zero());
        }
        if state.len() == n {
            Ok(state)
        } else {
            Err(Error::ParameterCount {
                got: n,
                expected: state.len(),
            })
        }
    }

    /// The state widened to f64 (exact), for [`OptimizerState`].
    fn to_f64(&self) -> Vec<f64> {
        match self.f32.is_empty() {
            true => self.f64.clone(),
            false => self.f32.iter().map(|&v| f64::from(v)).collect(),
        }
    }

    /// State read back from [`to_f64`](Self::to_f64), for a network of
    /// type `S` (exact for state that was `S` when saved).
    fn from_f64<S: Scalar>(v: &[f64]) -> Self {
        let mut s = StateVec::default();
        let state = typed::<S>(&mut s.f32)
            .or_else(|| typed::<S>(&mut s.f64))
            .expect("Scalar is implemented by f32 and f64 alone");
        state.extend(v.iter().map(|&v| S::cast(v)));
        s
    }
}

/// `v` as a vector of `S`, if that is its type.
fn typed<S: Scalar>(v: &mut dyn std::any::Any) -> Option<&mut Vec<S>> {
    v.downcast_mut::<Vec<S>>()
}

/// The checks every step makes: η finite and > 0, and `grad` computed for
/// `net`'s shape ([`Error::WorkspaceMismatch`] otherwise).
fn check_step<S: Scalar>(net: &Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()> {
    check::learning_rate(learning_rate)?;
    if grad.layout() == net.layout() && grad.as_slice().len() == net.n_params() {
        Ok(())
    } else {
        Err(Error::WorkspaceMismatch {
            workspace: grad.layout().sizes().to_vec(),
            network: net.sizes().to_vec(),
        })
    }
}

/// An optimizer's state between steps, as a checkpoint stores it: which
/// optimizer, its counters (Adam's step count t) and its vectors of N
/// entries (moments, velocity; empty before the first step), all exact.
///
/// ```
/// use backprop::{Adam, AdamConfig, Optimizer, Sgd};
/// let adam = Adam::new(AdamConfig::default())?;
/// let state = Optimizer::<f32>::state(&adam)?;
/// assert_eq!(state.optimizer, "adam");
/// assert_eq!(state.counter("t"), Some(0));
/// // State of one optimizer does not fit another.
/// assert!(Optimizer::<f32>::set_state(&mut Sgd::default(), &state).is_err());
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizerState {
    /// The optimizer's name (`"adam"`), as [`Solver::name`].
    pub optimizer: String,
    /// Named counters.
    pub counters: Vec<(String, u64)>,
    /// Named vectors.
    pub vectors: Vec<(String, Vec<f64>)>,
}

impl OptimizerState {
    /// An empty state of the optimizer `name`.
    pub fn new(optimizer: &str) -> Self {
        OptimizerState {
            optimizer: optimizer.into(),
            ..Self::default()
        }
    }

    /// Adds a counter.
    pub fn with_counter(mut self, name: &str, value: u64) -> Self {
        self.counters.push((name.into(), value));
        self
    }

    /// Adds a vector.
    pub fn with_vector(mut self, name: &str, values: &[f64]) -> Self {
        self.vectors.push((name.into(), values.to_vec()));
        self
    }

    /// The counter `name`, if present.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.iter().find(|(n, _)| n == name).map(|c| c.1)
    }

    /// The vector `name`, if present.
    pub fn vector(&self, name: &str) -> Option<&[f64]> {
        self.vectors
            .iter()
            .find(|(n, _)| n == name)
            .map(|v| v.1.as_slice())
    }

    /// Checks that this is the state of `optimizer` with exactly the
    /// `counters` and `vectors` named, the vectors all of one length.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming what differs.
    pub fn expect(&self, optimizer: &str, counters: &[&str], vectors: &[&str]) -> Result<()> {
        let bad = |reason: String| Error::Checkpoint {
            what: format!("{optimizer} state"),
            reason,
        };
        if self.optimizer != optimizer {
            return Err(bad(format!(
                "the state belongs to the optimizer `{}`",
                self.optimizer
            )));
        }
        let names = |v: Vec<&str>| v.join(", ");
        let has_c: Vec<&str> = self.counters.iter().map(|c| c.0.as_str()).collect();
        let has_v: Vec<&str> = self.vectors.iter().map(|v| v.0.as_str()).collect();
        if has_c != counters || has_v != vectors {
            return Err(bad(format!(
                "expected counters [{}] and vectors [{}], found [{}] and [{}]",
                names(counters.to_vec()),
                names(vectors.to_vec()),
                names(has_c),
                names(has_v)
            )));
        }
        let lens: Vec<usize> = self.vectors.iter().map(|v| v.1.len()).collect();
        if lens.windows(2).any(|w| w[0] != w[1]) {
            return Err(bad(format!("its vectors differ in length: {lens:?}")));
        }
        Ok(())
    }
}

/// The default of [`Optimizer::state`] and [`Optimizer::set_state`].
fn no_state(optimizer: &str) -> Error {
    Error::Checkpoint {
        what: format!("the optimizer `{optimizer}`"),
        reason: "it does not implement Optimizer::state and Optimizer::set_state, so its \
                 state cannot be saved or restored"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_allocates_once_and_rejects_other_sizes_and_types() {
        let mut s = StateVec::default();
        assert_eq!(s.get::<f32>(4).unwrap(), &[0.0f32; 4]);
        s.get::<f32>(4).unwrap()[1] = 0.1;
        assert!(matches!(s.get::<f32>(5), Err(Error::ParameterCount { .. })));
        assert!(matches!(s.get::<f64>(4), Err(Error::ParameterCount { .. })));
        // Saved and restored through f64 without loss.
        let wide = s.to_f64();
        assert_eq!(wide[1], f64::from(0.1f32));
        assert_eq!(StateVec::from_f64::<f32>(&wide), s);
        let mut d = StateVec::from_f64::<f64>(&[0.5, 0.25]);
        assert_eq!(d.get::<f64>(2).unwrap(), &[0.5, 0.25]);
    }

    #[test]
    fn step_finite_reports_what_a_pass_over_theta_finds() {
        use crate::{Loss, Network};
        let x = ndarray::array![[1.0f32, 2.0]];
        let y = ndarray::array![[0.5f32]];
        for solver in Solver::all() {
            let Ok(mut opt) = solver.optimizer::<f32>() else {
                continue; // L-BFGS has no step-wise optimizer
            };
            for bad in [false, true] {
                let mut net =
                    Network::<f32>::from_params(&[2, 1], &[], Loss::SquaredError, vec![0.5; 3])
                        .unwrap();
                let mut ws = net.workspace(1);
                net.compute_gradient(&mut ws, &x, &y, 0.0).unwrap();
                if bad {
                    net.params_mut()[1] = f32::INFINITY;
                }
                let finite = opt.step_finite(&mut net, ws.gradient(), 0.1).unwrap();
                assert_eq!(finite, !bad, "{}", solver.name());
                assert_eq!(finite, crate::simd::all_finite(net.params()));
            }
        }
    }

    #[test]
    fn serde_tags_are_the_names_and_defaults_are_valid() {
        for s in Solver::all() {
            let v = serde_json::to_value(s).unwrap();
            assert_eq!(v["optimizer"], s.name());
            assert_eq!(serde_json::from_value::<Solver>(v).unwrap(), s);
            s.validate().unwrap();
        }
    }

    #[test]
    fn unknown_settings_are_rejected() {
        let v = serde_json::json!({"optimizer": "adam", "momentum": 0.9});
        assert!(serde_json::from_value::<Solver>(v).is_err());
        let v = serde_json::json!({"optimizer": "sgd", "momentum": 0.5});
        assert_eq!(
            serde_json::from_value::<Solver>(v).unwrap(),
            Solver::Sgd(SgdConfig {
                momentum: 0.5,
                nesterov: false
            })
        );
    }
}
