//! Fashion-MNIST through the library API: the same job as `backprop train`
//! with no arguments, with the settings of `backprop::recipes::fashion_mnist`.
//!
//! Needs the data set (`apt-get install dataset-fashion-mnist`, or set
//! `BACKPROP_FASHION_MNIST_DIR`). Run:
//! `cargo run --release --example fashion_mnist`

use std::path::PathBuf;
use std::time::Instant;

use backprop::data::{Dataset, OwnedTargets, holdout_split};
use backprop::io::{read_idx_features, read_idx_labels};
use backprop::preprocess::Scaler;
use backprop::{Loss, metrics, recipes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var_os("BACKPROP_FASHION_MNIST_DIR").map_or_else(
        || PathBuf::from("/usr/share/datasets/fashion-mnist"),
        PathBuf::from,
    );
    if !dir.join("train-images-idx3-ubyte.gz").is_file() {
        return Err(format!(
            "Fashion-MNIST not found in {}; install with `apt-get install dataset-fashion-mnist`",
            dir.display()
        )
        .into());
    }
    let x = read_idx_features::<f32>(dir.join("train-images-idx3-ubyte.gz"))?;
    let y = read_idx_labels(dir.join("train-labels-idx1-ubyte.gz"))?;
    let mut x_test = read_idx_features::<f32>(dir.join("t10k-images-idx3-ubyte.gz"))?;
    let y_test = read_idx_labels(dir.join("t10k-labels-idx1-ubyte.gz"))?;

    let recipe = recipes::fashion_mnist();
    // A stratified hold-out for validation and early stopping.
    let fraction = recipe.validation_fraction.unwrap_or(0.1);
    let (mut train, mut val) = holdout_split(&Dataset::new(x.view(), &y), fraction, recipe.seed)?;
    drop(x);

    // Scaling fitted on the training rows only, applied to every set.
    if let Some(scaling) = recipe.scaling {
        let scaler = Scaler::fit(scaling, train.x.view())?;
        for x in [&mut train.x, &mut val.x, &mut x_test] {
            scaler.transform_in_place(x.view_mut())?;
        }
    }

    let mut net = recipe
        .builder::<f32>(784, 10, Loss::CategoricalCrossEntropy)
        .build()?;
    let start = Instant::now();
    let history = recipe
        .trainer
        .fit(&mut net, train.view(), Some(val.view()))?;
    let seconds = start.elapsed().as_secs_f64();

    let accuracy = |x: &ndarray::Array2<f32>, y: &[usize]| -> backprop::Result<f64> {
        metrics::accuracy(&net.predict_classes(x.view())?, y, None)
    };
    let OwnedTargets::Classes(val_y) = &val.y else {
        unreachable!("class labels in, class labels out")
    };
    let samples = (history.epochs.len() * train.x.nrows()) as f64;
    println!(
        "{} epochs in {seconds:.1} s ({:.0} samples/s)",
        history.epochs.len(),
        samples / seconds
    );
    println!(
        "validation accuracy {:.2}%",
        100.0 * accuracy(&val.x, val_y)?
    );
    println!(
        "test accuracy       {:.2}%",
        100.0 * accuracy(&x_test, &y_test)?
    );
    Ok(())
}
