//! Gradient checking by central differences.
//!
//! ∂J/∂θⱼ ≈ (J(θ + ε·1ⱼ) − J(θ − ε·1ⱼ)) / 2ε for each checked parameter θⱼ,
//! compared with backpropagation. Slow by design: each parameter costs two
//! forward passes, O(N) each, so a full check is O(N²) against backprop's
//! O(N) (the lecture's point). Use it on small networks, in f64, or check a
//! seeded sample of the parameters of a big one.

use ndarray::ArrayView2;
use rand::seq::index::sample;

use crate::{Network, Result, Scalar, Targets, Workspace};

/// Options for [`check_gradient`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// Step ε. Default 1e-5, near the optimum ∛u ≈ 6e-6 of central differences
    /// in f64, where truncation error (∝ ε²) meets rounding error (∝ u/ε).
    pub epsilon: f64,
    /// Check at most this many weights and this many biases per layer, drawn
    /// without replacement from a seeded stream; `None` checks every
    /// parameter. Default `None`.
    pub max_per_layer: Option<usize>,
    /// Seed for the sample. Default 0.
    pub seed: u64,
    /// Relative errors are |aⱼ − nⱼ| / max(|aⱼ|, |nⱼ|, scale_floor·s, floor),
    /// where s is the largest |aⱼ| among the layer's checked weights (or
    /// biases). Central differences carry a rounding error of about
    /// c·u·|J|/ε (u = unit roundoff, c the number of rounding steps in J)
    /// whatever the size of the entry, so an entry over a hundred times smaller
    /// than the layer's largest is compared at 1% of the layer's scale instead
    /// of reporting that rounding as error. Default 1e-2.
    pub scale_floor: f64,
    /// Absolute floor of the denominator, for layers whose gradient is zero.
    /// Default 1e-12.
    pub floor: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            epsilon: 1e-5,
            max_per_layer: None,
            seed: 0,
            scale_floor: 1e-2,
            floor: 1e-12,
        }
    }
}

/// Agreement between backprop and finite differences for one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerCheck {
    /// 0-based layer (0 is the lecture's ℓ = 1).
    pub layer: usize,
    /// Largest relative error over the checked weights.
    pub max_rel_error_weights: f64,
    /// Largest relative error over the checked biases.
    pub max_rel_error_biases: f64,
    /// Number of weights checked.
    pub checked_weights: usize,
    /// Number of biases checked.
    pub checked_biases: usize,
}

/// Result of [`check_gradient`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// The cost J(θ) at the unperturbed parameters, L2 term included.
    pub cost: f64,
    /// One entry per layer.
    pub layers: Vec<LayerCheck>,
}

impl GradCheckReport {
    /// Largest relative error over every checked parameter.
    pub fn max_rel_error(&self) -> f64 {
        self.layers
            .iter()
            .map(|l| l.max_rel_error_weights.max(l.max_rel_error_biases))
            .fold(0.0, f64::max)
    }
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "cost J = {:.6e}", self.cost)?;
        writeln!(
            f,
            "layer  checked W  max rel err W  checked b  max rel err b"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:>5}  {:>9}  {:>13.3e}  {:>9}  {:>13.3e}",
                l.layer + 1,
                l.checked_weights,
                l.max_rel_error_weights,
                l.checked_biases,
                l.max_rel_error_biases
            )?;
        }
        Ok(())
    }
}

/// Compares backprop's ∂J/∂θ with central differences of J on the batch
/// (`x`, `y`) with L2 coefficient λ (the regularization term is part of both).
///
/// # Errors
/// Every error of [`Network::compute_gradient`], and
/// [`Error::InvalidHyperparameter`](crate::Error::InvalidHyperparameter) for
/// a non-positive or non-finite ε.
///
/// # Example
/// ```
/// use backprop::{Activation, GradCheck, Loss, Network, check_gradient};
/// use ndarray::array;
/// let net = Network::<f64>::builder(2)
///     .hidden(3, Activation::Tanh)
///     .output(2, Loss::CategoricalCrossEntropy)
///     .seed(3)
///     .build()?;
/// let x = array![[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]];
/// let labels = vec![0usize, 1, 1];
/// let report = check_gradient(&net, x.view(), &labels, 0.1, &GradCheck::default())?;
/// assert!(report.max_rel_error() < 1e-6, "{report}");
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn check_gradient<'a, S: Scalar>(
    net: &Network<S>,
    x: ArrayView2<'_, S>,
    y: impl Into<Targets<'a, S>>,
    lambda: S,
    opts: &GradCheck,
) -> Result<GradCheckReport> {
    let mut ws = net.workspace(x.nrows().max(1));
    check_gradient_in(&mut ws, net, x, y, lambda, opts)
}

/// [`check_gradient`] on a workspace of the caller's, so that its training
/// settings apply: the label smoothing
/// ([`Workspace::set_label_smoothing`]) and the dropout stream
/// ([`Workspace::seed_dropout`]). A network with dropout is checked with
/// one mask, drawn by the backprop pass and then held fixed for every
/// finite difference ([`Workspace::hold_dropout_mask`]), so that both sides
/// differentiate the same thinned network; the workspace is left holding
/// it.
///
/// # Errors
/// As [`check_gradient`].
///
/// # Example
/// ```
/// use backprop::{Activation, Dense, GradCheck, Loss, Network, check_gradient_in};
/// use ndarray::array;
/// let net = Network::<f64>::builder(2)
///     .layer(Dense::new(6, Activation::Tanh).dropout(0.5))
///     .output(3, Loss::CategoricalCrossEntropy)
///     .seed(3)
///     .build()?;
/// let x = array![[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]];
/// let labels = vec![0usize, 2, 1];
/// let mut ws = net.workspace(3);
/// ws.set_label_smoothing(0.1)?;
/// let report = check_gradient_in(&mut ws, &net, x.view(), &labels, 0.0, &GradCheck::default())?;
/// assert!(report.max_rel_error() < 1e-6, "{report}");
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn check_gradient_in<'a, S: Scalar>(
    ws: &mut Workspace<S>,
    net: &Network<S>,
    x: ArrayView2<'_, S>,
    y: impl Into<Targets<'a, S>>,
    lambda: S,
    opts: &GradCheck,
) -> Result<GradCheckReport> {
    let valid = |v: f64| v.is_finite() && v >= 0.0;
    if !(valid(opts.scale_floor) && valid(opts.floor)) {
        return Err(crate::Error::InvalidHyperparameter {
            name: "floor",
            value: format!("{} / {}", opts.scale_floor, opts.floor),
            reason: "scale_floor and floor must be finite and >= 0",
        });
    }
    crate::check::positive("epsilon", opts.epsilon)?;
    let y = y.into();
    ws.hold_dropout_mask(false);
    let cost = net.compute_gradient(ws, x, y, lambda)?.wide();
    ws.hold_dropout_mask(true);
    let analytic = ws.gradient().as_slice().to_vec();
    let mut probe = net.clone();
    let mut rng = crate::init::rng(opts.seed);
    let eps = S::cast(opts.epsilon);

    let mut check =
        |range: std::ops::Range<usize>, probe: &mut Network<S>| -> Result<(f64, usize)> {
            let idx: Vec<usize> = match opts.max_per_layer {
                Some(k) if k < range.len() => sample(&mut rng, range.len(), k)
                    .into_iter()
                    .map(|i| range.start + i)
                    .collect(),
                _ => range.collect(),
            };
            let scale = idx
                .iter()
                .map(|&j| analytic[j].wide().abs())
                .fold(0.0, f64::max);
            let floor = (opts.scale_floor * scale).max(opts.floor);
            let mut worst = 0.0f64;
            for &j in &idx {
                let theta = probe.params()[j];
                probe.params_mut()[j] = theta + eps;
                let plus = probe.cost(ws, x, y, lambda)?.wide();
                probe.params_mut()[j] = theta - eps;
                let minus = probe.cost(ws, x, y, lambda)?.wide();
                probe.params_mut()[j] = theta;
                // The step actually taken, after rounding θ ± ε to S.
                let h = (theta + eps).wide() - (theta - eps).wide();
                let numeric = (plus - minus) / h;
                let a = analytic[j].wide();
                let rel = (a - numeric).abs() / a.abs().max(numeric.abs()).max(floor);
                worst = worst.max(rel);
            }
            Ok((worst, idx.len()))
        };

    let mut layers = Vec::with_capacity(net.depth());
    for layer in 0..net.depth() {
        let (w_err, w_n) = check(net.layout().weight_range(layer), &mut probe)?;
        let (b_err, b_n) = check(net.layout().bias_range(layer), &mut probe)?;
        layers.push(LayerCheck {
            layer,
            max_rel_error_weights: w_err,
            max_rel_error_biases: b_err,
            checked_weights: w_n,
            checked_biases: b_n,
        });
    }
    Ok(GradCheckReport { cost, layers })
}
