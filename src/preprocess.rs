//! Preprocessing fitted on the training data and saved with the model:
//! per-feature scaling ([`Scaler`]) and one-hot encoding of class labels
//! ([`one_hot`]).
//!
//! A [`Scaler`] maps each feature column j to x′ⱼ = (xⱼ − shiftⱼ) / scaleⱼ:
//!
//! | [`Scaling`] | shiftⱼ | scaleⱼ | result on the training data |
//! |---|---|---|---|
//! | [`Scaling::MinMax`] | minⱼ | maxⱼ − minⱼ | every column in [0, 1] |
//! | [`Scaling::Standard`] | meanⱼ | stdⱼ (population) | every column mean 0, std 1 |
//!
//! A constant column (zero range or zero variance) gets scaleⱼ = 1, so it maps
//! to 0 instead of dividing by zero. Statistics are accumulated in f64.
//!
//! A scaler can also standardize each sample first
//! ([`Scaler::fit_standardized_samples`], [`standardize_samples`]): row i
//! becomes rᵢ = (xᵢ − μᵢ) / σᵢ, with μᵢ and σᵢ the mean and population
//! standard deviation of the sample's own n₀ features (a constant row maps to
//! zeros), and the per-feature map is fitted on, and applied to, those rows.
//! On images this removes each picture's brightness and contrast, which say
//! little about the class, before the per-pixel map.
//!
//! Before both, a scaler can raise each feature to a fixed power p > 0
//! ([`ScalerBuilder::power`]): xⱼ ↦ xⱼᵖ, for features ≥ 0. On pixel
//! intensities this is a gamma correction: p < 1 lifts faint strokes and
//! compresses the bright range, so that a garment's shape weighs more than
//! how brightly its texture is printed. The full map of a scaler with every
//! step is x ↦ ((standardize(xᵖ))ⱼ − shiftⱼ) / scaleⱼ, fitted on, and
//! applied to, the same pipeline:
//!
//! ```
//! use backprop::preprocess::{Scaler, Scaling};
//! use ndarray::array;
//! let x = array![[0.0f32, 1.0, 4.0], [9.0, 16.0, 25.0]];
//! let s = Scaler::builder(Scaling::MinMax).power(0.5).fit(x.view())?;
//! assert_eq!(s.power(), Some(0.5));
//! // sqrt first: [0, 1, 2] and [3, 4, 5], then each column to [0, 1].
//! assert_eq!(s.transform(x.view())?, array![[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]);
//! # Ok::<(), backprop::Error>(())
//! ```

use ndarray::{Array2, ArrayView2, ArrayViewMut2, AsArray, Axis, Ix2};

use crate::{Error, Result, Scalar};

/// Which per-feature scaling a [`Scaler`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scaling {
    /// x′ = (x − min) / (max − min): the training data lands in [0, 1].
    MinMax,
    /// x′ = (x − mean) / std: the training data gets mean 0 and std 1.
    Standard,
}

impl Scaling {
    /// `min-max` or `standard`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MinMax => "min-max",
            Self::Standard => "standard",
        }
    }
}

impl std::fmt::Display for Scaling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scaling {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "min-max" | "minmax" => Ok(Self::MinMax),
            "standard" | "standardize" | "z-score" => Ok(Self::Standard),
            _ => Err(format!(
                "unknown scaling `{s}`: expected min-max or standard"
            )),
        }
    }
}

/// A per-feature affine map x′ⱼ = (xⱼ − shiftⱼ) / scaleⱼ fitted on training
/// data (see the [module docs](self)).
///
/// ```
/// use backprop::preprocess::{Scaler, Scaling};
/// use ndarray::array;
/// let train = array![[0.0f32, 10.0], [5.0, 10.0], [10.0, 10.0]];
/// let scaler = Scaler::fit(Scaling::MinMax, train.view())?;
/// let x = scaler.transform(array![[2.5f32, 10.0]].view())?;
/// assert_eq!(x, array![[0.25, 0.0]]); // the constant column maps to 0
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    scaling: Scaling,
    shift: Vec<f64>,
    scale: Vec<f64>,
    /// Whether each sample is standardized before the per-feature map.
    samples: bool,
    /// The power each raw feature is raised to first, if any.
    power: Option<f64>,
}

/// Settings of a [`Scaler`] to fit: its per-feature [`Scaling`], and what is
/// done to each sample before it (a power transform, sample
/// standardization). Made by [`Scaler::builder`].
///
/// ```
/// use backprop::preprocess::{Scaler, Scaling};
/// use ndarray::array;
/// let x = array![[0.0f32, 4.0, 16.0], [1.0, 1.0, 9.0]];
/// let s = Scaler::builder(Scaling::Standard)
///     .power(0.5)
///     .standardize_samples(true)
///     .fit(x.view())?;
/// assert!(s.standardizes_samples());
/// // Row 0 is [0, 2, 4] after the square root, row 1 [1, 1, 3]: standardized,
/// // both are affine images of their own pattern.
/// let t = s.transform(x.view())?;
/// assert_eq!(t.dim(), (2, 3));
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalerBuilder {
    scaling: Scaling,
    power: Option<f64>,
    samples: bool,
}

impl ScalerBuilder {
    /// Raises each raw feature to the power `p` first (see the
    /// [module docs](self)); p = 1 is no transform. Checked by
    /// [`fit`](Self::fit): p must be finite and > 0.
    pub fn power(mut self, p: f64) -> Self {
        self.power = Some(p);
        self
    }

    /// Standardizes each sample (after the power transform, if any) before
    /// the per-feature map, as [`Scaler::fit_standardized_samples`].
    pub fn standardize_samples(mut self, on: bool) -> Self {
        self.samples = on;
        self
    }

    /// Fits the per-feature map on the rows of `x` after the steps before
    /// it.
    ///
    /// # Errors
    /// As [`Scaler::fit`]; [`Error::InvalidHyperparameter`] naming `power`
    /// for a power that is not finite and > 0; [`Error::OutOfDomain`] for a
    /// negative feature with a power set.
    pub fn fit<'x, S: Scalar>(self, x: impl AsArray<'x, S, Ix2>) -> Result<Scaler> {
        let power = checked_power(self.power)?;
        Scaler::fit_rows(self.scaling, x.into(), power, self.samples)
    }
}

/// A power as a scaler keeps it: `None` for none or 1.
fn checked_power(p: Option<f64>) -> Result<Option<f64>> {
    match p {
        None => Ok(None),
        Some(p) if !(p.is_finite() && p > 0.0) => Err(Error::InvalidHyperparameter {
            name: "power",
            value: p.to_string(),
            reason: "a scaler's power must be finite and > 0",
        }),
        Some(1.0) => Ok(None),
        Some(p) => Ok(Some(p)),
    }
}

impl Scaler {
    /// Fits `scaling` on the rows of `x` (one sample per row).
    ///
    /// # Errors
    /// [`Error::Empty`] for no rows or no columns, [`Error::NonFinite`] for a
    /// NaN or infinity in `x`.
    pub fn fit<'x, S: Scalar>(scaling: Scaling, x: impl AsArray<'x, S, Ix2>) -> Result<Self> {
        Self::builder(scaling).fit(x)
    }

    /// Settings for a scaler with steps before its per-feature map (see
    /// [`ScalerBuilder`]); with none, `builder(scaling).fit(x)` is
    /// [`fit`](Self::fit)`(scaling, x)`.
    pub fn builder(scaling: Scaling) -> ScalerBuilder {
        ScalerBuilder {
            scaling,
            power: None,
            samples: false,
        }
    }

    /// Fits `scaling` on the rows of `x` after standardizing each row (see
    /// the [module docs](self)); [`transform`](Self::transform) then
    /// standardizes each row before the per-feature map, as here.
    ///
    /// ```
    /// use backprop::preprocess::{Scaler, Scaling};
    /// use ndarray::array;
    /// // The same picture twice, the second one brighter and with more contrast.
    /// let x = array![[0.0f32, 1.0, 2.0], [10.0, 30.0, 50.0]];
    /// let s = Scaler::fit_standardized_samples(Scaling::Standard, x.view())?;
    /// let t = s.transform(x.view())?;
    /// assert_eq!(t.row(0), t.row(1));
    /// # Ok::<(), backprop::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_standardized_samples<'x, S: Scalar>(
        scaling: Scaling,
        x: impl AsArray<'x, S, Ix2>,
    ) -> Result<Self> {
        Self::builder(scaling).standardize_samples(true).fit(x)
    }

    /// Fits on the rows of `x`, each raised to `power` and standardized
    /// first as asked.
    fn fit_rows<S: Scalar>(
        scaling: Scaling,
        x: ArrayView2<'_, S>,
        power: Option<f64>,
        samples: bool,
    ) -> Result<Self> {
        if x.nrows() == 0 || x.ncols() == 0 {
            return Err(Error::Empty {
                what: "data to fit the scaler on",
            });
        }
        crate::check::finite("input", x)?;
        let steps = RowSteps::new(power, samples);
        steps.check_domain(x)?;
        let n = x.ncols();
        // Visits row i in f64, after the steps before the per-feature map.
        let mut buf = vec![0.0f64; n];
        let mut each_row = |visit: &mut dyn FnMut(&[f64])| {
            for row in x.rows() {
                steps.apply(row.iter().copied(), &mut buf);
                visit(&buf);
            }
        };
        let (shift, scale) = match scaling {
            Scaling::MinMax => {
                let mut lo = vec![f64::INFINITY; n];
                let mut hi = vec![f64::NEG_INFINITY; n];
                each_row(&mut |row| {
                    for ((l, h), &v) in lo.iter_mut().zip(&mut hi).zip(row) {
                        *l = l.min(v);
                        *h = h.max(v);
                    }
                });
                let range: Vec<f64> = lo.iter().zip(&hi).map(|(l, h)| h - l).collect();
                (lo, range)
            }
            Scaling::Standard => {
                // Welford's update: stable for large means and many rows.
                let mut mean = vec![0.0f64; n];
                let mut m2 = vec![0.0f64; n];
                let mut k = 0.0f64;
                each_row(&mut |row| {
                    k += 1.0;
                    for ((m, s), &v) in mean.iter_mut().zip(&mut m2).zip(row) {
                        let d = v - *m;
                        *m += d / k;
                        *s += d * (v - *m);
                    }
                });
                let m = x.nrows() as f64;
                let std: Vec<f64> = m2.iter().map(|s| (s / m).sqrt()).collect();
                (mean, std)
            }
        };
        let scale = scale
            .into_iter()
            .map(|s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 })
            .collect();
        Ok(Scaler {
            scaling,
            shift,
            scale,
            samples,
            power,
        })
    }

    /// Rebuilds a scaler from saved statistics.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] when the lengths differ, are zero, or
    /// a shift is not finite or a scale not finite and > 0.
    pub fn from_parts(scaling: Scaling, shift: Vec<f64>, scale: Vec<f64>) -> Result<Self> {
        if shift.len() != scale.len() || shift.is_empty() {
            return Err(Error::InvalidHyperparameter {
                name: "scaler",
                value: format!("{} shifts, {} scales", shift.len(), scale.len()),
                reason: "need one shift and one scale per feature, at least one feature",
            });
        }
        if shift.iter().any(|v| !v.is_finite())
            || scale.iter().any(|&s| !(s > 0.0 && s.is_finite()))
        {
            return Err(Error::InvalidHyperparameter {
                name: "scaler",
                value: "non-finite or non-positive statistics".into(),
                reason: "shifts must be finite and scales finite and > 0",
            });
        }
        Ok(Scaler {
            scaling,
            shift,
            scale,
            samples: false,
            power: None,
        })
    }

    /// The same scaler, raising each raw feature to the power `p` first
    /// (the statistics are taken as fitted after that, as
    /// [`ScalerBuilder::power`] does); `None` or 1 for no power.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming `power` for a power that is
    /// not finite and > 0.
    pub fn with_power(mut self, p: Option<f64>) -> Result<Self> {
        self.power = checked_power(p)?;
        Ok(self)
    }

    /// The power each raw feature is raised to before the other steps, if
    /// any (never 1).
    pub fn power(&self) -> Option<f64> {
        self.power
    }

    /// The same scaler, applied to standardized samples when `on` (the
    /// statistics are taken as fitted on such rows, as
    /// [`fit_standardized_samples`](Self::fit_standardized_samples) does).
    pub fn with_standardized_samples(mut self, on: bool) -> Self {
        self.samples = on;
        self
    }

    /// Whether each sample is standardized before the per-feature map.
    pub fn standardizes_samples(&self) -> bool {
        self.samples
    }

    /// The scaling this scaler applies.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }

    /// Number of features n₀ it was fitted on.
    pub fn n_features(&self) -> usize {
        self.shift.len()
    }

    /// shiftⱼ per feature (min or mean).
    pub fn shift(&self) -> &[f64] {
        &self.shift
    }

    /// scaleⱼ per feature (range or std; 1 for constant columns).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// Applies x′ⱼ = (xⱼ − shiftⱼ) / scaleⱼ in place, each row raised to
    /// the [`power`](Self::power) and standardized first as the scaler
    /// does.
    ///
    /// # Errors
    /// [`Error::InputWidth`] when `x` has a different number of columns than
    /// the data the scaler was fitted on; with a power, [`Error::OutOfDomain`]
    /// for a negative feature (checked before anything is written).
    pub fn transform_in_place<S: Scalar>(&self, mut x: ArrayViewMut2<'_, S>) -> Result<()> {
        if x.ncols() != self.n_features() {
            return Err(Error::InputWidth {
                got: x.ncols(),
                expected: self.n_features(),
            });
        }
        let steps = RowSteps::new(self.power, self.samples);
        steps.check_domain(x.view())?;
        let inv: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let mut buf = vec![0.0f64; x.ncols()];
        for mut row in x.axis_iter_mut(Axis(0)) {
            steps.apply(row.iter().copied(), &mut buf);
            for (((v, &b), &s), &i) in row.iter_mut().zip(&buf).zip(&self.shift).zip(&inv) {
                *v = S::cast((b - s) * i);
            }
        }
        Ok(())
    }

    /// Returns a scaled copy of `x`.
    ///
    /// # Errors
    /// As [`transform_in_place`](Self::transform_in_place).
    pub fn transform<'x, S: Scalar>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        let mut out = x.to_owned();
        self.transform_in_place(out.view_mut())?;
        Ok(out)
    }
}

/// Standardizes each row of `x` in place: rᵢ = (xᵢ − μᵢ) / σᵢ with μᵢ and σᵢ
/// the mean and population standard deviation of the row (in f64); a
/// constant row becomes zeros.
///
/// ```
/// use ndarray::array;
/// let mut x = array![[1.0f64, 3.0], [5.0, 5.0]];
/// backprop::preprocess::standardize_samples(x.view_mut());
/// assert_eq!(x, array![[-1.0, 1.0], [0.0, 0.0]]);
/// ```
pub fn standardize_samples<S: Scalar>(mut x: ArrayViewMut2<'_, S>) {
    let mut buf = vec![0.0f64; x.ncols()];
    for mut row in x.axis_iter_mut(Axis(0)) {
        for (b, v) in buf.iter_mut().zip(row.iter()) {
            *b = v.wide();
        }
        standardize_row(&mut buf);
        for (v, &b) in row.iter_mut().zip(&buf) {
            *v = S::cast(b);
        }
    }
}

/// What a scaler does to a row before its per-feature map, in f64.
struct RowSteps {
    /// The power, with a table of xᵖ for the integers 0..=255 (8-bit
    /// pixels, looked up instead of computed).
    power: Option<(f64, Box<[f64; 256]>)>,
    samples: bool,
}

impl RowSteps {
    fn new(power: Option<f64>, samples: bool) -> Self {
        let power = power.map(|p| {
            let mut table = Box::new([0.0f64; 256]);
            for (k, t) in table.iter_mut().enumerate() {
                *t = (k as f64).powf(p);
            }
            (p, table)
        });
        RowSteps { power, samples }
    }

    /// [`Error::OutOfDomain`] for the first negative value when there is
    /// a power (NaN and infinities are the caller's to check).
    fn check_domain<S: Scalar>(&self, x: ArrayView2<'_, S>) -> Result<()> {
        if self.power.is_none() {
            return Ok(());
        }
        for (row, r) in x.rows().into_iter().enumerate() {
            if let Some(col) = r.iter().position(|v| v.wide() < 0.0) {
                return Err(Error::OutOfDomain {
                    what: "input",
                    row,
                    col,
                    value: r[col].wide(),
                    reason: "a scaler with a power transform needs features >= 0",
                });
            }
        }
        Ok(())
    }

    /// Writes the row's values, after the steps, into `out`.
    fn apply<S: Scalar>(&self, row: impl Iterator<Item = S>, out: &mut [f64]) {
        match &self.power {
            None => out.iter_mut().zip(row).for_each(|(o, v)| *o = v.wide()),
            Some((p, table)) => out.iter_mut().zip(row).for_each(|(o, v)| {
                let v = v.wide();
                // Exact for integers up to 255: the table holds powf's value.
                *o = if v <= 255.0 && v.fract() == 0.0 {
                    table[v as usize]
                } else {
                    v.powf(*p)
                };
            }),
        }
        if self.samples {
            standardize_row(out);
        }
    }
}

/// One row to mean 0 and population standard deviation 1 (all zeros when
/// constant).
fn standardize_row(row: &mut [f64]) {
    // Exactly constant rows first: their mean may round off the value.
    if row.iter().all(|&v| v == row[0]) {
        row.fill(0.0);
        return;
    }
    let n = row.len() as f64;
    let mean = row.iter().sum::<f64>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    let inv = if std > 0.0 { 1.0 / std } else { 0.0 };
    for v in row.iter_mut() {
        *v = (*v - mean) * inv;
    }
}

/// One-hot encodes class labels: row i of the result is all zeros but a one
/// in column `labels[i]`.
///
/// ```
/// let y = backprop::preprocess::one_hot::<f32>(&[2, 0], 3)?;
/// assert_eq!(y, ndarray::array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// # Ok::<(), backprop::Error>(())
/// ```
///
/// # Errors
/// [`Error::LabelOutOfRange`] for a label ≥ `n_classes`.
pub fn one_hot<S: Scalar>(labels: &[usize], n_classes: usize) -> Result<Array2<S>> {
    if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
        return Err(Error::LabelOutOfRange {
            label,
            index,
            n_classes,
        });
    }
    let mut y = Array2::zeros((labels.len(), n_classes));
    for (i, &l) in labels.iter().enumerate() {
        y[[i, l]] = S::one();
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Statistics are f64 sums over a handful of exact inputs; 1e-12 covers
    /// the rounding of a sqrt and a division.
    const TOL: f64 = 1e-12;

    #[test]
    fn standard_gives_mean_zero_std_one() {
        let x = array![[1.0f64, 7.0], [2.0, 7.0], [3.0, 7.0], [6.0, 7.0]];
        let s = Scaler::fit(Scaling::Standard, x.view()).unwrap();
        assert_eq!(s.shift(), &[3.0, 7.0]);
        assert!((s.scale()[0] - 3.5f64.sqrt()).abs() < TOL);
        assert_eq!(s.scale()[1], 1.0, "zero variance column keeps scale 1");
        let t = s.transform(x.view()).unwrap();
        let col = t.column(0);
        assert!(col.sum().abs() < TOL);
        assert!((col.mapv(|v| v * v).sum() / 4.0 - 1.0).abs() < TOL);
        assert!(t.column(1).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn min_max_maps_training_data_to_unit_interval() {
        let x = array![[-1.0f32, 0.0], [3.0, 255.0]];
        let s = Scaler::fit(Scaling::MinMax, x.view()).unwrap();
        assert_eq!(
            s.transform(x.view()).unwrap(),
            array![[0.0, 0.0], [1.0, 1.0]]
        );
    }

    #[test]
    fn errors() {
        let x = array![[1.0f32, 2.0]];
        let s = Scaler::fit(Scaling::MinMax, x.view()).unwrap();
        let err = s.transform(array![[1.0f32]].view()).unwrap_err();
        assert_eq!(
            err,
            Error::InputWidth {
                got: 1,
                expected: 2
            }
        );
        let empty = Array2::<f32>::zeros((0, 2));
        assert!(Scaler::fit(Scaling::Standard, empty.view()).is_err());
        let nan = array![[f32::NAN]];
        assert!(matches!(
            Scaler::fit(Scaling::Standard, nan.view()),
            Err(Error::NonFinite { .. })
        ));
        assert!(Scaler::from_parts(Scaling::MinMax, vec![0.0], vec![0.0]).is_err());
        assert!(one_hot::<f32>(&[3], 3).is_err());
    }

    #[test]
    fn standardized_samples_have_mean_zero_std_one_and_constant_rows_are_zero() {
        let mut x = array![
            [1.0f64, 2.0, 6.0, 7.0],
            [4.0, 4.0, 4.0, 4.0],
            [-3.0, 0.0, 0.0, 3.0]
        ];
        standardize_samples(x.view_mut());
        for (i, row) in x.rows().into_iter().enumerate().filter(|&(i, _)| i != 1) {
            assert!(row.sum().abs() < TOL, "row {i} mean");
            assert!(
                (row.mapv(|v| v * v).sum() / 4.0 - 1.0).abs() < TOL,
                "row {i} std"
            );
        }
        assert!(x.row(1).iter().all(|&v| v == 0.0));
        // Row 0: mean 4, population std sqrt(6.5).
        assert!((x[[0, 0]] - (-3.0 / 6.5f64.sqrt())).abs() < TOL);
    }

    #[test]
    fn sample_standardizing_scaler_fits_and_applies_on_standardized_rows() {
        let x = array![
            [0.0f64, 1.0, 5.0],
            [2.0, 2.0, 2.0],
            [10.0, 40.0, 10.0],
            [1.0, 0.0, 3.0]
        ];
        let mut rows = x.clone();
        standardize_samples(rows.view_mut());
        for scaling in [Scaling::MinMax, Scaling::Standard] {
            let s = Scaler::fit_standardized_samples(scaling, x.view()).unwrap();
            assert!(s.standardizes_samples());
            let plain = Scaler::fit(scaling, rows.view()).unwrap();
            assert!(!plain.standardizes_samples());
            assert_fitted_alike((&s, &x), (&plain, &rows));
            let back = Scaler::from_parts(scaling, s.shift().to_vec(), s.scale().to_vec())
                .unwrap()
                .with_standardized_samples(true);
            assert_eq!(back, s);
        }
        // Brightness and contrast are gone: x and 3x + 7 map alike.
        let s = Scaler::fit_standardized_samples(Scaling::Standard, x.view()).unwrap();
        let moved = x.mapv(|v| 3.0 * v + 7.0);
        let (a, b) = (
            s.transform(x.view()).unwrap(),
            s.transform(moved.view()).unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
    }

    /// `s` on `x` and `plain` on `y` (x after the steps `plain` lacks) have
    /// the same statistics and give the same rows.
    fn assert_fitted_alike((s, x): (&Scaler, &Array2<f64>), (plain, y): (&Scaler, &Array2<f64>)) {
        assert_eq!((s.shift(), s.scale()), (plain.shift(), plain.scale()));
        assert_eq!(
            s.transform(x.view()).unwrap(),
            plain.transform(y.view()).unwrap()
        );
    }

    #[test]
    fn power_comes_first_and_is_fitted_on_and_applied_alike() {
        // Integers (looked up) and fractions (computed) side by side.
        let x = array![
            [0.0f64, 1.0, 255.0, 2.5],
            [16.0, 81.0, 100.0, 0.5],
            [4.0, 0.0, 9.0, 300.0]
        ];
        let p = 0.6;
        let powered = x.mapv(|v| v.powf(p));
        for samples in [false, true] {
            for scaling in [Scaling::MinMax, Scaling::Standard] {
                let s = Scaler::builder(scaling)
                    .power(p)
                    .standardize_samples(samples)
                    .fit(x.view())
                    .unwrap();
                assert_eq!((s.power(), s.standardizes_samples()), (Some(p), samples));
                let plain = Scaler::builder(scaling)
                    .standardize_samples(samples)
                    .fit(powered.view())
                    .unwrap();
                assert_fitted_alike((&s, &x), (&plain, &powered));
                let back = Scaler::from_parts(scaling, s.shift().to_vec(), s.scale().to_vec())
                    .unwrap()
                    .with_standardized_samples(samples)
                    .with_power(Some(p))
                    .unwrap();
                assert_eq!(back, s);
            }
        }
        // The f32 path agrees with powf on the same values.
        let s = Scaler::builder(Scaling::Standard)
            .power(p)
            .fit(x.view())
            .unwrap();
        let t32 = s.transform(x.mapv(|v| v as f32).view()).unwrap();
        let t64 = s.transform(x.view()).unwrap();
        assert!(
            t32.iter()
                .zip(&t64)
                .all(|(a, b)| (f64::from(*a) - b).abs() < 1e-5)
        );
    }

    #[test]
    fn power_errors_and_the_identity_power() {
        let x = array![[0.0f32, 2.0], [1.0, 3.0]];
        for p in [0.0, -0.5, f64::NAN, f64::INFINITY] {
            let err = Scaler::builder(Scaling::Standard).power(p).fit(x.view());
            assert!(
                matches!(err, Err(Error::InvalidHyperparameter { name: "power", .. })),
                "{p}: {err:?}"
            );
        }
        // p = 1 is no power: the scaler equals a plain one.
        let one = Scaler::builder(Scaling::Standard)
            .power(1.0)
            .fit(x.view())
            .unwrap();
        assert_eq!(one.power(), None);
        assert_eq!(one, Scaler::fit(Scaling::Standard, x.view()).unwrap());
        // Negative features are refused, at fit and at transform, before
        // anything is written.
        let neg = array![[0.0f32, 2.0], [1.0, -3.0]];
        let err = Scaler::builder(Scaling::MinMax)
            .power(0.5)
            .fit(neg.view())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::OutOfDomain {
                    row: 1,
                    col: 1,
                    value: -3.0,
                    ..
                }
            ),
            "{err:?}"
        );
        let s = Scaler::builder(Scaling::MinMax)
            .power(0.5)
            .fit(x.view())
            .unwrap();
        let mut y = neg.clone();
        let err = s.transform_in_place(y.view_mut()).unwrap_err();
        assert!(err.to_string().contains(">= 0"), "{err}");
        assert_eq!(y, neg);
        // Without a power, negative features are fine.
        assert!(Scaler::fit(Scaling::MinMax, neg.view()).is_ok());
    }

    #[test]
    fn names_round_trip() {
        for s in [Scaling::MinMax, Scaling::Standard] {
            assert_eq!(s.name().parse::<Scaling>(), Ok(s));
        }
    }
}
