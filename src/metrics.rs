//! Scores for fitted models: accuracy and log-loss for classification; mean
//! squared error, mean absolute error and R² for regression. Sums are taken
//! in f64. Optional sample weights turn each mean into Σwᵢ·(…)/Σwᵢ.
//!
//! Every function checks its inputs: mismatched lengths or shapes, empty
//! input, invalid weights and out-of-range labels are errors, never a panic.

use ndarray::{ArrayView2, AsArray, Ix2};

use crate::{AsLabels, Error, Result, Scalar};

/// Validates `n` predictions against `n_actual` targets and the weights.
fn check_samples<S: Scalar>(n: usize, n_actual: usize, w: Option<&[S]>) -> Result<()> {
    if n != n_actual {
        return Err(Error::SampleCount {
            inputs: n,
            targets: n_actual,
        });
    }
    if n == 0 {
        return Err(Error::Empty {
            what: "metric input",
        });
    }
    if let Some(w) = w {
        crate::check::weight_scale(w, n)?;
    }
    Ok(())
}

/// As [`check_samples`], for two matrices that must have the same shape.
fn check_shapes<S: Scalar>(
    predicted: ArrayView2<'_, S>,
    actual: ArrayView2<'_, S>,
    w: Option<&[S]>,
) -> Result<()> {
    if predicted.dim() != actual.dim() {
        return Err(Error::OutputShape {
            got: predicted.shape().to_vec(),
            expected: actual.shape().to_vec(),
        });
    }
    check_samples(predicted.nrows(), actual.nrows(), w)
}

/// Fraction of `predicted` equal to `actual` (weighted by `w` if given).
/// Labels are slices, `Vec`s or ndarray `Array1`s ([`AsLabels`]); the
/// weights are f64, since class labels carry no float type to infer one
/// from (so `None` needs no annotation).
///
/// # Errors
/// [`Error::SampleCount`] for different lengths, [`Error::Empty`],
/// [`Error::InvalidSampleWeight`].
///
/// ```
/// let acc = backprop::metrics::accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0], None)?;
/// assert_eq!(acc, 0.75);
/// let (p, y) = (vec![2usize, 1], ndarray::array![2usize, 0]);
/// assert_eq!(backprop::metrics::accuracy(&p, &y, None)?, 0.5);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn accuracy(
    predicted: &(impl AsLabels<usize> + ?Sized),
    actual: &(impl AsLabels<usize> + ?Sized),
    w: Option<&[f64]>,
) -> Result<f64> {
    accuracy_weighted(&predicted.as_labels(), &actual.as_labels(), w)
}

/// [`accuracy`] with weights of the network's scalar type.
pub(crate) fn accuracy_weighted<S: Scalar>(
    predicted: &[usize],
    actual: &[usize],
    w: Option<&[S]>,
) -> Result<f64> {
    check_samples(predicted.len(), actual.len(), w)?;
    Ok(weighted_mean(predicted.len(), w, |i| {
        f64::from(u8::from(predicted[i] == actual[i]))
    }))
}

/// Mean of −ln p(actual class), with probabilities clipped to
/// [10⁻¹⁵, 1 − 10⁻¹⁵] as scikit-learn does. `proba` holds one row per sample
/// and one column per class (a single column means p(class 1)).
///
/// # Errors
/// [`Error::SampleCount`], [`Error::Empty`], [`Error::InvalidSampleWeight`],
/// [`Error::LabelOutOfRange`] for a class without a column,
/// [`Error::NonFinite`] probabilities.
///
/// ```
/// use ndarray::array;
/// let p = array![[0.5f64, 0.5], [0.25, 0.75]];
/// let ll = backprop::metrics::log_loss(p.view(), &[0, 1], None)?;
/// assert!((ll - (-(0.5f64.ln() + 0.75f64.ln()) / 2.0)).abs() < 1e-12);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn log_loss<'proba, S: Scalar>(
    proba: impl AsArray<'proba, S, Ix2>,
    actual: &[usize],
    w: Option<&[S]>,
) -> Result<f64> {
    let proba: ArrayView2<'proba, S> = proba.into();
    const CLIP: f64 = 1e-15;
    check_samples(proba.nrows(), actual.len(), w)?;
    crate::check::finite("probabilities", proba)?;
    let n_classes = proba.ncols().max(2);
    if let Some(index) = actual.iter().position(|&c| c >= n_classes) {
        return Err(Error::LabelOutOfRange {
            label: actual[index],
            index,
            n_classes,
        });
    }
    Ok(weighted_mean(actual.len(), w, |i| {
        let p = if proba.ncols() == 1 {
            let p1 = proba[[i, 0]].wide();
            if actual[i] == 1 { p1 } else { 1.0 - p1 }
        } else {
            proba[[i, actual[i]]].wide()
        };
        -p.clamp(CLIP, 1.0 - CLIP).ln()
    }))
}

/// Mean over samples and outputs of (ŷ − y)².
///
/// # Errors
/// [`Error::OutputShape`] for different shapes, [`Error::Empty`],
/// [`Error::InvalidSampleWeight`].
pub fn mean_squared_error<'predicted, 'actual, S: Scalar>(
    predicted: impl AsArray<'predicted, S, Ix2>,
    actual: impl AsArray<'actual, S, Ix2>,
    w: Option<&[S]>,
) -> Result<f64> {
    let predicted: ArrayView2<'predicted, S> = predicted.into();
    let actual: ArrayView2<'actual, S> = actual.into();
    mean_per_entry(predicted, actual, w, |e| e * e)
}

/// Mean over samples and outputs of |ŷ − y|.
///
/// # Errors
/// [`Error::OutputShape`] for different shapes, [`Error::Empty`],
/// [`Error::InvalidSampleWeight`].
pub fn mean_absolute_error<'predicted, 'actual, S: Scalar>(
    predicted: impl AsArray<'predicted, S, Ix2>,
    actual: impl AsArray<'actual, S, Ix2>,
    w: Option<&[S]>,
) -> Result<f64> {
    let predicted: ArrayView2<'predicted, S> = predicted.into();
    let actual: ArrayView2<'actual, S> = actual.into();
    mean_per_entry(predicted, actual, w, f64::abs)
}

/// Weighted mean over samples of the mean over outputs of f(ŷ − y).
fn mean_per_entry<S: Scalar>(
    predicted: ArrayView2<'_, S>,
    actual: ArrayView2<'_, S>,
    w: Option<&[S]>,
    f: impl Fn(f64) -> f64,
) -> Result<f64> {
    check_shapes(predicted, actual, w)?;
    let k = predicted.ncols().max(1) as f64;
    Ok(weighted_mean(predicted.nrows(), w, |i| {
        predicted
            .row(i)
            .iter()
            .zip(actual.row(i))
            .map(|(&p, &a)| f(p.wide() - a.wide()))
            .sum::<f64>()
            / k
    }))
}

/// Coefficient of determination R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)², computed per
/// output and averaged uniformly over outputs (scikit-learn's
/// `multioutput="uniform_average"`). An output with constant targets scores 1
/// when predicted exactly and 0 otherwise, as in scikit-learn.
///
/// # Errors
/// [`Error::OutputShape`] for different shapes, [`Error::Empty`],
/// [`Error::InvalidSampleWeight`].
///
/// ```
/// use ndarray::array;
/// let y = array![[1.0f64], [2.0], [3.0]];
/// assert_eq!(backprop::metrics::r2_score(y.view(), y.view(), None)?, 1.0);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn r2_score<'predicted, 'actual, S: Scalar>(
    predicted: impl AsArray<'predicted, S, Ix2>,
    actual: impl AsArray<'actual, S, Ix2>,
    w: Option<&[S]>,
) -> Result<f64> {
    let predicted: ArrayView2<'predicted, S> = predicted.into();
    let actual: ArrayView2<'actual, S> = actual.into();
    check_shapes(predicted, actual, w)?;
    let m = actual.nrows();
    let k = actual.ncols();
    if k == 0 {
        return Err(Error::Empty {
            what: "metric input",
        });
    }
    let wt = |i: usize| w.map_or(1.0, |w| w[i].wide());
    let sw: f64 = (0..m).map(wt).sum();
    let mut total = 0.0;
    for c in 0..k {
        let mean = (0..m).map(|i| wt(i) * actual[[i, c]].wide()).sum::<f64>() / sw;
        let (mut ss_res, mut ss_tot) = (0.0, 0.0);
        for i in 0..m {
            let (a, p) = (actual[[i, c]].wide(), predicted[[i, c]].wide());
            ss_res += wt(i) * (a - p).powi(2);
            ss_tot += wt(i) * (a - mean).powi(2);
        }
        total += if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
    }
    Ok(total / k as f64)
}

/// Σwᵢ·f(i)/Σwᵢ, or the plain mean without weights; 0 for n = 0.
pub(crate) fn weighted_mean<S: Scalar>(n: usize, w: Option<&[S]>, f: impl Fn(usize) -> f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    match w {
        None => (0..n).map(&f).sum::<f64>() / n as f64,
        Some(w) => {
            let sw: f64 = w.iter().map(|v| v.wide()).sum();
            (0..n).map(|i| w[i].wide() * f(i)).sum::<f64>() / sw
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn regression_metrics_by_hand() {
        let y = array![[1.0f64], [2.0], [3.0], [4.0]];
        let p = array![[1.5f64], [2.0], [2.0], [4.0]];
        assert!((mean_squared_error(p.view(), y.view(), None).unwrap() - 1.25 / 4.0).abs() < 1e-15);
        assert!((mean_absolute_error(p.view(), y.view(), None).unwrap() - 1.5 / 4.0).abs() < 1e-15);
        // Σ(y − ȳ)² = 5, Σ(y − ŷ)² = 1.25.
        assert!((r2_score(p.view(), y.view(), None).unwrap() - 0.75).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_an_error() {
        let none = None::<&[f64]>;
        assert!(matches!(
            accuracy(&[1, 0], &[1], none),
            Err(Error::SampleCount { .. })
        ));
        assert!(matches!(accuracy(&[], &[], none), Err(Error::Empty { .. })));
        let p = array![[0.2f64, 0.8]];
        assert!(matches!(
            log_loss(p.view(), &[2], None),
            Err(Error::LabelOutOfRange { .. })
        ));
        let y = array![[1.0f64, 2.0]];
        let q = array![[1.0f64], [2.0]];
        assert!(matches!(
            r2_score(q.view(), y.view(), None),
            Err(Error::OutputShape { .. })
        ));
        assert!(matches!(
            mean_squared_error(y.view(), y.view(), Some(&[-1.0])),
            Err(Error::InvalidSampleWeight { .. })
        ));
    }

    #[test]
    fn weighted_accuracy() {
        let w = [3.0f64, 1.0];
        assert_eq!(accuracy(&[1, 0], &[1, 1], Some(&w)).unwrap(), 0.75);
    }
}
