//! The O(N) evidence: step time against the parameter count N for two
//! families of networks, and backprop against central differences.

use crate::configs;
use crate::measure::{Samples, StepBench, Timing, measure, set_threads};

/// One member of a scaling family.
#[derive(Debug, Clone)]
pub struct ScalingPoint {
    pub sizes: Vec<usize>,
    pub n_params: usize,
    pub secs: f64,
}

/// Backprop and a full central-difference gradient at one size.
#[derive(Debug, Clone)]
pub struct FdPoint {
    pub n_params: usize,
    pub backprop_s: f64,
    pub fd_s: f64,
}

/// Both families and the finite-difference comparison.
#[derive(Debug, Clone, Default)]
pub struct Scaling {
    pub width: Vec<ScalingPoint>,
    pub depth: Vec<ScalingPoint>,
    pub fd: Vec<FdPoint>,
}

/// Fitted log-log slopes of [`Scaling`].
pub struct Slopes {
    pub width: f64,
    pub depth: f64,
    pub fd_ratio: f64,
    pub fd: f64,
    pub backprop: f64,
}

/// Runs the families (tiny ones when `smoke`).
pub fn measure_scaling(smoke: bool, timing: Timing) -> Scaling {
    let (widths, depths, hs) = if smoke {
        (
            configs::WIDTH_FAMILY_SMOKE,
            configs::DEPTH_FAMILY_SMOKE,
            configs::FD_FAMILY_SMOKE,
        )
    } else {
        (
            configs::WIDTH_FAMILY,
            configs::DEPTH_FAMILY,
            configs::FD_FAMILY,
        )
    };
    eprintln!("[bench_report] scaling: width family");
    let members: Vec<Vec<usize>> = widths.iter().map(|&w| configs::width_sizes(w)).collect();
    let width = measure_family(&members, backprop::Activation::Relu, timing);
    eprintln!("[bench_report] scaling: depth family");
    let members: Vec<Vec<usize>> = depths.iter().map(|&d| configs::depth_sizes(d)).collect();
    let depth = measure_family(&members, backprop::Activation::Tanh, timing);
    eprintln!("[bench_report] scaling: backprop vs central differences");
    let fd = hs.iter().map(|&h| measure_fd(h, timing)).collect();
    Scaling { width, depth, fd }
}

fn measure_family(
    members: &[Vec<usize>],
    g: backprop::Activation,
    timing: Timing,
) -> Vec<ScalingPoint> {
    set_threads(1);
    members
        .iter()
        .map(|sizes| {
            let mut bench = StepBench::new(
                sizes,
                g,
                backprop::Loss::CategoricalCrossEntropy,
                configs::SCALING_BATCH,
            );
            let mut s = Samples::default();
            measure(timing, &mut s, || bench.step());
            ScalingPoint {
                sizes: sizes.clone(),
                n_params: configs::n_params(sizes),
                secs: s.median(),
            }
        })
        .collect()
}

/// Central-difference step in f32; it sets the cost of nothing, only the
/// values, which are discarded.
const FD_EPSILON: f32 = 1e-2;

/// Backprop against a full central-difference gradient of `8 → h → 4`.
fn measure_fd(h: usize, timing: Timing) -> FdPoint {
    set_threads(1);
    let loss = backprop::Loss::CategoricalCrossEntropy;
    let sizes = configs::fd_sizes(h);
    let mut net = configs::build(&sizes, backprop::Activation::Tanh, loss);
    let m = configs::FD_BATCH;
    let x = configs::inputs(m, sizes[0], 4);
    let y = configs::targets(m, *sizes.last().unwrap(), loss);
    let n = net.n_params();
    let mut ws = net.workspace(m);
    let mut bp = Samples::default();
    measure(timing, &mut bp, || {
        std::hint::black_box(
            net.compute_gradient(&mut ws, x.view(), y.view(), 0.0)
                .expect("synthetic batch fits"),
        );
    });
    let mut iws = net.inference_workspace(m);
    let mut grad = vec![0.0f32; n];
    let mut fd = Samples::default();
    // A full central-difference gradient takes up to ~1 s at N = 10⁴:
    // fewer repetitions suffice.
    let fd_timing = Timing {
        warmup_s: 0.0,
        min_reps: timing.min_reps.min(3),
        ..timing
    };
    measure(fd_timing, &mut fd, || {
        for (j, g) in grad.iter_mut().enumerate() {
            let theta = net.params()[j];
            net.params_mut()[j] = theta + FD_EPSILON;
            let plus = net.cost(&mut iws, x.view(), y.view(), 0.0).expect("fits");
            net.params_mut()[j] = theta - FD_EPSILON;
            let minus = net.cost(&mut iws, x.view(), y.view(), 0.0).expect("fits");
            net.params_mut()[j] = theta;
            *g = (plus - minus) / (2.0 * FD_EPSILON);
        }
        std::hint::black_box(grad[0]);
    });
    FdPoint {
        n_params: n,
        backprop_s: bp.median(),
        fd_s: fd.median(),
    }
}

/// Least-squares slope of ln y against ln x.
pub fn loglog_slope(points: &[(f64, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if pts.len() < 2 {
        return f64::NAN;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

impl Scaling {
    pub fn is_empty(&self) -> bool {
        self.width.is_empty() && self.depth.is_empty() && self.fd.is_empty()
    }

    pub fn slopes(&self) -> Slopes {
        let family = |pts: &[ScalingPoint]| {
            loglog_slope(
                &pts.iter()
                    .map(|p| (p.n_params as f64, p.secs))
                    .collect::<Vec<_>>(),
            )
        };
        let fd = |f: fn(&FdPoint) -> f64| {
            loglog_slope(
                &self
                    .fd
                    .iter()
                    .map(|p| (p.n_params as f64, f(p)))
                    .collect::<Vec<_>>(),
            )
        };
        Slopes {
            width: family(&self.width),
            depth: family(&self.depth),
            fd_ratio: fd(|p| p.fd_s / p.backprop_s),
            fd: fd(|p| p.fd_s),
            backprop: fd(|p| p.backprop_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Least squares on exact power laws recovers the exponent to rounding.
    const SLOPE_TOL: f64 = 1e-12;

    #[test]
    fn loglog_slope_recovers_power_laws() {
        let xs = [1e2, 1e3, 1e4, 1e5];
        for p in [0.5, 1.0, 2.0] {
            let pts: Vec<(f64, f64)> = xs.iter().map(|&x| (x, 3.0 * f64::powf(x, p))).collect();
            assert!((loglog_slope(&pts) - p).abs() < SLOPE_TOL, "p = {p}");
        }
        assert!(loglog_slope(&[(1.0, 1.0)]).is_nan());
    }
}
