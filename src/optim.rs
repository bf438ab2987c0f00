//! Optimizers: rules that turn a gradient ∂J/∂θ into a parameter update.
//!
//! The set is open (users may write their own), so it is a trait. Every
//! optimizer works on the flat parameter and gradient vectors, whose layout is
//! described by [`Layout`](crate::Layout). State (velocities, moment
//! estimates) is one vector of N entries per kind, allocated on the first step
//! and reused afterwards, so a step allocates nothing.
//!
//! Conventions follow PyTorch's `torch.optim` (so that published
//! hyperparameters carry over), with g = ∂J/∂θ as computed by
//! [`Network::compute_gradient`], L2 term included:
//!
//! | optimizer | update |
//! |---|---|
//! | [`Sgd`] | θ ← θ − η·g |
//! | [`Sgd::momentum`] | v ← μ·v + g; θ ← θ − η·v |
//! | [`Sgd::nesterov`] | v ← μ·v + g; θ ← θ − η·(g + μ·v) |
//! | [`Adam`] | m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) |
//! | [`AdamW`] | θ ← θ − η·ω·θ on weights (never biases), then the Adam step |
//! | [`Rmsprop`] | v ← αv + (1−α)g²; θ ← θ − η·g/(√v + ε) |
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

use crate::{Error, Gradient, Network, Result, Scalar, denormal, parallel};

/// Updates a network's parameters from a gradient. State such as momentum
/// lives in the optimizer, allocated on the first step.
pub trait Optimizer<S: Scalar>: Send {
    /// Applies one update θ ← θ − (step computed from ∂J/∂θ).
    ///
    /// # Errors
    /// [`Error::WorkspaceMismatch`] when the gradient belongs to a network of
    /// another shape, [`Error::ParameterCount`] when the optimizer's state was
    /// built for a network with another number of parameters.
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()>;

    /// The current learning rate η.
    fn learning_rate(&self) -> f64;

    /// Sets η (used by learning-rate schedules); state is kept.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0.
    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()>;

    /// Forgets all state (velocities, moments, step count), as if new.
    fn reset(&mut self);
}

/// Gradient descent, θ ← θ − η·∂J/∂θ, optionally with (Nesterov) momentum.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    velocity: Vec<f64>,
}

impl Sgd {
    /// Gradient descent with learning rate η and no momentum.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0.
    pub fn new(learning_rate: f64) -> Result<Self> {
        check_learning_rate(learning_rate)?;
        Ok(Sgd {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
            velocity: Vec::new(),
        })
    }

    /// Heavy-ball momentum μ: v ← μ·v + g; θ ← θ − η·v. Default 0 (none).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless 0 ≤ μ < 1.
    ///
    /// ```
    /// use backprop::Sgd;
    /// let opt = Sgd::new(0.1)?.momentum(0.9)?.nesterov(true);
    /// assert_eq!(opt.momentum_coefficient(), 0.9);
    /// assert!(Sgd::new(0.1)?.momentum(1.0).is_err());
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn momentum(mut self, momentum: f64) -> Result<Self> {
        check_unit_interval("momentum", momentum)?;
        self.momentum = momentum;
        Ok(self)
    }

    /// Nesterov's look-ahead form θ ← θ − η·(g + μ·v). Default false. Has no
    /// effect with μ = 0.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// μ.
    pub fn momentum_coefficient(&self) -> f64 {
        self.momentum
    }

    /// η.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
}

impl<S: Scalar> Optimizer<S> for Sgd {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()> {
        check_layout(net, grad)?;
        let eta = S::cast(self.learning_rate);
        if self.momentum == 0.0 {
            parallel::zip_apply(net.params_mut(), grad.as_slice(), |w, g| w - eta * g);
            return Ok(());
        }
        ensure_state(&mut self.velocity, net.n_params())?;
        let (mu, lr) = (self.momentum, self.learning_rate);
        let nesterov = self.nesterov;
        let tiny = denormal::threshold::<f64>();
        // State in f64 so that an f32 network and an f64 network follow the
        // same recurrence up to the rounding of θ and g.
        for ((w, &g), v) in net
            .params_mut()
            .iter_mut()
            .zip(grad.as_slice())
            .zip(&mut self.velocity)
        {
            let g = g.wide();
            // Flushed: a unit whose gradient stays 0 decays v into the
            // subnormal range (see `denormal`).
            *v = denormal::flush(mu * *v + g, tiny);
            let d = if nesterov { g + mu * *v } else { *v };
            *w = S::cast(w.wide() - lr * d);
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        check_learning_rate(learning_rate)?;
        self.learning_rate = learning_rate;
        Ok(())
    }

    fn reset(&mut self) {
        self.velocity.clear();
    }
}

/// Adam (Kingma and Ba): per-parameter steps from bias-corrected first and
/// second moment estimates. Defaults β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸ (PyTorch,
/// Keras and scikit-learn agree).
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    t: u64,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    /// Adam with learning rate η (scikit-learn's and Keras's default is 10⁻³).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0.
    pub fn new(learning_rate: f64) -> Result<Self> {
        check_learning_rate(learning_rate)?;
        Ok(Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }

    /// Decay rates of the moment estimates. Default (0.9, 0.999).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless both lie in [0, 1).
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        check_unit_interval("beta1", beta1)?;
        check_unit_interval("beta2", beta2)?;
        self.beta1 = beta1;
        self.beta2 = beta2;
        Ok(self)
    }

    /// ε added to √v̂. Default 10⁻⁸.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless ε is finite and > 0.
    pub fn epsilon(mut self, epsilon: f64) -> Result<Self> {
        check_positive("epsilon", epsilon)?;
        self.epsilon = epsilon;
        Ok(self)
    }

    /// Steps taken so far (t in the bias corrections).
    pub fn steps(&self) -> u64 {
        self.t
    }

    fn update<S: Scalar>(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()> {
        check_layout(net, grad)?;
        ensure_state(&mut self.m, net.n_params())?;
        ensure_state(&mut self.v, net.n_params())?;
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let t = self.t.min(i32::MAX as u64) as i32;
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let (lr, eps) = (self.learning_rate, self.epsilon);
        let tiny = denormal::threshold::<f64>();
        for (((w, &g), m), v) in net
            .params_mut()
            .iter_mut()
            .zip(grad.as_slice())
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            let g = g.wide();
            // Flushed: moments of a gradient that stays 0 decay into the
            // subnormal range (see `denormal`).
            *m = denormal::flush(b1 * *m + (1.0 - b1) * g, tiny);
            *v = denormal::flush(b2 * *v + (1.0 - b2) * g * g, tiny);
            let step = lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            *w = S::cast(w.wide() - step);
        }
        Ok(())
    }
}

impl<S: Scalar> Optimizer<S> for Adam {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()> {
        self.update(net, grad)
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        check_learning_rate(learning_rate)?;
        self.learning_rate = learning_rate;
        Ok(())
    }

    fn reset(&mut self) {
        self.t = 0;
        self.m.clear();
        self.v.clear();
    }
}

/// AdamW (Loshchilov and Hutter): Adam with decoupled weight decay,
/// θ ← θ − η·ω·θ on the weights (biases are not decayed), then the Adam step.
/// PyTorch's default ω is 0.01.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    adam: Adam,
    weight_decay: f64,
}

impl AdamW {
    /// AdamW with learning rate η and decoupled weight decay ω.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η > 0 and ω ≥ 0, both finite.
    pub fn new(learning_rate: f64, weight_decay: f64) -> Result<Self> {
        check_non_negative("weight_decay", weight_decay)?;
        Ok(AdamW {
            adam: Adam::new(learning_rate)?,
            weight_decay,
        })
    }

    /// As [`Adam::betas`].
    ///
    /// # Errors
    /// As [`Adam::betas`].
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        self.adam = self.adam.betas(beta1, beta2)?;
        Ok(self)
    }

    /// As [`Adam::epsilon`].
    ///
    /// # Errors
    /// As [`Adam::epsilon`].
    pub fn epsilon(mut self, epsilon: f64) -> Result<Self> {
        self.adam = self.adam.epsilon(epsilon)?;
        Ok(self)
    }
}

impl<S: Scalar> Optimizer<S> for AdamW {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()> {
        check_layout(net, grad)?;
        let shrink = S::cast(1.0 - self.adam.learning_rate * self.weight_decay);
        if self.weight_decay > 0.0 {
            for l in 0..net.depth() {
                let range = net.layout().weight_range(l);
                net.params_mut()[range]
                    .iter_mut()
                    .for_each(|w| *w = *w * shrink);
            }
        }
        self.adam.update(net, grad)
    }

    fn learning_rate(&self) -> f64 {
        self.adam.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        <Adam as Optimizer<S>>::set_learning_rate(&mut self.adam, learning_rate)
    }

    fn reset(&mut self) {
        <Adam as Optimizer<S>>::reset(&mut self.adam)
    }
}

/// RMSprop (Hinton): steps scaled by a running root mean square of the
/// gradient. Defaults α = 0.99, ε = 10⁻⁸ (PyTorch's).
#[derive(Debug, Clone, PartialEq)]
pub struct Rmsprop {
    learning_rate: f64,
    alpha: f64,
    epsilon: f64,
    v: Vec<f64>,
}

impl Rmsprop {
    /// RMSprop with learning rate η (PyTorch's default 10⁻²; Keras's 10⁻³).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0.
    pub fn new(learning_rate: f64) -> Result<Self> {
        check_learning_rate(learning_rate)?;
        Ok(Rmsprop {
            learning_rate,
            alpha: 0.99,
            epsilon: 1e-8,
            v: Vec::new(),
        })
    }

    /// Decay α of the running mean of g². Default 0.99.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless 0 ≤ α < 1.
    pub fn alpha(mut self, alpha: f64) -> Result<Self> {
        check_unit_interval("alpha", alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// ε added to √v. Default 10⁻⁸.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless ε is finite and > 0.
    pub fn epsilon(mut self, epsilon: f64) -> Result<Self> {
        check_positive("epsilon", epsilon)?;
        self.epsilon = epsilon;
        Ok(self)
    }
}

impl<S: Scalar> Optimizer<S> for Rmsprop {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()> {
        check_layout(net, grad)?;
        ensure_state(&mut self.v, net.n_params())?;
        let (a, lr, eps) = (self.alpha, self.learning_rate, self.epsilon);
        let tiny = denormal::threshold::<f64>();
        for ((w, &g), v) in net
            .params_mut()
            .iter_mut()
            .zip(grad.as_slice())
            .zip(&mut self.v)
        {
            let g = g.wide();
            *v = denormal::flush(a * *v + (1.0 - a) * g * g, tiny);
            *w = S::cast(w.wide() - lr * g / (v.sqrt() + eps));
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        check_learning_rate(learning_rate)?;
        self.learning_rate = learning_rate;
        Ok(())
    }

    fn reset(&mut self) {
        self.v.clear();
    }
}

/// Allocates zeroed state of `n` entries on first use; rejects state built
/// for a network of another size.
fn ensure_state(state: &mut Vec<f64>, n: usize) -> Result<()> {
    if state.is_empty() {
        state.resize(n, 0.0);
    }
    if state.len() == n {
        Ok(())
    } else {
        Err(Error::ParameterCount {
            got: n,
            expected: state.len(),
        })
    }
}

/// [`Error::InvalidHyperparameter`] unless `lr` is finite and positive.
pub(crate) fn check_learning_rate(lr: f64) -> Result<()> {
    check_positive("learning_rate", lr)
}

/// [`Error::InvalidHyperparameter`] unless `v` is finite and > 0.
pub(crate) fn check_positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value: v.to_string(),
            reason: "must be finite and > 0",
        })
    }
}

/// [`Error::InvalidHyperparameter`] unless `v` is finite and ≥ 0.
pub(crate) fn check_non_negative(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value: v.to_string(),
            reason: "must be finite and >= 0",
        })
    }
}

/// [`Error::InvalidHyperparameter`] unless 0 ≤ `v` < 1.
pub(crate) fn check_unit_interval(name: &'static str, v: f64) -> Result<()> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value: v.to_string(),
            reason: "must lie in [0, 1)",
        })
    }
}

/// [`Error::WorkspaceMismatch`] unless `grad` was computed for `net`'s shape.
pub(crate) fn check_layout<S: Scalar>(net: &Network<S>, grad: &Gradient<S>) -> Result<()> {
    if grad.layout() == net.layout() && grad.as_slice().len() == net.n_params() {
        Ok(())
    } else {
        Err(Error::WorkspaceMismatch {
            workspace: grad.layout().sizes().to_vec(),
            network: net.sizes().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_state_allocates_once_and_rejects_other_sizes() {
        let mut s = Vec::new();
        ensure_state(&mut s, 4).unwrap();
        assert_eq!(s, vec![0.0; 4]);
        assert!(matches!(
            ensure_state(&mut s, 5),
            Err(Error::ParameterCount { .. })
        ));
    }

    #[test]
    fn hyperparameter_ranges() {
        assert!(check_unit_interval("m", 0.0).is_ok());
        assert!(check_unit_interval("m", 1.0).is_err());
        assert!(check_unit_interval("m", f64::NAN).is_err());
        assert!(check_positive("e", 0.0).is_err());
        assert!(check_non_negative("w", 0.0).is_ok());
        assert!(check_non_negative("w", -1e-9).is_err());
    }
}
