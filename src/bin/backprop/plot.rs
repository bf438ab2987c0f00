//! Learning curves as SVG (plotters' SVG backend: no system libraries, text
//! left to the viewer's fonts).

use std::path::Path;

use backprop::{EpochRecord, History, Loss};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::CliError;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 420;

fn draw_error(e: impl std::fmt::Display) -> CliError {
    CliError(format!("cannot draw the learning curves: {e}"))
}

/// (lo, hi) of the finite values, padded by 5% so that lines do not sit on
/// the frame; a unit range around a constant.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}

/// (epoch from 0, value) for every epoch whose `value` is a finite number.
fn points(h: &History, value: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<(f64, f64)> {
    h.epochs
        .iter()
        .filter_map(|r| value(r).map(|v| (r.epoch as f64, v)))
        .filter(|p| p.1.is_finite())
        .collect()
}

type Area<'s> = DrawingArea<SVGBackend<'s>, Shift>;
type Chart<'a, 's> = ChartContext<'a, SVGBackend<'s>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A captioned chart on `area` over epochs 0 to `x_max` and the values
/// `lo..hi`, its grid and axes drawn.
fn chart<'a, 's>(
    area: &'a Area<'s>,
    caption: &str,
    x_max: f64,
    (lo, hi): (f64, f64),
) -> Result<Chart<'a, 's>, CliError> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, lo..hi)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch (from 0)")
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// The training loss and, if any, the validation loss, with a legend.
fn draw_losses(
    area: &Area<'_>,
    loss: Loss,
    x_max: f64,
    train: &[(f64, f64)],
    val: &[(f64, f64)],
) -> Result<(), CliError> {
    let range = range(train.iter().chain(val).map(|p| p.1));
    let mut chart = chart(area, &format!("loss ({})", loss.name()), x_max, range)?;
    chart
        .draw_series(LineSeries::new(train.iter().copied(), &BLUE))
        .map_err(draw_error)?
        .label("training (with L2)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    if !val.is_empty() {
        chart
            .draw_series(LineSeries::new(val.iter().copied(), &RED))
            .map_err(draw_error)?
            .label("validation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(draw_error)
}

/// The validation metric, if any.
fn draw_metric(
    area: &Area<'_>,
    name: &str,
    x_max: f64,
    metric: &[(f64, f64)],
) -> Result<(), CliError> {
    let mut chart = chart(area, name, x_max, range(metric.iter().map(|p| p.1)))?;
    if !metric.is_empty() {
        chart
            .draw_series(LineSeries::new(metric.iter().copied(), &RED))
            .map_err(draw_error)?;
    }
    Ok(())
}

/// Writes the training and validation loss (left) and the validation metric
/// (right) per epoch to `path`, atomically.
pub fn learning_curves(
    path: &Path,
    h: &History,
    loss: Loss,
    classify: bool,
) -> Result<(), CliError> {
    let x_max = (h.epochs.len().max(2) - 1) as f64;
    let train = points(h, |r| Some(r.train_loss));
    let val = points(h, |r| r.val_loss);
    let metric = points(h, |r| r.val_metric);
    let metric_name = if classify {
        "validation accuracy"
    } else {
        "validation R²"
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (left, right) = root.split_horizontally(WIDTH / 2);
        draw_losses(&left, loss, x_max, &train, &val)?;
        draw_metric(&right, metric_name, x_max, &metric)?;
        root.present().map_err(draw_error)?;
    }
    backprop::io::write_atomic(path, |w| w.write_all(svg.as_bytes()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_and_skip_non_finite() {
        assert_eq!(range([1.0, f64::NAN, 3.0].into_iter()), (0.9, 3.1));
        assert_eq!(range([2.0].into_iter()), (1.5, 2.5));
        assert_eq!(range(std::iter::empty()), (0.0, 1.0));
    }
}
