//! Checks of user input, in one leaf module: every other module may call
//! them, and they call nothing above [`Error`] and [`Scalar`].
//!
//! Data is checked once, where it enters (a public method of
//! [`Network`](crate::Network), the start of a training run); code behind
//! that boundary takes what the check proved.

use ndarray::ArrayView2;

use crate::{Error, Result, Scalar};

/// [`Error::NonFinite`] naming the first NaN or infinity in `a`.
pub(crate) fn finite<S: Scalar>(what: &'static str, a: ArrayView2<'_, S>) -> Result<()> {
    // Fast path: one branch-free, vectorized pass over contiguous data.
    let all_finite = match a.as_slice_memory_order() {
        Some(s) => crate::simd::all_finite(s),
        None => a.iter().all(|v| v.is_finite()),
    };
    if all_finite {
        return Ok(());
    }
    let ((row, col), &value) = a
        .indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .expect("a non-finite value exists");
    Err(Error::NonFinite {
        what,
        row,
        col,
        value: value.wide(),
    })
}

/// m/Σw for valid sample weights (see
/// [`Network::cost_weighted`](crate::Network::cost_weighted)).
pub(crate) fn weight_scale<S: Scalar>(w: &[S], m: usize) -> Result<f64> {
    if w.len() != m {
        return Err(Error::SampleCount {
            inputs: m,
            targets: w.len(),
        });
    }
    for (index, &v) in w.iter().enumerate() {
        if !(v.is_finite() && v >= S::zero()) {
            return Err(Error::InvalidSampleWeight {
                index,
                value: v.wide(),
                reason: "sample weights must be finite and >= 0",
            });
        }
    }
    positive_weight_scale(w)
}

/// m/Σw for weights already known to be finite and ≥ 0; an error only when
/// they sum to 0 (a batch whose samples all weigh 0).
pub(crate) fn positive_weight_scale<S: Scalar>(w: &[S]) -> Result<f64> {
    let sum: f64 = w.iter().fold(0.0, |acc, v| acc + v.wide());
    if sum > 0.0 {
        Ok(w.len() as f64 / sum)
    } else {
        Err(Error::InvalidSampleWeight {
            index: 0,
            value: sum,
            reason: "the sample weights sum to 0 (the value shown is the sum); \
                     at least one sample needs a positive weight",
        })
    }
}

/// `Ok` when `ok`, else [`Error::InvalidHyperparameter`] for setting `name`
/// with value `v`, saying what `reason` it must satisfy.
pub(crate) fn require(ok: bool, name: &'static str, v: f64, reason: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value: v.to_string(),
            reason,
        })
    }
}

/// [`Error::InvalidHyperparameter`] unless `v` is finite and > 0.
pub(crate) fn positive(name: &'static str, v: f64) -> Result<()> {
    require(v.is_finite() && v > 0.0, name, v, "must be finite and > 0")
}

/// [`Error::InvalidHyperparameter`] unless `v` is finite and ≥ 0.
pub(crate) fn non_negative(name: &'static str, v: f64) -> Result<()> {
    require(
        v.is_finite() && v >= 0.0,
        name,
        v,
        "must be finite and >= 0",
    )
}

/// [`Error::InvalidHyperparameter`] unless 0 ≤ `v` < 1.
pub(crate) fn unit_interval(name: &'static str, v: f64) -> Result<()> {
    require((0.0..1.0).contains(&v), name, v, "must lie in [0, 1)")
}

/// [`Error::InvalidHyperparameter`] unless 0 < `v` < 1.
pub(crate) fn open_unit_interval(name: &'static str, v: f64) -> Result<()> {
    require(v > 0.0 && v < 1.0, name, v, "must lie in (0, 1)")
}

/// [`Error::InvalidHyperparameter`] unless `v` ≥ 1.
pub(crate) fn at_least_one(name: &'static str, v: usize) -> Result<()> {
    if v == 0 {
        Err(Error::InvalidHyperparameter {
            name,
            value: "0".into(),
            reason: "must be at least 1",
        })
    } else {
        Ok(())
    }
}

/// [`Error::InvalidHyperparameter`] unless the learning rate η is finite
/// and > 0.
pub(crate) fn learning_rate(eta: f64) -> Result<()> {
    positive("learning_rate", eta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn hyperparameter_ranges() {
        assert!(unit_interval("m", 0.0).is_ok());
        assert!(unit_interval("m", 1.0).is_err());
        assert!(unit_interval("m", f64::NAN).is_err());
        assert!(positive("e", 0.0).is_err());
        assert!(non_negative("w", 0.0).is_ok());
        assert!(non_negative("w", -1e-9).is_err());
        assert!(at_least_one("n", 0).is_err());
        assert!(learning_rate(f64::INFINITY).is_err());
    }

    #[test]
    fn finite_names_the_first_bad_value() {
        let a = array![[1.0f32, 2.0], [f32::NAN, 4.0]];
        let err = finite("input", a.view()).unwrap_err();
        assert!(matches!(err, Error::NonFinite { row: 1, col: 0, .. }));
    }

    #[test]
    fn weights_scale_to_the_row_count() {
        assert_eq!(weight_scale(&[1.0f64, 3.0], 2).unwrap(), 0.5);
        assert!(weight_scale(&[1.0f64], 2).is_err());
        assert!(weight_scale(&[-1.0f64, 3.0], 2).is_err());
        assert!(weight_scale(&[0.0f64, 0.0], 2).is_err());
    }
}
