//! The only file that multiplies matrices.
//!
//! With the default `openblas` feature every product is one call to the system
//! OpenBLAS (`cblas_sgemm`/`cblas_dgemm`, `cblas_sgemv`/`cblas_dgemv`); with
//! the `blis` feature, one call to the system BLIS (its typed API,
//! `bli_sgemm`/`bli_dgemm`, `bli_sgemv`/`bli_dgemv`, with the same operands).
//! Either is made through a few lines of C (`src/blas_ftz.c`) that switch
//! flush-to-zero on around the call while
//! [`denormal::flush_denormal`](crate::denormal) is on.
//! Operands are ndarray views: a transpose is passed as a view (`w.t()`) and
//! becomes BLAS's `Trans` flag with the original leading dimension, so no
//! transposed copy is ever made. α and β scale and accumulate inside the call.
//! A product smaller than
//! [`parallel::min_parallel_gemm`](crate::parallel::min_parallel_gemm) runs
//! on one BLAS thread (off by default).
//!
//! Without a BLAS feature the same functions run ndarray's pure-Rust GEMM
//! (`matrixmultiply`).

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use crate::Scalar;

pub(crate) use kernels::Kernels;

/// C ← α·A·B + β·C.
///
/// `a` (m×k) and `b` (k×n) may be any views whose rows or columns are
/// contiguous (plain or transposed); `c` (m×n) is row-major contiguous, as every
/// workspace buffer is.
///
/// # Panics
/// On mismatched shapes: callers validate user data before reaching here.
pub(crate) fn gemm<S: Scalar>(
    alpha: S,
    a: ArrayView2<'_, S>,
    b: ArrayView2<'_, S>,
    beta: S,
    mut c: ArrayViewMut2<'_, S>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "gemm shapes: {:?}·{:?} -> {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.mapv_inplace(|v| v * beta);
        return;
    }
    #[cfg(any(feature = "openblas", feature = "blis"))]
    if let (Some(oa), Some(ob), Some(ldc)) = (operand(&a), operand(&b), row_major_ld(&c)) {
        // OpenBLAS applies β in a pass of its own before accumulating α·A·B
        // into C, and its pass for β = 0 is a slow scalar loop (7% of a small
        // step). Zeroing C here and accumulating onto it (β = 1) computes the
        // same sums in the same order.
        #[cfg(feature = "openblas")]
        let beta = match c.as_slice_mut() {
            Some(flat) if beta == S::zero() => {
                flat.fill(S::zero());
                S::one()
            }
            _ => beta,
        };
        let _threads =
            crate::parallel::GemmThreads::for_work(m.saturating_mul(n).saturating_mul(k));
        // SAFETY: `operand`/`row_major_ld` checked that each pointer addresses a
        // matrix of the stated shape with the stated leading dimension inside
        // the view's allocation; `c` is uniquely borrowed.
        unsafe {
            S::gemm(
                oa.trans,
                ob.trans,
                m,
                n,
                k,
                alpha,
                a.as_ptr(),
                oa.ld,
                b.as_ptr(),
                ob.ld,
                beta,
                c.as_mut_ptr(),
                ldc,
            );
        }
        return;
    }
    ndarray::linalg::general_mat_mul(alpha, &a, &b, beta, &mut c);
}

/// y ← α·A·x + β·y, with `a` plain or transposed as in [`gemm`].
///
/// # Panics
/// On mismatched shapes.
pub(crate) fn gemv<S: Scalar>(
    alpha: S,
    a: ArrayView2<'_, S>,
    x: ArrayView1<'_, S>,
    beta: S,
    mut y: ArrayViewMut1<'_, S>,
) {
    let (m, n) = a.dim();
    assert!(x.len() == n && y.len() == m, "gemv shapes");
    if m == 0 {
        return;
    }
    if n == 0 {
        y.mapv_inplace(|v| v * beta);
        return;
    }
    #[cfg(any(feature = "openblas", feature = "blis"))]
    if let (Some(oa), Some(xs), Some(ys)) = (operand(&a), x.as_slice(), y.as_slice_mut()) {
        let _threads = crate::parallel::GemmThreads::for_work(m.saturating_mul(n));
        // cblas_?gemv takes the shape of the stored matrix, before op().
        let (rows, cols) = if oa.trans { (n, m) } else { (m, n) };
        // SAFETY: as in `gemm`; `xs` and `ys` are contiguous with unit stride.
        unsafe {
            S::gemv(
                oa.trans,
                rows,
                cols,
                alpha,
                a.as_ptr(),
                oa.ld,
                xs.as_ptr(),
                beta,
                ys.as_mut_ptr(),
            );
        }
        return;
    }
    ndarray::linalg::general_mat_vec_mul(alpha, &a, &x, beta, &mut y);
}

#[cfg(any(feature = "openblas", feature = "blis"))]
struct Operand {
    trans: bool,
    ld: usize,
}

/// How BLAS (row-major) sees a view: untransposed if its rows are contiguous,
/// transposed if its columns are; `None` for other strides.
#[cfg(any(feature = "openblas", feature = "blis"))]
fn operand<S>(a: &ArrayView2<'_, S>) -> Option<Operand> {
    operand_of(a.dim(), a.strides())
}

/// The leading dimension of an output view whose rows are contiguous
/// (BLAS writes C untransposed); `None` otherwise.
#[cfg(any(feature = "openblas", feature = "blis"))]
fn row_major_ld<S>(c: &ArrayViewMut2<'_, S>) -> Option<usize> {
    match operand_of(c.dim(), c.strides()) {
        Some(Operand { trans: false, ld }) => Some(ld),
        _ => None,
    }
}

/// [`operand`] for a matrix of this shape and these strides.
#[cfg(any(feature = "openblas", feature = "blis"))]
fn operand_of((rows, cols): (usize, usize), strides: &[isize]) -> Option<Operand> {
    let (s0, s1) = (strides[0], strides[1]);
    if (s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols as isize) {
        Some(Operand {
            trans: false,
            ld: if rows == 1 { cols } else { s0 as usize },
        })
    } else if (s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows as isize) {
        Some(Operand {
            trans: true,
            ld: if cols == 1 { rows } else { s1 as usize },
        })
    } else {
        None
    }
}

mod kernels {
    /// The raw BLAS entry points for one element type. Public only inside a
    /// private module, which seals [`Scalar`](crate::Scalar).
    pub trait Kernels: Sized {
        /// Row-major `cblas_?gemm`.
        ///
        /// # Safety
        /// Pointers and leading dimensions must describe valid matrices.
        #[allow(clippy::too_many_arguments)]
        unsafe fn gemm(
            ta: bool,
            tb: bool,
            m: usize,
            n: usize,
            k: usize,
            alpha: Self,
            a: *const Self,
            lda: usize,
            b: *const Self,
            ldb: usize,
            beta: Self,
            c: *mut Self,
            ldc: usize,
        );

        /// Row-major `cblas_?gemv` with unit vector strides.
        ///
        /// # Safety
        /// Pointers and the leading dimension must describe valid arrays.
        #[allow(clippy::too_many_arguments)]
        unsafe fn gemv(
            ta: bool,
            m: usize,
            n: usize,
            alpha: Self,
            a: *const Self,
            lda: usize,
            x: *const Self,
            beta: Self,
            y: *mut Self,
        );
    }

    macro_rules! impl_kernels {
        ($t:ty, $gemm:ident, $gemv:ident) => {
            impl Kernels for $t {
                #[allow(unused_variables)]
                unsafe fn gemm(
                    ta: bool,
                    tb: bool,
                    m: usize,
                    n: usize,
                    k: usize,
                    alpha: Self,
                    a: *const Self,
                    lda: usize,
                    b: *const Self,
                    ldb: usize,
                    beta: Self,
                    c: *mut Self,
                    ldc: usize,
                ) {
                    #[cfg(any(feature = "openblas", feature = "blis"))]
                    // SAFETY: forwarded from the caller's contract.
                    unsafe {
                        ffi::$gemm(
                            flush(),
                            ROW_MAJOR,
                            trans(ta),
                            trans(tb),
                            blas_int(m),
                            blas_int(n),
                            blas_int(k),
                            alpha,
                            a,
                            blas_int(lda),
                            b,
                            blas_int(ldb),
                            beta,
                            c,
                            blas_int(ldc),
                        )
                    }
                    #[cfg(not(any(feature = "openblas", feature = "blis")))]
                    unreachable!("BLAS kernels are only called with a BLAS feature");
                }

                #[allow(unused_variables)]
                unsafe fn gemv(
                    ta: bool,
                    m: usize,
                    n: usize,
                    alpha: Self,
                    a: *const Self,
                    lda: usize,
                    x: *const Self,
                    beta: Self,
                    y: *mut Self,
                ) {
                    #[cfg(any(feature = "openblas", feature = "blis"))]
                    // SAFETY: forwarded from the caller's contract.
                    unsafe {
                        ffi::$gemv(
                            flush(),
                            ROW_MAJOR,
                            trans(ta),
                            blas_int(m),
                            blas_int(n),
                            alpha,
                            a,
                            blas_int(lda),
                            x,
                            beta,
                            y,
                        )
                    }
                    #[cfg(not(any(feature = "openblas", feature = "blis")))]
                    unreachable!("BLAS kernels are only called with a BLAS feature");
                }
            }
        };
    }

    impl_kernels!(f32, backprop_sgemm, backprop_sgemv);
    impl_kernels!(f64, backprop_dgemm, backprop_dgemv);

    /// The wrappers in `src/blas_ftz.c`: the `cblas_?gemm`/`cblas_?gemv`
    /// arguments (unit vector strides for gemv) after a `flush` flag that
    /// switches flush-to-zero on for the duration of the call.
    #[cfg(any(feature = "openblas", feature = "blis"))]
    mod ffi {
        use std::ffi::c_int;

        macro_rules! declare {
            ($t:ty, $gemm:ident, $gemv:ident) => {
                unsafe extern "C" {
                    pub fn $gemm(
                        flush: c_int,
                        layout: c_int,
                        ta: c_int,
                        tb: c_int,
                        m: c_int,
                        n: c_int,
                        k: c_int,
                        alpha: $t,
                        a: *const $t,
                        lda: c_int,
                        b: *const $t,
                        ldb: c_int,
                        beta: $t,
                        c: *mut $t,
                        ldc: c_int,
                    );
                    pub fn $gemv(
                        flush: c_int,
                        layout: c_int,
                        ta: c_int,
                        m: c_int,
                        n: c_int,
                        alpha: $t,
                        a: *const $t,
                        lda: c_int,
                        x: *const $t,
                        beta: $t,
                        y: *mut $t,
                    );
                }
            };
        }
        declare!(f32, backprop_sgemm, backprop_sgemv);
        declare!(f64, backprop_dgemm, backprop_dgemv);
    }

    #[cfg(any(feature = "openblas", feature = "blis"))]
    const ROW_MAJOR: std::ffi::c_int = cblas_sys::CBLAS_LAYOUT::CblasRowMajor as std::ffi::c_int;

    #[cfg(any(feature = "openblas", feature = "blis"))]
    fn trans(t: bool) -> std::ffi::c_int {
        let t = if t {
            cblas_sys::CBLAS_TRANSPOSE::CblasTrans
        } else {
            cblas_sys::CBLAS_TRANSPOSE::CblasNoTrans
        };
        t as std::ffi::c_int
    }

    /// The flushing flag for one BLAS call, after bringing the BLAS's
    /// worker threads into the same mode.
    #[cfg(any(feature = "openblas", feature = "blis"))]
    fn flush() -> std::ffi::c_int {
        #[cfg(feature = "blis")]
        check_blis();
        crate::parallel::sync_blas_workers();
        std::ffi::c_int::from(crate::denormal::flush_denormal())
    }

    /// Stops at the first BLIS call if the BLIS linked uses other integer
    /// types than `src/blas_ftz.c` declares (a broken installation).
    #[cfg(feature = "blis")]
    fn check_blis() {
        static CHECK: std::sync::Once = std::sync::Once::new();
        CHECK.call_once(|| {
            unsafe extern "C" {
                fn backprop_blas_check() -> std::ffi::c_int;
            }
            // SAFETY: a getter of BLIS's configuration, no arguments.
            let ok = unsafe { backprop_blas_check() } == 1;
            assert!(ok, "the BLIS linked is not built with 64-bit dim_t/inc_t");
        });
    }

    /// BLAS takes 32-bit dimensions; a layer of 2³¹ units is a broken
    /// invariant, not user input.
    #[cfg(any(feature = "openblas", feature = "blis"))]
    fn blas_int(v: usize) -> i32 {
        i32::try_from(v).expect("matrix dimension exceeds BLAS's 32-bit range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, array};

    fn naive(a: &ArrayView2<'_, f64>, b: &ArrayView2<'_, f64>) -> Array2<f64> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[[i, p]] * b[[p, j]]).sum())
    }

    #[test]
    fn gemm_handles_every_transpose_combination_with_alpha_beta() {
        let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 * 0.5 - 2.0);
        let b = Array2::from_shape_fn((3, 4), |(i, j)| (i as f64 - j as f64) * 0.25);
        let at = a.t().to_owned(); // 3x5, its .t() is a transposed view of a
        let bt = b.t().to_owned();
        let expect = naive(&a.view(), &b.view());
        for (av, bv) in [
            (a.view(), b.view()),
            (at.t(), b.view()),
            (a.view(), bt.t()),
            (at.t(), bt.t()),
        ] {
            let mut c = Array2::from_elem((5, 4), 1.0);
            gemm(2.0, av, bv, 0.5, c.view_mut());
            let want = &expect * 2.0 + 0.5;
            let err = (&c - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-12, "{c:?} vs {want:?}");
        }
    }

    #[test]
    fn beta_zero_overwrites_whatever_c_held() {
        // Workspace buffers are reused between steps: with β = 0 the old
        // contents must not be read, NaN included (the BLAS convention).
        let a = Array2::from_shape_fn((7, 5), |(i, j)| (i + 2 * j) as f64 * 0.1);
        let b = Array2::from_shape_fn((5, 6), |(i, j)| (3 * i) as f64 - j as f64);
        let want = naive(&a.view(), &b.view());
        let mut c = Array2::from_elem((7, 6), f64::NAN);
        gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
        let err = (&c - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-12, "{c:?} vs {want:?}");
        let x = b.column(0).to_owned();
        let mut y = Array1::from_elem(7, f64::NAN);
        gemv(1.0, a.view(), x.view(), 0.0, y.view_mut());
        let err = (&y - &want.column(0))
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-12, "{y:?} vs {want:?}");
    }

    #[test]
    fn gemv_plain_and_transposed() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut y = array![1.0, 1.0];
        gemv(
            1.0,
            a.view(),
            array![1.0, 0.0, -1.0].view(),
            2.0,
            y.view_mut(),
        );
        assert_eq!(y, array![0.0, 0.0]);
        let mut y = array![0.0, 0.0, 0.0];
        gemv(0.5, a.t(), array![1.0, 1.0].view(), 0.0, y.view_mut());
        assert_eq!(y, array![2.5, 3.5, 4.5]);
    }
}
