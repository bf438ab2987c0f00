//! Trains a small MLP on three interleaved spirals (generated, seeded) with
//! mini-batch SGD and reports the cost and accuracy on held-out points.
//!
//! Run: `cargo run --release --example quickstart`

use std::time::Instant;

use backprop::{Activation, Loss, Network, Optimizer, Sgd, Targets};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const CLASSES: usize = 3;
const BATCH: usize = 32;
const EPOCHS: usize = 300;

/// `n` points per class on `CLASSES` spiral arms with Gaussian jitter.
fn spirals(n: usize, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.15).unwrap();
    let mut x = Array2::zeros((n * CLASSES, 2));
    let mut y = Vec::with_capacity(n * CLASSES);
    for c in 0..CLASSES {
        for i in 0..n {
            let r = i as f64 / n as f64;
            let t = c as f64 * 2.0 * std::f64::consts::PI / CLASSES as f64 + 4.0 * r;
            let row = c * n + i;
            x[[row, 0]] = (r * t.sin() + noise.sample(&mut rng) * r) as f32;
            x[[row, 1]] = (r * t.cos() + noise.sample(&mut rng) * r) as f32;
            y.push(c);
        }
    }
    (x, y)
}

fn accuracy(net: &Network<f32>, x: &Array2<f32>, y: &[usize]) -> backprop::Result<f64> {
    let pred = net.predict_classes(x.view())?;
    Ok(pred.iter().zip(y).filter(|(p, t)| p == t).count() as f64 / y.len() as f64)
}

fn main() -> backprop::Result<()> {
    let (x, y) = spirals(300, 1);
    let (x_test, y_test) = spirals(100, 2);
    let mut net = Network::<f32>::builder(2)
        .hidden(64, Activation::Tanh)
        .hidden(64, Activation::Tanh)
        .output(CLASSES, Loss::CategoricalCrossEntropy)
        .seed(42)
        .build()?;
    let mut sgd = Sgd::default();
    let mut ws = net.workspace(BATCH);
    let (mut xb, mut yb) = (Array2::zeros((BATCH, 2)), vec![0usize; BATCH]);
    let mut order: Vec<usize> = (0..y.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let start = Instant::now();
    for epoch in 1..=EPOCHS {
        // Each epoch visits every sample once, in a fresh seeded order.
        order.shuffle(&mut rng);
        let mut cost = 0.0;
        for chunk in order.chunks(BATCH) {
            let m = chunk.len();
            for (r, &i) in chunk.iter().enumerate() {
                xb.row_mut(r).assign(&x.row(i));
                yb[r] = y[i];
            }
            let xm = xb.slice_axis(Axis(0), (0..m).into());
            cost += net.compute_gradient(&mut ws, xm, Targets::Classes(&yb[..m]), 1e-3)? * m as f32;
            sgd.step(&mut net, ws.gradient(), 0.3)?;
        }
        if epoch % 50 == 0 {
            println!(
                "epoch {epoch:>3}  train cost {:.4}  train acc {:.3}  test acc {:.3}",
                cost / y.len() as f32,
                accuracy(&net, &x, &y)?,
                accuracy(&net, &x_test, &y_test)?
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "trained {} parameters in {secs:.2} s ({:.0} samples/s); test accuracy {:.3}",
        net.n_params(),
        (EPOCHS * y.len()) as f64 / secs,
        accuracy(&net, &x_test, &y_test)?
    );
    Ok(())
}
