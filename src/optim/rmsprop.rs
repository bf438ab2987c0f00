//! RMSprop (Hinton): steps scaled by a running root mean square of the
//! gradient.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig, StateVec, check_step};
use crate::simd::widest;
use crate::{Gradient, Network, Result, Scalar, check, denormal};

/// Settings of [`Rmsprop`]. Defaults α = 0.99, ε = 10⁻⁸ (PyTorch's).
///
/// ```
/// use backprop::{Rmsprop, RmspropConfig};
/// assert!(Rmsprop::new(RmspropConfig { alpha: 0.9, ..RmspropConfig::default() }).is_ok());
/// assert!(Rmsprop::new(RmspropConfig { alpha: 1.0, ..RmspropConfig::default() }).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmspropConfig {
    /// Decay α of the running mean of g², in [0, 1). Default 0.99.
    pub alpha: f64,
    /// ε added to √v, finite and > 0. Default 10⁻⁸.
    pub epsilon: f64,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        RmspropConfig {
            alpha: 0.99,
            epsilon: 1e-8,
        }
    }
}

impl SolverConfig for RmspropConfig {
    const NAME: &'static str = "rmsprop";
    const SUMMARY: &'static str = "RMSprop (--alpha, --epsilon)";

    fn validate(&self) -> Result<()> {
        check::unit_interval("alpha", self.alpha)?;
        check::positive("epsilon", self.epsilon)
    }

    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        Ok(Box::new(Rmsprop::new(*self)?))
    }
}

/// RMSprop with its running mean of g² (see [`RmspropConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rmsprop {
    config: RmspropConfig,
    v: StateVec,
}

impl Rmsprop {
    /// A fresh optimizer.
    ///
    /// # Errors
    /// As [`RmspropConfig::validate`](SolverConfig::validate).
    pub fn new(config: RmspropConfig) -> Result<Self> {
        config.validate()?;
        Ok(Rmsprop {
            config,
            v: StateVec::default(),
        })
    }
}

impl<S: Scalar> Optimizer<S> for Rmsprop {
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
        let v = self.v.get::<S>(net.n_params())?;
        let RmspropConfig {
            alpha: a,
            epsilon: eps,
        } = self.config;
        let k = Coefficients {
            a: S::cast(a),
            eps: S::cast(eps),
            lr: S::cast(learning_rate),
            tiny: denormal::threshold::<S>(),
        };
        Ok(update(net.params_mut(), grad.as_slice(), v, &k))
    }

    fn state(&self) -> Result<super::OptimizerState> {
        Ok(self.export_state())
    }

    fn set_state(&mut self, state: &super::OptimizerState) -> Result<()> {
        state.expect(RmspropConfig::NAME, &[], &["v"])?;
        self.v = StateVec::from_f64::<S>(state.vector("v").unwrap_or_default());
        Ok(())
    }
}

/// Checkpoint state: the running mean v of g².
impl Rmsprop {
    fn export_state(&self) -> super::OptimizerState {
        super::OptimizerState::new(RmspropConfig::NAME).with_vector("v", &self.v.to_f64())
    }
}

/// The constants of one RMSprop step: decay α, ε, η and the flushing
/// threshold.
struct Coefficients<S> {
    a: S,
    eps: S,
    lr: S,
    tiny: S,
}

widest! {
    /// θ ← θ − η·g/(√v + ε) over the flat vectors (see [`kernel`]); whether
    /// every θ is finite afterwards.
    fn update<S: Scalar>(w: &mut [S], g: &[S], v: &mut [S], k: &Coefficients<S>) -> bool => kernel
}

/// The RMSprop recurrence per parameter, in the network's float type.
#[inline(always)]
fn kernel<S: Scalar>(w: &mut [S], g: &[S], v: &mut [S], k: &Coefficients<S>) -> bool {
    let Coefficients { a, eps, lr, tiny } = *k;
    let one_a = S::one() - a;
    let mut finite = true;
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v) {
        *v = denormal::flush(a * *v + one_a * g * g, tiny);
        *w = *w - lr * g / (v.sqrt() + eps);
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
        let k = Coefficients {
            a: 0.99f32,
            eps: 1e-8,
            lr: 1e-2,
            tiny: f32::MIN_POSITIVE,
        };
        let g = values_f32(n, 1);
        let (mut w, mut v) = (values_f32(n, 2), values_f32(n, 3));
        v.iter_mut().for_each(|x| *x = x.abs());
        let (mut w0, mut v0) = (w.clone(), v.clone());
        for _ in 0..3 {
            update(&mut w, &g, &mut v, &k);
            kernel(&mut w0, &g, &mut v0, &k);
        }
        assert_eq!((bits(&w), bits(&v)), (bits(&w0), bits(&v0)));
    }
}
