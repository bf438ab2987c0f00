//! The estimator defaults against scikit-learn's: a `Classifier` with one
//! 16-unit ReLU layer and every other setting at its default, on three
//! Gaussian blobs (150 rows) per seed, centered ("centered") and moved by
//! up to ±5 in each coordinate ("shifted"). Prints the training accuracy
//! per seed and writes each data set to `DIR/{centered,shifted}_SEED.csv`
//! (x0, x1, label) so that `bench/estimator_defaults.py` fits
//! scikit-learn's `MLPClassifier(hidden_layer_sizes=(16,))` to the very
//! same rows.
//!
//! ```text
//! cargo run --release --example estimator_defaults -- bench/results/blobs 5
//! python3 bench/estimator_defaults.py bench/results/blobs 5
//! ```

#[path = "../tests/common/blobs.rs"]
mod blobs;

use std::io::Write;

use backprop::estimator::Classifier;
use backprop::{Activation, Dense};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "bench/results/blobs".into());
    let seeds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    println!("seed  centered  shifted");
    let mut mean = [0.0; 2];
    for seed in 0..seeds {
        let mut acc = [0.0; 2];
        for (i, (name, shift)) in [("centered", 0.0), ("shifted", 5.0)]
            .into_iter()
            .enumerate()
        {
            let (x, y) = blobs::gaussian_blobs(3, 50, shift, seed);
            let path = format!("{dir}/{name}_{seed}.csv");
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            writeln!(f, "x0,x1,label")?;
            for (r, l) in x.rows().into_iter().zip(&y) {
                writeln!(f, "{:?},{:?},{l}", r[0], r[1])?;
            }
            let x = x.mapv(|v| v as f32);
            let mut clf = Classifier::new()
                .hidden_layers(&[Dense::new(16, Activation::Relu)])
                .seed(seed);
            clf.fit(x.view(), &y, None)?;
            acc[i] = 100.0 * clf.score(x.view(), &y)?;
            mean[i] += acc[i] / seeds as f64;
        }
        println!("{seed:>4}  {:>7.1}%  {:>6.1}%", acc[0], acc[1]);
    }
    println!("mean  {:>7.1}%  {:>6.1}%", mean[0], mean[1]);
    Ok(())
}
