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
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    #[inline]
    fn cast(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn wide(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    #[inline]
    fn cast(v: f64) -> Self {
        v
    }
    #[inline]
    fn wide(self) -> f64 {
        self
    }
}
