//! Learning curves as SVG (plotters' SVG backend: no system libraries, text
//! left to the viewer's fonts).

use std::path::Path;

use backprop::{History, Loss};
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

/// Writes the training and validation loss (left) and the validation metric
/// (right) per epoch to `path`, atomically.
pub fn learning_curves(
    path: &Path,
    h: &History,
    loss: Loss,
    classify: bool,
) -> Result<(), CliError> {
    let epochs = h.epochs.len();
    let x_max = (epochs.max(2)) as f64;
    let train: Vec<(f64, f64)> = h
        .epochs
        .iter()
        .map(|r| ((r.epoch + 1) as f64, r.train_loss))
        .filter(|p| p.1.is_finite())
        .collect();
    let val: Vec<(f64, f64)> = h
        .epochs
        .iter()
        .filter_map(|r| r.val_loss.map(|v| ((r.epoch + 1) as f64, v)))
        .filter(|p| p.1.is_finite())
        .collect();
    let metric: Vec<(f64, f64)> = h
        .epochs
        .iter()
        .filter_map(|r| r.val_metric.map(|v| ((r.epoch + 1) as f64, v)))
        .filter(|p| p.1.is_finite())
        .collect();
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

        let (lo, hi) = range(train.iter().chain(&val).map(|p| p.1));
        let mut chart = ChartBuilder::on(&left)
            .caption(format!("loss ({})", loss.name()), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(1.0..x_max, lo..hi)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .draw()
            .map_err(draw_error)?;
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
            .map_err(draw_error)?;

        let (lo, hi) = range(metric.iter().map(|p| p.1));
        let mut chart = ChartBuilder::on(&right)
            .caption(metric_name, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(1.0..x_max, lo..hi)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .draw()
            .map_err(draw_error)?;
        if !metric.is_empty() {
            chart
                .draw_series(LineSeries::new(metric.iter().copied(), &RED))
                .map_err(draw_error)?;
        }
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
