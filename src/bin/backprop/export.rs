//! `backprop export-onnx`: a saved model (or a PyTorch `state_dict`, with
//! `--activation` and `--loss`) as an ONNX file.

use crate::CliError;
use crate::args::ExportOnnxArgs;
use crate::evaluate::sizes;
use crate::model;
use crate::train::check_dir;

pub fn run(a: &ExportOnnxArgs) -> Result<(), CliError> {
    check_dir(&a.output, "--output")?;
    if same_file(&a.model, &a.output) {
        return Err(CliError(format!(
            "--output {} is the model file itself; give another file name",
            a.output.display()
        )));
    }
    let m = model::load(&a.model, &a.model_options)?;
    backprop::io::export_onnx(&a.output, &m)?;
    println!(
        "wrote {} ({}, {}{}) to {}",
        a.model.display(),
        sizes(&m.network),
        m.network.loss().output_activation(),
        if m.scaler.is_some() {
            ", scaler inside the graph"
        } else {
            ""
        },
        a.output.display()
    );
    Ok(())
}

/// True when both paths name one existing file.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
