//! # backprop
//!
//! Multilayer perceptrons trained by backpropagation in matrix form, with every
//! matrix product of the forward and backward passes handed to the system BLAS
//! (OpenBLAS, or BLIS with the `blis` feature).
//!
//! The mathematics follows the lecture notes "Redes Neurais II" (D. Silva,
//! UFSC): Z⁽ˡ⁾ = W⁽ˡ⁾A⁽ˡ⁻¹⁾ + b⁽ˡ⁾, A⁽ˡ⁾ = g(Z⁽ˡ⁾); Δᴸ = Aᴸ − Yᵀ,
//! Δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀΔ⁽ˡ⁺¹⁾) ⊙ g′(Z⁽ˡ⁾), ∂J/∂W⁽ˡ⁾ = (1/m)Δ⁽ˡ⁾A⁽ˡ⁻¹⁾ᵀ + (λ/m)W⁽ˡ⁾,
//! ∂J/∂b⁽ˡ⁾ = (1/m)Δ⁽ˡ⁾·1. See [`network`] for how the lecture's
//! column-per-sample matrices map onto row-per-sample arrays.
//!
//! ## Quick start
//! ```
//! use backprop::{Activation, Loss, Network, Optimizer, Sgd};
//! use ndarray::array;
//!
//! // XOR: 2 inputs, 4 tanh units, one logistic output with cross-entropy.
//! let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let y = array![[0.0f32], [1.0], [1.0], [0.0]];
//! let mut net = Network::<f32>::builder(2)
//!     .hidden(4, Activation::Tanh)
//!     .output(1, Loss::BinaryCrossEntropy)
//!     .seed(7)
//!     .build()?;
//! let mut ws = net.workspace(4);
//! let mut sgd = Sgd::default(); // plain gradient descent
//! for _ in 0..2000 {
//!     net.compute_gradient(&mut ws, x.view(), &y, 0.0)?;
//!     sgd.step(&mut net, ws.gradient(), 0.5)?; // θ ← θ − η∇J, η = 0.5
//! }
//! assert_eq!(net.predict_classes(x.view())?, vec![0, 1, 1, 0]);
//! # Ok::<(), backprop::Error>(())
//! ```
//!
//! ## BLAS backend
//! The default `openblas` feature links the system OpenBLAS (Debian:
//! `apt-get install libopenblas-dev`); `build.rs` stops with that command when
//! it is missing. The `blis` feature links the system BLIS instead
//! (`apt-get install libblis-dev`; build with `--no-default-features
//! --features blis`, the two exclude each other). Built with neither, every
//! product runs ndarray's pure-Rust GEMM (whose packing buffers are allocated
//! on every call: the zero-allocation guarantee is the BLAS backends').
//! Thread counts: see [`parallel`].

#![warn(missing_docs)]

#[cfg(all(feature = "openblas", feature = "blis"))]
compile_error!(
    "features `openblas` and `blis` are mutually exclusive: for BLIS, build with \
     `--no-default-features --features blis` (add `cli` for the binary)"
);

#[cfg(feature = "openblas")]
extern crate blas_src;

pub mod activation;
mod check;
pub mod data;
pub mod denormal;
pub mod distributed;
pub mod error;
pub mod estimator;
pub mod gradcheck;
pub mod init;
pub mod io;
mod layer;
mod linalg;
pub mod loss;
pub mod metrics;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod network;
pub mod optim;
pub mod parallel;
pub mod preprocess;
pub mod recipes;
pub mod scalar;
pub mod schedule;
mod simd;
pub mod train;

/// The ndarray this crate is built with: pass arrays made with
/// `backprop::ndarray` when your project depends on another ndarray version.
pub use ndarray;

pub use activation::Activation;
pub use data::{AsLabels, Dataset, ImageAugment};
pub use error::{Error, Result};
pub use estimator::{ClassWeight, Classifier, MultiLabelClassifier, Regressor};
pub use gradcheck::{GradCheck, GradCheckReport, LayerCheck, check_gradient, check_gradient_in};
pub use init::{BiasInit, Init};
pub use layer::Dense;
pub use loss::{Loss, Targets};
pub use network::{Gradient, Layout, Network, NetworkBuilder, Workspace};
pub use optim::OptimizerState;
pub use optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, LbfgsConfig, Optimizer, Rmsprop, RmspropConfig, Sgd,
    SgdConfig, Solver, SolverConfig,
};
pub use scalar::Scalar;
pub use schedule::{Schedule, SchedulePosition};
pub use train::{
    Callback, Control, EarlyStopping, EpochRecord, History, Monitor, Restarts, RunReport, Trainer,
};

/// The README's code example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
