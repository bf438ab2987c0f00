//! The network, its builder, forward and backward passes.
//!
//! # From the lecture's matrices to the stored arrays
//! The lecture stacks samples as columns: A⁽ˡ⁾ is n_ℓ × m, and
//! Z⁽ˡ⁾ = W⁽ˡ⁾·A⁽ˡ⁻¹⁾ + b⁽ˡ⁾. User data comes the other way round, one sample
//! per row (m × n₀, the ndarray/numpy layout). A row-major m × n array *is* the
//! column-major n × m array holding the same numbers, so the input X as given
//! is already A⁽⁰⁾ = Xᵀ, and every activation, pre-activation and delta is
//! stored the same way: the buffer for A⁽ˡ⁾ is the row-major m × n_ℓ array
//! A⁽ˡ⁾ᵀ. Nothing is ever transposed in memory; the formulas become
//!
//! | lecture | computed as (stored arrays) |
//! |---|---|
//! | Z⁽ˡ⁾ = W⁽ˡ⁾·A⁽ˡ⁻¹⁾ + b⁽ˡ⁾ | Z⁽ˡ⁾ᵀ = A⁽ˡ⁻¹⁾ᵀ·W⁽ˡ⁾ᵀ + 1·b⁽ˡ⁾ᵀ |
//! | Δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ·Δ⁽ˡ⁺¹⁾) ⊙ g′(Z⁽ˡ⁾) | Δ⁽ˡ⁾ᵀ = (Δ⁽ˡ⁺¹⁾ᵀ·W⁽ˡ⁺¹⁾) ⊙ g′ |
//! | ∂J/∂W⁽ˡ⁾ = (1/m)·Δ⁽ˡ⁾·A⁽ˡ⁻¹⁾ᵀ + (λ/m)·W⁽ˡ⁾ | (1/m)·(Δ⁽ˡ⁾ᵀ)ᵀ·A⁽ˡ⁻¹⁾ᵀ + (λ/m)·W⁽ˡ⁾ |
//! | ∂J/∂b⁽ˡ⁾ = (1/m)·Δ⁽ˡ⁾·1 | (1/m)·(Δ⁽ˡ⁾ᵀ)ᵀ·1 |
//!
//! Weights W⁽ˡ⁾ are stored as the lecture writes them, n_ℓ × n_ℓ₋₁ row-major
//! (PyTorch's `Linear.weight` layout); each transpose in the right column is a
//! view passed to BLAS as a flag.
//!
//! All parameters θ live in one flat vector, layer by layer (W⁽¹⁾ row by row,
//! then b⁽¹⁾, then W⁽²⁾, ...). The gradient uses the same layout, so an
//! optimizer is a single pass over two slices.
//!
//! # Indexing
//! Methods take a 0-based `layer`: `layer = 0` is the lecture's ℓ = 1 (the
//! first weight matrix), `layer = depth() − 1` is ℓ = L (the output).
//!
//! # What m is
//! In every cost and gradient, m is the number of rows of the batch passed
//! in: the mini-batch size for mini-batch training, the data set size for
//! full-batch gradient descent. The L2 term (λ/2m)·Σ W² uses the same m.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, AsArray, Axis, Ix2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::check;
use crate::init::{BiasInit, Init};
use crate::layer::Dense;
use crate::linalg::{gemm, gemv};
use crate::simd;
use crate::{Activation, Error, Loss, Result, Scalar, Targets};

/// The number of parameters N = Σ (n_l + 1)·n_{l+1} of a network with these
/// layer sizes, without overflow (as u128), for checks before allocating.
pub fn param_count(sizes: &[usize]) -> u128 {
    sizes
        .windows(2)
        .map(|w| (w[0] as u128 + 1) * w[1] as u128)
        .sum()
}

/// Where each layer's parameters sit in the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    sizes: Vec<usize>,
    /// offsets[l] is the start of W for `layer = l`; offsets[L] = N.
    offsets: Vec<usize>,
}

impl Layout {
    fn new(sizes: &[usize]) -> Self {
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut at = 0;
        offsets.push(0);
        for w in sizes.windows(2) {
            at += w[1] * w[0] + w[1];
            offsets.push(at);
        }
        Layout {
            sizes: sizes.to_vec(),
            offsets,
        }
    }

    /// Layer sizes n₀…n_L.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Total number of parameters N (weights and biases).
    pub fn n_params(&self) -> usize {
        self.offsets[self.depth()]
    }

    /// Index range of W for `layer` in the flat vector.
    pub fn weight_range(&self, layer: usize) -> std::ops::Range<usize> {
        let start = self.offsets[layer];
        start..start + self.sizes[layer + 1] * self.sizes[layer]
    }

    /// Index range of b for `layer` in the flat vector.
    pub fn bias_range(&self, layer: usize) -> std::ops::Range<usize> {
        self.weight_range(layer).end..self.offsets[layer + 1]
    }

    fn weights<'a, S>(&self, flat: &'a [S], layer: usize) -> ArrayView2<'a, S> {
        let shape = (self.sizes[layer + 1], self.sizes[layer]);
        ArrayView2::from_shape(shape, &flat[self.weight_range(layer)]).expect("layout invariant")
    }

    fn weights_mut<'a, S>(&self, flat: &'a mut [S], layer: usize) -> ArrayViewMut2<'a, S> {
        let shape = (self.sizes[layer + 1], self.sizes[layer]);
        ArrayViewMut2::from_shape(shape, &mut flat[self.weight_range(layer)])
            .expect("layout invariant")
    }
}

/// A multilayer perceptron: L weight layers, an activation per hidden layer
/// and an output head fused with its loss.
///
/// Built with [`Network::builder`]. Gradients are computed in a
/// [`Workspace`] made once for a maximum batch size; after that, forward,
/// backward and an optimizer step allocate nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<S: Scalar> {
    layout: Layout,
    activations: Vec<Activation>,
    /// Dropout probability p of each hidden layer (0: none).
    dropout: Vec<f64>,
    loss: Loss,
    params: Vec<S>,
}

/// Configures a [`Network`]; every setting has a documented default and
/// [`build`](NetworkBuilder::build) validates them all at once.
#[derive(Debug, Clone)]
pub struct NetworkBuilder<S: Scalar> {
    n_inputs: usize,
    hidden: Vec<Dense>,
    output: Option<(usize, Loss)>,
    hidden_init: Option<Init>,
    output_init: Option<Init>,
    bias_init: BiasInit,
    seed: u64,
    _scalar: std::marker::PhantomData<S>,
}

impl<S: Scalar> NetworkBuilder<S> {
    /// Appends a hidden layer of `n_units` with activation `g`, every other
    /// option at its default: shorthand for
    /// [`layer`](Self::layer)`(Dense::new(n_units, g))`. Default: no hidden
    /// layer (a generalized linear model).
    pub fn hidden(self, n_units: usize, g: Activation) -> Self {
        self.layer(Dense::new(n_units, g))
    }

    /// Appends the hidden layer `spec`, after those already added. Default:
    /// no hidden layer.
    pub fn layer(mut self, spec: Dense) -> Self {
        self.hidden.push(spec);
        self
    }

    /// Appends the hidden layers `specs`, input side first, after those
    /// already added. Default: no hidden layer.
    pub fn layers(mut self, specs: &[Dense]) -> Self {
        self.hidden.extend_from_slice(specs);
        self
    }

    /// Sets the output layer: `n_outputs` units and the loss that fixes their
    /// activation. Required.
    pub fn output(mut self, n_outputs: usize, loss: Loss) -> Self {
        self.output = Some((n_outputs, loss));
        self
    }

    /// Initialization for every hidden weight matrix whose [`Dense`] spec
    /// sets none of its own. Default: per activation, see
    /// [`Init::default_for`].
    pub fn init(mut self, scheme: Init) -> Self {
        self.hidden_init = Some(scheme);
        self
    }

    /// Initialization for the output weight matrix. Default:
    /// [`Init::default_for_output`] ([`Init::Glorot`]); [`Init::Zeros`] is
    /// allowed here.
    pub fn output_init(mut self, scheme: Init) -> Self {
        self.output_init = Some(scheme);
        self
    }

    /// Initialization for all biases. Default: [`BiasInit::Zeros`].
    pub fn bias_init(mut self, scheme: BiasInit) -> Self {
        self.bias_init = scheme;
        self
    }

    /// Seed of the initialization stream. Default: 0. Same seed, same weights,
    /// bit for bit.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validates the configuration and draws the initial parameters.
    ///
    /// Weights are drawn layer by layer from one seeded stream, W⁽ˡ⁾ then
    /// b⁽ˡ⁾; hidden layer l uses its own [`Dense::init`], else
    /// [`init`](Self::init), else [`Init::default_for`] its activation.
    ///
    /// # Errors
    /// [`Error::NoLayers`] without an output layer, [`Error::ZeroSizeLayer`]
    /// for a layer (or input) of size 0, [`Error::InvalidHyperparameter`] for
    /// zero-initialized hidden weights, [`Error::TooLarge`] when the
    /// parameters cannot be allocated.
    pub fn build(&self) -> Result<Network<S>> {
        let (n_out, loss) = self.output.ok_or(Error::NoLayers)?;
        // The one loop over the layer specs: what the network keeps (size,
        // activation) and what only the draw needs (the init scheme).
        let mut sizes = vec![self.n_inputs];
        let mut activations = Vec::with_capacity(self.hidden.len());
        let mut dropout = Vec::with_capacity(self.hidden.len());
        let mut schemes = Vec::with_capacity(self.hidden.len() + 1);
        for spec in &self.hidden {
            sizes.push(spec.units);
            activations.push(spec.activation);
            check::unit_interval("dropout", spec.dropout)?;
            dropout.push(spec.dropout);
            schemes.push(spec.init_scheme(self.hidden_init));
        }
        sizes.push(n_out);
        if let Some(layer) = sizes.iter().position(|&n| n == 0) {
            return Err(Error::ZeroSizeLayer { layer });
        }
        if schemes.contains(&Init::Zeros) {
            return Err(Error::InvalidHyperparameter {
                name: "init",
                value: "zeros".into(),
                reason: "hidden weights must start distinct to break the symmetry between units; \
                         zeros is allowed only for the output layer",
            });
        }
        schemes.push(self.output_init.unwrap_or(Init::default_for_output(loss)));
        let too_large = || Error::TooLarge {
            what: "the network's parameters",
            bytes: param_count(&sizes) * std::mem::size_of::<S>() as u128,
            hint: "use fewer or narrower layers",
        };
        if param_count(&sizes) > isize::MAX as u128 / std::mem::size_of::<S>() as u128 {
            return Err(too_large());
        }
        let layout = Layout::new(&sizes);
        let mut params = Vec::new();
        params
            .try_reserve_exact(layout.n_params())
            .map_err(|_| too_large())?;
        params.resize(layout.n_params(), S::zero());
        let mut rng = crate::init::rng(self.seed);
        for (l, scheme) in schemes.into_iter().enumerate() {
            let (n_in, n_out) = (sizes[l], sizes[l + 1]);
            scheme.fill(&mut params[layout.weight_range(l)], n_in, n_out, &mut rng);
            self.bias_init
                .fill(&mut params[layout.bias_range(l)], &mut rng);
        }
        Ok(Network {
            layout,
            activations,
            dropout,
            loss,
            params,
        })
    }
}

impl<S: Scalar> Network<S> {
    /// Starts describing a network with `n_inputs` input features.
    ///
    /// ```
    /// use backprop::{Activation, Loss, Network};
    /// let net = Network::<f32>::builder(4)
    ///     .hidden(8, Activation::Tanh)
    ///     .output(3, Loss::CategoricalCrossEntropy)
    ///     .seed(1)
    ///     .build()?;
    /// assert_eq!(net.sizes(), &[4, 8, 3]);
    /// assert_eq!(net.n_params(), 8 * 4 + 8 + 3 * 8 + 3);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn builder(n_inputs: usize) -> NetworkBuilder<S> {
        NetworkBuilder {
            n_inputs,
            hidden: Vec::new(),
            output: None,
            hidden_init: None,
            output_init: None,
            bias_init: BiasInit::Zeros,
            seed: 0,
            _scalar: std::marker::PhantomData,
        }
    }

    /// Rebuilds a network from its architecture and flat parameter vector
    /// (the layout of [`params`](Self::params)).
    ///
    /// # Errors
    /// [`Error::NoLayers`], [`Error::ZeroSizeLayer`], a wrong number of hidden
    /// activations ([`Error::InvalidHyperparameter`]),
    /// [`Error::ParameterCount`], or [`Error::NonFinite`] parameters.
    pub fn from_params(
        sizes: &[usize],
        activations: &[Activation],
        loss: Loss,
        params: Vec<S>,
    ) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::NoLayers);
        }
        if let Some(layer) = sizes.iter().position(|&n| n == 0) {
            return Err(Error::ZeroSizeLayer { layer });
        }
        if activations.len() != sizes.len() - 2 {
            return Err(Error::InvalidHyperparameter {
                name: "activations",
                value: activations.len().to_string(),
                reason: "need one activation per hidden layer",
            });
        }
        let layout = Layout::new(sizes);
        if params.len() != layout.n_params() {
            return Err(Error::ParameterCount {
                got: params.len(),
                expected: layout.n_params(),
            });
        }
        if let Some(i) = params.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "parameters",
                row: i,
                col: 0,
                value: params[i].wide(),
            });
        }
        Ok(Network {
            layout,
            activations: activations.to_vec(),
            dropout: vec![0.0; activations.len()],
            loss,
            params,
        })
    }

    /// This network with dropout probability `p[l]` on hidden layer `l`
    /// (as [`Dense::dropout`]); for rebuilding a network read back with
    /// [`from_params`](Self::from_params), which sets none.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a wrong number of rates or a
    /// rate outside [0, 1).
    pub fn with_dropout(mut self, p: &[f64]) -> Result<Self> {
        if p.len() != self.activations.len() {
            return Err(Error::InvalidHyperparameter {
                name: "dropout",
                value: p.len().to_string(),
                reason: "need one dropout rate per hidden layer",
            });
        }
        for &p in p {
            check::unit_interval("dropout", p)?;
        }
        self.dropout = p.to_vec();
        Ok(self)
    }

    /// Layer sizes n₀…n_L.
    pub fn sizes(&self) -> &[usize] {
        self.layout.sizes()
    }

    /// The parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of weight layers L.
    pub fn depth(&self) -> usize {
        self.layout.depth()
    }

    /// n₀.
    pub fn n_inputs(&self) -> usize {
        self.sizes()[0]
    }

    /// n_L.
    pub fn n_outputs(&self) -> usize {
        self.sizes()[self.depth()]
    }

    /// Total number of parameters N.
    pub fn n_params(&self) -> usize {
        self.layout.n_params()
    }

    /// Activations of the hidden layers, in order.
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// Dropout probability p of each hidden layer, in order (0 where the
    /// layer has none). Applied only by the training passes.
    pub fn dropout(&self) -> &[f64] {
        &self.dropout
    }

    /// The output head.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// W for `layer` (n_out × n_in; `layer = 0` is the lecture's W⁽¹⁾).
    ///
    /// # Panics
    /// If `layer >= depth()`.
    pub fn weights(&self, layer: usize) -> ArrayView2<'_, S> {
        self.layout.weights(&self.params, layer)
    }

    /// Mutable W for `layer`.
    ///
    /// # Panics
    /// If `layer >= depth()`.
    pub fn weights_mut(&mut self, layer: usize) -> ArrayViewMut2<'_, S> {
        self.layout.weights_mut(&mut self.params, layer)
    }

    /// b for `layer`.
    ///
    /// # Panics
    /// If `layer >= depth()`.
    pub fn biases(&self, layer: usize) -> ArrayView1<'_, S> {
        ArrayView1::from(&self.params[self.layout.bias_range(layer)])
    }

    /// Mutable b for `layer`.
    ///
    /// # Panics
    /// If `layer >= depth()`.
    pub fn biases_mut(&mut self, layer: usize) -> ArrayViewMut1<'_, S> {
        let range = self.layout.bias_range(layer);
        ArrayViewMut1::from(&mut self.params[range])
    }

    /// All parameters θ, flat (see the module docs for the order).
    pub fn params(&self) -> &[S] {
        &self.params
    }

    /// All parameters θ, flat and mutable.
    pub fn params_mut(&mut self) -> &mut [S] {
        &mut self.params
    }

    /// The max-norm constraint: every unit's incoming weight vector (row i
    /// of each W⁽ˡ⁾, the output layer's included) longer than `c` is
    /// rescaled to ‖wᵢ‖₂ = c; shorter rows and all biases are left as they
    /// are. The trainer applies it after each optimizer step
    /// ([`Trainer::max_norm`](crate::Trainer::max_norm)). Allocates nothing.
    ///
    /// ```
    /// use backprop::{Loss, Network};
    /// let mut net = Network::<f64>::builder(2).output(2, Loss::SquaredError).build()?;
    /// net.weights_mut(0).assign(&ndarray::array![[6.0, 8.0], [0.3, 0.4]]);
    /// net.apply_max_norm(5.0);
    /// assert_eq!(net.weights(0), ndarray::array![[3.0, 4.0], [0.3, 0.4]]);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn apply_max_norm(&mut self, c: f64) {
        for l in 0..self.depth() {
            let n_in = self.sizes()[l];
            let range = self.layout.weight_range(l);
            for row in self.params[range].chunks_exact_mut(n_in) {
                let norm = row.iter().map(|w| w.wide() * w.wide()).sum::<f64>().sqrt();
                if norm > c {
                    let f = S::cast(c / norm);
                    row.iter_mut().for_each(|w| *w = *w * f);
                }
            }
        }
    }

    /// Σ over all weights (never biases) of w².
    pub(crate) fn sum_squared_weights(&self) -> f64 {
        (0..self.depth())
            .map(|l| simd::sum_squares(&self.params[self.layout.weight_range(l)]))
            .sum()
    }

    /// A workspace for forward and backward passes on batches of up to
    /// `max_batch` samples. Allocates every buffer once.
    pub fn workspace(&self, max_batch: usize) -> Workspace<S> {
        Workspace::new(&self.layout, &self.dropout, max_batch, true)
    }

    /// A smaller workspace that holds activations only: enough for
    /// [`cost`](Self::cost) and the `predict_*_into` methods.
    pub fn inference_workspace(&self, max_batch: usize) -> Workspace<S> {
        Workspace::new(&self.layout, &self.dropout, max_batch, false)
    }

    /// The regularized cost J = (1/m)·Σᵢ J⁽ⁱ⁾ + (λ/2m)·Σ_ℓ Σ (w⁽ˡ⁾)² over the m
    /// rows of `x` (biases are not regularized). Forward pass only.
    ///
    /// # Errors
    /// As [`compute_gradient`](Self::compute_gradient).
    pub fn cost<'x, 'a>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        y: impl Into<Targets<'a, S>>,
        lambda: S,
    ) -> Result<S> {
        let x: ArrayView2<'x, S> = x.into();
        self.cost_impl(ws, x, y.into(), None, lambda)
    }

    /// The cost with per-sample weights wᵢ ≥ 0:
    /// J = (1/Σw)·Σᵢ wᵢ·J⁽ⁱ⁾ + (λ/2m)·Σ_ℓ Σ (w⁽ˡ⁾)², m the number of rows.
    /// Equal weights give [`cost`](Self::cost); integer weights give the cost
    /// of the batch with sample i repeated wᵢ times (up to the L2 term's m).
    ///
    /// # Errors
    /// As [`cost`](Self::cost), and [`Error::InvalidSampleWeight`] for a
    /// negative or non-finite weight, a zero sum, or a length that differs
    /// from the number of rows (reported as [`Error::SampleCount`]).
    pub fn cost_weighted<'x, 'a>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        y: impl Into<Targets<'a, S>>,
        sample_weight: &[S],
        lambda: S,
    ) -> Result<S> {
        let x: ArrayView2<'x, S> = x.into();
        self.cost_impl(ws, x, y.into(), Some(sample_weight), lambda)
    }

    /// Forward pass and cost, optionally weighted per sample.
    fn cost_impl(
        &self,
        ws: &mut Workspace<S>,
        x: ArrayView2<'_, S>,
        y: Targets<'_, S>,
        sample_weight: Option<&[S]>,
        lambda: S,
    ) -> Result<S> {
        let weights = self.check_call(ws, x, &y, sample_weight, lambda, false)?;
        let m = x.nrows();
        // Dropout only with masks held (a gradient check); else inference.
        self.forward(ws, x, ws.dropout.held && ws.has_gradient);
        let eps = ws.label_smoothing;
        let data = self
            .loss
            .cost_and_delta(ws.output(m), &y, None, weights, eps);
        Ok(S::cast(self.regularized(data, lambda.wide(), m)))
    }

    /// [`compute_gradient`](Self::compute_gradient) with per-sample weights:
    /// J as in [`cost_weighted`](Self::cost_weighted), and
    /// ∂J/∂W⁽ˡ⁾ = (1/Σw)·Δ⁽ˡ⁾·diag(w)·A⁽ˡ⁻¹⁾ᵀ + (λ/m)·W⁽ˡ⁾ — computed by scaling
    /// row i of Δᴸ by wᵢ·m/Σw, so the GEMMs are those of the unweighted pass.
    /// Allocates nothing.
    ///
    /// # Errors
    /// As [`compute_gradient`](Self::compute_gradient) and
    /// [`cost_weighted`](Self::cost_weighted).
    ///
    /// # Example
    /// ```
    /// use backprop::{Loss, Network};
    /// use ndarray::array;
    /// let net = Network::<f64>::builder(1).output(1, Loss::SquaredError).build()?;
    /// let x = array![[1.0], [2.0]];
    /// let y = array![[0.0], [0.0]];
    /// let mut ws = net.workspace(2);
    /// // Weight 2 on the first row equals repeating it.
    /// let j = net.compute_gradient_weighted(&mut ws, x.view(), &y, &[2.0, 1.0], 0.0)?;
    /// let x3 = array![[1.0], [1.0], [2.0]];
    /// let y3 = array![[0.0], [0.0], [0.0]];
    /// let mut ws3 = net.workspace(3);
    /// let j3 = net.compute_gradient(&mut ws3, x3.view(), &y3, 0.0)?;
    /// assert!((j - j3).abs() < 1e-12);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn compute_gradient_weighted<'x, 'a>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        y: impl Into<Targets<'a, S>>,
        sample_weight: &[S],
        lambda: S,
    ) -> Result<S> {
        let x: ArrayView2<'x, S> = x.into();
        let y = y.into();
        let weights = self.check_call(ws, x, &y, Some(sample_weight), lambda, true)?;
        Ok(self.forward_backward(ws, x, &y, weights, lambda))
    }

    /// Forward and backward pass over the batch `x` (one sample per row) with
    /// targets `y`: returns the cost J (as [`cost`](Self::cost)) and leaves
    /// ∂J/∂θ in [`Workspace::gradient`].
    ///
    /// Each matrix product is one GEMM:
    /// Z⁽ˡ⁾ = W⁽ˡ⁾A⁽ˡ⁻¹⁾ + b⁽ˡ⁾ forward; Δᴸ = Aᴸ − Yᵀ,
    /// Δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀΔ⁽ˡ⁺¹⁾) ⊙ g′, ∂J/∂W⁽ˡ⁾ = (1/m)Δ⁽ˡ⁾A⁽ˡ⁻¹⁾ᵀ + (λ/m)W⁽ˡ⁾,
    /// ∂J/∂b⁽ˡ⁾ = (1/m)Δ⁽ˡ⁾·1 backward. Allocates nothing.
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::InputWidth`], [`Error::NonFinite`],
    /// [`Error::SampleCount`], target errors from [`Loss::validate`],
    /// [`Error::BatchTooLarge`], [`Error::WorkspaceMismatch`],
    /// [`Error::InferenceWorkspace`], or [`Error::InvalidHyperparameter`] for
    /// a negative or non-finite λ.
    ///
    /// # Example
    /// ```
    /// use backprop::{Activation, Loss, Network, Optimizer, Sgd};
    /// use ndarray::array;
    /// let mut net = Network::<f64>::builder(2)
    ///     .hidden(3, Activation::Tanh)
    ///     .output(1, Loss::SquaredError)
    ///     .build()?;
    /// let x = array![[0.0, 1.0], [1.0, 0.0]];
    /// let y = array![[1.0], [-1.0]];
    /// let mut ws = net.workspace(2);
    /// let mut sgd = Sgd::default();
    /// let j0 = net.compute_gradient(&mut ws, x.view(), &y, 0.0)?;
    /// sgd.step(&mut net, ws.gradient(), 0.1)?;
    /// let j1 = net.compute_gradient(&mut ws, x.view(), &y, 0.0)?;
    /// assert!(j1 < j0);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn compute_gradient<'x, 'a>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        y: impl Into<Targets<'a, S>>,
        lambda: S,
    ) -> Result<S> {
        let x: ArrayView2<'x, S> = x.into();
        let y = y.into();
        let weights = self.check_call(ws, x, &y, None, lambda, true)?;
        Ok(self.forward_backward(ws, x, &y, weights, lambda))
    }

    /// The checks of the public cost and gradient methods: the batch (and
    /// `ws`, holding a gradient when `gradient` is set), λ and the sample
    /// weights; returns the weights with their scale m/Σw.
    fn check_call<'w>(
        &self,
        ws: &Workspace<S>,
        x: ArrayView2<'_, S>,
        y: &Targets<'_, S>,
        sample_weight: Option<&'w [S]>,
        lambda: S,
        gradient: bool,
    ) -> Result<Option<(&'w [S], f64)>> {
        self.check_batch(ws, x, Some(y), gradient)?;
        check_lambda(lambda)?;
        sample_weight
            .map(|w| Ok((w, check::weight_scale(w, x.nrows())?)))
            .transpose()
    }

    /// [`compute_gradient`](Self::compute_gradient) (or its weighted form)
    /// without the data checks, for the training loop: its caller has
    /// checked the whole data set against this network once
    /// ([`check`](crate::check)), λ, and that `ws` holds a gradient for at
    /// least `x.nrows()` rows of this network's shape.
    ///
    /// # Errors
    /// [`Error::InvalidSampleWeight`] when the batch's weights sum to 0, the
    /// one property of a batch that checking the whole set cannot prove.
    pub(crate) fn gradient_unchecked(
        &self,
        ws: &mut Workspace<S>,
        x: ArrayView2<'_, S>,
        y: &Targets<'_, S>,
        sample_weight: Option<&[S]>,
        lambda: S,
    ) -> Result<S> {
        let weights = match sample_weight {
            Some(w) => Some((w, check::positive_weight_scale(w)?)),
            None => None,
        };
        Ok(self.forward_backward(ws, x, y, weights, lambda))
    }

    /// Outputs aᴸ for every row of `x`, written into `out` (m × n_L), in
    /// chunks of the workspace's capacity. Allocates nothing.
    ///
    /// # Errors
    /// Input errors as [`compute_gradient`](Self::compute_gradient),
    /// [`Error::OutputShape`] for a wrong `out`.
    pub fn predict_into<'x>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        mut out: ArrayViewMut2<'_, S>,
    ) -> Result<()> {
        let x: ArrayView2<'x, S> = x.into();
        self.check_input(ws, x)?;
        if out.dim() != (x.nrows(), self.n_outputs()) {
            return Err(Error::OutputShape {
                got: out.shape().to_vec(),
                expected: vec![x.nrows(), self.n_outputs()],
            });
        }
        let cap = ws.capacity;
        for (xc, mut oc) in x
            .axis_chunks_iter(Axis(0), cap)
            .zip(out.axis_chunks_iter_mut(Axis(0), cap))
        {
            oc.assign(&self.forward_outputs(ws, xc));
        }
        Ok(())
    }

    /// Outputs aᴸ for every row of `x`. Allocates a workspace and the result;
    /// use [`predict_into`](Self::predict_into) in loops.
    ///
    /// # Errors
    /// As [`predict_into`](Self::predict_into).
    pub fn predict<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        let mut ws = self.inference_workspace(x.nrows().clamp(1, PREDICT_CHUNK));
        let mut out = Array2::zeros((x.nrows(), self.n_outputs()));
        self.predict_into(&mut ws, x, out.view_mut())?;
        Ok(out)
    }

    /// The class of each row of `x`: the index of the largest output, or, for
    /// a single output, 1 when aᴸ ≥ ½ and 0 otherwise. Allocates nothing.
    ///
    /// # Errors
    /// As [`predict_into`](Self::predict_into); [`Error::OutputShape`] when
    /// `out.len()` differs from the number of rows.
    pub fn predict_classes_into<'x>(
        &self,
        ws: &mut Workspace<S>,
        x: impl AsArray<'x, S, Ix2>,
        out: &mut [usize],
    ) -> Result<()> {
        let x: ArrayView2<'x, S> = x.into();
        self.check_input(ws, x)?;
        if out.len() != x.nrows() {
            return Err(Error::OutputShape {
                got: vec![out.len()],
                expected: vec![x.nrows()],
            });
        }
        let cap = ws.capacity;
        for (xc, oc) in x.axis_chunks_iter(Axis(0), cap).zip(out.chunks_mut(cap)) {
            let a = self.forward_outputs(ws, xc);
            for (row, o) in a.rows().into_iter().zip(oc) {
                *o = class_of(row);
            }
        }
        Ok(())
    }

    /// The class of each row of `x`, as
    /// [`predict_classes_into`](Self::predict_classes_into).
    ///
    /// # Errors
    /// As [`predict_into`](Self::predict_into).
    pub fn predict_classes<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Vec<usize>> {
        let x: ArrayView2<'x, S> = x.into();
        let mut ws = self.inference_workspace(x.nrows().clamp(1, PREDICT_CHUNK));
        let mut out = vec![0; x.nrows()];
        self.predict_classes_into(&mut ws, x, &mut out)?;
        Ok(out)
    }

    // ---- internals ---------------------------------------------------------

    fn check_input(&self, ws: &Workspace<S>, x: ArrayView2<'_, S>) -> Result<()> {
        if ws.layout.sizes != self.layout.sizes {
            return Err(Error::WorkspaceMismatch {
                workspace: ws.layout.sizes.clone(),
                network: self.layout.sizes.clone(),
            });
        }
        if x.ncols() != self.n_inputs() {
            return Err(Error::InputWidth {
                got: x.ncols(),
                expected: self.n_inputs(),
            });
        }
        check::finite("input", x)
    }

    fn check_batch(
        &self,
        ws: &Workspace<S>,
        x: ArrayView2<'_, S>,
        y: Option<&Targets<'_, S>>,
        gradient: bool,
    ) -> Result<()> {
        self.check_input(ws, x)?;
        if gradient && !ws.has_gradient {
            return Err(Error::InferenceWorkspace);
        }
        if ws.has_gradient && ws.dropout.p != self.dropout {
            return Err(Error::InvalidHyperparameter {
                name: "dropout",
                value: format!("{:?} (network: {:?})", ws.dropout.p, self.dropout),
                reason: "the workspace was made for other dropout rates; \
                         make one with this network's `workspace`",
            });
        }
        if ws.label_smoothing > 0.0 {
            self.loss.check_label_smoothing(ws.label_smoothing)?;
        }
        let m = x.nrows();
        if m == 0 {
            return Err(Error::Empty { what: "batch" });
        }
        if m > ws.capacity {
            return Err(Error::BatchTooLarge {
                batch: m,
                capacity: ws.capacity,
            });
        }
        if let Some(y) = y {
            if y.len() != m {
                return Err(Error::SampleCount {
                    inputs: m,
                    targets: y.len(),
                });
            }
            self.loss.validate(y, self.n_outputs())?;
        }
        Ok(())
    }

    fn regularized(&self, data_sum: f64, lambda: f64, m: usize) -> f64 {
        let m = m as f64;
        let mut j = data_sum / m;
        if lambda > 0.0 {
            j += lambda / (2.0 * m) * self.sum_squared_weights();
        }
        j
    }

    /// Forward pass for the first `x.nrows() <= capacity` rows: hidden
    /// buffers hold A⁽ˡ⁾ᵀ, the output buffer holds Zᴸᵀ. With `dropout` (a
    /// training pass on a gradient workspace), hidden layers with p > 0
    /// multiply A by their mask, drawn first unless held.
    fn forward(&self, ws: &mut Workspace<S>, x: ArrayView2<'_, S>, dropout: bool) {
        let m = x.nrows();
        let depth = self.depth();
        for l in 0..depth {
            let (n_in, n_out) = (self.sizes()[l], self.sizes()[l + 1]);
            let (done, rest) = ws.acts.split_at_mut(l);
            let input = match l {
                0 => x,
                _ => rows(&done[l - 1], m, n_in),
            };
            let out: &mut [S] = if l + 1 < depth {
                &mut rest[0][..m * n_out]
            } else {
                &mut ws.z_out[..m * n_out]
            };
            // Zᵀ = A_prevᵀ · Wᵀ      (C <- 1·A·op(B) + 0·C, op = transpose)
            gemm(
                S::one(),
                input,
                self.weights(l).t(),
                S::zero(),
                rows_mut(out, m, n_out),
            );
            let b = &self.params[self.layout.bias_range(l)];
            // Fused pass: A = g(Z + b) for hidden layers (⊙ R, the inverted
            // dropout mask, in training), Z += b at the output.
            match self.activations.get(l) {
                Some(&g) if dropout && self.dropout[l] > 0.0 => {
                    let len = m * n_out;
                    if !ws.dropout.held {
                        ws.dropout.draw(l, len);
                    }
                    g.bias_activate_masked(out, b, &ws.dropout.masks[l][..len]);
                }
                Some(&g) => g.bias_activate(out, b),
                None => Activation::Identity.bias_activate(out, b),
            }
        }
    }

    /// Forward pass on a chunk, then the output activation in place; returns
    /// a view of aᴸ.
    fn forward_outputs<'w>(
        &self,
        ws: &'w mut Workspace<S>,
        x: ArrayView2<'_, S>,
    ) -> ArrayView2<'w, S> {
        let m = x.nrows();
        let k = self.n_outputs();
        self.forward(ws, x, false);
        self.loss.activate_rows(&mut ws.z_out[..m * k], k);
        rows(&ws.z_out, m, k)
    }

    fn forward_backward(
        &self,
        ws: &mut Workspace<S>,
        x: ArrayView2<'_, S>,
        y: &Targets<'_, S>,
        weights: Option<(&[S], f64)>,
        lambda: S,
    ) -> S {
        let m = x.nrows();
        self.forward(ws, x, true);

        // Δᴸ = Aᴸ − Y′ᵀ (Y′ the smoothed targets), written by the loss
        // straight from Zᴸ.
        let k = self.n_outputs();
        let data = {
            let (z, d) = (&ws.z_out, &mut ws.delta[0]);
            self.loss.cost_and_delta(
                rows(z, m, k),
                y,
                Some(rows_mut(&mut d[..m * k], m, k)),
                weights,
                ws.label_smoothing,
            )
        };
        let cost = self.regularized(data, lambda.wide(), m);
        self.backward(ws, x, lambda);
        S::cast(cost)
    }

    /// The backward pass from Δᴸ in the workspace: per layer from the
    /// output down, ∂J/∂W and ∂J/∂b into the workspace's gradient and
    /// Δ_prev for the layer below.
    fn backward(&self, ws: &mut Workspace<S>, x: ArrayView2<'_, S>, lambda: S) {
        let m = x.nrows();
        let inv_m = S::one() / S::cast(m as f64);
        let decay = lambda * inv_m;
        let ones = ArrayView1::from(&ws.ones[..m]);
        let mut cur = 0;
        for l in (0..self.depth()).rev() {
            let (n_in, n_out) = (self.sizes()[l], self.sizes()[l + 1]);
            let (d0, d1) = ws.delta.split_at_mut(1);
            let (delta, next) = if cur == 0 {
                (&d0[0], &mut d1[0])
            } else {
                (&d1[0], &mut d0[0])
            };
            let delta = rows(delta, m, n_out);
            let a_prev = match l {
                0 => x,
                _ => rows(&ws.acts[l - 1], m, n_in),
            };
            let grad = &mut ws.grad.data;
            let mut dw = self.layout.weights_mut(grad, l);
            let beta = if lambda > S::zero() {
                dw.zip_mut_with(&self.weights(l), |g, &w| *g = decay * w);
                S::one()
            } else {
                S::zero()
            };
            // dW = (1/m)·Δ·A_prevᵀ (+ (λ/m)·W via β = 1)   (C <- α·op(A)·B + β·C)
            gemm(inv_m, delta.t(), a_prev, beta, dw);
            // db = (1/m)·Δ·1                                (y <- α·op(A)·x + 0·y)
            let db = ArrayViewMut1::from(&mut grad[self.layout.bias_range(l)]);
            gemv(inv_m, delta.t(), ones, S::zero(), db);
            if l > 0 {
                let next = &mut next[..m * n_in];
                // Δ_prev = Wᵀ·Δ, stored as Δᵀ·W             (C <- 1·A·B + 0·C)
                gemm(
                    S::one(),
                    delta,
                    self.weights(l),
                    S::zero(),
                    rows_mut(next, m, n_in),
                );
                // ⊙ g′(Z⁽ˡ⁻¹⁾), from the cached A⁽ˡ⁻¹⁾ (⊙ R with dropout).
                let (g, p) = (self.activations[l - 1], self.dropout[l - 1]);
                let a = &ws.acts[l - 1][..m * n_in];
                if p > 0.0 {
                    let r = &ws.dropout.masks[l - 1][..m * n_in];
                    g.mul_derivative_masked(next, a, r, S::cast(1.0 - p));
                } else {
                    g.mul_derivative(next, a);
                }
                cur = 1 - cur;
            }
        }
    }
}

/// Rows per chunk when `predict` sizes its own workspace.
const PREDICT_CHUNK: usize = 1024;

/// Seed of a new workspace's dropout stream (any fixed value; the trainer
/// reseeds it from its own seed).
const DROPOUT_SEED: u64 = 0x00D2_0B0E;

/// The class of one row of outputs: the index of the largest output, or, for
/// a single output, 1 when aᴸ ≥ ½ and 0 otherwise.
pub(crate) fn class_of<S: Scalar>(row: ArrayView1<'_, S>) -> usize {
    if row.len() == 1 {
        return usize::from(row[0] >= S::cast(0.5));
    }
    let mut best = 0;
    for (k, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = k;
        }
    }
    best
}

fn check_lambda<S: Scalar>(lambda: S) -> Result<()> {
    if lambda.is_finite() && lambda >= S::zero() {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name: "lambda",
            value: lambda.to_string(),
            reason: "the L2 coefficient must be finite and >= 0",
        })
    }
}

fn rows<S>(buf: &[S], m: usize, n: usize) -> ArrayView2<'_, S> {
    ArrayView2::from_shape((m, n), &buf[..m * n]).expect("workspace buffer holds m×n")
}

fn rows_mut<S>(buf: &mut [S], m: usize, n: usize) -> ArrayViewMut2<'_, S> {
    ArrayViewMut2::from_shape((m, n), &mut buf[..m * n]).expect("workspace buffer holds m×n")
}

/// Buffers for forward and backward passes on batches of up to `capacity`
/// samples, allocated once by [`Network::workspace`].
///
/// Holds A⁽ˡ⁾ᵀ for each hidden layer (g′ is computed from A, so Z is not
/// kept), Zᴸᵀ for the output, two delta buffers used alternately down the
/// layers, a ones vector for ∂J/∂b = (1/m)·Δ·1, and the gradient; for a
/// network with dropout, the masks of the training passes and their seeded
/// generator; and the label smoothing ε of the loss.
#[derive(Debug, Clone)]
pub struct Workspace<S: Scalar> {
    layout: Layout,
    capacity: usize,
    has_gradient: bool,
    acts: Vec<Vec<S>>,
    z_out: Vec<S>,
    delta: [Vec<S>; 2],
    ones: Vec<S>,
    grad: Gradient<S>,
    dropout: DropoutMasks<S>,
    label_smoothing: f64,
}

/// Inverted dropout's masks, one m × n_ℓ block per hidden layer with p > 0
/// (empty elsewhere and in an inference workspace): entry 0 for a dropped
/// unit, 1/(1 − p) for a kept one, drawn from a seeded stream.
#[derive(Debug, Clone)]
struct DropoutMasks<S> {
    p: Vec<f64>,
    masks: Vec<Vec<S>>,
    rng: ChaCha8Rng,
    held: bool,
}

impl<S: Scalar> DropoutMasks<S> {
    /// Draws the first `len` entries of layer `l`'s mask: each unit is kept
    /// with probability 1 − p (a 32-bit draw at or above p·2³²).
    fn draw(&mut self, l: usize, len: usize) {
        let p = self.p[l];
        let threshold = (p * 4_294_967_296.0) as u64;
        let scale = S::cast(1.0 / (1.0 - p));
        let rng = &mut self.rng;
        for r in &mut self.masks[l][..len] {
            *r = if u64::from(rng.next_u32()) >= threshold {
                scale
            } else {
                S::zero()
            };
        }
    }
}

impl<S: Scalar> Workspace<S> {
    fn new(layout: &Layout, dropout: &[f64], max_batch: usize, gradient: bool) -> Self {
        let cap = max_batch.max(1);
        let sizes = layout.sizes();
        let depth = layout.depth();
        let widest = sizes[1..].iter().copied().max().unwrap_or(0);
        let buf = |n: usize| vec![S::zero(); n];
        let masks = dropout
            .iter()
            .zip(&sizes[1..depth])
            .map(|(&p, &n)| {
                if gradient && p > 0.0 {
                    buf(cap * n)
                } else {
                    Vec::new()
                }
            })
            .collect();
        Workspace {
            layout: layout.clone(),
            capacity: cap,
            has_gradient: gradient,
            dropout: DropoutMasks {
                p: dropout.to_vec(),
                masks,
                rng: crate::init::rng(DROPOUT_SEED),
                held: false,
            },
            label_smoothing: 0.0,
            acts: sizes[1..depth].iter().map(|&n| buf(cap * n)).collect(),
            z_out: buf(cap * sizes[depth]),
            delta: if gradient {
                [buf(cap * widest), buf(cap * widest)]
            } else {
                [Vec::new(), Vec::new()]
            },
            ones: if gradient {
                vec![S::one(); cap]
            } else {
                Vec::new()
            },
            grad: Gradient {
                layout: layout.clone(),
                data: if gradient {
                    buf(layout.n_params())
                } else {
                    Vec::new()
                },
            },
        }
    }

    /// Most samples one batch may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Restarts the stream the dropout masks are drawn from at `seed`. A
    /// new workspace starts from a fixed seed, so the masks, like
    /// everything else, are the same from run to run.
    pub fn seed_dropout(&mut self, seed: u64) {
        self.dropout.rng = crate::init::rng(seed);
    }

    /// The dropout stream's word position, for checkpoints: restored on a
    /// workspace seeded alike, the masks go on as they would have.
    pub(crate) fn dropout_stream_position(&self) -> u128 {
        self.dropout.rng.get_word_pos()
    }

    pub(crate) fn set_dropout_stream_position(&mut self, position: u128) {
        self.dropout.rng.set_word_pos(position);
    }

    /// Holds the dropout masks fixed (`true`) or draws new ones at every
    /// gradient pass (`false`, the default). While held, gradient passes
    /// reuse the masks of the last one, and [`Network::cost`] applies them
    /// too, so that J and ∂J/∂θ describe the same thinned network: the
    /// setting of a gradient check
    /// ([`check_gradient_in`](crate::gradcheck::check_gradient_in)).
    /// Without a gradient pass before, the held masks drop every unit.
    pub fn hold_dropout_mask(&mut self, hold: bool) {
        self.dropout.held = hold;
    }

    /// Sets the label smoothing ε of the cross-entropy heads: the loss of
    /// every pass on this workspace uses the smoothed targets
    /// y′ = (1 − ε)·y + ε/K (see [`Loss::check_label_smoothing`]).
    /// Default 0.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for ε outside [0, 1).
    pub fn set_label_smoothing(&mut self, epsilon: f64) -> Result<()> {
        check::unit_interval("label_smoothing", epsilon)?;
        self.label_smoothing = epsilon;
        Ok(())
    }

    /// The label smoothing ε of this workspace's passes.
    pub fn label_smoothing(&self) -> f64 {
        self.label_smoothing
    }

    /// ∂J/∂θ from the last [`Network::compute_gradient`] (zeros before it).
    pub fn gradient(&self) -> &Gradient<S> {
        &self.grad
    }

    /// Mutable gradient, for transformations such as clipping.
    pub fn gradient_mut(&mut self) -> &mut Gradient<S> {
        &mut self.grad
    }

    fn output(&self, m: usize) -> ArrayView2<'_, S> {
        rows(&self.z_out, m, self.layout.sizes()[self.layout.depth()])
    }
}

/// ∂J/∂θ in the layout of [`Network::params`].
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient<S: Scalar> {
    layout: Layout,
    data: Vec<S>,
}

impl<S: Scalar> Gradient<S> {
    /// The layout shared with the network.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// ∂J/∂W for `layer`.
    ///
    /// # Panics
    /// If `layer` is out of range or the workspace is inference-only.
    pub fn weights(&self, layer: usize) -> ArrayView2<'_, S> {
        self.layout.weights(&self.data, layer)
    }

    /// ∂J/∂b for `layer`.
    ///
    /// # Panics
    /// If `layer` is out of range or the workspace is inference-only.
    pub fn biases(&self, layer: usize) -> ArrayView1<'_, S> {
        ArrayView1::from(&self.data[self.layout.bias_range(layer)])
    }

    /// The whole gradient, flat.
    pub fn as_slice(&self) -> &[S] {
        &self.data
    }

    /// The whole gradient, flat and mutable.
    pub fn as_mut_slice(&mut self) -> &mut [S] {
        &mut self.data
    }

    /// ‖∇J‖₂ over all parameters.
    pub fn norm(&self) -> f64 {
        self.data
            .iter()
            .map(|g| g.wide() * g.wide())
            .sum::<f64>()
            .sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_ranges_tile_the_vector() {
        let l = Layout::new(&[3, 4, 2]);
        assert_eq!(l.weight_range(0), 0..12);
        assert_eq!(l.bias_range(0), 12..16);
        assert_eq!(l.weight_range(1), 16..24);
        assert_eq!(l.bias_range(1), 24..26);
        assert_eq!(l.n_params(), 26);
    }

    #[test]
    fn class_of_single_output_thresholds_at_half() {
        assert_eq!(class_of(ArrayView1::from(&[0.49f32][..])), 0);
        assert_eq!(class_of(ArrayView1::from(&[0.5f32][..])), 1);
        assert_eq!(class_of(ArrayView1::from(&[0.1f32, 0.7, 0.2][..])), 1);
    }
}
