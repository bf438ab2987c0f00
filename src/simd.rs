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

/// Defines `fn $name` that runs `$kernel` (an `#[inline(always)]` function
/// with the same parameters) built for AVX-512F, AVX2 or the baseline,
/// whichever is the widest this CPU runs.
macro_rules! widest {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident<$S:ident: Scalar>($($arg:ident: $ty:ty),* $(,)?) => $kernel:path
    ) => {
        $(#[$attr])*
        $vis fn $name<$S: Scalar>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512<$S: Scalar>($($arg: $ty),*) {
                    $kernel($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2<$S: Scalar>($($arg: $ty),*) {
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
