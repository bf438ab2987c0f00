//! Gradient descent, θ ← θ − η·g, optionally with (Nesterov) momentum.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig, check_step, ensure_state};
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
    velocity: Vec<f64>,
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
            velocity: Vec::new(),
        })
    }
}

impl Default for Sgd {
    /// Plain gradient descent.
    fn default() -> Self {
        Sgd {
            config: SgdConfig::default(),
            velocity: Vec::new(),
        }
    }
}

impl<S: Scalar> Optimizer<S> for Sgd {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()> {
        check_step(net, grad, learning_rate)?;
        let SgdConfig { momentum, nesterov } = self.config;
        if momentum == 0.0 {
            let eta = S::cast(learning_rate);
            parallel::zip_apply(net.params_mut(), grad.as_slice(), |w, g| w - eta * g);
            return Ok(());
        }
        ensure_state(&mut self.velocity, net.n_params())?;
        // State in f64 so that an f32 network and an f64 network follow the
        // same recurrence up to the rounding of θ and g.
        let k = Coefficients {
            momentum,
            nesterov,
            lr: learning_rate,
            tiny: denormal::threshold::<f64>(),
        };
        update(net.params_mut(), grad.as_slice(), &mut self.velocity, &k);
        Ok(())
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        self.import_state(state)
    }
}

/// Checkpoint state: the velocity v (empty without momentum).
impl Sgd {
    fn export_state(&self) -> super::OptimizerState {
        super::OptimizerState::new(SgdConfig::NAME).with_vector("velocity", &self.velocity)
    }

    fn import_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        state.expect(SgdConfig::NAME, &[], &["velocity"])?;
        self.velocity = state.vector("velocity").unwrap_or_default().to_vec();
        Ok(())
    }
}

/// The constants of one momentum step: μ, Nesterov or not, η and the
/// flushing threshold.
struct Coefficients {
    momentum: f64,
    nesterov: bool,
    lr: f64,
    tiny: f64,
}

widest! {
    /// θ ← θ − η·v (or η·(g + μ·v), Nesterov) over the flat vectors (see
    /// [`kernel`]).
    fn update<S: Scalar>(w: &mut [S], g: &[S], velocity: &mut [f64], k: &Coefficients) => kernel
}

/// The momentum recurrence per parameter, in f64.
#[inline(always)]
fn kernel<S: Scalar>(w: &mut [S], g: &[S], velocity: &mut [f64], k: &Coefficients) {
    let Coefficients {
        momentum,
        nesterov,
        lr,
        tiny,
    } = *k;
    for ((w, &g), v) in w.iter_mut().zip(g).zip(velocity) {
        let g = g.wide();
        // Flushed: a unit whose gradient stays 0 decays v into the
        // subnormal range (see `denormal`).
        *v = denormal::flush(momentum * *v + g, tiny);
        let d = if nesterov { g + momentum * *v } else { *v };
        *w = S::cast(w.wide() - lr * d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::samples::{bits, values, values_f32};

    #[test]
    fn dispatched_update_equals_the_baseline_bit_for_bit() {
        let n = 1003;
        for nesterov in [false, true] {
            let k = Coefficients {
                momentum: 0.9,
                nesterov,
                lr: 1e-2,
                tiny: f64::MIN_POSITIVE,
            };
            let g = values_f32(n, 1);
            let (mut w, mut v) = (values_f32(n, 2), values(n, 3));
            let (mut w0, mut v0) = (w.clone(), v.clone());
            for _ in 0..3 {
                update(&mut w, &g, &mut v, &k);
                kernel(&mut w0, &g, &mut v0, &k);
            }
            assert_eq!((bits(&w), bits(&v)), (bits(&w0), bits(&v0)));
        }
    }
}
