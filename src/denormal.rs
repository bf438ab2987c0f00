//! Subnormal floats, and why the library flushes them to zero.
//!
//! A confident network's softmax (or logistic) outputs for the wrong classes
//! are tiny: e^(−95) ≈ 5·10⁻⁴² lies below f32's smallest normal number
//! (1.2·10⁻³⁸), in the subnormal range. δᴸ = aᴸ − y carries such values into
//! the backward GEMMs, Adam's second moment squares tiny gradients into it,
//! and on many Intel cores every arithmetic operation that reads or writes a
//! subnormal takes a microcode assist costing about a hundred cycles. A
//! converged network's training step was measured 6.3× slower than a fresh
//! one's that way, for values that change no result above 10⁻³⁸.
//!
//! So, while [`flush_denormal`] is on (the default):
//!
//! - **every BLAS call** runs with the processor's flush-to-zero and
//!   denormals-are-zero modes switched on (x86-64: MXCSR FTZ and DAZ;
//!   aarch64: FPCR.FZ) and restored right after, on the calling thread. The
//!   BLAS's own threads flush too (`tests/denormal.rs` checks it for the
//!   backend built), each library in its own way, because a thread keeps the
//!   mode it was created in:
//!   - OpenBLAS keeps its worker threads for the life of the process, so
//!     they are started again from inside the mode whenever the setting
//!     changes (Debian's pthread build; an OpenMP build of OpenBLAS cannot
//!     be restarted, and there only the calling thread flushes);
//!   - BLIS built with pthreads (`libblis-pthread-dev`) creates its threads
//!     inside each call, from the calling thread: they inherit the call's
//!     mode;
//!   - BLIS built with OpenMP (`libblis-openmp-dev`, what `libblis-dev`
//!     installs on Debian) reuses one team of threads per calling thread,
//!     each keeping the mode it was created with: measured, a team created
//!     by a flushing call went on flushing after flushing was switched off,
//!     and the other way round. So before a call whose mode (or thread
//!     count) differs from the last one on that calling thread, the team is
//!     brought into the call's mode by one OpenMP parallel region of the
//!     library's own; BLIS's calls from that thread then run on those same
//!     threads;
//! - **the library's own passes produce no subnormal values** where they
//!   arise: softmax and logistic outputs, the output delta δᴸ, and the
//!   optimizers' running averages are set to zero when their magnitude is
//!   below the type's smallest normal number.
//!
//! The switch is made in C around each foreign call, not around Rust code:
//! Rust's language rules assume the default floating-point environment
//! wherever Rust code runs, so the elementwise passes (on the calling thread
//! and in the elementwise pool) never run in a changed mode and flush
//! explicitly instead. A caller's own floating-point state is left as it was.
//!
//! Results change only in the subnormal range: a value whose magnitude is
//! below 1.2·10⁻³⁸ (f32) or 2.2·10⁻³⁰⁸ (f64) becomes 0.
//!
//! Architectures without such a mode (neither x86-64 nor aarch64), and builds
//! without a BLAS feature (`openblas` or `blis`), keep the explicit flushing of the
//! library's own passes; subnormals that arise inside a GEMM there are
//! computed as IEEE 754 says, at whatever speed the processor has for them.
//! [`set_flush_denormal`] returns whether the processor mode is available.
//!
//! ```
//! // Exact IEEE 754 subnormals everywhere (as `torch.set_flush_denormal(False)`):
//! backprop::denormal::set_flush_denormal(false);
//! assert!(!backprop::denormal::flush_denormal());
//! backprop::denormal::set_flush_denormal(true); // the default
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Scalar;

static FLUSH: AtomicBool = AtomicBool::new(true);

/// Turns flushing of subnormal values on (the default) or off, for the whole
/// process, as PyTorch's `torch.set_flush_denormal` does.
///
/// Returns whether the processor's flush-to-zero mode is available for the
/// BLAS calls (x86-64 or aarch64 with the `openblas` or `blis` feature); the
/// library's own passes flush either way while the setting is on.
///
/// ```
/// let hardware = backprop::denormal::set_flush_denormal(true);
/// let blas = cfg!(any(feature = "openblas", feature = "blis"));
/// let arch = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
/// assert_eq!(hardware, blas && arch);
/// ```
pub fn set_flush_denormal(on: bool) -> bool {
    FLUSH.store(on, Ordering::Relaxed);
    hardware_mode()
}

/// Whether subnormal values are flushed to zero (see the module docs).
pub fn flush_denormal() -> bool {
    FLUSH.load(Ordering::Relaxed)
}

fn hardware_mode() -> bool {
    cfg!(all(
        any(feature = "openblas", feature = "blis"),
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))
}

/// The magnitude below which the library's passes write 0: the type's
/// smallest normal number while flushing is on, else 0 (nothing flushed).
/// Read once per pass, not per element.
#[inline]
pub(crate) fn threshold<S: Scalar>() -> S {
    if flush_denormal() {
        S::min_positive_value()
    } else {
        S::zero()
    }
}

/// `v`, or 0 when |v| is below `tiny` (from [`threshold`]). Branch-free, so
/// loops over it stay vectorized.
#[inline(always)]
pub(crate) fn flush<S: Scalar>(v: S, tiny: S) -> S {
    if v.abs() < tiny { S::zero() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_zeroes_subnormals_only() {
        let tiny = f32::MIN_POSITIVE;
        assert_eq!(flush(1e-40f32, tiny), 0.0);
        assert_eq!(flush(-1e-40f32, tiny), 0.0);
        assert_eq!(flush(f32::MIN_POSITIVE, tiny), f32::MIN_POSITIVE);
        assert_eq!(flush(-2.5f32, tiny), -2.5);
        assert_eq!(flush(0.0f32, tiny), 0.0);
        assert!(flush(f32::NAN, tiny).is_nan());
        assert_eq!(flush(f32::INFINITY, tiny), f32::INFINITY);
        // Threshold 0 keeps every value, subnormals included.
        assert_eq!(flush(1e-40f32, 0.0), 1e-40);
        assert_eq!(flush(1e-310f64, f64::MIN_POSITIVE), 0.0);
    }
}
