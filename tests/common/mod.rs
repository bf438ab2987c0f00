//! Shared helpers for the integration tests: seeded random data for every
//! head.

#![allow(dead_code)]

use backprop::Loss;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// m×n matrix with entries uniform in [lo, hi].
pub fn uniform(m: usize, n: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    let mut r = rng(seed);
    let d = Uniform::new_inclusive(lo, hi).unwrap();
    Array2::from_shape_fn((m, n), |_| d.sample(&mut r))
}

/// Dense targets valid for `loss`: real values for squared error, values in
/// (0, 1) for BCE, probability rows for categorical cross-entropy.
pub fn dense_targets(loss: Loss, m: usize, k: usize, seed: u64) -> Array2<f64> {
    match loss {
        Loss::SquaredError => uniform(m, k, -1.0, 1.0, seed),
        Loss::BinaryCrossEntropy => uniform(m, k, 0.05, 0.95, seed),
        Loss::CategoricalCrossEntropy => {
            let mut y = uniform(m, k, 0.1, 1.0, seed);
            for mut row in y.rows_mut() {
                let s = row.sum();
                row /= s;
            }
            y
        }
    }
}

/// One class label per row in 0..k.
pub fn labels(m: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut r = rng(seed);
    let d = Uniform::new(0, k).unwrap();
    (0..m).map(|_| d.sample(&mut r)).collect()
}
