//! Output heads: each loss fused with the output activation it belongs to, so
//! that the output delta is exactly δᴸ = ∂J/∂zᴸ = aᴸ − y, as in the lecture.
//!
//! Costs are computed from the pre-activation zᴸ, never from a rounded aᴸ:
//!
//! | loss | output aᴸ | J⁽ⁱ⁾ as computed |
//! |---|---|---|
//! | [`Loss::SquaredError`] | z | ½·Σₖ (zₖ − yₖ)² |
//! | [`Loss::BinaryCrossEntropy`] | σ(z) | Σₖ max(zₖ, 0) − zₖyₖ + ln(1 + e^(−\|zₖ\|)) |
//! | [`Loss::CategoricalCrossEntropy`] | softmax(z) | Σₖ yₖ·(lse(z) − zₖ), lse(z) = m + ln Σⱼ e^(zⱼ − m), m = maxⱼ zⱼ |
//!
//! The BCE line is −Σ yₖ ln σ(zₖ) + (1 − yₖ) ln(1 − σ(zₖ)) rewritten so that it
//! never takes the log of 0; the softmax line is −Σ yₖ ln softmax(z)ₖ with the
//! log-sum-exp shift. Both stay finite for logits of ±10⁴ in f32.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use crate::activation::logistic;
use crate::denormal::{self, flush};
use crate::{Error, Result, Scalar};

/// A loss J and its output activation gᴸ, fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Regression: linear output, J = ½·Σₖ (aₖ − yₖ)².
    SquaredError,
    /// Binary or multilabel classification: logistic outputs,
    /// J = −Σₖ yₖ ln aₖ + (1 − yₖ) ln(1 − aₖ). Targets in [0, 1].
    BinaryCrossEntropy,
    /// Multiclass classification: softmax output, J = −Σₖ yₖ ln aₖ.
    /// Dense targets must be probability rows (each sums to 1).
    CategoricalCrossEntropy,
}

/// Targets for a batch: a dense m×n_L matrix, or one class index per sample.
///
/// Class indices work with [`Loss::CategoricalCrossEntropy`] (label k means
/// yₖ = 1) and with [`Loss::BinaryCrossEntropy`] on a single output (labels 0
/// and 1), and save building a one-hot matrix.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a, S> {
    /// Row i holds y⁽ⁱ⁾.
    Dense(ArrayView2<'a, S>),
    /// Entry i is the class of sample i.
    Classes(&'a [usize]),
}

impl<'a, S> From<ArrayView2<'a, S>> for Targets<'a, S> {
    fn from(y: ArrayView2<'a, S>) -> Self {
        Targets::Dense(y)
    }
}

impl<'a, S> From<&'a ndarray::Array2<S>> for Targets<'a, S> {
    fn from(y: &'a ndarray::Array2<S>) -> Self {
        Targets::Dense(y.view())
    }
}

impl<'a, S> From<&'a [usize]> for Targets<'a, S> {
    fn from(y: &'a [usize]) -> Self {
        Targets::Classes(y)
    }
}

impl<'a, S> From<&'a Vec<usize>> for Targets<'a, S> {
    fn from(y: &'a Vec<usize>) -> Self {
        Targets::Classes(y)
    }
}

impl<S> Targets<'_, S> {
    /// Number of samples m.
    pub fn len(&self) -> usize {
        match self {
            Targets::Dense(y) => y.nrows(),
            Targets::Classes(c) => c.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Relative slack for "each row sums to 1" (f32 one-hot and softmax rows sum
/// to 1 within a few ulps times the row length).
const ROW_SUM_TOL: f64 = 1e-4;

impl Loss {
    /// Every loss, for exhaustive tests and command-line parsing.
    pub const ALL: [Loss; 3] = [
        Self::SquaredError,
        Self::BinaryCrossEntropy,
        Self::CategoricalCrossEntropy,
    ];

    /// Short name: `squared-error`, `binary-cross-entropy`,
    /// `categorical-cross-entropy`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SquaredError => "squared-error",
            Self::BinaryCrossEntropy => "binary-cross-entropy",
            Self::CategoricalCrossEntropy => "categorical-cross-entropy",
        }
    }

    /// Name of the output activation this loss is fused with.
    pub fn output_activation(self) -> &'static str {
        match self {
            Self::SquaredError => "identity",
            Self::BinaryCrossEntropy => "logistic",
            Self::CategoricalCrossEntropy => "softmax",
        }
    }

    /// Checks that `y` fits this loss for a head with `n_outputs` units.
    ///
    /// # Errors
    /// [`Error::TargetWidth`], [`Error::NonFinite`], [`Error::InvalidTarget`],
    /// [`Error::LabelOutOfRange`] or [`Error::LabelsUnsupported`].
    pub fn validate<S: Scalar>(self, y: &Targets<'_, S>, n_outputs: usize) -> Result<()> {
        match *y {
            Targets::Dense(y) => {
                if y.ncols() != n_outputs {
                    return Err(Error::TargetWidth {
                        got: y.ncols(),
                        expected: n_outputs,
                    });
                }
                crate::check::finite("targets", y)?;
                for (row, yr) in y.rows().into_iter().enumerate() {
                    match self {
                        Self::SquaredError => {}
                        Self::BinaryCrossEntropy | Self::CategoricalCrossEntropy => {
                            if let Some((col, &v)) = yr
                                .iter()
                                .enumerate()
                                .find(|&(_, &v)| v < S::zero() || v > S::one())
                            {
                                return Err(Error::InvalidTarget {
                                    loss: self.name(),
                                    row,
                                    col,
                                    value: v.wide(),
                                    reason: "targets must lie in [0, 1]",
                                });
                            }
                        }
                    }
                    if self == Self::CategoricalCrossEntropy {
                        let sum: f64 = yr.iter().map(|v| v.wide()).sum();
                        if (sum - 1.0).abs() > ROW_SUM_TOL {
                            return Err(Error::InvalidTarget {
                                loss: self.name(),
                                row,
                                col: 0,
                                value: sum,
                                reason: "each target row must sum to 1 (the value shown is the row sum)",
                            });
                        }
                    }
                }
                Ok(())
            }
            Targets::Classes(labels) => {
                let n_classes = match (self, n_outputs) {
                    (Self::CategoricalCrossEntropy, k) => k,
                    (Self::BinaryCrossEntropy, 1) => 2,
                    _ => {
                        return Err(Error::LabelsUnsupported {
                            loss: self.name(),
                            n_outputs,
                            hint: "pass a dense target matrix (one column per output)",
                        });
                    }
                };
                match labels.iter().position(|&c| c >= n_classes) {
                    Some(index) => Err(Error::LabelOutOfRange {
                        label: labels[index],
                        index,
                        n_classes,
                    }),
                    None => Ok(()),
                }
            }
        }
    }

    /// Σᵢ J⁽ⁱ⁾ over the batch (not divided by m), accumulated in f64, and,
    /// when `delta` is given, δᴸ = aᴸ − y written into it (subnormal outputs
    /// and deltas flushed to 0, see [`denormal`]). `z` holds one
    /// sample per row. Targets must have been validated.
    ///
    /// With `weights = Some((w, s))`, row i's cost and delta are multiplied by
    /// wᵢ·s (the caller passes s = m/Σw so that the mean over m becomes the
    /// weighted mean (1/Σw)·Σ wᵢ J⁽ⁱ⁾). `None` is the unweighted path.
    ///
    /// `label_smoothing` ε > 0 (cross-entropy heads only, see
    /// [`check_label_smoothing`](Self::check_label_smoothing)) replaces y by
    /// y′ = (1 − ε)·y + ε/K in both J and δᴸ = aᴸ − y′.
    pub(crate) fn cost_and_delta<S: Scalar>(
        self,
        z: ArrayView2<'_, S>,
        y: &Targets<'_, S>,
        mut delta: Option<ArrayViewMut2<'_, S>>,
        weights: Option<(&[S], f64)>,
        label_smoothing: f64,
    ) -> f64 {
        let mut total = 0.0f64;
        let tiny = denormal::threshold::<S>();
        let ln_tiny = tiny.ln();
        let smoothed = label_smoothing > 0.0 && self != Self::SquaredError;
        let (keep, spread) = self.smoothing::<S>(label_smoothing, z.ncols());
        for (i, zr) in z.rows().into_iter().enumerate() {
            let sum_before_row = total;
            if weights.is_some() {
                total = 0.0;
            }
            let mut dr = delta.as_mut().map(|d| d.row_mut(i));
            let target = |k: usize| match smoothed {
                true => keep * self.target_entry(y, i, k) + spread,
                false => self.target_entry(y, i, k),
            };
            match self {
                Self::SquaredError => squared_error_row(zr, target, dr.as_mut(), tiny, &mut total),
                Self::BinaryCrossEntropy => {
                    binary_cross_entropy_row(zr, target, dr.as_mut(), tiny, &mut total)
                }
                Self::CategoricalCrossEntropy => categorical_cross_entropy_row(
                    zr,
                    (y, smoothed),
                    i,
                    target,
                    dr.as_mut(),
                    (tiny, ln_tiny),
                    &mut total,
                ),
            }
            if let Some((w, scale)) = weights {
                let f = w[i].wide() * scale;
                total = sum_before_row + f * total;
                if let Some(d) = dr.as_mut() {
                    let fs = S::cast(f);
                    d.iter_mut().for_each(|v| *v = flush(*v * fs, tiny));
                }
            }
        }
        total
    }

    /// Label smoothing for this head: y′ = (1 − ε)·y + ε/K, returned as the
    /// pair (1 − ε, ε/K). K is the number of classes: the `n_outputs` of
    /// the softmax head, and 2 for each logistic output of the binary
    /// cross-entropy head, which is a two-class problem of its own (so a 0/1
    /// target becomes ε/2 / 1 − ε/2, as Keras's `BinaryCrossentropy`
    /// `label_smoothing` does; PyTorch's `BCELoss` has no such option).
    /// (1, 0) for squared error, which has no classes.
    pub fn smoothing<S: Scalar>(self, epsilon: f64, n_outputs: usize) -> (S, S) {
        let k = match self {
            Self::SquaredError => return (S::one(), S::zero()),
            Self::BinaryCrossEntropy => 2.0,
            Self::CategoricalCrossEntropy => n_outputs as f64,
        };
        (S::cast(1.0 - epsilon), S::cast(epsilon / k))
    }

    /// Checks a label smoothing ε for this head: ε ∈ [0, 1), and ε = 0 for
    /// squared error (smoothing is defined for class targets only).
    ///
    /// ```
    /// use backprop::Loss;
    /// assert!(Loss::CategoricalCrossEntropy.check_label_smoothing(0.1).is_ok());
    /// assert!(Loss::SquaredError.check_label_smoothing(0.1).is_err());
    /// assert!(Loss::BinaryCrossEntropy.check_label_smoothing(1.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming `label_smoothing`.
    pub fn check_label_smoothing(self, epsilon: f64) -> Result<()> {
        crate::check::unit_interval("label_smoothing", epsilon)?;
        crate::check::require(
            epsilon == 0.0 || self != Self::SquaredError,
            "label_smoothing",
            epsilon,
            "label smoothing applies to the cross-entropy heads only, not squared error",
        )
    }

    /// yₖ of sample i: the dense entry, or from a class label.
    #[inline]
    fn target_entry<S: Scalar>(self, y: &Targets<'_, S>, i: usize, k: usize) -> S {
        match y {
            Targets::Dense(y) => y[[i, k]],
            Targets::Classes(c) => match self {
                // A single logistic output: the label is y itself.
                Self::BinaryCrossEntropy => S::cast(c[i] as f64),
                _ => {
                    if c[i] == k {
                        S::one()
                    } else {
                        S::zero()
                    }
                }
            },
        }
    }

    /// Turns a row-major block of pre-activations zᴸ into outputs aᴸ in place
    /// (probabilities below the smallest normal number are flushed to 0, see
    /// [`denormal`]).
    pub(crate) fn activate_rows<S: Scalar>(self, z: &mut [S], n_outputs: usize) {
        let tiny = denormal::threshold::<S>();
        let ln_tiny = tiny.ln();
        match self {
            Self::SquaredError => {}
            Self::BinaryCrossEntropy => z.iter_mut().for_each(|v| *v = flush(logistic(*v), tiny)),
            Self::CategoricalCrossEntropy => {
                for row in z.chunks_exact_mut(n_outputs) {
                    let lse = log_sum_exp(row);
                    row.iter_mut()
                        .for_each(|v| *v = exp_flushed(*v - lse, tiny, ln_tiny));
                }
            }
        }
    }
}

/// e^t, or 0 where e^t would fall below `tiny` (from
/// [`denormal::threshold`]; `ln_tiny` = ln(tiny)). Below ln(tiny) e^t is not evaluated at all:
/// computing a subnormal result is itself slow on some processors.
#[inline]
fn exp_flushed<S: Scalar>(t: S, tiny: S, ln_tiny: S) -> S {
    if t < ln_tiny {
        S::zero()
    } else {
        flush(t.exp(), tiny)
    }
}

// One function per head for the rows of `Loss::cost_and_delta`. Each adds
// into the caller's running `total` rather than returning a row sum, so the
// f64 additions happen in the order of one fused loop over the batch.
// `#[inline(always)]` because with a plain `#[inline]` LLVM unrolled and
// unswitched the inlined loops differently from the single-function form.

/// One row of [`Loss::SquaredError`]: adds J = ½·Σₖ (zₖ − yₖ)² to `total`
/// and writes δₖ = zₖ − yₖ (the output is the identity) into `delta`.
#[inline(always)]
fn squared_error_row<S: Scalar>(
    zr: ArrayView1<'_, S>,
    target: impl Fn(usize) -> S,
    mut delta: Option<&mut ArrayViewMut1<'_, S>>,
    tiny: S,
    total: &mut f64,
) {
    for (k, &zk) in zr.iter().enumerate() {
        let e = zk - target(k);
        *total += 0.5 * e.wide() * e.wide();
        if let Some(d) = delta.as_mut() {
            d[k] = flush(e, tiny);
        }
    }
}

/// One row of [`Loss::BinaryCrossEntropy`]: adds
/// J = Σₖ max(zₖ, 0) − zₖyₖ + ln(1 + e^(−|zₖ|)) to `total` and writes
/// δₖ = σ(zₖ) − yₖ into `delta`.
#[inline(always)]
fn binary_cross_entropy_row<S: Scalar>(
    zr: ArrayView1<'_, S>,
    target: impl Fn(usize) -> S,
    mut delta: Option<&mut ArrayViewMut1<'_, S>>,
    tiny: S,
    total: &mut f64,
) {
    for (k, &zk) in zr.iter().enumerate() {
        let yk = target(k);
        let j = zk.max(S::zero()) - zk * yk + (-zk.abs()).exp().ln_1p();
        *total += j.wide();
        if let Some(d) = delta.as_mut() {
            d[k] = flush(flush(logistic(zk), tiny) - yk, tiny);
        }
    }
}

/// Row i of [`Loss::CategoricalCrossEntropy`]: adds J = Σₖ yₖ·(lse(z) − zₖ)
/// to `total` (one term for an unsmoothed class label) and writes
/// δₖ = softmax(z)ₖ − yₖ = e^(zₖ − lse(z)) − yₖ into `delta`. `tiny` is
/// [`denormal::threshold`] and its logarithm.
#[inline(always)]
fn categorical_cross_entropy_row<S: Scalar>(
    zr: ArrayView1<'_, S>,
    (y, smoothed): (&Targets<'_, S>, bool),
    i: usize,
    target: impl Fn(usize) -> S,
    mut delta: Option<&mut ArrayViewMut1<'_, S>>,
    (tiny, ln_tiny): (S, S),
    total: &mut f64,
) {
    let lse = log_sum_exp(zr.as_slice().expect("workspace rows are contiguous"));
    match y {
        Targets::Classes(c) if !smoothed => *total += (lse - zr[c[i]]).wide(),
        _ => {
            for (k, &zk) in zr.iter().enumerate() {
                let yk = target(k);
                if yk != S::zero() {
                    *total += (yk * (lse - zk)).wide();
                }
            }
        }
    }
    if let Some(d) = delta.as_mut() {
        for (k, &zk) in zr.iter().enumerate() {
            d[k] = flush(exp_flushed(zk - lse, tiny, ln_tiny) - target(k), tiny);
        }
    }
}

/// ln Σⱼ e^(zⱼ), shifted by the maximum so that it never overflows.
pub(crate) fn log_sum_exp<S: Scalar>(z: &[S]) -> S {
    let m = z.iter().copied().fold(S::neg_infinity(), S::max);
    let s = z.iter().fold(S::zero(), |acc, &v| acc + (v - m).exp());
    m + s.ln()
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "squared-error" | "mse" | "se" => Ok(Self::SquaredError),
            "binary-cross-entropy" | "bce" | "logistic" | "sigmoid-bce" => {
                Ok(Self::BinaryCrossEntropy)
            }
            "categorical-cross-entropy" | "ce" | "softmax" | "cross-entropy" | "softmax-ce" => {
                Ok(Self::CategoricalCrossEntropy)
            }
            _ => Err(format!(
                "unknown loss `{s}`: expected squared-error, binary-cross-entropy or \
                 categorical-cross-entropy"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn log_sum_exp_is_stable() {
        assert_eq!(log_sum_exp(&[1000.0f32, 1000.0]), 1000.0 + 2f32.ln());
        assert!((log_sum_exp(&[-1000.0f64, 0.0]) - 0.0).abs() < 1e-300);
    }

    #[test]
    fn bce_from_logits_matches_the_definition() {
        // J = −y ln σ(z) − (1 − y) ln(1 − σ(z)) at moderate z, where the direct
        // formula is accurate.
        let z = array![[0.3f64, -1.2]];
        let y = array![[1.0, 0.25]];
        let j =
            Loss::BinaryCrossEntropy.cost_and_delta(z.view(), &y.view().into(), None, None, 0.0);
        let direct: f64 = z
            .iter()
            .zip(y.iter())
            .map(|(&z, &y)| {
                let a = 1.0 / (1.0 + (-z).exp());
                -(y * a.ln() + (1.0 - y) * (1.0 - a).ln())
            })
            .sum();
        assert!((j - direct).abs() < 1e-14);
    }

    #[test]
    fn classes_equal_one_hot() {
        let z = array![[0.3f64, -1.2, 2.0], [1.0, 1.0, -3.0]];
        let labels = [2usize, 0];
        let onehot = array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
        let loss = Loss::CategoricalCrossEntropy;
        let mut d1 = Array2::zeros((2, 3));
        let mut d2 = Array2::zeros((2, 3));
        let j1 = loss.cost_and_delta(
            z.view(),
            &Targets::Classes(&labels),
            Some(d1.view_mut()),
            None,
            0.0,
        );
        let j2 = loss.cost_and_delta(
            z.view(),
            &onehot.view().into(),
            Some(d2.view_mut()),
            None,
            0.0,
        );
        assert!((j1 - j2).abs() < 1e-14);
        assert!((&d1 - &d2).iter().all(|v| v.abs() < 1e-15));
    }
}
