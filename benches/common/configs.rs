//! Shapes shared by the criterion benches (`benches/*.rs`) and the report
//! program (`examples/bench_report/`), so that both measure the same thing.
//!
//! Included with `#[path = ...] mod configs;`: each bench and the example is
//! its own crate, and a helper module here keeps the tables in one place.
//! Not every includer uses every item.
#![allow(dead_code)]

use backprop::{Activation, Loss, Network, Targets};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

/// One benchmark configuration: layer sizes (input first), hidden activation,
/// loss and batch size of a training step.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Short name used in group names, reports and on the command line.
    pub name: &'static str,
    /// n₀ (inputs), hidden widths, n_L (outputs).
    pub sizes: &'static [usize],
    /// Activation of every hidden layer.
    pub hidden: Activation,
    /// Output head.
    pub loss: Loss,
    /// Samples per training step.
    pub batch: usize,
    /// Seconds per step rather than milliseconds: skipped by quick/smoke runs.
    pub big: bool,
}

/// The configurations of the training-step and inference measurements.
pub const CONFIGS: &[Config] = &[
    Config {
        name: "S",
        sizes: &[784, 128, 10],
        hidden: Activation::Relu,
        loss: Loss::CategoricalCrossEntropy,
        batch: 64,
        big: false,
    },
    Config {
        name: "M",
        sizes: &[784, 512, 256, 10],
        hidden: Activation::Relu,
        loss: Loss::CategoricalCrossEntropy,
        batch: 128,
        big: false,
    },
    Config {
        name: "T",
        sizes: &[784, 256, 256, 10],
        hidden: Activation::Tanh,
        loss: Loss::BinaryCrossEntropy,
        batch: 128,
        big: false,
    },
    Config {
        name: "L",
        sizes: &[2048, 2048, 2048, 2048, 10],
        hidden: Activation::Relu,
        loss: Loss::CategoricalCrossEntropy,
        batch: 256,
        big: true,
    },
    Config {
        name: "XL",
        sizes: &[4096, 4096, 4096, 10],
        hidden: Activation::Relu,
        loss: Loss::CategoricalCrossEntropy,
        batch: 512,
        big: true,
    },
];

/// Batch sizes of the inference (forward-only) measurements.
pub const INFERENCE_BATCHES: &[usize] = &[1, 64, 1024];

/// Thread counts measured (the development machine has 2 cores).
pub const THREADS: &[usize] = &[1, 2];

/// Learning rate of the SGD update in every step measurement (the value does
/// not change the work done; it is small so that weights stay finite).
pub const LEARNING_RATE: f64 = 1e-3;

/// Batch of the scaling families.
pub const SCALING_BATCH: usize = 64;

/// "Same depth, growing width": three hidden layers of `w` units,
/// `w → w → w → w → 10`, N ≈ 3w² from about 10⁴ to 10⁷.
pub const WIDTH_FAMILY: &[usize] = &[56, 100, 180, 320, 580, 1024, 1824];

/// Hidden units of every layer of the "same width, growing depth" family.
pub const DEPTH_FAMILY_WIDTH: usize = 100;

/// "Same width, growing depth": `d` tanh layers of 100 units between 100
/// inputs and 10 outputs, N ≈ d·10⁴ from about 10⁴ to 10⁷. tanh with Glorot
/// initialisation keeps activations and deltas of a deep stack away from
/// subnormal numbers, which would distort the timings.
pub const DEPTH_FAMILY: &[usize] = &[1, 3, 10, 30, 100, 300, 1000];

/// Hidden widths of the backprop-vs-central-differences family
/// `8 → h → 4` (N = 13h + 4, about 10² to 10⁴).
pub const FD_FAMILY: &[usize] = &[8, 24, 80, 240, 768];

/// Batch of the finite-difference comparison.
pub const FD_BATCH: usize = 16;

/// Quick/smoke variants: the same families over tiny sizes.
pub const WIDTH_FAMILY_SMOKE: &[usize] = &[16, 32, 64];
/// See [`WIDTH_FAMILY_SMOKE`].
pub const DEPTH_FAMILY_SMOKE: &[usize] = &[1, 2, 4];
/// See [`WIDTH_FAMILY_SMOKE`].
pub const FD_FAMILY_SMOKE: &[usize] = &[8, 24, 80];

/// Sizes of a width-family member.
pub fn width_sizes(w: usize) -> Vec<usize> {
    vec![w, w, w, w, 10]
}

/// Sizes of a depth-family member.
pub fn depth_sizes(d: usize) -> Vec<usize> {
    let mut s = vec![DEPTH_FAMILY_WIDTH; d + 1];
    s.push(10);
    s
}

/// Sizes of a finite-difference-family member.
pub fn fd_sizes(h: usize) -> Vec<usize> {
    vec![8, h, 4]
}

/// True when `BACKPROP_BENCH_QUICK` is set to anything but `0` or empty:
/// short measurement times and no big configurations, for smoke runs.
pub fn quick() -> bool {
    std::env::var("BACKPROP_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The configurations a bench should run: `BACKPROP_BENCH_CONFIGS=S,M` picks
/// by name; otherwise all of them, less the big ones in quick mode.
pub fn selected_configs() -> Vec<Config> {
    if let Ok(list) = std::env::var("BACKPROP_BENCH_CONFIGS") {
        let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
        return CONFIGS
            .iter()
            .filter(|c| wanted.iter().any(|w| w.eq_ignore_ascii_case(c.name)))
            .copied()
            .collect();
    }
    CONFIGS
        .iter()
        .filter(|c| !(quick() && c.big))
        .copied()
        .collect()
}

/// Looks a configuration up by name (case-insensitive).
pub fn config_by_name(name: &str) -> Option<Config> {
    CONFIGS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .copied()
}

/// Σ n_in·n_out over the layers: the weights (biases excluded) that each
/// step multiplies three times (forward, ∂J/∂W, back-propagated delta).
pub fn n_weights(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|p| p[0] * p[1]).sum()
}

/// Floating-point operations counted per training step: 6·B·N_weights
/// (three GEMMs of 2·B·n_in·n_out per layer). The first layer does not
/// back-propagate a delta, so this slightly overstates the work; every
/// implementation is credited the same count.
pub fn step_flops(sizes: &[usize], batch: usize) -> f64 {
    6.0 * batch as f64 * n_weights(sizes) as f64
}

/// Floating-point operations the step's GEMMs actually perform:
/// 6·B·N_weights less the first layer's back-propagated delta
/// (2·B·n₀·n₁), which nothing consumes and the network skips.
pub fn step_gemm_flops(sizes: &[usize], batch: usize) -> f64 {
    step_flops(sizes, batch) - 2.0 * batch as f64 * (sizes[0] * sizes[1]) as f64
}

/// Floating-point operations of a forward pass: 2·B·N_weights.
pub fn forward_flops(sizes: &[usize], batch: usize) -> f64 {
    2.0 * batch as f64 * n_weights(sizes) as f64
}

/// Parameter count N (weights and biases).
pub fn n_params(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|p| p[0] * p[1] + p[1]).sum()
}

/// Builds a seeded f32 network with the given sizes.
///
/// # Panics
/// On sizes the builder rejects (the tables above hold valid ones).
pub fn build(sizes: &[usize], hidden: backprop::Activation, loss: Loss) -> Network<f32> {
    let mut b = Network::<f32>::builder(sizes[0]);
    for &n in &sizes[1..sizes.len() - 1] {
        b = b.hidden(n, hidden);
    }
    b.output(sizes[sizes.len() - 1], loss)
        .seed(1)
        .build()
        .expect("benchmark configurations are valid")
}

/// Targets of a synthetic batch, owned.
pub enum OwnedTargets {
    /// One class per sample (softmax cross-entropy).
    Classes(Vec<usize>),
    /// A 0/1 matrix (logistic BCE, multilabel).
    Dense(Array2<f32>),
}

impl OwnedTargets {
    /// Borrowed form for `compute_gradient`.
    pub fn view(&self) -> Targets<'_, f32> {
        match self {
            OwnedTargets::Classes(c) => Targets::Classes(c),
            OwnedTargets::Dense(y) => Targets::Dense(y.view()),
        }
    }

    /// Rows `start..end`, borrowed.
    pub fn rows(&self, start: usize, end: usize) -> Targets<'_, f32> {
        match self {
            OwnedTargets::Classes(c) => Targets::Classes(&c[start..end]),
            OwnedTargets::Dense(y) => Targets::Dense(y.slice(ndarray::s![start..end, ..])),
        }
    }

    /// The first `rows` samples as a dense `rows × n_outputs` matrix (one-hot
    /// rows for classes): the Y that Δᴸ = Aᴸ − Y subtracts.
    pub fn dense(&self, rows: usize, n_outputs: usize) -> Array2<f32> {
        match self {
            OwnedTargets::Classes(c) => {
                Array2::from_shape_fn((rows, n_outputs), |(i, k)| f32::from(u8::from(c[i] == k)))
            }
            OwnedTargets::Dense(y) => y.slice(ndarray::s![..rows, ..]).to_owned(),
        }
    }
}

/// splitmix64: a fixed, dependency-free stream for synthetic inputs.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A `rows × cols` matrix of uniform values in [−1, 1), seeded.
pub fn inputs(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut s = seed;
    Array2::from_shape_simple_fn((rows, cols), || {
        (splitmix(&mut s) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

/// Targets for `rows` samples of a head with `n_outputs` units: class
/// `i mod n_outputs` for softmax cross-entropy, a fixed 0/1 pattern
/// otherwise.
pub fn targets(rows: usize, n_outputs: usize, loss: Loss) -> OwnedTargets {
    match loss {
        Loss::CategoricalCrossEntropy => {
            OwnedTargets::Classes((0..rows).map(|i| i % n_outputs).collect())
        }
        _ => OwnedTargets::Dense(Array2::from_shape_fn((rows, n_outputs), |(i, k)| {
            f32::from(u8::from((i * 7 + k) % 3 == 0))
        })),
    }
}

/// One BLAS call of a training step, as the network issues it.
#[derive(Debug, Clone, Copy)]
pub struct GemmShape {
    /// 0-based weight layer.
    pub layer: usize,
    /// `fwd` (Zᵀ = Aᵀ·Wᵀ), `dW` (Δᵀ·A), `db` (Δᵀ·1, a GEMV) or `dX` (Δ·W).
    pub op: &'static str,
    /// C is m×n (n = 1 for the GEMV), the inner dimension is k.
    pub m: usize,
    /// See `m`.
    pub n: usize,
    /// See `m`.
    pub k: usize,
    /// A is stored k×m and passed transposed.
    pub trans_a: bool,
    /// B is stored n×k and passed transposed.
    pub trans_b: bool,
    /// C ← α·op(A)·op(B) + β·C.
    pub alpha: f32,
    /// See `alpha`.
    pub beta: f32,
}

impl GemmShape {
    /// 2·m·n·k.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }

    /// `op[m×n×k]`, e.g. `L0-fwd[256x2048x2048]`.
    pub fn label(&self) -> String {
        format!(
            "L{}-{}[{}x{}x{}]",
            self.layer, self.op, self.m, self.n, self.k
        )
    }

    /// The bias gradient's matrix-vector product rather than a GEMM.
    pub fn is_gemv(&self) -> bool {
        self.op == "db"
    }
}

/// Every BLAS call of one training step (`Network::compute_gradient`
/// without L2), in the order the network issues them, with its operand
/// layouts (row-major buffers, W stored n_out×n_in) and α/β: the forward
/// GEMM of each layer, then from the output down, per layer, the dW GEMM,
/// the db GEMV and, above the first layer, the Δ_prev GEMM.
pub fn step_calls(sizes: &[usize], batch: usize) -> Vec<GemmShape> {
    let inv_m = 1.0 / batch as f32;
    let call = |layer, op, (m, n, k), (trans_a, trans_b), alpha| GemmShape {
        layer,
        op,
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta: 0.0,
    };
    let layers: Vec<(usize, usize)> = sizes.windows(2).map(|p| (p[0], p[1])).collect();
    let mut out = Vec::new();
    for (l, &(n_in, n_out)) in layers.iter().enumerate() {
        // Zᵀ (B×n_out) = A_prevᵀ (B×n_in) · Wᵀ, W stored n_out×n_in.
        out.push(call(l, "fwd", (batch, n_out, n_in), (false, true), 1.0));
    }
    for (l, &(n_in, n_out)) in layers.iter().enumerate().rev() {
        // dW (n_out×n_in) = (1/B)·Δᵀᵀ · A_prevᵀ, Δ stored B×n_out.
        out.push(call(l, "dW", (n_out, n_in, batch), (true, false), inv_m));
        // db (n_out) = (1/B)·Δᵀᵀ · 1.
        out.push(call(l, "db", (n_out, 1, batch), (true, false), inv_m));
        if l > 0 {
            // Δ_prev (B×n_in) = Δ (B×n_out) · W (n_out×n_in).
            out.push(call(l, "dX", (batch, n_in, n_out), (false, false), 1.0));
        }
    }
    out
}

/// The GEMMs of one training step (the calls of [`step_calls`] less the
/// GEMVs).
pub fn step_gemms(sizes: &[usize], batch: usize) -> Vec<GemmShape> {
    let mut calls = step_calls(sizes, batch);
    calls.retain(|c| !c.is_gemv());
    calls
}

/// The distinct GEMM shapes (same m, n, k and transposes counted once).
pub fn distinct_gemms(configs: &[Config]) -> Vec<(&'static str, GemmShape)> {
    let mut out: Vec<(&'static str, GemmShape)> = Vec::new();
    for c in configs {
        for g in step_gemms(c.sizes, c.batch) {
            let seen = out.iter().any(|(_, h)| {
                (h.m, h.n, h.k, h.trans_a, h.trans_b) == (g.m, g.n, g.k, g.trans_a, g.trans_b)
            });
            if !seen {
                out.push((c.name, g));
            }
        }
    }
    out
}

/// A seeded `rows × cols` operand, scaled by 1/√cols so that products of
/// chained operands stay near 1 (far from subnormal numbers and overflow).
fn operand(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let scale = 1.0 / (cols.max(1) as f32).sqrt();
    inputs(rows, cols, seed).mapv_into(|v| v * scale)
}

/// C ← α·op(A)·op(B) + β·C (or the GEMV y ← α·op(A)·x + β·y when `c` has
/// one column) through ndarray. With the crate's default `openblas`
/// feature, ndarray's `blas` feature is on and every product here (some
/// dimension > 7, f32, each operand contiguous along rows or columns) is one
/// `cblas_sgemm` call with `CblasRowMajor` and the transpose flags of the
/// shape: the same call, flags and leading dimensions as the crate's private
/// `linalg::gemm` makes. The GEMV is one `cblas_sgemv` call; ndarray passes
/// the transposed Δ as `CblasColMajor` without transpose, which OpenBLAS runs
/// with the same kernel as `linalg::gemv`'s `CblasRowMajor` with transpose.
fn blas_call(
    shape: &GemmShape,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    mut c: ArrayViewMut2<'_, f32>,
) {
    let a = if shape.trans_a { a.reversed_axes() } else { a };
    if shape.is_gemv() {
        let x = b.index_axis_move(Axis(1), 0);
        let mut y = c.index_axis_move(Axis(1), 0);
        ndarray::linalg::general_mat_vec_mul(shape.alpha, &a, &x, shape.beta, &mut y);
        return;
    }
    let b = if shape.trans_b { b.reversed_axes() } else { b };
    ndarray::linalg::general_mat_mul(shape.alpha, &a, &b, shape.beta, &mut c);
}

/// Operands for one [`GemmShape`], allocated once.
pub struct GemmOperands {
    shape: GemmShape,
    a: Array2<f32>,
    b: Array2<f32>,
    c: Array2<f32>,
}

impl GemmOperands {
    /// Seeded operands in the layouts of `shape`.
    pub fn new(shape: GemmShape) -> Self {
        let (am, an) = if shape.trans_a {
            (shape.k, shape.m)
        } else {
            (shape.m, shape.k)
        };
        let (bm, bn) = if shape.trans_b {
            (shape.n, shape.k)
        } else {
            (shape.k, shape.n)
        };
        GemmOperands {
            shape,
            a: operand(am, an, 11),
            b: operand(bm, bn, 12),
            c: Array2::zeros((shape.m, shape.n)),
        }
    }

    /// The call of the shape: see [`blas_call`].
    pub fn run(&mut self) {
        blas_call(&self.shape, self.a.view(), self.b.view(), self.c.view_mut());
    }
}

/// Every BLAS call of a training step alone ([`step_calls`], in order),
/// on buffers laid out as the network's: weights n_out×n_in, activations
/// and deltas B×n, the batch B×n₀, a ones vector for db. Operands are seeded
/// uniform values of ordinary magnitude, so the time is the GEMMs' on normal
/// numbers whatever the weights of the step it is compared with.
pub struct StepGemms {
    calls: Vec<GemmShape>,
    x: Array2<f32>,
    w: Vec<Array2<f32>>,
    /// a[l]: output of weight layer l (B×n_{l+1}).
    a: Vec<Array2<f32>>,
    /// delta[l]: Δ of weight layer l (B×n_{l+1}).
    delta: Vec<Array2<f32>>,
    dw: Vec<Array2<f32>>,
    db: Vec<Array2<f32>>,
    ones: Array2<f32>,
}

impl StepGemms {
    /// Buffers for the step of `sizes` at `batch`.
    pub fn new(sizes: &[usize], batch: usize) -> Self {
        let layers: Vec<(usize, usize)> = sizes.windows(2).map(|p| (p[0], p[1])).collect();
        let per_layer = |f: &dyn Fn(usize, usize, u64) -> Array2<f32>| -> Vec<Array2<f32>> {
            let seeds = 20u64..;
            layers
                .iter()
                .zip(seeds)
                .map(|(&(i, o), s)| f(i, o, s))
                .collect()
        };
        StepGemms {
            calls: step_calls(sizes, batch),
            x: operand(batch, sizes[0], 13),
            w: per_layer(&|i, o, s| operand(o, i, s)),
            a: per_layer(&|_, o, _| Array2::zeros((batch, o))),
            delta: per_layer(&|_, o, s| operand(batch, o, s + 100)),
            dw: per_layer(&|i, o, _| Array2::zeros((o, i))),
            db: per_layer(&|_, o, _| Array2::zeros((o, 1))),
            ones: Array2::ones((batch, 1)),
        }
    }

    /// The calls, in the order [`run`](Self::run) makes them.
    pub fn calls(&self) -> &[GemmShape] {
        &self.calls
    }

    /// Every call of the step once.
    pub fn run(&mut self) {
        for call in &self.calls {
            let l = call.layer;
            match call.op {
                "fwd" => {
                    let (done, rest) = self.a.split_at_mut(l);
                    let input = if l == 0 {
                        self.x.view()
                    } else {
                        done[l - 1].view()
                    };
                    blas_call(call, input, self.w[l].view(), rest[0].view_mut());
                }
                "dW" => {
                    let a_prev = if l == 0 {
                        self.x.view()
                    } else {
                        self.a[l - 1].view()
                    };
                    blas_call(call, self.delta[l].view(), a_prev, self.dw[l].view_mut());
                }
                "db" => blas_call(
                    call,
                    self.delta[l].view(),
                    self.ones.view(),
                    self.db[l].view_mut(),
                ),
                "dX" => {
                    let (below, above) = self.delta.split_at_mut(l);
                    let (d, w) = (above[0].view(), self.w[l].view());
                    blas_call(call, d, w, below[l - 1].view_mut());
                }
                other => unreachable!("step_calls makes no `{other}`"),
            }
        }
    }
}
