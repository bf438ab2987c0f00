//! The full report: what it measures, in which order, and its JSON form.

use serde::Serialize;

use crate::configs::{self, Config};
use crate::environment::Environment;
use crate::main_job::{MainJob, measure_main_job};
use crate::measure::{
    GemmResult, InferenceResult, Samples, Timing, measure_gemms, measure_inference, measure_steps,
};
use crate::memory::{RssResult, measure_rss, model_floor_kib};
use crate::options::Options;
use crate::scaling::{FdPoint, Scaling, ScalingPoint, measure_scaling};
use crate::weights::{self, Convergence, Subnormals, Weights};

/// Training steps of one configuration at one thread count, with the
/// roofline of its GEMMs.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub config: Config,
    pub weights: Weights,
    pub threads: usize,
    pub samples: Samples,
    /// The step's GEMMs and GEMVs alone, timed beside it.
    pub gemms_alone: Samples,
    pub sgemm_peak_gflops: f64,
    pub gemm_sum_s: f64,
}

impl StepResult {
    pub fn step_s(&self) -> f64 {
        self.samples.median()
    }

    /// Median time of the step's BLAS calls alone.
    pub fn gemms_alone_s(&self) -> f64 {
        self.gemms_alone.median()
    }

    /// Step time over the time of its BLAS calls alone: 1 when everything
    /// but the GEMMs is free.
    pub fn step_over_gemms(&self) -> f64 {
        self.step_s() / self.gemms_alone_s()
    }

    pub fn samples_per_s(&self) -> f64 {
        self.config.batch as f64 / self.step_s()
    }

    pub fn gflops(&self) -> f64 {
        configs::step_flops(self.config.sizes, self.config.batch) / self.step_s() / 1e9
    }

    /// Rate of the FLOPs actually performed over the sgemm peak: the
    /// fraction of the roofline the step reaches.
    pub fn frac_of_peak(&self) -> f64 {
        configs::step_gemm_flops(self.config.sizes, self.config.batch)
            / self.step_s()
            / 1e9
            / self.sgemm_peak_gflops
    }
}

/// Everything one run measured.
pub struct Report {
    pub env: Environment,
    pub steps: Vec<StepResult>,
    pub gemms: Vec<GemmResult>,
    pub inference: Vec<InferenceResult>,
    pub subnormals: Vec<SubnormalResult>,
    pub scaling: Scaling,
    pub rss: Vec<RssResult>,
    pub main_job: Vec<MainJob>,
}

/// Subnormal numbers at one configuration's benchmark weights.
#[derive(Debug, Clone)]
pub struct SubnormalResult {
    pub config: &'static str,
    pub weights: Weights,
    /// How the converged weights were made; `None` for fresh ones.
    pub convergence: Option<Convergence>,
    pub counts: Subnormals,
}

/// Runs every measurement the options select.
pub fn run_report(opts: &Options) -> Result<Report, String> {
    let cfgs = opts.selected()?;
    let timing = opts.timing();
    let mut report = Report {
        env: Environment::detect(opts.smoke),
        steps: Vec::new(),
        gemms: Vec::new(),
        inference: Vec::new(),
        subnormals: Vec::new(),
        scaling: Scaling::default(),
        rss: Vec::new(),
        main_job: Vec::new(),
    };
    // First, while this process is small: Linux carries a parent's peak RSS
    // at fork into the child's `ru_maxrss`, so a child started after the big
    // configurations would report this process's peak instead of its own.
    if opts.memory {
        for &t in &opts.threads {
            eprintln!("[bench_report] main job: one Fashion-MNIST epoch, {t} thread(s)");
            report
                .main_job
                .push(measure_main_job(opts.backprop_bin.as_deref(), t));
        }
    }
    for c in &cfgs {
        measure_config(&mut report, c, opts, timing);
    }
    if opts.scaling {
        report.scaling = measure_scaling(opts.smoke, timing);
    }
    Ok(report)
}

/// The GEMM roofline, the subnormal counts, training steps, inference and
/// peak RSS of `c`.
fn measure_config(report: &mut Report, c: &Config, opts: &Options, timing: Timing) {
    let gemm_timing = Timing {
        min_time: timing.min_time * 0.5,
        ..timing
    };
    eprintln!("[bench_report] {}: sgemm shapes", c.name);
    let mut peaks = Vec::new();
    for &t in &opts.threads {
        let g = measure_gemms(c, t, gemm_timing);
        let peak = g.iter().map(GemmResult::gflops).fold(0.0, f64::max);
        let sum: f64 = g.iter().map(|r| r.secs).sum();
        peaks.push((peak, sum));
        report.gemms.extend(g);
    }
    eprintln!(
        "[bench_report] {}: weights ({})",
        c.name,
        weight_names(&opts.weights)
    );
    report
        .subnormals
        .extend(opts.weights.iter().map(|&w| count_subnormals(c, w)));
    eprintln!(
        "[bench_report] {}: training steps and their GEMMs alone",
        c.name
    );
    let measured = measure_steps(c, &opts.weights, &opts.threads, opts.rounds, timing, true);
    for s in measured {
        let i = opts
            .threads
            .iter()
            .position(|&t| t == s.threads)
            .expect("measured count");
        report.steps.push(StepResult {
            config: *c,
            weights: s.weights,
            threads: s.threads,
            samples: s.step,
            gemms_alone: s.gemms,
            sgemm_peak_gflops: peaks[i].0,
            gemm_sum_s: peaks[i].1,
        });
    }
    eprintln!("[bench_report] {}: inference", c.name);
    for &w in &opts.weights {
        let r = measure_inference(c, w, &opts.threads, timing);
        report.inference.extend(r);
    }
    if opts.rss {
        eprintln!("[bench_report] {}: peak RSS (child process)", c.name);
        for &t in &opts.threads {
            report.rss.push(measure_rss(c, t, opts.steps));
        }
    }
}

fn weight_names(w: &[Weights]) -> String {
    w.iter().map(|w| w.name()).collect::<Vec<_>>().join(", ")
}

/// Subnormal entries of Δᴸ and the gradient on the step's batch.
fn count_subnormals(c: &Config, w: Weights) -> SubnormalResult {
    let batch = weights::task(c, c.batch);
    let (net, convergence) = match w {
        Weights::Fresh => (weights::network(c, w), None),
        Weights::Converged => {
            let (net, how) = weights::converged(c);
            (net, Some(how))
        }
    };
    SubnormalResult {
        config: c.name,
        weights: w,
        convergence,
        counts: weights::subnormals(&net, batch.x.view(), &batch.y),
    }
}

impl Report {
    pub fn rss_for(&self, name: &str, threads: usize) -> Option<&RssResult> {
        self.rss
            .iter()
            .find(|r| r.config == name && r.threads == threads)
    }

    /// The report as pretty-printed JSON (non-finite numbers become `null`).
    pub fn json(&self) -> String {
        let json = ReportJson {
            schema: 2,
            environment: &self.env,
            flop_count: "training step: 6*B*N_weights; forward: 2*B*N_weights; sgemm: 2*m*n*k",
            gemms_alone: GEMMS_ALONE,
            train_step: self
                .steps
                .iter()
                .map(|s| StepRow::new(s, self.rss_for(s.config.name, s.threads)))
                .collect(),
            inference: self.inference.iter().map(InferenceRow::new).collect(),
            subnormals: self.subnormals.iter().map(SubnormalRow::new).collect(),
            sgemm: self.gemms.iter().map(SgemmRow::new).collect(),
            scaling: ScalingJson::new(&self.scaling),
            peak_rss: self.rss.iter().map(RssRow::new).collect(),
            main_job_memory: self.main_job.iter().map(MainJobRow::new).collect(),
        };
        to_json_text(&json)
    }
}

/// What `gemms_alone_s_median` measures.
pub const GEMMS_ALONE: &str = "every GEMM and GEMV of the step (forward Z = A_prev W^T per layer; \
     per layer backward dW = (1/B) Delta^T A_prev, db = (1/B) Delta^T 1, and Delta_prev = Delta W \
     above the first layer), with the step's shapes, transposes and alpha/beta, through the same \
     BLAS, on random operands of ordinary magnitude, timed beside the step in the same rounds";

/// Pretty-printed JSON with a final newline.
pub fn to_json_text(v: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("report rows serialize");
    s.push('\n');
    s
}

/// `784-128-10`.
pub fn sizes_text(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

fn flag(transposed: bool) -> &'static str {
    if transposed { "T" } else { "N" }
}

// ---- JSON rows (field names as in earlier reports, so raw files compare) ----

#[derive(Serialize)]
struct ReportJson<'a> {
    schema: u32,
    environment: &'a Environment,
    flop_count: &'static str,
    gemms_alone: &'static str,
    train_step: Vec<StepRow>,
    inference: Vec<InferenceRow>,
    subnormals: Vec<SubnormalRow>,
    sgemm: Vec<SgemmRow>,
    scaling: ScalingJson,
    peak_rss: Vec<RssRow>,
    main_job_memory: Vec<MainJobRow>,
}

#[derive(Serialize)]
struct StepRow {
    config: &'static str,
    weights: &'static str,
    sizes: String,
    hidden: &'static str,
    loss: &'static str,
    batch: usize,
    threads: usize,
    n_params: usize,
    n_weights: usize,
    reps: usize,
    step_s_median: f64,
    step_s_min: f64,
    samples_per_s: f64,
    gflops: f64,
    sgemm_peak_gflops: f64,
    frac_of_sgemm_peak: f64,
    gemm_only_step_s: f64,
    gemm_share_of_step: f64,
    gemms_alone_s_median: f64,
    gemms_alone_reps: usize,
    step_over_gemms_alone: f64,
    allocs_per_step: f64,
    peak_rss_kib: Option<u64>,
}

impl StepRow {
    fn new(s: &StepResult, rss: Option<&RssResult>) -> Self {
        let c = &s.config;
        StepRow {
            config: c.name,
            weights: s.weights.name(),
            sizes: sizes_text(c.sizes),
            hidden: c.hidden.name(),
            loss: c.loss.name(),
            batch: c.batch,
            threads: s.threads,
            n_params: configs::n_params(c.sizes),
            n_weights: configs::n_weights(c.sizes),
            reps: s.samples.secs.len(),
            step_s_median: s.step_s(),
            step_s_min: s.samples.min(),
            samples_per_s: s.samples_per_s(),
            gflops: s.gflops(),
            sgemm_peak_gflops: s.sgemm_peak_gflops,
            frac_of_sgemm_peak: s.frac_of_peak(),
            gemm_only_step_s: s.gemm_sum_s,
            gemm_share_of_step: s.gemm_sum_s / s.step_s(),
            gemms_alone_s_median: s.gemms_alone_s(),
            gemms_alone_reps: s.gemms_alone.secs.len(),
            step_over_gemms_alone: s.step_over_gemms(),
            allocs_per_step: s.samples.allocs_per_rep(),
            peak_rss_kib: rss.and_then(|r| r.vm_hwm_kib),
        }
    }
}

#[derive(Serialize)]
struct InferenceRow {
    config: &'static str,
    weights: &'static str,
    batch: usize,
    threads: usize,
    time_s: f64,
    samples_per_s: f64,
    gflops: f64,
    allocs_per_call: f64,
}

impl InferenceRow {
    fn new(r: &InferenceResult) -> Self {
        InferenceRow {
            config: r.config.name,
            weights: r.weights.name(),
            batch: r.batch,
            threads: r.threads,
            time_s: r.secs,
            samples_per_s: r.batch as f64 / r.secs,
            gflops: configs::forward_flops(r.config.sizes, r.batch) / r.secs / 1e9,
            allocs_per_call: r.allocs,
        }
    }
}

#[derive(Serialize)]
struct SgemmRow {
    config: &'static str,
    threads: usize,
    layer: usize,
    op: &'static str,
    m: usize,
    n: usize,
    k: usize,
    trans_a: &'static str,
    trans_b: &'static str,
    time_s: f64,
    gflops: f64,
}

impl SgemmRow {
    fn new(g: &GemmResult) -> Self {
        SgemmRow {
            config: g.config,
            threads: g.threads,
            layer: g.shape.layer,
            op: g.shape.op,
            m: g.shape.m,
            n: g.shape.n,
            k: g.shape.k,
            trans_a: flag(g.shape.trans_a),
            trans_b: flag(g.shape.trans_b),
            time_s: g.secs,
            gflops: g.gflops(),
        }
    }
}

#[derive(Serialize)]
struct ScalingJson {
    batch: usize,
    threads: usize,
    width_family: Vec<PointRow>,
    width_slope: f64,
    depth_family: Vec<PointRow>,
    depth_slope: f64,
    fd_batch: usize,
    backprop_vs_central_differences: Vec<FdRow>,
    fd_over_backprop_slope: f64,
    central_differences_slope: f64,
    backprop_slope: f64,
}

impl ScalingJson {
    fn new(s: &Scaling) -> Self {
        let sl = s.slopes();
        ScalingJson {
            batch: configs::SCALING_BATCH,
            threads: 1,
            width_family: s.width.iter().map(PointRow::new).collect(),
            width_slope: sl.width,
            depth_family: s.depth.iter().map(PointRow::new).collect(),
            depth_slope: sl.depth,
            fd_batch: configs::FD_BATCH,
            backprop_vs_central_differences: s.fd.iter().map(FdRow::new).collect(),
            fd_over_backprop_slope: sl.fd_ratio,
            central_differences_slope: sl.fd,
            backprop_slope: sl.backprop,
        }
    }
}

#[derive(Serialize)]
struct PointRow {
    sizes: String,
    n_params: usize,
    step_s: f64,
    params_per_s: f64,
}

impl PointRow {
    fn new(p: &ScalingPoint) -> Self {
        PointRow {
            sizes: sizes_text(&p.sizes),
            n_params: p.n_params,
            step_s: p.secs,
            params_per_s: p.n_params as f64 / p.secs,
        }
    }
}

#[derive(Serialize)]
struct FdRow {
    n_params: usize,
    backprop_s: f64,
    central_differences_s: f64,
    ratio: f64,
}

impl FdRow {
    fn new(p: &FdPoint) -> Self {
        FdRow {
            n_params: p.n_params,
            backprop_s: p.backprop_s,
            central_differences_s: p.fd_s,
            ratio: p.fd_s / p.backprop_s,
        }
    }
}

#[derive(Serialize)]
struct RssRow {
    config: &'static str,
    threads: usize,
    vm_hwm_kib: Option<u64>,
    model_floor_kib: f64,
    note: Option<String>,
}

impl RssRow {
    fn new(r: &RssResult) -> Self {
        let c = configs::config_by_name(r.config).expect("known config");
        RssRow {
            config: r.config,
            threads: r.threads,
            vm_hwm_kib: r.vm_hwm_kib,
            model_floor_kib: model_floor_kib(&c).round(),
            note: r.note.clone(),
        }
    }
}

#[derive(Serialize)]
struct SubnormalRow {
    config: &'static str,
    weights: &'static str,
    delta_subnormal: usize,
    delta_entries: usize,
    gradient_subnormal: usize,
    gradient_entries: usize,
    trained: Option<&'static str>,
    train_steps: Option<usize>,
    train_accuracy: Option<f64>,
    head_scale: Option<f64>,
}

impl SubnormalRow {
    fn new(r: &SubnormalResult) -> Self {
        let how = r.convergence.as_ref();
        SubnormalRow {
            config: r.config,
            weights: r.weights.name(),
            delta_subnormal: r.counts.delta,
            delta_entries: r.counts.delta_entries,
            gradient_subnormal: r.counts.gradient,
            gradient_entries: r.counts.gradient_entries,
            trained: how.map(|h| h.trained),
            train_steps: how.map(|h| h.steps),
            train_accuracy: how.map(|h| h.accuracy),
            head_scale: how.map(|h| h.head_scale),
        }
    }
}

#[derive(Serialize)]
struct MainJobRow {
    command: String,
    threads: usize,
    peak_rss_kib: Option<u64>,
    data_bytes: usize,
    params_bytes: usize,
    optimizer_bytes: usize,
    workspace_bytes: usize,
    budget_bytes: usize,
    rss_over_budget: Option<f64>,
    note: Option<String>,
}

impl MainJobRow {
    fn new(j: &MainJob) -> Self {
        let b = &j.budget;
        MainJobRow {
            command: j.command.clone(),
            threads: j.threads,
            peak_rss_kib: j.peak_rss_kib,
            data_bytes: b.data,
            params_bytes: b.params,
            optimizer_bytes: b.optimizer,
            workspace_bytes: b.workspace,
            budget_bytes: b.total(),
            rss_over_budget: j.ratio(),
            note: j.note.clone(),
        }
    }
}
