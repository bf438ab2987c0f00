//! `backprop info`: what a saved model is. The tensors (names, shapes,
//! dtypes) are listed for any valid safetensors file, also when no network
//! can be built from it (a PyTorch `state_dict` without `--activation` and
//! `--loss`): the reason is printed instead of the architecture.

use backprop::io::{SafetensorsHeader, SavedModel, read_safetensors_header};

use crate::CliError;
use crate::args::InfoArgs;
use crate::evaluate::sizes;
use crate::model;

pub fn run(a: &InfoArgs) -> Result<(), CliError> {
    let header = read_safetensors_header(&a.model)?;
    let bytes = std::fs::metadata(&a.model).map(|m| m.len()).unwrap_or(0);
    println!("file:        {} ({bytes} bytes)", a.model.display());
    match model::load(&a.model, &a.model_options) {
        Ok(m) => describe(&m),
        Err(e) => println!("network:     cannot be built: {}", e.0.replace('\n', " ")),
    }
    tensors(&header);
    Ok(())
}

/// The architecture, scaler and classes of a model.
fn describe(model: &SavedModel<f32>) {
    let net = &model.network;
    println!("layers:      {}", sizes(net));
    let acts: Vec<&str> = net.activations().iter().map(|g| g.name()).collect();
    println!(
        "activations: {}",
        if acts.is_empty() {
            "(no hidden layer)".to_string()
        } else {
            acts.join(", ")
        }
    );
    println!(
        "output:      {} ({} output(s))",
        net.loss().output_activation(),
        net.n_outputs()
    );
    println!("loss:        {}", net.loss().name());
    println!("parameters:  {}", net.n_params());
    if net.dropout().iter().any(|&p| p > 0.0) {
        println!("dropout:     {:?} (training only)", net.dropout());
    }
    match &model.scaler {
        Some(s) => println!(
            "scaling:     {} over {} features, x' = {}",
            s.scaling(),
            s.n_features(),
            backprop::io::model::scaler_formula(s)
        ),
        None => println!("scaling:     none"),
    }
    match &model.class_labels {
        Some(c) => println!("classes:     {} ({})", c.len(), c.join(", ")),
        None => println!("classes:     none"),
    }
}

/// Every tensor in file order, and the metadata keys.
fn tensors(header: &SafetensorsHeader) {
    println!("tensors:     {}", header.tensors.len());
    let width = header
        .tensors
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    for t in &header.tensors {
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        println!("  {:width$}  {:5}  ({})", t.name, t.dtype, shape.join(", "));
    }
    let keys: Vec<&str> = header.metadata.keys().map(String::as_str).collect();
    println!(
        "metadata:    {}",
        if keys.is_empty() {
            "none (pass --activation and --loss to build the network)".to_string()
        } else {
            keys.join(", ")
        }
    );
}
