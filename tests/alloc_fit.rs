//! Epochs of `Trainer::fit` allocate nothing: all buffers (mini-batch,
//! workspace, optimizer state, validation, history) are made before the
//! first epoch, so a fit of 12 epochs allocates exactly as often as a fit of
//! 2. Allocations through Rust's allocator are counted on every thread (the
//! caller's and the elementwise pool's) by `common/counting_alloc.rs`; the
//! file runs without libtest, so nothing else runs.

use backprop::data::{Dataset, ImageAugment};
use backprop::{
    Activation, AdamConfig, Dense, EarlyStopping, Loss, Network, SgdConfig, Solver, Trainer,
};
use ndarray::Array2;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

fn allocations_for(epochs: usize, solver: Solver) -> u64 {
    allocations_with(epochs, solver, 0.0, false)
}

/// As [`allocations_for`], with dropout rate `p` on the hidden layer and,
/// when `p` > 0, label smoothing and a max-norm constraint; with `augment`,
/// each row mirrored at random as a 1 x 3 image.
fn allocations_with(epochs: usize, solver: Solver, p: f64, augment: bool) -> u64 {
    let x = Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j) % 11) as f32 / 5.0 - 1.0);
    let labels: Vec<usize> = (0..50).map(|i| i % 3).collect();
    let w: Vec<f32> = (0..50).map(|i| 1.0 + (i % 2) as f32).collect();
    let mut net = Network::<f32>::builder(3)
        .layer(Dense::new(8, Activation::Relu).dropout(p))
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap();
    let mut trainer = Trainer::new()
        .solver(solver)
        .learning_rate(0.01)
        .batch_size(7) // 40 training rows: 6 batches, the last one of 5
        .epochs(epochs)
        .clip_norm(10.0)
        .validation_fraction(0.2)
        .early_stopping(EarlyStopping {
            patience: 1000,
            ..EarlyStopping::default()
        });
    if p > 0.0 {
        trainer = trainer.label_smoothing(0.1).max_norm(2.0);
    }
    if augment {
        // A 1 x 3 image has no room for a shift; the mirror takes the
        // same path through the batcher.
        let a = ImageAugment::new(1, 3).hflip(true);
        trainer = trainer.augment(a.fill(vec![-0.5, 0.25, 1.0]));
    }
    let data = Dataset::new(x.view(), &labels).with_sample_weight(&w);
    let (h, count) = counting_alloc::allocations_in(|| trainer.fit(&mut net, data, None).unwrap());
    assert_eq!(h.epochs.len(), epochs);
    count
}

fn epochs_allocate_nothing() {
    // One thread: everything runs on the caller.
    let nesterov = SgdConfig {
        momentum: 0.9,
        nesterov: true,
    };
    let sgd = Solver::Sgd(SgdConfig::default());
    for solver in [Solver::Adam(AdamConfig::default()), nesterov.into(), sgd] {
        let short = allocations_for(2, solver);
        let long = allocations_for(12, solver);
        assert!(short > 0, "the counter sees the setup allocations");
        assert_eq!(short, long, "{solver:?}: per-epoch allocations");
    }
    let adam = Solver::Adam(AdamConfig::default());
    assert_eq!(
        allocations_with(2, adam, 0.4, false),
        allocations_with(12, adam, 0.4, false),
        "dropout, label smoothing, max-norm: per-epoch allocations"
    );
    assert_eq!(
        allocations_with(2, adam, 0.0, true),
        allocations_with(12, adam, 0.0, true),
        "image augmentation: per-epoch allocations"
    );
    // Two threads, every elementwise pass sent to the pool.
    backprop::parallel::set_num_threads(2).unwrap();
    backprop::parallel::set_min_parallel_len(0);
    // A few times untimed, so the new pool's threads finish starting up
    // (each allocates its own bookkeeping the first time it steals work,
    // which on a busy machine may take more than one fit) before anything
    // is counted.
    for _ in 0..3 {
        allocations_for(2, sgd);
    }
    let short = allocations_for(2, sgd);
    let long = allocations_for(12, sgd);
    assert_eq!(short, long, "per-epoch allocations with a thread pool");
}

/// Runs without libtest (`harness = false` in Cargo.toml): the harness's own
/// threads would allocate while the global counter is on.
fn main() {
    if cfg!(not(any(feature = "openblas", feature = "blis"))) {
        // matrixmultiply, the pure-Rust fallback GEMM, allocates its packing
        // buffers on every call; the guarantee is the BLAS backends'.
        println!("test epochs_allocate_nothing ... skipped: built without a BLAS feature");
        println!("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out");
        return;
    }
    epochs_allocate_nothing();
    println!("test epochs_allocate_nothing ... ok");
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}
