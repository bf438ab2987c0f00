//! AdamW (Loshchilov and Hutter): Adam with decoupled weight decay.

use serde::{Deserialize, Serialize};

use super::{Adam, AdamConfig, Optimizer, SolverConfig, check_step};
use crate::{Gradient, Network, Result, Scalar, check};

/// Settings of [`AdamW`]: Adam's, plus the decoupled weight decay ω
/// (θ ← θ − η·ω·θ on the weights, never the biases, before the Adam step).
/// Defaults: Adam's, and PyTorch's ω = 0.01.
///
/// ```
/// use backprop::{AdamW, AdamWConfig};
/// assert!(AdamW::new(AdamWConfig { weight_decay: 0.1, ..AdamWConfig::default() }).is_ok());
/// assert!(AdamW::new(AdamWConfig { weight_decay: -0.1, ..AdamWConfig::default() }).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// As [`AdamConfig::beta1`]. Default 0.9.
    pub beta1: f64,
    /// As [`AdamConfig::beta2`]. Default 0.999.
    pub beta2: f64,
    /// As [`AdamConfig::epsilon`]. Default 10⁻⁸.
    pub epsilon: f64,
    /// Decoupled weight decay ω, finite and ≥ 0. Default 0.01.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        let adam = AdamConfig::default();
        AdamWConfig {
            beta1: adam.beta1,
            beta2: adam.beta2,
            epsilon: adam.epsilon,
            weight_decay: 0.01,
        }
    }
}

impl AdamWConfig {
    fn adam(&self) -> AdamConfig {
        AdamConfig {
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        }
    }
}

impl SolverConfig for AdamWConfig {
    const NAME: &'static str = "adamw";
    const SUMMARY: &'static str = "AdamW (--weight-decay, --beta1, --beta2, --epsilon)";

    fn validate(&self) -> Result<()> {
        self.adam().validate()?;
        check::non_negative("weight_decay", self.weight_decay)
    }

    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        Ok(Box::new(AdamW::new(*self)?))
    }
}

/// AdamW with Adam's state (see [`AdamWConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    adam: Adam,
    weight_decay: f64,
}

impl AdamW {
    /// A fresh optimizer.
    ///
    /// # Errors
    /// As [`AdamWConfig::validate`](SolverConfig::validate).
    pub fn new(config: AdamWConfig) -> Result<Self> {
        config.validate()?;
        Ok(AdamW {
            adam: Adam::new(config.adam())?,
            weight_decay: config.weight_decay,
        })
    }
}

impl<S: Scalar> Optimizer<S> for AdamW {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()> {
        self.step_finite(net, grad, learning_rate).map(|_| ())
    }

    fn step_finite(
        &mut self,
        net: &mut Network<S>,
        grad: &Gradient<S>,
        learning_rate: f64,
    ) -> Result<bool> {
        check_step(net, grad, learning_rate)?;
        let shrink = S::cast(1.0 - learning_rate * self.weight_decay);
        if self.weight_decay > 0.0 {
            for l in 0..net.depth() {
                let range = net.layout().weight_range(l);
                net.params_mut()[range]
                    .iter_mut()
                    .for_each(|w| *w = *w * shrink);
            }
        }
        self.adam.update(net, grad, learning_rate)
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        self.adam.import_as::<S>(AdamWConfig::NAME, state)
    }
}

/// Checkpoint state: Adam's (the weight decay has none).
impl AdamW {
    fn export_state(&self) -> super::OptimizerState {
        self.adam.export_as(AdamWConfig::NAME)
    }
}
