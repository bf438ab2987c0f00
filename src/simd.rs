//! Runtime selection of the vector instruction set for elementwise kernels.
//!
//! The crate is compiled for the baseline of its target (SSE2 on x86-64),
//! which runs everywhere but processes two `f64` (four `f32`) per
//! instruction. [`widest!`] compiles a kernel a second and third time with
//! AVX2 and AVX-512F enabled and picks, on each call, the widest one the CPU
//! has (the detection is cached; a call costs one atomic load).
//!
//! Results do not depend on the choice: Rust never fuses a multiplication
//! and an addition into an FMA on its own, and every other operation the
//! kernels use (+, −, ×, ÷, √, conversions, comparisons) is correctly
//! rounded by IEEE 754 at any vector width. The tests compare every
//! dispatched kernel bit for bit against its baseline build.

use crate::Scalar;

/// Defines `fn $name` that runs `$kernel` (an `#[inline(always)]` function
/// with the same parameters and result) built for AVX-512F, AVX2 or the baseline,
/// whichever is the widest this CPU runs.
macro_rules! widest {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident<$S:ident: Scalar>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $kernel:path
    ) => {
        $(#[$attr])*
        $vis fn $name<$S: Scalar>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512<$S: Scalar>($($arg: $ty),*) $(-> $ret)? {
                    $kernel($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2<$S: Scalar>($($arg: $ty),*) $(-> $ret)? {
                    $kernel($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $kernel($($arg),*)
        }
    };
}

pub(crate) use widest;

/// Independent partial sums in the reductions below: enough for the widest
/// vectors to fill, fixed so that the result does not depend on the CPU.
const LANES: usize = 16;

widest! {
    /// Σ v² in f64, accumulated in [`LANES`] interleaved partial sums that
    /// are added in a fixed order at the end: the same value on every CPU,
    /// and several times faster than one serial sum, whose every addition
    /// waits for the previous one.
    pub(crate) fn sum_squares<S: Scalar>(v: &[S]) -> f64 => sum_squares_kernel
}

#[inline(always)]
fn sum_squares_kernel<S: Scalar>(v: &[S]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x.wide() * x.wide();
        }
    }
    for (a, &x) in acc.iter_mut().zip(tail) {
        *a += x.wide() * x.wide();
    }
    acc.iter().sum()
}

widest! {
    /// Whether every entry of `v` is finite (no NaN, no ±∞).
    pub(crate) fn all_finite<S: Scalar>(v: &[S]) -> bool => all_finite_kernel
}

/// x − x is 0 for finite x and NaN otherwise, and NaN survives any sum.
#[inline(always)]
#[allow(clippy::eq_op)]
fn all_finite_kernel<S: Scalar>(v: &[S]) -> bool {
    let mut acc = [S::zero(); LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = *a + (x - x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(tail) {
        *a = *a + (x - x);
    }
    acc.iter().all(|&a| a == S::zero())
}

/// Inputs for the tests that compare a dispatched kernel with its baseline
/// build.
#[cfg(test)]
pub(crate) mod samples {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Uniform};

    /// `n` values of either sign spread over magnitudes from the subnormal
    /// range to 10³, with exact zeros among them.
    pub(crate) fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let unit = Uniform::new(-1.0, 1.0).expect("bounds are ordered");
        let exponent = Uniform::new(-40, 3).expect("bounds are ordered");
        (0..n)
            .map(|i| match i % 7 {
                0 => 0.0,
                1 => unit.sample(&mut rng) * 1e-310,
                _ => unit.sample(&mut rng) * 10f64.powi(exponent.sample(&mut rng)),
            })
            .collect()
    }

    /// Like [`values`], narrowed to `f32`.
    pub(crate) fn values_f32(n: usize, seed: u64) -> Vec<f32> {
        values(n, seed).into_iter().map(|v| v as f32).collect()
    }

    /// Bit patterns, so that a comparison also tells −0 from +0 and NaNs
    /// apart.
    pub(crate) fn bits<T: Copy + Into<f64>>(v: &[T]) -> Vec<u64> {
        v.iter().map(|&x| x.into().to_bits()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::samples::{values, values_f32};
    use super::*;

    #[test]
    fn sum_squares_is_the_baseline_bit_for_bit_and_the_serial_sum_to_rounding() {
        for n in [0, 1, 15, 16, 17, 1003] {
            let v = values_f32(n, n as u64);
            let serial: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            let got = sum_squares(&v);
            assert_eq!(got.to_bits(), sum_squares_kernel(&v).to_bits(), "n = {n}");
            assert!((got - serial).abs() <= 1e-12 * serial, "n = {n}");
            let w = values(n, n as u64);
            assert_eq!(sum_squares(&w).to_bits(), sum_squares_kernel(&w).to_bits());
        }
    }

    #[test]
    fn all_finite_finds_a_nan_or_infinity_anywhere() {
        for n in [1, 15, 16, 17, 100] {
            let v = values_f32(n, 7);
            assert!(all_finite(&v) && all_finite_kernel(&v));
            for i in 0..n {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut w = v.clone();
                    w[i] = bad;
                    assert!(!all_finite(&w), "n = {n}, {bad} at {i}");
                }
            }
            let mut big = values(n, 8);
            big[n - 1] = f64::MAX;
            assert!(all_finite(&big));
            big[0] = f64::NAN;
            assert!(!all_finite(&big));
        }
        assert!(all_finite::<f32>(&[]));
    }
}
