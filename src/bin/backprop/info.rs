//! `backprop info`: what a saved model is.

use backprop::io::SavedModel;

use crate::CliError;
use crate::args::InfoArgs;
use crate::evaluate::sizes;

pub fn run(a: &InfoArgs) -> Result<(), CliError> {
    let model = SavedModel::<f32>::load(&a.model)?;
    let net = &model.network;
    let bytes = std::fs::metadata(&a.model).map(|m| m.len()).unwrap_or(0);
    println!("file:        {} ({bytes} bytes)", a.model.display());
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
    for l in 0..net.depth() {
        let i = backprop::io::model::linear_module(net, l);
        println!(
            "  {i}.weight ({}, {}), {i}.bias ({})",
            net.sizes()[l + 1],
            net.sizes()[l],
            net.sizes()[l + 1]
        );
    }
    if net.dropout().iter().any(|&p| p > 0.0) {
        println!("dropout:     {:?} (training only)", net.dropout());
    }
    match &model.scaler {
        Some(s) => println!(
            "scaling:     {} over {} features",
            s.scaling(),
            s.n_features()
        ),
        None => println!("scaling:     none"),
    }
    match &model.class_labels {
        Some(c) => println!("classes:     {} ({})", c.len(), c.join(", ")),
        None => println!("classes:     none"),
    }
    Ok(())
}
