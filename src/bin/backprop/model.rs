//! A saved model as the command line reads it: `--activation`, `--loss`
//! and `--scaling` (shared by `info`, `eval`, `predict` and `export-onnx`)
//! fill in what a file without metadata (a PyTorch `state_dict`) does not
//! say.

use std::path::Path;

use backprop::io::{LoadOptions, SavedModel};

use crate::CliError;
use crate::args::{ModelOptions, ModelScaling};

/// The model at `path`, read with the options given.
pub fn load(path: &Path, o: &ModelOptions) -> Result<SavedModel<f32>, CliError> {
    let mut opts = LoadOptions::new();
    match o.activation.as_ref().map(|a| a.0.as_slice()) {
        // One name stands for every hidden layer, however many.
        Some(&[g]) => opts = opts.activation(g),
        Some(list) => opts = opts.activations(list.to_vec()),
        None => {}
    }
    if let Some(l) = o.loss {
        opts = opts.loss(l);
    }
    let mut model = SavedModel::<f32>::load_with(path, &opts)?;
    if o.scaling == ModelScaling::None {
        model.scaler = None;
    }
    Ok(model)
}
