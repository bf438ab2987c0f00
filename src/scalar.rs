//! `Scalar`: the floating-point types a network can be built on (f32 and f64).
//!
//! The trait is sealed: the GEMM kernels behind it exist for exactly these two
//! types, so it cannot be implemented outside the crate.

use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::Float;

use crate::linalg::Kernels;

/// A floating-point element type: `f32` (the default in examples) or `f64`
/// (used by gradient checks).
pub trait Scalar:
    Kernels + Float + LinalgScalar + ScalarOperand + Default + Debug + Display + Send + Sync + 'static
{
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts an `f64` constant or hyperparameter to this type (rounding for f32).
    fn cast(v: f64) -> Self;

    /// Widens to `f64` (exact for both types).
    fn wide(self) -> f64;

    /// tanh in a form the compiler can vectorize. For f32, a rational
    /// approximation on [−7.9053, 7.9053] (the clamp is where tanh rounds to
    /// ±(1 − 2⁻²³)), with relative error under 4·10⁻⁷ (a few ulp) over every
    /// f32, about 15× faster than the scalar `f32::tanh`; NaN propagates.
    /// For f64, exactly `f64::tanh`, so gradient checks see the true
    /// function.
    fn tanh_fast(self) -> Self;

    /// The slice, tagged with its type (for code that must tell the two
    /// apart at run time, as a
    /// [`Communicator`](crate::distributed::Communicator) does).
    fn slice_mut(s: &mut [Self]) -> SliceMut<'_>;
}

/// A mutable slice of one of the two [`Scalar`] types.
#[derive(Debug)]
#[non_exhaustive]
pub enum SliceMut<'a> {
    /// Single precision.
    F32(&'a mut [f32]),
    /// Double precision.
    F64(&'a mut [f64]),
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    fn slice_mut(s: &mut [Self]) -> SliceMut<'_> {
        SliceMut::F32(s)
    }
    #[inline]
    fn cast(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn wide(self) -> f64 {
        self as f64
    }
    #[inline]
    fn tanh_fast(self) -> Self {
        // Odd rational function p(x)/q(x) of degrees 13 and 6 (coefficients
        // of Eigen's `generic_fast_tanh_float`), evaluated by Horner in x².
        #[allow(clippy::excessive_precision)]
        const ALPHA: [f32; 7] = [
            4.89352455891786e-03,
            6.37261928875436e-04,
            1.48572235717979e-05,
            5.12229709037114e-08,
            -8.60467152213735e-11,
            2.00018790482477e-13,
            -2.76076847742355e-16,
        ];
        #[allow(clippy::excessive_precision)]
        const BETA: [f32; 4] = [
            4.89352518554385e-03,
            2.26843463243900e-03,
            1.18534705686654e-04,
            1.19825839466702e-06,
        ];
        #[allow(clippy::excessive_precision)]
        const CLAMP: f32 = 7.90531110763549805;
        let x = self.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let mut p = ALPHA[6];
        for &a in ALPHA[..6].iter().rev() {
            p = p * x2 + a;
        }
        let mut q = BETA[3];
        for &b in BETA[..3].iter().rev() {
            q = q * x2 + b;
        }
        p * x / q
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    fn slice_mut(s: &mut [Self]) -> SliceMut<'_> {
        SliceMut::F64(s)
    }
    #[inline]
    fn cast(v: f64) -> Self {
        v
    }
    #[inline]
    fn wide(self) -> f64 {
        self
    }
    #[inline]
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two million evenly spaced points of [−10, 10] (spacing 1e-5, so every
    /// binade above 1e-5 is sampled) and small magnitudes down to 1e-30:
    /// relative error against f64 tanh under 4e-7 (≈ 3.4 ulp of f32).
    #[test]
    fn f32_tanh_fast_is_accurate() {
        const TOL: f64 = 4e-7;
        let n = 2_000_000;
        let small = (0..60).map(|e| 10f32.powi(-e / 2));
        let grid = (0..=n).map(|i| (i as f64 / n as f64 * 20.0 - 10.0) as f32);
        for x in grid.chain(small.clone()).chain(small.map(|v| -v)) {
            let want = (x as f64).tanh();
            let got = x.tanh_fast() as f64;
            let rel = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
            assert!(
                rel < TOL || want == 0.0 && got == 0.0,
                "x = {x}: {got} vs {want}"
            );
        }
        assert_eq!(0.0f32.tanh_fast(), 0.0);
        assert!((f32::INFINITY.tanh_fast() - 1.0).abs() < 4e-7);
        assert!((f32::NEG_INFINITY.tanh_fast() + 1.0).abs() < 4e-7);
        assert!(f32::NAN.tanh_fast().is_nan());
        assert_eq!(0.3f64.tanh_fast(), 0.3f64.tanh());
    }
}
