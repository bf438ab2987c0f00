//! `backprop eval`: a saved model's metrics on a data set.

use std::path::Path;

use backprop::io::{SavedModel, TargetColumn};
use backprop::{Loss, Network, Scalar};
use ndarray::ArrayView2;

use crate::CliError;
use crate::args::{EvalArgs, Task};
use crate::data::{self, Data, Split, TargetSpec, Targets};
use crate::report;

/// The classes a model predicts: its saved labels, else numbers; `None` for
/// a regression (or multi-label) model.
pub fn model_classes(model: &SavedModel<f32>) -> Option<Vec<String>> {
    if let Some(c) = &model.class_labels {
        return Some(c.clone());
    }
    let net = &model.network;
    match (net.loss(), net.n_outputs()) {
        (Loss::CategoricalCrossEntropy, k) => Some((0..k).map(|c| c.to_string()).collect()),
        (Loss::BinaryCrossEntropy, 1) => Some(vec!["0".into(), "1".into()]),
        _ => None,
    }
}

pub fn run(a: &EvalArgs) -> Result<(), CliError> {
    let model = SavedModel::<f32>::load(&a.model)?;
    let classes = model_classes(&model);
    let d = load(a, &model, classes.as_deref())?;
    let net = &model.network;
    let reference = format!("the model {}", a.model.display());
    let d = match &a.data {
        Some(p) => data::align(
            d,
            p,
            &reference,
            model.feature_names.as_deref(),
            net.n_inputs(),
            None,
        )?,
        None => data::align(
            d,
            Path::new("Fashion-MNIST"),
            &reference,
            None,
            net.n_inputs(),
            None,
        )?,
    };
    let x = match &model.scaler {
        Some(s) => s.transform(d.x.view())?,
        None => d.x,
    };
    println!(
        "model: {} ({}), data: {} samples",
        a.model.display(),
        sizes(net),
        x.nrows()
    );
    match (d.y, classes) {
        (Targets::None, _) => Err(CliError(
            "the data has no targets; choose the target column with --target".into(),
        )),
        (Targets::Classes { labels, .. }, Some(classes)) => {
            report_classes(net, x.view(), &labels, &classes)
        }
        (Targets::Values(v), None) => report_values(net, x.view(), v.view()),
        (Targets::Classes { .. }, None) => Err(CliError(
            "the model is a regression model but the data holds class labels".into(),
        )),
        (Targets::Values(_), Some(_)) => Err(CliError(
            "the model is a classifier but the data holds real values".into(),
        )),
    }
}

/// The data to evaluate on: the file given, its targets read as the
/// model's `classes` (or as values for a regression model) from the
/// model's target column (when recorded), else the Fashion-MNIST test set.
fn load(
    a: &EvalArgs,
    model: &SavedModel<f32>,
    classes: Option<&[String]>,
) -> Result<Data, CliError> {
    match &a.data {
        None => {
            if a.targets.is_some() {
                return Err(CliError(
                    "--targets needs a data file (without one, the Fashion-MNIST test set is used)"
                        .into(),
                ));
            }
            data::fashion_mnist(&data::fashion_mnist_dir(&a.options), Split::Test)
        }
        Some(p) => {
            let spec = TargetSpec {
                task: if classes.is_some() {
                    Task::Classify
                } else {
                    Task::Regress
                },
                classes,
                default_column: match &model.target_column {
                    Some(t) if !a.options.no_header => TargetColumn::Name(t.clone()),
                    _ => TargetColumn::Auto,
                },
            };
            data::load(p, a.targets.as_deref(), &a.options, &spec, "--targets").map_err(|e| match (
                &model.target_column,
                &a.options.target,
            ) {
                (Some(t), None) => CliError(format!(
                    "{} (the model {} was trained with the target column {t:?}; choose \
                         another with --target)",
                    e.0,
                    a.model.display()
                )),
                _ => e,
            })
        }
    }
}

/// Scores, confusion matrix and per-class report of a classifier.
fn report_classes(
    net: &Network<f32>,
    x: ArrayView2<'_, f32>,
    labels: &[usize],
    classes: &[String],
) -> Result<(), CliError> {
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l >= classes.len())
    {
        return Err(CliError(format!(
            "label {l} at sample {i} is not one of the model's {} classes",
            classes.len()
        )));
    }
    // Squared error on classes was trained against one-hot rows.
    let onehot = if net.loss() == Loss::SquaredError {
        Some(backprop::preprocess::one_hot::<f32>(
            labels,
            net.n_outputs(),
        )?)
    } else {
        None
    };
    let targets = match &onehot {
        Some(d) => backprop::Targets::Dense(d.view()),
        None => backprop::Targets::Classes(labels),
    };
    let sc = report::score(net, x, targets, Some(labels))?;
    print!("{}", report::table(&[("data", sc)], net.loss()));
    let pred = net.predict_classes(x)?;
    print!("{}", classification_report(&pred, labels, classes));
    Ok(())
}

/// Scores of a regression model.
fn report_values(
    net: &Network<f32>,
    x: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
) -> Result<(), CliError> {
    if v.ncols() != net.n_outputs() {
        return Err(backprop::Error::TargetWidth {
            got: v.ncols(),
            expected: net.n_outputs(),
        }
        .into());
    }
    let sc = report::score(net, x, backprop::Targets::Dense(v), None)?;
    print!("{}", report::table(&[("data", sc)], net.loss()));
    Ok(())
}

/// The layer widths, input first: `784-512-256-10`.
pub fn sizes<S: Scalar>(net: &Network<S>) -> String {
    net.sizes()
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// Confusion matrix (rows: true class, columns: predicted) and per-class
/// precision, recall and F1, with their unweighted (macro) means.
pub fn classification_report(pred: &[usize], actual: &[usize], classes: &[String]) -> String {
    let k = classes.len();
    let mut cm = vec![vec![0usize; k]; k];
    for (&p, &t) in pred.iter().zip(actual) {
        if p < k && t < k {
            cm[t][p] += 1;
        }
    }
    let w = classes
        .iter()
        .map(|c| c.chars().count() + 3)
        .max()
        .unwrap_or(1)
        .clamp(9, 19);
    let short = |c: &str| c.chars().take(w - 3).collect::<String>();
    let cell = (0..k)
        .flat_map(|i| cm[i].iter())
        .max()
        .map_or(1, |m| m.to_string().len())
        .max(3);
    let mut out = String::from("\nconfusion matrix (rows: true class, columns: predicted)\n");
    out.push_str(&format!("{:>w$}", ""));
    for c in 0..k {
        out.push_str(&format!(" {:>cell$}", c));
    }
    out.push('\n');
    for (t, row) in cm.iter().enumerate() {
        out.push_str(&format!("{:>w$}", format!("{} {}", short(&classes[t]), t)));
        for n in row {
            out.push_str(&format!(" {n:>cell$}"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{:>w$} {:>9} {:>9} {:>9} {:>8}\n",
        "class", "precision", "recall", "F1", "support"
    ));
    let (mut sp, mut sr, mut sf) = (0.0, 0.0, 0.0);
    for c in 0..k {
        let tp = cm[c][c] as f64;
        let predicted: usize = (0..k).map(|t| cm[t][c]).sum();
        let support: usize = cm[c].iter().sum();
        let p = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let r = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        sp += p;
        sr += r;
        sf += f;
        out.push_str(&format!(
            "{:>w$} {p:>9.4} {r:>9.4} {f:>9.4} {support:>8}\n",
            short(&classes[c])
        ));
    }
    let kf = k.max(1) as f64;
    out.push_str(&format!(
        "{:>w$} {:>9.4} {:>9.4} {:>9.4} {:>8}\n",
        "macro avg",
        sp / kf,
        sr / kf,
        sf / kf,
        actual.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_and_scores() {
        let classes = vec!["a".to_string(), "b".to_string()];
        // true a,a,b,b predicted a,b,b,b: precision a 1, b 2/3; recall a 1/2, b 1.
        let r = classification_report(&[0, 1, 1, 1], &[0, 0, 1, 1], &classes);
        assert!(r.contains("1.0000    0.5000    0.6667"), "{r}");
        assert!(r.contains("0.6667    1.0000    0.8000"), "{r}");
    }
}
