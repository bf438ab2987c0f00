//! Scores of a network on a data set, and their table.

use backprop::{Loss, Network, Targets};
use ndarray::{ArrayView2, s};

use crate::CliError;

/// Rows per forward pass when scoring, so a large data set needs no
/// workspace of its own size.
const CHUNK: usize = 4096;

/// How a network did on one data set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    /// Samples scored.
    pub n: usize,
    /// Data loss (1/m)·Σ J⁽ⁱ⁾, no L2 term.
    pub loss: f64,
    /// Fraction of correct classes (classification).
    pub accuracy: Option<f64>,
    /// Mean squared error (regression).
    pub mse: Option<f64>,
    /// Mean absolute error (regression).
    pub mae: Option<f64>,
    /// Coefficient of determination (regression).
    pub r2: Option<f64>,
}

/// The data loss of `net` on (`x`, `y`), in chunks.
pub fn data_loss(
    net: &Network<f32>,
    x: ArrayView2<'_, f32>,
    y: Targets<'_, f32>,
) -> Result<f64, CliError> {
    let m = x.nrows();
    let mut ws = net.inference_workspace(CHUNK.min(m.max(1)));
    let mut total = 0.0;
    for start in (0..m).step_by(CHUNK) {
        let end = (start + CHUNK).min(m);
        let yc = match y {
            Targets::Classes(c) => Targets::Classes(&c[start..end]),
            Targets::Dense(d) => Targets::Dense(d.slice_move(s![start..end, ..])),
        };
        let j = net.cost(&mut ws, x.slice(s![start..end, ..]), yc, 0.0)?;
        total += f64::from(j) * (end - start) as f64;
    }
    Ok(total / m.max(1) as f64)
}

/// Loss and accuracy (when `labels` are given) or regression metrics (when
/// `y` is dense and there are no labels) of `net` on already scaled `x`.
pub fn score(
    net: &Network<f32>,
    x: ArrayView2<'_, f32>,
    y: Targets<'_, f32>,
    labels: Option<&[usize]>,
) -> Result<Scores, CliError> {
    let mut sc = Scores {
        n: x.nrows(),
        loss: data_loss(net, x, y)?,
        ..Scores::default()
    };
    match (labels, y) {
        (Some(l), _) => {
            let pred = net.predict_classes(x)?;
            sc.accuracy = Some(backprop::metrics::accuracy(&pred, l, None)?);
        }
        (None, Targets::Dense(d)) => {
            let pred = net.predict(x)?;
            sc.mse = Some(backprop::metrics::mean_squared_error::<f32>(
                pred.view(),
                d,
                None,
            )?);
            sc.mae = Some(backprop::metrics::mean_absolute_error::<f32>(
                pred.view(),
                d,
                None,
            )?);
            sc.r2 = Some(backprop::metrics::r2_score::<f32>(pred.view(), d, None)?);
        }
        (None, Targets::Classes(_)) => {}
    }
    Ok(sc)
}

/// A table with one row per named data set.
pub fn table(rows: &[(&str, Scores)], loss: Loss) -> String {
    let classify = rows.iter().any(|(_, s)| s.accuracy.is_some());
    let mut out = String::new();
    if classify {
        out.push_str(&format!(
            "{:<12} {:>8} {:>12} {:>9}\n",
            "", "samples", "loss", "accuracy"
        ));
    } else {
        out.push_str(&format!(
            "{:<12} {:>8} {:>12} {:>12} {:>12} {:>9}\n",
            "", "samples", "loss", "MSE", "MAE", "R²"
        ));
    }
    let opt = |v: Option<f64>, w: usize| match v {
        Some(v) => format!("{v:>w$.6}"),
        None => format!("{:>w$}", "-"),
    };
    for (name, s) in rows {
        if classify {
            let acc = s
                .accuracy
                .map_or_else(|| "-".to_string(), |a| format!("{:.2}%", 100.0 * a));
            out.push_str(&format!(
                "{name:<12} {:>8} {:>12.6} {acc:>9}\n",
                s.n, s.loss
            ));
        } else {
            out.push_str(&format!(
                "{name:<12} {:>8} {:>12.6} {} {} {}\n",
                s.n,
                s.loss,
                opt(s.mse, 12),
                opt(s.mae, 12),
                opt(s.r2, 9)
            ));
        }
    }
    out.push_str(&format!("(loss: {}, without the L2 term)\n", loss.name()));
    out
}
