//! Adam (Kingma and Ba): per-parameter steps from bias-corrected first and
//! second moment estimates.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig, StateVec, check_step};
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
///
/// The moments are kept, and the update computed, in the network's float
/// type (f32 for an f32 network, as PyTorch does).
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    config: AdamConfig,
    t: u64,
    m: StateVec,
    v: StateVec,
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
            m: StateVec::default(),
            v: StateVec::default(),
        })
    }

    /// Steps taken so far (t in the bias corrections).
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// The Adam update at η, shared with [`AdamW`](super::AdamW); whether
    /// every parameter is finite afterwards.
    pub(super) fn update<S: Scalar>(
        &mut self,
        net: &mut Network<S>,
        grad: &Gradient<S>,
        learning_rate: f64,
    ) -> Result<bool> {
        let n = net.n_params();
        let (m, v) = (self.m.get::<S>(n)?, self.v.get::<S>(n)?);
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
            b1: S::cast(b1),
            b2: S::cast(b2),
            eps: S::cast(eps),
            c1: S::cast(c1),
            c2: S::cast(c2),
            lr: S::cast(learning_rate),
            tiny: denormal::threshold::<S>(),
        };
        Ok(update(net.params_mut(), grad.as_slice(), m, v, &k))
    }
}

impl<S: Scalar> Optimizer<S> for Adam {
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
        self.update(net, grad, learning_rate)
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        self.import_as::<S>(AdamConfig::NAME, state)
    }
}

/// Checkpoint state: the step count t and the moments m and v.
impl Adam {
    fn export_state(&self) -> super::OptimizerState {
        self.export_as(AdamConfig::NAME)
    }

    /// The state under `name` (AdamW saves Adam's under its own).
    pub(super) fn export_as(&self, name: &str) -> super::OptimizerState {
        super::OptimizerState::new(name)
            .with_counter("t", self.t)
            .with_vector("m", &self.m.to_f64())
            .with_vector("v", &self.v.to_f64())
    }

    /// The state under `name`, for a network of type `S`.
    pub(super) fn import_as<S: Scalar>(
        &mut self,
        name: &str,
        state: &super::OptimizerState,
    ) -> Result<()> {
        state.expect(name, &["t"], &["m", "v"])?;
        self.t = state.counter("t").unwrap_or(0);
        self.m = StateVec::from_f64::<S>(state.vector("m").unwrap_or_default());
        self.v = StateVec::from_f64::<S>(state.vector("v").unwrap_or_default());
        Ok(())
    }
}

/// The constants of one Adam step: decays, ε, bias corrections, η and the
/// flushing threshold.
struct Coefficients<S> {
    b1: S,
    b2: S,
    eps: S,
    c1: S,
    c2: S,
    lr: S,
    tiny: S,
}

widest! {
    /// θ ← θ − η·m̂/(√v̂ + ε) over the flat vectors (see [`kernel`]); whether
    /// every θ is finite afterwards.
    fn update<S: Scalar>(w: &mut [S], g: &[S], m: &mut [S], v: &mut [S], k: &Coefficients<S>) -> bool => kernel
}

/// The Adam recurrence per parameter, in the network's float type.
#[inline(always)]
fn kernel<S: Scalar>(w: &mut [S], g: &[S], m: &mut [S], v: &mut [S], k: &Coefficients<S>) -> bool {
    let Coefficients {
        b1,
        b2,
        eps,
        c1,
        c2,
        lr,
        tiny,
    } = *k;
    let (one_b1, one_b2) = (S::one() - b1, S::one() - b2);
    let mut finite = true;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        // Flushed: moments of a gradient that stays 0 decay into the
        // subnormal range (see `denormal`).
        *m = denormal::flush(b1 * *m + one_b1 * g, tiny);
        *v = denormal::flush(b2 * *v + one_b2 * g * g, tiny);
        *w = *w - lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        finite &= w.is_finite();
    }
    finite
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::samples::{bits, values, values_f32};

    fn coefficients<S: Scalar>(t: i32) -> Coefficients<S> {
        let c = AdamConfig::default();
        Coefficients {
            b1: S::cast(c.beta1),
            b2: S::cast(c.beta2),
            eps: S::cast(c.epsilon),
            c1: S::cast(1.0 - c.beta1.powi(t)),
            c2: S::cast(1.0 - c.beta2.powi(t)),
            lr: S::cast(1e-3),
            tiny: S::min_positive_value(),
        }
    }

    #[test]
    fn dispatched_update_equals_the_baseline_bit_for_bit() {
        let n = 1003;
        let g = values_f32(n, 1);
        let (mut w, mut m, mut v) = (values_f32(n, 2), values_f32(n, 3), values_f32(n, 4));
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

    #[test]
    fn f32_state_follows_the_f64_recurrence_to_rounding() {
        let n = 257;
        let g = values_f32(n, 7);
        let g64: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
        let mut w = values_f32(n, 8);
        let mut w64: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut m64, mut v64) = (vec![0.0f64; n], vec![0.0f64; n]);
        for t in 1..20 {
            update(&mut w, &g, &mut m, &mut v, &coefficients(t));
            update(&mut w64, &g64, &mut m64, &mut v64, &coefficients(t));
        }
        for (a, b) in w.iter().zip(&w64) {
            assert!((f64::from(*a) - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} {b}");
        }
    }
}
