//! Gradient descent, θ ← θ − η·g, optionally with (Nesterov) momentum.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig, StateVec, check_step};
use crate::simd::widest;
use crate::{Gradient, Network, Result, Scalar, check, denormal, parallel};

/// Settings of [`Sgd`]. The default is plain gradient descent.
///
/// ```
/// use backprop::{Sgd, SgdConfig};
/// let nesterov = SgdConfig { momentum: 0.9, nesterov: true };
/// assert!(Sgd::new(nesterov).is_ok());
/// assert!(Sgd::new(SgdConfig { momentum: 1.0, ..SgdConfig::default() }).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    /// Heavy-ball momentum μ in [0, 1): v ← μ·v + g; θ ← θ − η·v.
    /// Default 0 (none).
    pub momentum: f64,
    /// Nesterov's look-ahead form θ ← θ − η·(g + μ·v). Default false. Needs
    /// μ > 0.
    pub nesterov: bool,
}

impl SolverConfig for SgdConfig {
    const NAME: &'static str = "sgd";
    const SUMMARY: &'static str = "gradient descent, with --momentum (and --nesterov)";

    fn validate(&self) -> Result<()> {
        check::unit_interval("momentum", self.momentum)?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(crate::Error::InvalidHyperparameter {
                name: "nesterov",
                value: "true".into(),
                reason: "Nesterov's form needs a momentum above 0",
            });
        }
        Ok(())
    }

    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        Ok(Box::new(Sgd::new(*self)?))
    }
}

/// Gradient descent with the velocity of its momentum (see [`SgdConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd {
    config: SgdConfig,
    velocity: StateVec,
}

impl Sgd {
    /// A fresh optimizer.
    ///
    /// # Errors
    /// As [`SgdConfig::validate`](SolverConfig::validate).
    pub fn new(config: SgdConfig) -> Result<Self> {
        config.validate()?;
        Ok(Sgd {
            config,
            velocity: StateVec::default(),
        })
    }
}

impl Default for Sgd {
    /// Plain gradient descent.
    fn default() -> Self {
        Sgd {
            config: SgdConfig::default(),
            velocity: StateVec::default(),
        }
    }
}

impl<S: Scalar> Optimizer<S> for Sgd {
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
        let SgdConfig { momentum, nesterov } = self.config;
        if momentum == 0.0 {
            let eta = S::cast(learning_rate);
            parallel::zip_apply(net.params_mut(), grad.as_slice(), |w, g| w - eta * g);
            return Ok(crate::simd::all_finite(net.params()));
        }
        // The velocity in the network's float type, as PyTorch keeps it.
        let velocity = self.velocity.get::<S>(net.n_params())?;
        let k = Coefficients {
            momentum: S::cast(momentum),
            nesterov,
            lr: S::cast(learning_rate),
            tiny: denormal::threshold::<S>(),
        };
        Ok(update(net.params_mut(), grad.as_slice(), velocity, &k))
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        state.expect(SgdConfig::NAME, &[], &["velocity"])?;
        self.velocity = StateVec::from_f64::<S>(state.vector("velocity").unwrap_or_default());
        Ok(())
    }
}

/// Checkpoint state: the velocity v (empty without momentum).
impl Sgd {
    fn export_state(&self) -> super::OptimizerState {
        super::OptimizerState::new(SgdConfig::NAME).with_vector("velocity", &self.velocity.to_f64())
    }
}

/// The constants of one momentum step: μ, Nesterov or not, η and the
/// flushing threshold.
struct Coefficients<S> {
    momentum: S,
    nesterov: bool,
    lr: S,
    tiny: S,
}

widest! {
    /// θ ← θ − η·v (or η·(g + μ·v), Nesterov) over the flat vectors (see
    /// [`kernel`]).
    fn update<S: Scalar>(w: &mut [S], g: &[S], velocity: &mut [S], k: &Coefficients<S>) -> bool => kernel
}

/// The momentum recurrence per parameter, in the network's float type.
#[inline(always)]
fn kernel<S: Scalar>(w: &mut [S], g: &[S], velocity: &mut [S], k: &Coefficients<S>) -> bool {
    let Coefficients {
        momentum,
        nesterov,
        lr,
        tiny,
    } = *k;
    let mut finite = true;
    for ((w, &g), v) in w.iter_mut().zip(g).zip(velocity) {
        // Flushed: a unit whose gradient stays 0 decays v into the
        // subnormal range (see `denormal`).
        *v = denormal::flush(momentum * *v + g, tiny);
        let d = if nesterov { g + momentum * *v } else { *v };
        *w = *w - lr * d;
        finite &= w.is_finite();
    }
    finite
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::samples::{bits, values_f32};

    #[test]
    fn dispatched_update_equals_the_baseline_bit_for_bit() {
        let n = 1003;
        for nesterov in [false, true] {
            let k = Coefficients {
                momentum: 0.9f32,
                nesterov,
                lr: 1e-2,
                tiny: f32::MIN_POSITIVE,
            };
            let g = values_f32(n, 1);
            let (mut w, mut v) = (values_f32(n, 2), values_f32(n, 3));
            let (mut w0, mut v0) = (w.clone(), v.clone());
            for _ in 0..3 {
                update(&mut w, &g, &mut v, &k);
                kernel(&mut w0, &g, &mut v0, &k);
            }
            assert_eq!((bits(&w), bits(&v)), (bits(&w0), bits(&v0)));
        }
    }
}
