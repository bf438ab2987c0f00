//! Fashion-MNIST through the library API: the same job as `backprop train`
//! with no arguments, with the settings of `backprop::recipes::fashion_mnist`.
//!
//! Needs the data set (`apt-get install dataset-fashion-mnist`, or set
//! `BACKPROP_FASHION_MNIST_DIR`). Run:
//! `cargo run --release --example fashion_mnist`

use std::path::PathBuf;
use std::time::Instant;

use backprop::data::{OwnedDataset, OwnedTargets};
use backprop::io::{read_idx_features, read_idx_labels};
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
    // A stratified hold-out for validation, when the recipe has one.
    let all = OwnedDataset {
        x,
        y: OwnedTargets::Classes(y),
        sample_weight: None,
    };
    let (mut train, mut val) = match recipe.validation_fraction {
        Some(f) => {
            let (t, v) = all.split_holdout(f, recipe.seed)?;
            (t, Some(v))
        }
        None => (all, None),
    };

    // Scaling fitted on the training rows only, applied to every set.
    let mut trainer = recipe.trainer.clone();
    if let Some(scaler) = recipe.fit_scaler(train.x.view())? {
        let val_x = val.as_mut().map(|v| &mut v.x);
        for x in [Some(&mut train.x), val_x, Some(&mut x_test)]
            .into_iter()
            .flatten()
        {
            scaler.transform_in_place(x.view_mut())?;
        }
        // Image augmentation, if any, fills with a raw 0 pixel's scaled value.
        trainer.augment = trainer.augment.map(|a| a.fill_scaled_zero(&scaler));
    }

    let mut net = recipe
        .builder::<f32>(784, 10, Loss::CategoricalCrossEntropy)
        .build()?;
    let start = Instant::now();
    let history = trainer.fit(&mut net, train.view(), val.as_ref().map(OwnedDataset::view))?;
    let seconds = start.elapsed().as_secs_f64();

    let accuracy = |x: &ndarray::Array2<f32>, y: &[usize]| -> backprop::Result<f64> {
        metrics::accuracy(&net.predict_classes(x.view())?, y, None)
    };
    let samples = (history.epochs.len() * train.x.nrows()) as f64;
    println!(
        "{} epochs in {seconds:.1} s ({:.0} samples/s)",
        history.epochs.len(),
        samples / seconds
    );
    if let Some(val) = &val {
        let OwnedTargets::Classes(val_y) = &val.y else {
            unreachable!("class labels in, class labels out")
        };
        println!(
            "validation accuracy {:.2}%",
            100.0 * accuracy(&val.x, val_y)?
        );
    }
    println!(
        "test accuracy       {:.2}%",
        100.0 * accuracy(&x_test, &y_test)?
    );
    Ok(())
}
