//! Shapes shared by the criterion benches (`benches/*.rs`) and the report
//! program (`examples/bench_report/`), so that both measure the same thing.
//!
//! Included with `#[path = ...] mod configs;`: each bench and the example is
//! its own crate, and a helper module here keeps the tables in one place.
//! Not every includer uses every item.
#![allow(dead_code)]

use backprop::{Activation, Loss, Network, Targets};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

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

/// One matrix product of a training step, as the network issues it.
#[derive(Debug, Clone, Copy)]
pub struct GemmShape {
    /// 0-based weight layer.
    pub layer: usize,
    /// `fwd` (Zᵀ = Aᵀ·Wᵀ), `dW` (Δᵀ·A) or `dX` (Δ·W).
    pub op: &'static str,
    /// C is m×n, the inner dimension is k.
    pub m: usize,
    /// See `m`.
    pub n: usize,
    /// See `m`.
    pub k: usize,
    /// A is stored k×m and passed transposed.
    pub trans_a: bool,
    /// B is stored n×k and passed transposed.
    pub trans_b: bool,
}

impl GemmShape {
    /// 2·m·n·k.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }

    /// `op[m×n×k]`, e.g. `fwd[256x2048x2048]`.
    pub fn label(&self) -> String {
        format!(
            "L{}-{}[{}x{}x{}]",
            self.layer, self.op, self.m, self.n, self.k
        )
    }
}

/// The GEMMs of one training step, layer by layer, with the operand layouts
/// `Network::compute_gradient` uses (row-major buffers, W stored n_out×n_in).
pub fn step_gemms(sizes: &[usize], batch: usize) -> Vec<GemmShape> {
    let mut out = Vec::new();
    for (l, p) in sizes.windows(2).enumerate() {
        let (n_in, n_out) = (p[0], p[1]);
        // Zᵀ (B×n_out) = A_prevᵀ (B×n_in) · Wᵀ, W stored n_out×n_in.
        out.push(GemmShape {
            layer: l,
            op: "fwd",
            m: batch,
            n: n_out,
            k: n_in,
            trans_a: false,
            trans_b: true,
        });
        // dW (n_out×n_in) = Δᵀ · A_prevᵀᵀ, Δ stored B×n_out.
        out.push(GemmShape {
            layer: l,
            op: "dW",
            m: n_out,
            n: n_in,
            k: batch,
            trans_a: true,
            trans_b: false,
        });
        if l > 0 {
            // Δ_prev (B×n_in) = Δ (B×n_out) · W (n_out×n_in).
            out.push(GemmShape {
                layer: l,
                op: "dX",
                m: batch,
                n: n_in,
                k: n_out,
                trans_a: false,
                trans_b: false,
            });
        }
    }
    out
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
        let a = if shape.trans_a {
            inputs(shape.k, shape.m, 11)
        } else {
            inputs(shape.m, shape.k, 11)
        };
        let b = if shape.trans_b {
            inputs(shape.n, shape.k, 12)
        } else {
            inputs(shape.k, shape.n, 12)
        };
        GemmOperands {
            shape,
            a,
            b,
            c: Array2::zeros((shape.m, shape.n)),
        }
    }

    /// C ← A·B through ndarray's `general_mat_mul`. With the crate's default
    /// `openblas` feature, ndarray's `blas` feature is on and every product
    /// here (some dimension > 7, f32, each operand contiguous along rows or
    /// columns) is one `cblas_sgemm` call with `CblasRowMajor` and the
    /// transpose flags of the shape: the same call, flags and leading
    /// dimensions as the crate's private `linalg::gemm` makes.
    pub fn run(&mut self) {
        let a: ArrayView2<'_, f32> = if self.shape.trans_a {
            self.a.t()
        } else {
            self.a.view()
        };
        let b: ArrayView2<'_, f32> = if self.shape.trans_b {
            self.b.t()
        } else {
            self.b.view()
        };
        let mut c: ArrayViewMut2<'_, f32> = self.c.view_mut();
        ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
    }
}
