//! Hidden-layer activations g, each with its derivative g′ beside it.
//!
//! All four have a derivative that can be written in terms of the output
//! a = g(z) alone, so the backward pass never needs Z:
//! σ′ = a(1 − a), tanh′ = 1 − a², ReLU′ = \[a > 0\], identity′ = 1.
//! The network therefore stores only A for hidden layers.

use crate::Scalar;
use crate::{denormal, parallel};

/// The activation g applied by a hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// g(z) = z.
    Identity,
    /// The logistic function g(z) = σ(z) = 1 / (1 + e^(−z)).
    Logistic,
    /// g(z) = tanh(z).
    Tanh,
    /// g(z) = max(0, z).
    Relu,
}

impl Activation {
    /// Every activation, for exhaustive tests and command-line parsing.
    pub const ALL: [Activation; 4] = [Self::Identity, Self::Logistic, Self::Tanh, Self::Relu];

    /// Lower-case name: `identity`, `logistic`, `tanh`, `relu`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Logistic => "logistic",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
        }
    }

    /// g(z).
    ///
    /// ```
    /// use backprop::Activation;
    /// assert_eq!(Activation::Relu.apply(-2.0f32), 0.0);
    /// assert_eq!(Activation::Logistic.apply(0.0f64), 0.5);
    /// ```
    #[inline]
    pub fn apply<S: Scalar>(self, z: S) -> S {
        match self {
            Self::Identity => z,
            Self::Logistic => logistic(z),
            Self::Tanh => z.tanh_fast(),
            Self::Relu => z.max(S::zero()),
        }
    }

    /// g′(z) written in terms of the output a = g(z).
    ///
    /// ```
    /// use backprop::Activation;
    /// let a = Activation::Tanh.apply(0.3f64);
    /// assert!((Activation::Tanh.derivative_from_output(a) - (1.0 - a * a)).abs() < 1e-15);
    /// ```
    #[inline]
    pub fn derivative_from_output<S: Scalar>(self, a: S) -> S {
        match self {
            Self::Identity => S::one(),
            Self::Logistic => a * (S::one() - a),
            Self::Tanh => S::one() - a * a,
            Self::Relu => {
                if a > S::zero() {
                    S::one()
                } else {
                    S::zero()
                }
            }
        }
    }

    /// g′(z) from the pre-activation z (for reference and tests; the network
    /// uses [`derivative_from_output`](Self::derivative_from_output)).
    #[inline]
    pub fn derivative<S: Scalar>(self, z: S) -> S {
        self.derivative_from_output(self.apply(z))
    }

    /// Fused pass over a row-major m×n block: a ← g(a + b) for each row.
    pub(crate) fn bias_activate<S: Scalar>(self, a: &mut [S], b: &[S]) {
        fn pass<S: Scalar>(a: &mut [S], b: &[S], g: impl Fn(S) -> S + Sync) {
            parallel::for_each_row_mut(a, b.len(), |row| {
                for (v, &bias) in row.iter_mut().zip(b) {
                    *v = g(*v + bias);
                }
            });
        }
        // One loop per activation (see `mul_derivative`).
        match self {
            Self::Identity => pass(a, b, |z| z),
            Self::Logistic => pass(a, b, |z| Self::Logistic.apply(z)),
            Self::Tanh => pass(a, b, |z| Self::Tanh.apply(z)),
            Self::Relu => pass(a, b, |z| Self::Relu.apply(z)),
        }
    }

    /// The fused pass with inverted dropout: a ← g(a + b) ⊙ r for each row,
    /// r the row of `mask` (0 for a dropped unit, 1/(1 − p) for a kept one).
    pub(crate) fn bias_activate_masked<S: Scalar>(self, a: &mut [S], b: &[S], mask: &[S]) {
        fn pass<S: Scalar>(a: &mut [S], b: &[S], mask: &[S], g: impl Fn(S) -> S + Sync) {
            parallel::for_each_row_zip_mut(a, mask, b.len(), |row, r| {
                for ((v, &bias), &r) in row.iter_mut().zip(b).zip(r) {
                    *v = g(*v + bias) * r;
                }
            });
        }
        match self {
            Self::Identity => pass(a, b, mask, |z| z),
            Self::Logistic => pass(a, b, mask, |z| Self::Logistic.apply(z)),
            Self::Tanh => pass(a, b, mask, |z| Self::Tanh.apply(z)),
            Self::Relu => pass(a, b, mask, |z| Self::Relu.apply(z)),
        }
    }

    /// delta ← delta ⊙ r ⊙ g′ after [`bias_activate_masked`](Self::bias_activate_masked):
    /// the cached `a` holds g(z)·r, so g′ is taken from a·(1 − p) = g(z)
    /// where the unit was kept (`keep` = 1 − p); where it was dropped r = 0
    /// and the product is 0 whatever g′.
    pub(crate) fn mul_derivative_masked<S: Scalar>(
        self,
        delta: &mut [S],
        a: &[S],
        mask: &[S],
        keep: S,
    ) {
        fn pass<S: Scalar>(d: &mut [S], a: &[S], r: &[S], keep: S, g: impl Fn(S) -> S + Sync) {
            let tiny = denormal::threshold::<S>();
            parallel::zip3_apply(d, a, r, |d, a, r| {
                denormal::flush(d * r * g(a * keep), tiny)
            })
        }
        // One loop per activation (see `mul_derivative`).
        let (d, r) = (delta, mask);
        match self {
            Self::Identity => pass(d, a, r, keep, |a| Self::Identity.derivative_from_output(a)),
            Self::Logistic => pass(d, a, r, keep, |a| Self::Logistic.derivative_from_output(a)),
            Self::Tanh => pass(d, a, r, keep, |a| Self::Tanh.derivative_from_output(a)),
            Self::Relu => pass(d, a, r, keep, |a| Self::Relu.derivative_from_output(a)),
        }
    }

    /// delta ← delta ⊙ g′, with g′ taken from the cached activation `a`.
    pub(crate) fn mul_derivative<S: Scalar>(self, delta: &mut [S], a: &[S]) {
        // Subnormal products are flushed (see `denormal`): the next GEMM
        // reads this buffer once per output column. One loop per activation,
        // so that the match is not taken per element and each loop
        // vectorizes.
        fn pass<S: Scalar>(delta: &mut [S], a: &[S], g: impl Fn(S) -> S + Sync) {
            let tiny = denormal::threshold::<S>();
            parallel::zip_apply(delta, a, |d, a| denormal::flush(d * g(a), tiny))
        }
        match self {
            Self::Identity => {}
            Self::Logistic => pass(delta, a, |a| Self::Logistic.derivative_from_output(a)),
            Self::Tanh => pass(delta, a, |a| Self::Tanh.derivative_from_output(a)),
            Self::Relu => pass(delta, a, |a| Self::Relu.derivative_from_output(a)),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "identity" | "linear" => Ok(Self::Identity),
            "logistic" | "sigmoid" => Ok(Self::Logistic),
            "tanh" => Ok(Self::Tanh),
            "relu" => Ok(Self::Relu),
            _ => Err(format!(
                "unknown activation `{s}`: expected identity, logistic, tanh or relu"
            )),
        }
    }
}

/// σ(z) = 1 / (1 + e^(−z)), finite for every finite z (e^(−z) may overflow to
/// +∞, which gives exactly 0).
#[inline]
pub(crate) fn logistic<S: Scalar>(z: S) -> S {
    S::one() / (S::one() + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivative_from_output_matches_central_difference() {
        let h = 1e-6;
        for act in Activation::ALL {
            for &z in &[-2.3f64, -0.4, 0.7, 1.9] {
                let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.apply(z));
                assert!((numeric - analytic).abs() < 1e-8, "{act} at {z}");
            }
        }
    }

    #[test]
    fn logistic_saturates_without_nan() {
        assert_eq!(logistic(-1000.0f32), 0.0);
        assert_eq!(logistic(1000.0f32), 1.0);
    }

    #[test]
    fn bias_activate_is_row_broadcast() {
        let mut a = vec![1.0f64, -2.0, 3.0, -4.0];
        Activation::Relu.bias_activate(&mut a, &[0.5, 1.0]);
        assert_eq!(a, vec![1.5, 0.0, 3.5, 0.0]);
    }

    #[test]
    fn masked_passes_scale_kept_units_and_zero_dropped_ones() {
        // p = ½: r ∈ {0, 2}.
        let mask = [2.0f64, 0.0, 2.0, 2.0];
        let mut a = vec![0.1f64, 0.2, -0.3, 0.4];
        Activation::Tanh.bias_activate_masked(&mut a, &[0.5, 1.0], &mask);
        let want = [
            2.0 * 0.6f64.tanh(),
            0.0,
            2.0 * 0.2f64.tanh(),
            2.0 * 1.4f64.tanh(),
        ];
        for (got, want) in a.iter().zip(want) {
            assert!((got - want).abs() < 1e-15);
        }
        let mut d = vec![1.0f64; 4];
        Activation::Tanh.mul_derivative_masked(&mut d, &a, &mask, 0.5);
        for (k, z) in [0.6f64, 1.2, 0.2, 1.4].into_iter().enumerate() {
            let want = mask[k] * (1.0 - z.tanh() * z.tanh());
            assert!((d[k] - want).abs() < 1e-14, "{k}: {} vs {want}", d[k]);
        }
    }

    #[test]
    fn names_round_trip() {
        for act in Activation::ALL {
            assert_eq!(act.name().parse::<Activation>(), Ok(act));
        }
        assert!("swish".parse::<Activation>().is_err());
    }
}
