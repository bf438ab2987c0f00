//! `backprop gradcheck`: backpropagation against central differences on a
//! small random network, in f64.

use std::process::ExitCode;

use backprop::{GradCheck, Loss, Network, Targets, check_gradient};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::CliError;
use crate::args::GradcheckArgs;
use crate::evaluate::sizes;

pub fn run(a: &GradcheckArgs) -> Result<ExitCode, CliError> {
    if a.samples == 0 {
        return Err(CliError("--samples must be at least 1".into()));
    }
    if !(a.tolerance.is_finite() && a.tolerance > 0.0) {
        return Err(CliError(format!(
            "invalid --tolerance {}: must be finite and > 0",
            a.tolerance
        )));
    }
    let widths: Vec<usize> = std::iter::once(a.inputs)
        .chain(a.layers.0.iter().copied())
        .chain([a.outputs])
        .collect();
    crate::limits::check_network(&widths, a.samples, std::mem::size_of::<f64>())?;
    let net = Network::<f64>::builder(a.inputs)
        .layers(&a.layers.dense(a.activation))
        .output(a.outputs, a.loss)
        .seed(a.seed)
        .build()?;
    // The data stream is seeded apart from the network's initialization.
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x9E37_79B9_7F4A_7C15);
    let normal = Normal::new(0.0, 1.0).expect("unit normal");
    let m = a.samples;
    let x = Array2::from_shape_simple_fn((m, a.inputs), || normal.sample(&mut rng));
    let labels: Vec<usize>;
    let dense: Array2<f64>;
    let y = match a.loss {
        Loss::CategoricalCrossEntropy => {
            let k = Uniform::new(0, a.outputs.max(1)).map_err(|e| CliError(e.to_string()))?;
            labels = (0..m).map(|_| k.sample(&mut rng)).collect();
            Targets::Classes(&labels)
        }
        Loss::BinaryCrossEntropy => {
            let u = Uniform::new(0.0, 1.0).expect("unit interval");
            dense = Array2::from_shape_simple_fn((m, a.outputs), || {
                if u.sample(&mut rng) < 0.5 { 0.0 } else { 1.0 }
            });
            Targets::Dense(dense.view())
        }
        _ => {
            dense = Array2::from_shape_simple_fn((m, a.outputs), || normal.sample(&mut rng));
            Targets::Dense(dense.view())
        }
    };
    let opts = GradCheck {
        epsilon: a.step,
        ..GradCheck::default()
    };
    let report = check_gradient(&net, x.view(), y, a.lambda, &opts)?;
    println!(
        "network {} ({}, {}), {m} samples, lambda {}, epsilon {}, seed {}",
        sizes(&net),
        a.activation,
        a.loss,
        a.lambda,
        a.step,
        a.seed
    );
    print!("{report}");
    let worst = report.max_rel_error();
    let ok = worst <= a.tolerance;
    println!(
        "max relative error {worst:.3e}: {} (tolerance {:.0e})",
        if ok { "PASS" } else { "FAIL" },
        a.tolerance
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
