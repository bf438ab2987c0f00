//! Timing loops and the measured operations: training steps, the step's
//! GEMMs alone, inference.
//!
//! Each measurement warms up, then repeats the operation until a minimum time
//! has passed and keeps every repetition's duration; results report the
//! median (and minimum).

use std::time::Instant;

use backprop::{Optimizer, Sgd, parallel};
use ndarray::Array2;

use crate::configs::{self, Config};
use crate::counting_alloc;
use crate::weights::{self, Weights};

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup_s: f64,
    pub min_time: f64,
    pub min_reps: usize,
    pub max_reps: usize,
}

/// Durations (seconds) of individual repetitions and the allocations made
/// while they ran.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    pub secs: Vec<f64>,
    pub allocations: u64,
}

impl Samples {
    pub fn median(&self) -> f64 {
        let mut v = self.secs.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
        }
    }

    pub fn min(&self) -> f64 {
        self.secs.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn allocs_per_rep(&self) -> f64 {
        self.allocations as f64 / self.secs.len().max(1) as f64
    }
}

/// Warms `f` up, then runs it at least `min_reps` times and until
/// `min_time` seconds have passed, appending each duration to `samples`.
/// Nothing here allocates between the first and the last timed run.
pub fn measure(t: Timing, samples: &mut Samples, mut f: impl FnMut()) {
    let start = Instant::now();
    let mut last = 0.0;
    let mut warm = 0;
    while warm < 2 || start.elapsed().as_secs_f64() < t.warmup_s {
        let s = Instant::now();
        f();
        last = s.elapsed().as_secs_f64();
        warm += 1;
    }
    let reps = ((t.min_time / last.max(1e-9)).ceil() as usize).clamp(t.min_reps, t.max_reps);
    samples.secs.reserve(reps);
    let ((), allocations) = counting_alloc::allocations_in(|| {
        let begin = Instant::now();
        let mut done = 0;
        while done < t.min_reps || (begin.elapsed().as_secs_f64() < t.min_time && done < reps) {
            let s = Instant::now();
            f();
            let d = s.elapsed().as_secs_f64();
            if samples.secs.len() == samples.secs.capacity() {
                break;
            }
            samples.secs.push(d);
            done += 1;
        }
    });
    samples.allocations += allocations;
}

pub fn set_threads(n: usize) {
    parallel::set_num_threads(n).expect("thread counts are validated positive");
}

/// One training-step setup: network, workspace, optimizer and a batch.
pub struct StepBench {
    net: backprop::Network<f32>,
    ws: backprop::Workspace<f32>,
    sgd: Sgd,
    x: Array2<f32>,
    y: configs::OwnedTargets,
}

impl StepBench {
    /// A seeded network of `sizes` on a synthetic batch (the scaling
    /// families).
    pub fn new(
        sizes: &[usize],
        hidden: backprop::Activation,
        loss: backprop::Loss,
        batch: usize,
    ) -> Self {
        let net = configs::build(sizes, hidden, loss);
        let x = configs::inputs(batch, sizes[0], 1);
        let y = configs::targets(batch, *sizes.last().unwrap(), loss);
        Self::with(net, x, y)
    }

    /// Configuration `c` on `weights`, on the first batch of its task.
    pub fn for_config(c: &Config, weights: Weights) -> Self {
        let task = weights::task(c, c.batch);
        Self::with(weights::network(c, weights), task.x, task.y)
    }

    fn with(net: backprop::Network<f32>, x: Array2<f32>, y: configs::OwnedTargets) -> Self {
        StepBench {
            ws: net.workspace(x.nrows()),
            net,
            sgd: Sgd::default(),
            x,
            y,
        }
    }

    /// `net.compute_gradient` + `Sgd::step`: one training step.
    pub fn step(&mut self) {
        let j = self
            .net
            .compute_gradient(&mut self.ws, self.x.view(), self.y.view(), 0.0)
            .expect("synthetic batch fits the network");
        self.sgd
            .step(&mut self.net, self.ws.gradient(), configs::LEARNING_RATE)
            .expect("gradient of the same network");
        std::hint::black_box(j);
    }
}

/// Training steps of one configuration on one set of weights at one thread
/// count, and the same step's BLAS calls alone.
#[derive(Debug, Clone)]
pub struct StepSamples {
    pub weights: Weights,
    pub threads: usize,
    pub step: Samples,
    /// Every GEMM and GEMV of the step alone ([`configs::StepGemms`]);
    /// empty unless asked for.
    pub gemms: Samples,
}

/// Training steps of `c` on each of `weights`, each followed by the step's
/// BLAS calls alone when `with_gemms`, in `rounds` rounds that alternate
/// over thread counts and weights, so that drift of the machine affects each
/// alike. Results are in the order weights × threads.
pub fn measure_steps(
    c: &Config,
    weights: &[Weights],
    threads: &[usize],
    rounds: usize,
    timing: Timing,
    with_gemms: bool,
) -> Vec<StepSamples> {
    let mut benches: Vec<StepBench> = weights
        .iter()
        .map(|&w| StepBench::for_config(c, w))
        .collect();
    let mut gemms = with_gemms.then(|| configs::StepGemms::new(c.sizes, c.batch));
    let mut all: Vec<StepSamples> = weights
        .iter()
        .flat_map(|&w| threads.iter().map(move |&t| (w, t)))
        .map(|(weights, threads)| StepSamples {
            weights,
            threads,
            step: Samples::default(),
            gemms: Samples::default(),
        })
        .collect();
    for _ in 0..rounds {
        for (ti, &t) in threads.iter().enumerate() {
            set_threads(t);
            for (wi, bench) in benches.iter_mut().enumerate() {
                let out = &mut all[wi * threads.len() + ti];
                // Inside the pool, as `Trainer::fit` runs: entering it once
                // per measurement instead of once per elementwise pass.
                parallel::install(|| measure(timing, &mut out.step, || bench.step()));
                if let Some(g) = gemms.as_mut() {
                    parallel::install(|| measure(timing, &mut out.gemms, || g.run()));
                }
            }
        }
    }
    all
}

/// One GEMM of a step timed alone.
#[derive(Debug, Clone)]
pub struct GemmResult {
    pub config: &'static str,
    pub threads: usize,
    pub shape: configs::GemmShape,
    pub secs: f64,
}

impl GemmResult {
    pub fn gflops(&self) -> f64 {
        self.shape.flops() / self.secs / 1e9
    }
}

/// Times every GEMM of a step of `c`; returns per-shape results.
pub fn measure_gemms(c: &Config, threads: usize, timing: Timing) -> Vec<GemmResult> {
    set_threads(threads);
    configs::step_gemms(c.sizes, c.batch)
        .into_iter()
        .map(|shape| {
            let mut ops = configs::GemmOperands::new(shape);
            let mut s = Samples::default();
            measure(timing, &mut s, || ops.run());
            GemmResult {
                config: c.name,
                threads,
                shape,
                secs: s.median(),
            }
        })
        .collect()
}

/// A forward pass (`predict_into`) timed at one batch size.
#[derive(Debug, Clone)]
pub struct InferenceResult {
    pub config: Config,
    pub weights: Weights,
    pub batch: usize,
    pub threads: usize,
    pub secs: f64,
    pub allocs: f64,
}

pub fn measure_inference(
    c: &Config,
    weights: Weights,
    threads: &[usize],
    timing: Timing,
) -> Vec<InferenceResult> {
    let net = weights::network(c, weights);
    let mut out = Vec::new();
    for &batch in configs::INFERENCE_BATCHES {
        let x = configs::inputs(batch, c.sizes[0], 2);
        let mut y = Array2::<f32>::zeros((batch, net.n_outputs()));
        let mut ws = net.inference_workspace(batch);
        for &t in threads {
            set_threads(t);
            let mut s = Samples::default();
            parallel::install(|| {
                measure(timing, &mut s, || {
                    net.predict_into(&mut ws, x.view(), y.view_mut())
                        .expect("synthetic inputs fit the network");
                    std::hint::black_box(y[[0, 0]]);
                })
            });
            out.push(InferenceResult {
                config: *c,
                weights,
                batch,
                threads: t,
                secs: s.median(),
                allocs: s.allocs_per_rep(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_min_of_samples() {
        let s = Samples {
            secs: vec![3.0, 1.0, 2.0],
            allocations: 6,
        };
        assert_eq!(s.median(), 2.0);
        assert_eq!(s.min(), 1.0);
        assert_eq!(s.allocs_per_rep(), 2.0);
        let even = Samples {
            secs: vec![4.0, 1.0, 2.0, 3.0],
            allocations: 0,
        };
        assert_eq!(even.median(), 2.5);
    }
}
