//! Adam (Kingma and Ba): per-parameter steps from bias-corrected first and
//! second moment estimates.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig, check_step, ensure_state};
use crate::simd::widest;
use crate::{Gradient, Network, Result, Scalar, check, denormal};

/// Settings of [`Adam`]. Defaults β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸ (PyTorch,
/// Keras and scikit-learn agree).
///
/// ```
/// use backprop::{Adam, AdamConfig};
/// assert!(Adam::new(AdamConfig { beta2: 0.99, ..AdamConfig::default() }).is_ok());
/// assert!(Adam::new(AdamConfig { epsilon: 0.0, ..AdamConfig::default() }).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Decay β₁ of the first moment estimate, in [0, 1). Default 0.9.
    pub beta1: f64,
    /// Decay β₂ of the second moment estimate, in [0, 1). Default 0.999.
    pub beta2: f64,
    /// ε added to √v̂, finite and > 0. Default 10⁻⁸.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

impl SolverConfig for AdamConfig {
    const NAME: &'static str = "adam";
    const SUMMARY: &'static str = "Adam (--beta1, --beta2, --epsilon)";

    fn validate(&self) -> Result<()> {
        check::unit_interval("beta1", self.beta1)?;
        check::unit_interval("beta2", self.beta2)?;
        check::positive("epsilon", self.epsilon)
    }

    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        Ok(Box::new(Adam::new(*self)?))
    }
}

/// Adam with its step count and moment estimates (see [`AdamConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    config: AdamConfig,
    t: u64,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    /// A fresh optimizer.
    ///
    /// # Errors
    /// As [`AdamConfig::validate`](SolverConfig::validate).
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate()?;
        Ok(Adam {
            config,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }

    /// Steps taken so far (t in the bias corrections).
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// The Adam update at η, shared with [`AdamW`](super::AdamW).
    pub(super) fn update<S: Scalar>(
        &mut self,
        net: &mut Network<S>,
        grad: &Gradient<S>,
        learning_rate: f64,
    ) -> Result<()> {
        ensure_state(&mut self.m, net.n_params())?;
        ensure_state(&mut self.v, net.n_params())?;
        self.t += 1;
        let AdamConfig {
            beta1: b1,
            beta2: b2,
            epsilon: eps,
        } = self.config;
        let t = self.t.min(i32::MAX as u64) as i32;
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let k = Coefficients {
            b1,
            b2,
            eps,
            c1,
            c2,
            lr: learning_rate,
            tiny: denormal::threshold::<f64>(),
        };
        update(net.params_mut(), grad.as_slice(), &mut self.m, &mut self.v, &k);
        Ok(())
    }
}

impl<S: Scalar> Optimizer<S> for Adam {
    fn step(&mut self, net: &mut Network<S>, grad: &Gradient<S>, learning_rate: f64) -> Result<()> {
        check_step(net, grad, learning_rate)?;
        self.update(net, grad, learning_rate)
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        self.import_state(state)
    }
}

/// Checkpoint state: the step count t and the moments m and v.
impl Adam {
    fn export_state(&self) -> super::OptimizerState {
        self.export_as(AdamConfig::NAME)
    }

    fn import_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        self.import_as(AdamConfig::NAME, state)
    }

    /// The state under `name` (AdamW saves Adam's under its own).
    pub(super) fn export_as(&self, name: &str) -> super::OptimizerState {
        super::OptimizerState::new(name)
            .with_counter("t", self.t)
            .with_vector("m", &self.m)
            .with_vector("v", &self.v)
    }

    pub(super) fn import_as(&mut self, name: &str, state: &super::OptimizerState) -> Result<()> {
        state.expect(name, &["t"], &["m", "v"])?;
        self.t = state.counter("t").unwrap_or(0);
        self.m = state.vector("m").unwrap_or_default().to_vec();
        self.v = state.vector("v").unwrap_or_default().to_vec();
        Ok(())
    }
}

/// The constants of one Adam step: decays, ε, bias corrections, η and the
/// flushing threshold.
struct Coefficients {
    b1: f64,
    b2: f64,
    eps: f64,
    c1: f64,
    c2: f64,
    lr: f64,
    tiny: f64,
}

widest! {
    /// θ ← θ − η·m̂/(√v̂ + ε) over the flat vectors (see [`kernel`]).
    fn update<S: Scalar>(w: &mut [S], g: &[S], m: &mut [f64], v: &mut [f64], k: &Coefficients) => kernel
}

/// The Adam recurrence per parameter, in f64.
#[inline(always)]
fn kernel<S: Scalar>(w: &mut [S], g: &[S], m: &mut [f64], v: &mut [f64], k: &Coefficients) {
    let Coefficients {
        b1,
        b2,
        eps,
        c1,
        c2,
        lr,
        tiny,
    } = *k;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        let g = g.wide();
        // Flushed: moments of a gradient that stays 0 decay into the
        // subnormal range (see `denormal`).
        *m = denormal::flush(b1 * *m + (1.0 - b1) * g, tiny);
        *v = denormal::flush(b2 * *v + (1.0 - b2) * g * g, tiny);
        let step = lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        *w = S::cast(w.wide() - step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::samples::{bits, values, values_f32};

    fn coefficients(t: i32) -> Coefficients {
        let c = AdamConfig::default();
        Coefficients {
            b1: c.beta1,
            b2: c.beta2,
            eps: c.epsilon,
            c1: 1.0 - c.beta1.powi(t),
            c2: 1.0 - c.beta2.powi(t),
            lr: 1e-3,
            tiny: f64::MIN_POSITIVE,
        }
    }

    #[test]
    fn dispatched_update_equals_the_baseline_bit_for_bit() {
        let n = 1003;
        let g = values_f32(n, 1);
        let (mut w, mut m, mut v) = (values_f32(n, 2), values(n, 3), values(n, 4));
        v.iter_mut().for_each(|x| *x = x.abs());
        let (mut w0, mut m0, mut v0) = (w.clone(), m.clone(), v.clone());
        for t in 1..4 {
            update(&mut w, &g, &mut m, &mut v, &coefficients(t));
            kernel(&mut w0, &g, &mut m0, &mut v0, &coefficients(t));
        }
        assert_eq!(bits(&w), bits(&w0));
        assert_eq!((bits(&m), bits(&v)), (bits(&m0), bits(&v0)));

        let g = values(n, 5);
        let (mut w, mut m, mut v) = (values(n, 6), vec![0.0; n], vec![0.0; n]);
        let (mut w0, mut m0, mut v0) = (w.clone(), m.clone(), v.clone());
        update(&mut w, &g, &mut m, &mut v, &coefficients(1));
        kernel(&mut w0, &g, &mut m0, &mut v0, &coefficients(1));
        assert_eq!(bits(&w), bits(&w0));
    }
}
