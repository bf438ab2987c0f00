//! Optimizers: rules that turn a gradient ∂J/∂θ into a parameter update.
//!
//! The set is open (users may write their own), so it is a trait. Every
//! optimizer works on the flat parameter and gradient vectors, whose layout is
//! described by [`Layout`](crate::Layout).

use crate::{Error, Gradient, Network, Result, Scalar, parallel};

/// Updates a network's parameters from a gradient. State such as momentum
/// lives in the optimizer, allocated on the first step.
pub trait Optimizer<S: Scalar> {
    /// Applies one update θ ← θ − (step computed from ∂J/∂θ).
    ///
    /// # Errors
    /// [`Error::WorkspaceMismatch`] when the gradient belongs to a network of
    /// another shape.
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>) -> Result<()>;
}

/// Plain gradient descent, θ ← θ − η·∂J/∂θ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    learning_rate: f64,
}

impl Sgd {
    /// Gradient descent with learning rate η.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless η is finite and > 0.
    pub fn new(learning_rate: f64) -> Result<Self> {
        check_learning_rate(learning_rate)?;
        Ok(Sgd { learning_rate })
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
        parallel::zip_apply(net.params_mut(), grad.as_slice(), |w, g| w - eta * g);
        Ok(())
    }
}

/// [`Error::InvalidHyperparameter`] unless `lr` is finite and positive.
pub(crate) fn check_learning_rate(lr: f64) -> Result<()> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name: "learning_rate",
            value: lr.to_string(),
            reason: "must be finite and > 0",
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
