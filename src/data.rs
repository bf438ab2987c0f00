//! Data sets, seeded shuffling, mini-batches and hold-out splits.
//!
//! # Mini-batches
//! Each epoch draws a fresh seeded permutation of the m samples and cuts it
//! into ⌈m/B⌉ consecutive batches: every sample is visited exactly once per
//! epoch (sampling without replacement), and the last batch holds the
//! m − B·(⌈m/B⌉ − 1) samples left over instead of being dropped. B = m is
//! full-batch gradient descent, B = 1 plain stochastic gradient descent.
//! Rows are gathered into buffers allocated once, before the first epoch, so
//! visiting batches allocates nothing.
//!
//! # Image augmentation
//! With an [`ImageAugment`] set on the [`Trainer`](crate::Trainer), each row
//! is read as an h × w image (row-major) while it is gathered into the
//! batch, mirrored left–right with probability ½ (when asked for) and moved
//! by a random whole-pixel shift (dy, dx) ∈ [−k, k]², drawn per sample:
//! pixel (i, j) of the batch row is pixel (i − dy, j − dx) of the (mirrored)
//! image, and a pixel the shift uncovers gets the fill value of (i, j). The
//! draws come from their own seeded stream, one sample after another in
//! batch order, so a run is the same whatever the thread count. Only the
//! training batches are augmented; validation, evaluation, prediction and
//! gradient checks see the rows as given.

use std::borrow::Cow;

use ndarray::{Array2, ArrayBase, ArrayView2, AsArray, Axis, Data, Ix1, Ix2};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result, Scalar, Targets};

/// Labels as the caller holds them: a slice, a `Vec`, an array, or an
/// ndarray `Array1` / `ArrayView1` (borrowed when contiguous, copied
/// otherwise).
///
/// ```
/// use backprop::AsLabels;
/// let y = ndarray::array![2usize, 0, 1];
/// assert_eq!(&*y.as_labels(), &[2, 0, 1]);
/// assert_eq!(&*vec!["a", "b"].as_labels(), &["a", "b"]);
/// ```
pub trait AsLabels<L: Clone> {
    /// The labels, in order.
    fn as_labels(&self) -> Cow<'_, [L]>;
}

impl<L: Clone> AsLabels<L> for [L] {
    fn as_labels(&self) -> Cow<'_, [L]> {
        Cow::Borrowed(self)
    }
}

impl<L: Clone, const N: usize> AsLabels<L> for [L; N] {
    fn as_labels(&self) -> Cow<'_, [L]> {
        Cow::Borrowed(self)
    }
}

impl<L: Clone> AsLabels<L> for Vec<L> {
    fn as_labels(&self) -> Cow<'_, [L]> {
        Cow::Borrowed(self)
    }
}

impl<L: Clone, D: Data<Elem = L>> AsLabels<L> for ArrayBase<D, Ix1> {
    fn as_labels(&self) -> Cow<'_, [L]> {
        match self.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(self.to_vec()),
        }
    }
}

impl<L: Clone, T: AsLabels<L> + ?Sized> AsLabels<L> for &T {
    fn as_labels(&self) -> Cow<'_, [L]> {
        (**self).as_labels()
    }
}

/// Inputs, targets and optional per-sample weights, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a, S> {
    /// One sample per row (m × n₀).
    pub x: ArrayView2<'a, S>,
    /// Targets: dense m × n_L, or one class index per sample.
    pub y: Targets<'a, S>,
    /// Per-sample weights wᵢ ≥ 0 (see
    /// [`Network::cost_weighted`](crate::Network::cost_weighted)); `None`
    /// weighs every sample 1.
    pub sample_weight: Option<&'a [S]>,
}

impl<'a, S: Scalar> Dataset<'a, S> {
    /// A data set without sample weights.
    ///
    /// ```
    /// use backprop::data::Dataset;
    /// use ndarray::array;
    /// let x = array![[0.0f32, 1.0], [1.0, 0.0]];
    /// let labels = vec![1usize, 0];
    /// let d = Dataset::new(x.view(), &labels);
    /// assert_eq!(d.len(), 2);
    /// ```
    pub fn new(x: impl AsArray<'a, S, Ix2>, y: impl Into<Targets<'a, S>>) -> Self {
        Dataset {
            x: x.into(),
            y: y.into(),
            sample_weight: None,
        }
    }

    /// The same data, borrowed for a shorter lifetime.
    pub(crate) fn reborrow(&self) -> Dataset<'_, S> {
        Dataset {
            x: self.x.view(),
            y: match &self.y {
                Targets::Dense(y) => Targets::Dense(y.view()),
                Targets::Classes(c) => Targets::Classes(c),
            },
            sample_weight: self.sample_weight,
        }
    }

    /// The same data with per-sample weights.
    pub fn with_sample_weight(mut self, w: &'a [S]) -> Self {
        self.sample_weight = Some(w);
        self
    }

    /// Number of samples m.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that the parts agree on m and that weights are valid.
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::SampleCount`], [`Error::InvalidSampleWeight`].
    pub(crate) fn check(&self, what: &'static str) -> Result<()> {
        if self.is_empty() {
            return Err(Error::Empty { what });
        }
        if self.y.len() != self.len() {
            return Err(Error::SampleCount {
                inputs: self.len(),
                targets: self.y.len(),
            });
        }
        if let Some(w) = self.sample_weight {
            crate::check::weight_scale(w, self.len())?;
        }
        Ok(())
    }

    /// The rows `idx`, copied.
    ///
    /// # Panics
    /// If an index is out of range, as slice indexing and
    /// `ArrayBase::select` do.
    pub(crate) fn subset(&self, idx: &[usize]) -> OwnedDataset<S> {
        let x = self.x.select(Axis(0), idx);
        let y = match self.y {
            Targets::Dense(y) => OwnedTargets::Dense(y.select(Axis(0), idx)),
            Targets::Classes(c) => OwnedTargets::Classes(idx.iter().map(|&i| c[i]).collect()),
        };
        let sample_weight = self
            .sample_weight
            .map(|w| idx.iter().map(|&i| w[i]).collect());
        OwnedDataset {
            x,
            y,
            sample_weight,
        }
    }
}

/// Targets owned by a split.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedTargets<S> {
    /// m × n_L.
    Dense(Array2<S>),
    /// One class per sample.
    Classes(Vec<usize>),
}

/// A data set that owns its arrays (the result of a split).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedDataset<S> {
    /// Inputs, one sample per row.
    pub x: Array2<S>,
    /// Targets.
    pub y: OwnedTargets<S>,
    /// Optional per-sample weights.
    pub sample_weight: Option<Vec<S>>,
}

impl<S: Scalar> OwnedDataset<S> {
    /// [`holdout_split`] without a second copy of the data: the validation
    /// rows (⌈fraction·m⌉) are copied out and the training rows are moved
    /// up in place inside this set's own buffers, so the peak memory is the
    /// data plus the validation part. Same split, same row order, same
    /// values as [`holdout_split`].
    ///
    /// # Errors
    /// As [`holdout_split`].
    ///
    /// ```
    /// use backprop::data::{OwnedDataset, OwnedTargets};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((10, 2), |(i, j)| (2 * i + j) as f32);
    /// let labels: Vec<usize> = (0..10).map(|i| usize::from(i >= 8)).collect();
    /// let all = OwnedDataset { x, y: OwnedTargets::Classes(labels), sample_weight: None };
    /// let (train, val) = all.split_holdout(0.5, 0)?;
    /// assert_eq!((train.x.nrows(), val.x.nrows()), (5, 5));
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn split_holdout(self, fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let (train, val) = holdout_indices(&self.view(), fraction, seed)?;
        let validation = self.view().subset(&val);
        let y = match self.y {
            OwnedTargets::Dense(y) => OwnedTargets::Dense(keep_rows(y, &train)),
            OwnedTargets::Classes(c) => OwnedTargets::Classes(keep_entries(c, &train)),
        };
        let training = OwnedDataset {
            x: keep_rows(self.x, &train),
            y,
            sample_weight: self.sample_weight.map(|w| keep_entries(w, &train)),
        };
        Ok((training, validation))
    }

    /// A borrowed view.
    pub fn view(&self) -> Dataset<'_, S> {
        Dataset {
            x: self.x.view(),
            y: match &self.y {
                OwnedTargets::Dense(y) => Targets::Dense(y.view()),
                OwnedTargets::Classes(c) => Targets::Classes(c),
            },
            sample_weight: self.sample_weight.as_deref(),
        }
    }
}

/// Splits off ⌈fraction·m⌉ samples for validation, drawn with the seeded
/// stream `seed`. With class targets the split is stratified: each class
/// contributes in proportion to its count (largest remainders first), so rare
/// classes appear on both sides whenever their count allows. Returns
/// (training, validation), each in the original sample order.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] unless 0 < fraction < 1;
/// [`Error::ValidationSplit`] when either side would be empty.
///
/// ```
/// use backprop::data::{Dataset, holdout_split};
/// use ndarray::Array2;
/// let x = Array2::<f32>::zeros((10, 2));
/// let labels: Vec<usize> = (0..10).map(|i| usize::from(i >= 8)).collect();
/// let (train, val) = holdout_split(&Dataset::new(x.view(), &labels), 0.5, 0)?;
/// assert_eq!((train.x.nrows(), val.x.nrows()), (5, 5));
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn holdout_split<S: Scalar>(
    data: &Dataset<'_, S>,
    fraction: f64,
    seed: u64,
) -> Result<(OwnedDataset<S>, OwnedDataset<S>)> {
    let (train, val) = holdout_indices(data, fraction, seed)?;
    Ok((data.subset(&train), data.subset(&val)))
}

/// The rows [`holdout_split`] puts on each side: (training, validation), each
/// ascending.
fn holdout_indices<S: Scalar>(
    data: &Dataset<'_, S>,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    crate::check::open_unit_interval("validation_fraction", fraction)?;
    let m = data.len();
    let n_val = (fraction * m as f64).ceil() as usize;
    let fail = |reason| Error::ValidationSplit {
        n_samples: m,
        fraction,
        reason,
    };
    if n_val == 0 || m == 0 {
        return Err(fail("no validation sample"));
    }
    if n_val >= m {
        return Err(fail("no training sample"));
    }
    let mut rng = crate::init::rng(seed);
    let mut is_val = vec![false; m];
    match data.y {
        Targets::Classes(labels) => {
            let k = labels.iter().copied().max().unwrap_or(0) + 1;
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
            for (i, &c) in labels.iter().enumerate() {
                by_class[c].push(i);
            }
            // Proportional quotas, remainders to the largest fractional parts.
            let exact: Vec<f64> = by_class
                .iter()
                .map(|v| n_val as f64 * v.len() as f64 / m as f64)
                .collect();
            let mut quota: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
            let mut left = n_val - quota.iter().sum::<usize>();
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &b| {
                let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
                fb.total_cmp(&fa).then(a.cmp(&b))
            });
            for &c in order.iter().cycle().take(2 * k) {
                if left == 0 {
                    break;
                }
                if quota[c] < by_class[c].len() {
                    quota[c] += 1;
                    left -= 1;
                }
            }
            for (c, idx) in by_class.iter_mut().enumerate() {
                idx.shuffle(&mut rng);
                for &i in &idx[..quota[c]] {
                    is_val[i] = true;
                }
            }
        }
        Targets::Dense(_) => {
            let mut order: Vec<usize> = (0..m).collect();
            order.shuffle(&mut rng);
            for &i in &order[..n_val] {
                is_val[i] = true;
            }
        }
    }
    let (val, train): (Vec<usize>, Vec<usize>) = (0..m).partition(|&i| is_val[i]);
    Ok((train, val))
}

/// The rows `keep` (ascending, distinct) of `a`, moved up in place in its
/// own buffer, which is then shortened.
fn keep_rows<S: Copy>(a: Array2<S>, keep: &[usize]) -> Array2<S> {
    let n = a.ncols();
    let a = if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    };
    let (mut v, offset) = a.into_raw_vec_and_offset();
    v.drain(..offset.unwrap_or(0));
    for (j, &i) in keep.iter().enumerate() {
        // j <= i: each row moves up, never over a row still to be moved.
        if i != j {
            v.copy_within(i * n..(i + 1) * n, j * n);
        }
    }
    v.truncate(keep.len() * n);
    v.shrink_to_fit();
    Array2::from_shape_vec((keep.len(), n), v).expect("rows of the original shape")
}

/// The entries `keep` (ascending, distinct) of `v`, in place.
fn keep_entries<T: Copy>(mut v: Vec<T>, keep: &[usize]) -> Vec<T> {
    for (j, &i) in keep.iter().enumerate() {
        v[j] = v[i];
    }
    v.truncate(keep.len());
    v.shrink_to_fit();
    v
}

/// Random shifts and mirrors of image rows in the training batches (see the
/// [module docs](self#image-augmentation)).
///
/// # What "zero" fill means after scaling
/// The rows the trainer sees are usually scaled per pixel (x′ⱼ = (xⱼ −
/// shiftⱼ) / scaleⱼ). A shift then moves the scaled values as they are and
/// fills each uncovered pixel j with [`fill`](Self#structfield.fill)ⱼ; with
/// [`fill_scaled_zero`](Self::fill_scaled_zero) that is −shiftⱼ / scaleⱼ,
/// the value a raw 0 (background) pixel has at j after scaling. Re-scaling
/// the moved values exactly (x′ᵢ·scaleᵢ/scaleⱼ + …) would instead multiply
/// them by the ratio of two pixels' spreads, which near the border, where
/// a pixel is almost always 0 and its std almost 0, turns a moved stroke
/// into inputs in the hundreds; neighbouring pixels' statistics differ
/// little over a shift of a few pixels, so moving the scaled values keeps
/// every input in the range the network trains on. A scaling that commutes
/// with shifts (none, or one shift and scale for every pixel) makes the
/// two the same.
///
/// ```
/// use backprop::data::ImageAugment;
/// let a = ImageAugment::new(28, 28).max_shift(2).hflip(true);
/// a.check(784)?;
/// assert!(a.check(785).is_err());
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageAugment {
    /// Image height h (rows of pixels, ≥ 1).
    pub height: usize,
    /// Image width w (pixels per row, ≥ 1); h·w must equal the features.
    pub width: usize,
    /// Largest shift k in each direction, in pixels (k < h and k < w).
    /// Default 0: no shift.
    pub max_shift: usize,
    /// Mirror each image left–right with probability ½. Default false.
    pub hflip: bool,
    /// Value of each uncovered pixel, row-major (h·w finite values), or
    /// empty for 0 everywhere. Default empty.
    pub fill: Vec<f64>,
}

impl ImageAugment {
    /// No shift, no mirror, zero fill, for h × w images.
    pub fn new(height: usize, width: usize) -> Self {
        ImageAugment {
            height,
            width,
            max_shift: 0,
            hflip: false,
            fill: Vec::new(),
        }
    }

    /// Sets [`max_shift`](Self#structfield.max_shift) k.
    pub fn max_shift(mut self, k: usize) -> Self {
        self.max_shift = k;
        self
    }

    /// Sets [`hflip`](Self#structfield.hflip).
    pub fn hflip(mut self, on: bool) -> Self {
        self.hflip = on;
        self
    }

    /// Sets [`fill`](Self#structfield.fill): one value per pixel, row-major.
    pub fn fill(mut self, values: Vec<f64>) -> Self {
        self.fill = values;
        self
    }

    /// Fills each uncovered pixel j with −shiftⱼ / scaleⱼ, a raw 0 after
    /// `scaler` (see the [type docs](Self#what-zero-fill-means-after-scaling)).
    /// A scaler that [standardizes samples](crate::preprocess::Scaler::standardizes_samples)
    /// maps a raw 0 to a value that depends on each image's own mean and
    /// std; this fill is then that of a standardized 0 (an image's mean),
    /// not its background: the command line refuses shifts on such data.
    pub fn fill_scaled_zero(mut self, scaler: &crate::preprocess::Scaler) -> Self {
        self.fill = (scaler.shift().iter().zip(scaler.scale()))
            .map(|(s, c)| -s / c)
            .collect();
        self
    }

    /// Checks the settings against rows of `n_features`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] naming `augment` when h or w is 0,
    /// h·w ≠ `n_features`, k ≥ h or k ≥ w, or the fill has neither 0 nor
    /// h·w finite values.
    pub fn check(&self, n_features: usize) -> Result<()> {
        let (h, w, k) = (self.height, self.width, self.max_shift);
        let bad = |value: String, reason| {
            Err(Error::InvalidHyperparameter {
                name: "augment",
                value,
                reason,
            })
        };
        if h == 0 || w == 0 {
            return bad(
                format!("{h}x{w} image"),
                "an image needs at least one pixel each way",
            );
        }
        if h.checked_mul(w) != Some(n_features) {
            return bad(
                format!("{h}x{w} image for rows of {n_features} features"),
                "the image's height times width must equal the number of features",
            );
        }
        if k >= h.min(w) {
            return bad(
                format!("shift {k} on a {h}x{w} image"),
                "the largest shift must be smaller than the image's height and width",
            );
        }
        if !(self.fill.is_empty() || self.fill.len() == n_features) {
            return bad(
                format!("{} fill values for {n_features} pixels", self.fill.len()),
                "give no fill values (zero fill) or one per pixel",
            );
        }
        if let Some(v) = self.fill.iter().find(|v| !v.is_finite()) {
            return bad(format!("fill value {v}"), "fill values must be finite");
        }
        Ok(())
    }
}

/// An [`ImageAugment`] at work: its settings, the fill in the data's scalar
/// type, a row of scratch and its seeded stream.
#[derive(Debug, Clone)]
struct Augmenter<S> {
    spec: ImageAugment,
    fill: Vec<S>,
    scratch: Vec<S>,
    rng: ChaCha8Rng,
}

impl<S: Scalar> Augmenter<S> {
    /// Draws one sample's move: (dy, dx) ∈ [−k, k]² and the mirror.
    fn draw(&mut self) -> (isize, isize, bool) {
        let k = self.spec.max_shift;
        let (mut dy, mut dx) = (0, 0);
        if k > 0 {
            // Lemire's multiply-shift: an index in 0..n from 32 random bits
            // (bias below n / 2³², immaterial for a few pixels).
            let n = (2 * k + 1) as u64;
            let u = self.rng.next_u64();
            dy = (((u & 0xFFFF_FFFF) * n) >> 32) as isize - k as isize;
            dx = (((u >> 32) * n) >> 32) as isize - k as isize;
        }
        let flip = self.spec.hflip && self.rng.next_u32() & 1 == 1;
        (dy, dx, flip)
    }

    /// Writes `src` moved by one draw into `dst` (both h·w long).
    fn apply(&mut self, src: &[S], dst: &mut [S]) {
        let (dy, dx, flip) = self.draw();
        let (h, w) = (self.spec.height, self.spec.width);
        for (i, d_row) in dst.chunks_exact_mut(w).enumerate() {
            let si = i as isize - dy;
            let fill = self.fill.get(i * w..(i + 1) * w);
            for (j, d) in d_row.iter_mut().enumerate() {
                let sj = j as isize - dx;
                *d = if (0..h as isize).contains(&si) && (0..w as isize).contains(&sj) {
                    let c = if flip {
                        w - 1 - sj as usize
                    } else {
                        sj as usize
                    };
                    src[si as usize * w + c]
                } else {
                    fill.map_or(S::zero(), |f| f[j])
                };
            }
        }
    }
}

/// Gathers seeded mini-batches into buffers allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Batcher<S> {
    order: Vec<usize>,
    batch_size: usize,
    x: Array2<S>,
    y_dense: Array2<S>,
    y_classes: Vec<usize>,
    w: Vec<S>,
    rng: ChaCha8Rng,
    augment: Option<Augmenter<S>>,
}

impl<S: Scalar> Batcher<S> {
    /// Buffers for batches of min(`batch_size`, m) rows of `data`; the
    /// permutation stream is seeded by `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a batch size of 0,
    /// [`Error::Empty`] for an empty data set.
    pub(crate) fn new(data: &Dataset<'_, S>, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::InvalidHyperparameter {
                name: "batch_size",
                value: "0".into(),
                reason: "a batch needs at least one sample",
            });
        }
        let m = data.len();
        if m == 0 {
            return Err(Error::Empty {
                what: "training set",
            });
        }
        let b = batch_size.min(m);
        let (y_dense, y_classes) = match data.y {
            Targets::Dense(y) => (Array2::zeros((b, y.ncols())), Vec::new()),
            Targets::Classes(_) => (Array2::zeros((0, 0)), vec![0; b]),
        };
        Ok(Batcher {
            order: (0..m).collect(),
            batch_size: b,
            x: Array2::zeros((b, data.x.ncols())),
            y_dense,
            y_classes,
            w: if data.sample_weight.is_some() {
                vec![S::zero(); b]
            } else {
                Vec::new()
            },
            rng: crate::init::rng(seed),
            augment: None,
        })
    }

    /// Augments every row gathered from now on with `spec` (checked against
    /// the rows' width by the caller), drawing from a stream seeded by
    /// `seed`.
    pub(crate) fn set_augment(&mut self, spec: &ImageAugment, seed: u64) {
        self.augment = Some(Augmenter {
            spec: spec.clone(),
            fill: spec.fill.iter().map(|&v| S::cast(v)).collect(),
            scratch: vec![S::zero(); self.x.ncols()],
            rng: crate::init::rng(seed),
        });
    }

    /// ⌈m/B⌉.
    pub(crate) fn n_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Draws the next epoch's permutation (identity order before the first
    /// call). Allocates nothing.
    pub(crate) fn shuffle(&mut self) {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i;
        }
        self.order.shuffle(&mut self.rng);
    }

    /// Copies batch `b` of `data` (the data given to [`new`](Self::new))
    /// into the buffers and returns views of it. Allocates nothing.
    ///
    /// # Panics
    /// If `b >= n_batches()` or `data` is not the data set the batcher was
    /// made for.
    pub(crate) fn gather<'s>(
        &'s mut self,
        data: &Dataset<'_, S>,
        b: usize,
    ) -> (ArrayView2<'s, S>, Targets<'s, S>, Option<&'s [S]>) {
        let rows = 0..self.batch(b).len();
        self.gather_part(data, b, rows)
    }

    /// The sample indices of batch `b` in the current permutation.
    pub(crate) fn batch(&self, b: usize) -> &[usize] {
        let start = b * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        &self.order[start..end]
    }

    /// Σwᵢ over batch `b` of `data` (its row count without weights), summed
    /// in the order `check::positive_weight_scale` sums.
    pub(crate) fn batch_weight(&self, data: &Dataset<'_, S>, b: usize) -> f64 {
        let idx = self.batch(b);
        match data.sample_weight {
            Some(w) => idx.iter().fold(0.0, |acc, &i| acc + w[i].wide()),
            None => idx.len() as f64,
        }
    }

    /// As [`gather`](Self::gather), for the rows `part` of batch `b` only
    /// (one process's shard of a global batch).
    ///
    /// # Panics
    /// As [`gather`](Self::gather), or if `part` reaches past the batch.
    pub(crate) fn gather_part<'s>(
        &'s mut self,
        data: &Dataset<'_, S>,
        b: usize,
        part: std::ops::Range<usize>,
    ) -> (ArrayView2<'s, S>, Targets<'s, S>, Option<&'s [S]>) {
        let start = b * self.batch_size;
        let idx = &self.order[start + part.start..start + part.end];
        let n = idx.len();
        for (r, &i) in idx.iter().enumerate() {
            let mut row = self.x.row_mut(r);
            match &mut self.augment {
                None => row.assign(&data.x.row(i)),
                Some(a) => {
                    for (s, &v) in a.scratch.iter_mut().zip(&data.x.row(i)) {
                        *s = v;
                    }
                    let scratch = std::mem::take(&mut a.scratch);
                    let dst = row.as_slice_mut().expect("the batch buffer is row-major");
                    a.apply(&scratch, dst);
                    a.scratch = scratch;
                }
            }
        }
        let y = match data.y {
            Targets::Dense(y) => {
                for (r, &i) in idx.iter().enumerate() {
                    self.y_dense.row_mut(r).assign(&y.row(i));
                }
                Targets::Dense(self.y_dense.slice(ndarray::s![..n, ..]))
            }
            Targets::Classes(c) => {
                for (r, &i) in idx.iter().enumerate() {
                    self.y_classes[r] = c[i];
                }
                Targets::Classes(&self.y_classes[..n])
            }
        };
        let w = data.sample_weight.map(|w| {
            for (r, &i) in idx.iter().enumerate() {
                self.w[r] = w[i];
            }
            &self.w[..n]
        });
        (self.x.slice(ndarray::s![..n, ..]), y, w)
    }
}

/// The shuffling stream's position, for checkpoints: restoring it on a
/// batcher made with the same seed draws the same permutations from there.
impl<S> Batcher<S> {
    pub(crate) fn stream_position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    pub(crate) fn set_stream_position(&mut self, position: u128) {
        self.rng.set_word_pos(position);
    }

    /// The augmentation stream's position (0 without augmentation).
    pub(crate) fn augment_stream_position(&self) -> u128 {
        self.augment.as_ref().map_or(0, |a| a.rng.get_word_pos())
    }

    pub(crate) fn set_augment_stream_position(&mut self, position: u128) {
        if let Some(a) = &mut self.augment {
            a.rng.set_word_pos(position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    /// A batcher of `m` distinct 3 × 4 images (pixel value 100·sample + 10·i
    /// + j + 1, so every value names its sample and place) with `spec`.
    fn image_batcher(m: usize, spec: &ImageAugment) -> (Array2<f64>, Vec<usize>, Batcher<f64>) {
        let x = Array2::from_shape_fn((m, 12), |(s, p)| {
            (100 * s + 10 * (p / 4) + p % 4 + 1) as f64
        });
        let labels = vec![0; m];
        let mut b = Batcher::new(&Dataset::new(x.view(), &labels), m, 5).unwrap();
        b.set_augment(spec, 9);
        (x, labels, b)
    }

    /// Where pixel (i, j) of an augmented row came from: Some((i′, j′)) of
    /// the same sample, or None for fill.
    fn source_of(v: f64, sample: usize) -> Option<(usize, usize)> {
        let local = v as i64 - 100 * sample as i64 - 1;
        (0..34)
            .contains(&local)
            .then_some(((local / 10) as usize, (local % 10) as usize))
    }

    #[test]
    fn shifts_move_pixels_within_range_and_fill_what_they_uncover() {
        let fill: Vec<f64> = (0..12).map(|p| -1000.0 - p as f64).collect();
        let spec = ImageAugment {
            fill,
            ..ImageAugment::new(3, 4).max_shift(1)
        };
        let (x, labels, mut b) = image_batcher(200, &spec);
        let data = Dataset::new(x.view(), &labels);
        let (xb, _, _) = b.gather(&data, 0);
        let mut moves = std::collections::BTreeSet::new();
        for (s, row) in xb.rows().into_iter().enumerate() {
            // One (dy, dx) per sample: every copied pixel agrees on it.
            let mut shift = None;
            for (p, &v) in row.iter().enumerate() {
                let (i, j) = (p / 4, p % 4);
                match source_of(v, s) {
                    Some((si, sj)) => {
                        let d = (i as i64 - si as i64, j as i64 - sj as i64);
                        assert!(d.0.abs() <= 1 && d.1.abs() <= 1, "{d:?}");
                        assert_eq!(*shift.get_or_insert(d), d, "sample {s}");
                    }
                    None => assert_eq!(v, -1000.0 - p as f64, "fill of pixel {p}"),
                }
            }
            let (dy, dx) = shift.expect("a shift of 1 keeps most pixels");
            // Exactly the pixels the shift uncovers are filled.
            for (p, &v) in row.iter().enumerate() {
                let (si, sj) = ((p / 4) as i64 - dy, (p % 4) as i64 - dx);
                let inside = (0..3).contains(&si) && (0..4).contains(&sj);
                assert_eq!(source_of(v, s).is_some(), inside, "sample {s} pixel {p}");
            }
            moves.insert((dy, dx));
        }
        assert_eq!(moves.len(), 9, "every shift in [-1, 1]^2 drawn: {moves:?}");
    }

    #[test]
    fn flips_mirror_rows_and_zero_fill_is_zero() {
        let (x, labels, mut b) = image_batcher(64, &ImageAugment::new(3, 4).hflip(true));
        let data = Dataset::new(x.view(), &labels);
        let (xb, _, _) = b.gather(&data, 0);
        let mut flipped = 0;
        for (s, row) in xb.rows().into_iter().enumerate() {
            let same = row == x.row(s);
            let mirrored = (0..12).all(|p| row[p] == x[[s, p / 4 * 4 + 3 - p % 4]]);
            assert!(same ^ mirrored, "sample {s}: as given or mirrored");
            flipped += usize::from(mirrored);
        }
        assert!((20..=44).contains(&flipped), "{flipped} of 64 mirrored");

        // A shift of 2 on a 3 x 4 image with zero fill: uncovered pixels are 0.
        let (x, labels, mut b) = image_batcher(50, &ImageAugment::new(3, 4).max_shift(2));
        let (xb, _, _) = b.gather(&Dataset::new(x.view(), &labels), 0);
        assert!(xb.iter().any(|&v| v == 0.0));
        for (s, row) in xb.rows().into_iter().enumerate() {
            assert!(row.iter().all(|&v| v == 0.0 || source_of(v, s).is_some()));
        }
    }

    #[test]
    fn augmentation_follows_its_seed_and_resumes_from_its_position() {
        let spec = ImageAugment::new(3, 4).max_shift(1).hflip(true);
        let (x, labels, mut a) = image_batcher(30, &spec);
        let data = Dataset::new(x.view(), &labels);
        let first = a.gather(&data, 0).0.to_owned();
        let at = a.augment_stream_position();
        let second = a.gather(&data, 0).0.to_owned();
        assert_ne!(first, second, "each gather draws new moves");
        let (_, _, mut b) = image_batcher(30, &spec);
        assert_eq!(b.gather(&data, 0).0, first, "same seed, same moves");
        let (_, _, mut c) = image_batcher(30, &spec);
        c.set_augment_stream_position(at);
        assert_eq!(
            c.gather(&data, 0).0,
            second,
            "restored position, same moves"
        );
        let mut d = image_batcher(30, &spec).2;
        d.set_augment(&spec, 10);
        assert_ne!(d.gather(&data, 0).0, first, "another seed, other moves");
    }

    #[test]
    fn augment_settings_are_checked() {
        let e = |a: ImageAugment, n| a.check(n).unwrap_err().to_string();
        assert!(e(ImageAugment::new(28, 28), 785).contains("height times width"));
        assert!(e(ImageAugment::new(0, 28), 0).contains("at least one pixel"));
        assert!(e(ImageAugment::new(3, 4).max_shift(3), 12).contains("smaller"));
        let short = ImageAugment {
            fill: vec![0.0; 5],
            ..ImageAugment::new(3, 4)
        };
        assert!(e(short, 12).contains("one per pixel"));
        let nan = ImageAugment {
            fill: vec![f64::NAN; 12],
            ..ImageAugment::new(3, 4)
        };
        assert!(e(nan, 12).contains("finite"));
        ImageAugment::new(3, 4)
            .max_shift(2)
            .hflip(true)
            .check(12)
            .unwrap();
    }

    #[test]
    fn fill_scaled_zero_is_a_raw_zero_after_scaling() {
        use crate::preprocess::{Scaler, Scaling};
        let raw = ndarray::array![[0.0f64, 2.0, 4.0, 1.0], [2.0, 6.0, 4.0, 3.0]];
        let scaler = Scaler::fit(Scaling::Standard, raw.view()).unwrap();
        let a = ImageAugment::new(2, 2).fill_scaled_zero(&scaler);
        let zero = scaler
            .transform(Array2::<f64>::zeros((1, 4)).view())
            .unwrap();
        assert_eq!(a.fill, zero.row(0).to_vec());
    }

    #[test]
    fn split_in_place_equals_the_copying_split() {
        let x = Array2::from_shape_fn((23, 3), |(i, j)| (i * 3 + j) as f32);
        let labels: Vec<usize> = (0..23).map(|i| i % 4).collect();
        let w: Vec<f32> = (0..23).map(|i| 1.0 + i as f32).collect();
        let dense = Array2::from_shape_fn((23, 2), |(i, j)| (i + 100 * j) as f32);
        let borrowed = Dataset::new(x.view(), &labels).with_sample_weight(&w);
        let want = holdout_split(&borrowed, 0.3, 7).unwrap();
        let owned = OwnedDataset {
            x: x.clone(),
            y: OwnedTargets::Classes(labels.clone()),
            sample_weight: Some(w.clone()),
        };
        assert_eq!(owned.split_holdout(0.3, 7).unwrap(), want);

        // Dense targets, and inputs stored column-major (moved to rows first).
        let want = holdout_split(&Dataset::new(x.view(), &dense), 0.25, 1).unwrap();
        let fortran = Array2::from_shape_vec((23, 3).f(), x.t().iter().copied().collect()).unwrap();
        assert_eq!(fortran, x);
        let owned = OwnedDataset {
            x: fortran,
            y: OwnedTargets::Dense(dense.clone()),
            sample_weight: None,
        };
        assert_eq!(owned.split_holdout(0.25, 1).unwrap(), want);
    }

    #[test]
    fn every_sample_once_per_epoch_last_batch_kept() {
        let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let y = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let data = Dataset::new(x.view(), &y);
        let mut b = Batcher::new(&data, 4, 3).unwrap();
        assert_eq!(b.n_batches(), 3);
        for _ in 0..3 {
            b.shuffle();
            let mut seen = Vec::new();
            for k in 0..b.n_batches() {
                let (xb, yb, _) = b.gather(&data, k);
                assert_eq!(xb.nrows(), if k == 2 { 2 } else { 4 });
                let Targets::Dense(yb) = yb else {
                    unreachable!()
                };
                assert_eq!(xb, yb, "rows of x and y stay paired");
                seen.extend(xb.iter().map(|&v| v as usize));
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_batcher_needs_a_batch_size() {
        let x = Array2::<f64>::zeros((4, 2));
        let y = Array2::<f64>::zeros((4, 1));
        let e = Batcher::new(&Dataset::new(x.view(), &y), 0, 0).unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidHyperparameter {
                name: "batch_size",
                ..
            }
        ));
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let x = Array2::<f32>::zeros((100, 1));
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 10 == 0)).collect();
        let data = Dataset::new(x.view(), &labels);
        let (tr, va) = holdout_split(&data, 0.2, 1).unwrap();
        let count = |d: &OwnedDataset<f32>| match &d.y {
            OwnedTargets::Classes(c) => c.iter().filter(|&&c| c == 1).count(),
            _ => unreachable!(),
        };
        assert_eq!(va.x.nrows(), 20);
        assert_eq!((count(&tr), count(&va)), (8, 2));
    }

    #[test]
    fn split_errors() {
        let x = Array2::<f32>::zeros((3, 1));
        let y = Array2::<f32>::zeros((3, 1));
        let d = Dataset::new(x.view(), &y);
        assert!(matches!(
            holdout_split(&d, 1.0, 0),
            Err(Error::InvalidHyperparameter { .. })
        ));
        assert!(matches!(
            holdout_split(&d, 0.99, 0),
            Err(Error::ValidationSplit { .. })
        ));
    }
}
