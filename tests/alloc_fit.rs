//! Epochs of `Trainer::fit` allocate nothing: all buffers (mini-batch,
//! workspace, optimizer state, validation, history) are made before the
//! first epoch, so a fit of 12 epochs allocates exactly as often as a fit of
//! 2. Allocations are counted on the test's own thread only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use backprop::data::Dataset;
use backprop::{Activation, EarlyStopping, Loss, Network, Solver, Trainer};
use ndarray::Array2;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; the bookkeeping touches only
// const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            COUNT.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            COUNT.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_for(epochs: usize, solver: Solver) -> u64 {
    let x = Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j) % 11) as f32 / 5.0 - 1.0);
    let labels: Vec<usize> = (0..50).map(|i| i % 3).collect();
    let w: Vec<f32> = (0..50).map(|i| 1.0 + (i % 2) as f32).collect();
    let mut net = Network::<f32>::builder(3)
        .hidden(8, Activation::Relu)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(1)
        .build()
        .unwrap();
    let trainer = Trainer::new()
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
    let data = Dataset::new(x.view(), &labels).with_sample_weight(&w);
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let h = trainer.fit(&mut net, data, None).unwrap();
    COUNTING.with(|c| c.set(false));
    assert_eq!(h.epochs.len(), epochs);
    COUNT.with(|n| n.get())
}

#[test]
fn epochs_allocate_nothing() {
    for solver in [Solver::adam(), Solver::momentum(0.9, true), Solver::sgd()] {
        let short = allocations_for(2, solver);
        let long = allocations_for(12, solver);
        assert!(short > 0, "the counter sees the setup allocations");
        assert_eq!(short, long, "{solver:?}: per-epoch allocations");
    }
}
