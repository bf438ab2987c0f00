//! Easy Gaussian blobs in the manner of scikit-learn's `make_blobs`, drawn
//! from a seeded ChaCha8 stream: `k` centers 8 apart on a circle (for k = 3
//! an equilateral triangle of side 8), moved together by an offset uniform
//! in [-shift, shift]², then `per_class` points around each, N(0, 1) in
//! each coordinate: every pair of classes 4σ from the midline between
//! them, so the classes are separable in practice. Rows come class by class (labels
//! 0, 1, ...). Shared by the estimator tests and the
//! `estimator_defaults` example, which writes them out for scikit-learn.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

/// (x, labels): `k · per_class` rows of 2 features.
pub fn gaussian_blobs(
    k: usize,
    per_class: usize,
    shift: f64,
    seed: u64,
) -> (Array2<f64>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let offset = Uniform::new_inclusive(-shift, shift).expect("a valid range");
    let (ox, oy) = (offset.sample(&mut rng), offset.sample(&mut rng));
    // Neighbouring centers on a circle of radius r are 2r·sin(π/k) apart.
    let r = 8.0 / (2.0 * (std::f64::consts::PI / k as f64).sin());
    let c: Vec<[f64; 2]> = (0..k)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / k as f64;
            [ox + r * a.cos(), oy + r * a.sin()]
        })
        .collect();
    let m = k * per_class;
    let mut x = Array2::zeros((m, 2));
    let mut labels = Vec::with_capacity(m);
    for i in 0..m {
        let class = i / per_class;
        for j in 0..2 {
            let z: f64 = StandardNormal.sample(&mut rng);
            x[[i, j]] = c[class][j] + z;
        }
        labels.push(class);
    }
    (x, labels)
}
