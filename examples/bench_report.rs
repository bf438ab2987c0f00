//! Benchmark report: training-step throughput, inference, the sgemm roofline,
//! the O(N) scaling fit, peak memory and allocations per step, written as
//! JSON and Markdown.
//!
//! ```text
//! cargo run --release --example bench_report -- [--smoke] [--out DIR]
//!     [--configs S,M,...] [--threads 1,2] [--rounds R] [--min-time SECS]
//!     [--skip-big] [--no-scaling] [--no-rss]
//! cargo run --release --example bench_report -- --config S --threads 1 --json
//! cargo run --release --example bench_report -- --list-configs
//! ```
//!
//! The full report writes `DIR/report.json` and `DIR/report.md` (default
//! `target/bench-report`). `--smoke` runs the small configurations with a few
//! repetitions and tiny scaling families, in seconds: CI runs it so that the
//! tooling cannot rot; its figures mean nothing.
//!
//! `--config NAME --threads N --json` times training steps of one
//! configuration and prints one JSON object: `bench/compare_peers.py` calls it
//! between peer runs. `--list-configs` prints the configuration table as JSON.
//!
//! Timing: each measurement warms up, then repeats the operation until a
//! minimum time has passed and reports the median (and minimum) of the
//! individual durations. Training steps are measured in `--rounds` rounds that
//! alternate between thread counts, so that drift of the machine affects every
//! thread count alike. GFLOP/s count 6·B·N_weights per training step and
//! 2·B·N_weights per forward pass.
//!
//! A counting global allocator records heap allocations made by Rust code
//! (OpenBLAS allocates through C `malloc` and is not counted); the report
//! gives the allocations per step after warm-up. Peak RSS comes from a child
//! process per configuration (this program re-invoked with a hidden flag)
//! that trains a few steps and reads `VmHWM` from `/proc/self/status`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use backprop::{Optimizer, Sgd, parallel};
use ndarray::Array2;

#[path = "../benches/common/configs.rs"]
mod configs;

use configs::Config;

// ---- allocation counting ----------------------------------------------------

/// Counts every allocation and reallocation made through Rust's allocator.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the counter
// is a relaxed atomic increment with no other effect.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// ---- options ------------------------------------------------------------------

const USAGE: &str = "\
usage: bench_report [--smoke] [--out DIR] [--configs S,M,..] [--threads 1,2]
                    [--rounds R] [--min-time SECS] [--skip-big]
                    [--no-scaling] [--no-rss]
       bench_report --config NAME [--threads N] [--min-time SECS] [--json]
       bench_report --list-configs";

#[derive(Debug, Clone)]
struct Options {
    smoke: bool,
    out: PathBuf,
    configs: Option<Vec<String>>,
    threads: Vec<usize>,
    rounds: usize,
    min_time: Option<f64>,
    skip_big: bool,
    scaling: bool,
    rss: bool,
    single: Option<String>,
    json: bool,
    list_configs: bool,
    rss_child: Option<String>,
    steps: usize,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            smoke: false,
            out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report"),
            configs: None,
            threads: configs::THREADS.to_vec(),
            rounds: 3,
            min_time: None,
            skip_big: false,
            scaling: true,
            rss: true,
            single: None,
            json: false,
            list_configs: false,
            rss_child: None,
            steps: 3,
        };
        let mut rounds_given = false;
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match a.as_str() {
                "--smoke" => o.smoke = true,
                "--out" => o.out = PathBuf::from(value("--out")?),
                "--configs" => {
                    o.configs = Some(value("--configs")?.split(',').map(str::to_owned).collect())
                }
                "--config" => o.single = Some(value("--config")?),
                "--threads" => o.threads = parse_list(&value("--threads")?, "--threads")?,
                "--rounds" => {
                    o.rounds = parse_positive(&value("--rounds")?, "--rounds")?;
                    rounds_given = true;
                }
                "--min-time" => {
                    let v = value("--min-time")?;
                    let t: f64 = v
                        .parse()
                        .ok()
                        .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                        .ok_or_else(|| {
                            format!("--min-time {v}: expected seconds, a number >= 0")
                        })?;
                    o.min_time = Some(t);
                }
                "--skip-big" => o.skip_big = true,
                "--no-scaling" => o.scaling = false,
                "--no-rss" => o.rss = false,
                "--json" => o.json = true,
                "--list-configs" => o.list_configs = true,
                "--rss-child" => o.rss_child = Some(value("--rss-child")?),
                "--steps" => o.steps = parse_positive(&value("--steps")?, "--steps")?,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                // `cargo bench` passes `--bench` to every target it runs.
                "--bench" => {}
                other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            }
        }
        if o.smoke && !rounds_given {
            o.rounds = 1;
        }
        Ok(o)
    }

    /// Timing settings for the mode.
    fn timing(&self) -> Timing {
        let (warmup_s, min_time, min_reps) = if self.smoke {
            (0.005, 0.02, 3)
        } else {
            (0.3, 0.5, 5)
        };
        Timing {
            warmup_s,
            min_time: self.min_time.unwrap_or(min_time),
            min_reps,
            max_reps: 100_000,
        }
    }

    fn selected(&self) -> Result<Vec<Config>, String> {
        let mut out = Vec::new();
        match &self.configs {
            Some(names) => {
                for n in names {
                    out.push(lookup(n)?);
                }
            }
            None => out.extend(configs::CONFIGS.iter().copied()),
        }
        if self.smoke || self.skip_big {
            out.retain(|c| !c.big);
        }
        Ok(out)
    }
}

fn lookup(name: &str) -> Result<Config, String> {
    configs::config_by_name(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = configs::CONFIGS.iter().map(|c| c.name).collect();
        format!(
            "unknown configuration `{name}`; known: {}",
            known.join(", ")
        )
    })
}

fn parse_positive(v: &str, flag: &str) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag} {v}: expected a positive integer"))
}

fn parse_list(v: &str, flag: &str) -> Result<Vec<usize>, String> {
    v.split(',').map(|s| parse_positive(s, flag)).collect()
}

// ---- timing -------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Timing {
    warmup_s: f64,
    min_time: f64,
    min_reps: usize,
    max_reps: usize,
}

/// Durations (seconds) of individual repetitions and the allocations made
/// while they ran.
#[derive(Debug, Default, Clone)]
struct Samples {
    secs: Vec<f64>,
    allocations: u64,
}

impl Samples {
    fn median(&self) -> f64 {
        let mut v = self.secs.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
        }
    }

    fn min(&self) -> f64 {
        self.secs.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn allocs_per_rep(&self) -> f64 {
        self.allocations as f64 / self.secs.len().max(1) as f64
    }
}

/// Warms `f` up, then runs it at least `min_reps` times and until
/// `min_time` seconds have passed, appending each duration to `samples`.
/// Nothing here allocates between the first and the last timed run.
fn measure(t: Timing, samples: &mut Samples, mut f: impl FnMut()) {
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
    let before = allocations();
    let begin = Instant::now();
    let mut done = 0;
    while done < t.min_reps || (begin.elapsed().as_secs_f64() < t.min_time && done < reps) {
        let s = Instant::now();
        f();
        let d = s.elapsed().as_secs_f64();
        if samples.secs.len() < samples.secs.capacity() {
            samples.secs.push(d);
        } else {
            break;
        }
        done += 1;
    }
    samples.allocations += allocations() - before;
}

/// Least-squares slope of ln y against ln x.
fn loglog_slope(points: &[(f64, f64)]) -> f64 {
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

fn set_threads(n: usize) {
    parallel::set_num_threads(n).expect("thread counts are validated positive");
}

// ---- one training-step setup ------------------------------------------------------

struct StepBench {
    net: backprop::Network<f32>,
    ws: backprop::Workspace<f32>,
    sgd: Sgd,
    x: Array2<f32>,
    y: configs::OwnedTargets,
}

impl StepBench {
    fn new(
        sizes: &[usize],
        hidden: backprop::Activation,
        loss: backprop::Loss,
        batch: usize,
    ) -> Self {
        let net = configs::build(sizes, hidden, loss);
        let ws = net.workspace(batch);
        StepBench {
            x: configs::inputs(batch, sizes[0], 1),
            y: configs::targets(batch, *sizes.last().unwrap(), loss),
            net,
            ws,
            sgd: Sgd::default(),
        }
    }

    fn for_config(c: &Config) -> Self {
        Self::new(c.sizes, c.hidden, c.loss, c.batch)
    }

    /// `net.compute_gradient` + `Sgd::step`: one training step.
    fn step(&mut self) {
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

// ---- JSON -------------------------------------------------------------------------

/// A JSON value, written by hand to keep the example free of extra crates.
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn obj(pairs: Vec<(&str, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn s(v: impl Into<String>) -> Json {
        Json::Str(v.into())
    }

    fn n(v: f64) -> Json {
        Json::Num(v)
    }

    fn i(v: usize) -> Json {
        Json::Int(v as i64)
    }

    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        v.map_or(Json::Null, f)
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.push_str(&"  ".repeat(n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(v) if v.is_finite() => {
                let _ = write!(out, "{v}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Str(s) => {
                out.push('"');
                for ch in s.chars() {
                    match ch {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(out, "\\u{:04x}", c as u32);
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, it) in items.iter().enumerate() {
                    pad(out, indent + 1);
                    it.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Obj(pairs) => {
                out.push_str("{\n");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    pad(out, indent + 1);
                    Json::Str(k.clone()).write(out, indent + 1);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }

    fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }
}

fn sizes_text(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

// ---- environment --------------------------------------------------------------

#[cfg(feature = "openblas")]
unsafe extern "C" {
    fn openblas_get_config() -> *const std::ffi::c_char;
    fn openblas_get_corename() -> *const std::ffi::c_char;
}

/// OpenBLAS's build configuration and the kernel it selected at run time.
fn blas_description() -> (String, String) {
    #[cfg(feature = "openblas")]
    {
        // SAFETY: both functions return pointers to static NUL-terminated
        // strings owned by OpenBLAS.
        let (config, core) = unsafe {
            (
                std::ffi::CStr::from_ptr(openblas_get_config()),
                std::ffi::CStr::from_ptr(openblas_get_corename()),
            )
        };
        (
            config.to_string_lossy().trim().to_owned(),
            core.to_string_lossy().trim().to_owned(),
        )
    }
    #[cfg(not(feature = "openblas"))]
    {
        (
            "matrixmultiply (pure Rust, no BLAS)".to_owned(),
            "n/a".to_owned(),
        )
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Versions of the crates that matter, read from `Cargo.lock`.
fn locked_versions() -> Vec<(&'static str, Json)> {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .unwrap_or_default();
    let version_of = |name: &str| -> Json {
        let needle = format!("name = \"{name}\"\nversion = \"");
        lock.find(&needle)
            .and_then(|i| {
                let rest = &lock[i + needle.len()..];
                rest.find('"').map(|j| Json::s(&rest[..j]))
            })
            .unwrap_or(Json::Null)
    };
    [
        "ndarray",
        "rayon",
        "blas-src",
        "openblas-src",
        "cblas-sys",
        "criterion",
    ]
    .into_iter()
    .map(|n| (n, version_of(n)))
    .collect()
}

fn environment(opts: &Options) -> Json {
    let (blas_config, blas_core) = blas_description();
    let env_var = |k: &str| Json::opt(std::env::var(k).ok(), Json::s);
    let mut versions = vec![
        ("backprop", Json::s(env!("CARGO_PKG_VERSION"))),
        (
            "rustc",
            Json::opt(command_line("rustc", &["--version"]), Json::s),
        ),
    ];
    versions.extend(locked_versions());
    Json::obj(vec![
        ("mode", Json::s(if opts.smoke { "smoke" } else { "full" })),
        (
            "machine",
            Json::obj(vec![
                ("cpu_model", Json::s(cpu_model())),
                (
                    "logical_cpus",
                    Json::i(std::thread::available_parallelism().map_or(0, |n| n.get())),
                ),
                ("os", Json::s(std::env::consts::OS)),
                ("arch", Json::s(std::env::consts::ARCH)),
                ("kernel", Json::opt(command_line("uname", &["-r"]), Json::s)),
            ]),
        ),
        (
            "blas",
            Json::obj(vec![
                ("config", Json::s(blas_config)),
                ("corename", Json::s(blas_core)),
            ]),
        ),
        (
            "env",
            Json::obj(vec![
                ("OPENBLAS_NUM_THREADS", env_var("OPENBLAS_NUM_THREADS")),
                ("OPENBLAS_CORETYPE", env_var("OPENBLAS_CORETYPE")),
                ("OPENBLAS_L2_SIZE", env_var("OPENBLAS_L2_SIZE")),
                ("OMP_NUM_THREADS", env_var("OMP_NUM_THREADS")),
                ("BACKPROP_NUM_THREADS", env_var("BACKPROP_NUM_THREADS")),
            ]),
        ),
        ("versions", Json::obj(versions)),
        (
            "command",
            Json::s(
                std::iter::once("bench_report".to_owned())
                    .chain(std::env::args().skip(1))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ),
    ])
}

// ---- measurements -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct StepResult {
    config: Config,
    threads: usize,
    samples: Samples,
    sgemm_peak_gflops: f64,
    gemm_sum_s: f64,
}

impl StepResult {
    fn step_s(&self) -> f64 {
        self.samples.median()
    }

    fn samples_per_s(&self) -> f64 {
        self.config.batch as f64 / self.step_s()
    }

    fn gflops(&self) -> f64 {
        configs::step_flops(self.config.sizes, self.config.batch) / self.step_s() / 1e9
    }

    /// Rate of the FLOPs actually performed over the sgemm peak: the
    /// fraction of the roofline the step reaches.
    fn frac_of_peak(&self) -> f64 {
        configs::step_gemm_flops(self.config.sizes, self.config.batch)
            / self.step_s()
            / 1e9
            / self.sgemm_peak_gflops
    }

    fn json(&self, rss: Option<&RssResult>) -> Json {
        let c = &self.config;
        Json::obj(vec![
            ("config", Json::s(c.name)),
            ("sizes", Json::s(sizes_text(c.sizes))),
            ("hidden", Json::s(c.hidden.name())),
            ("loss", Json::s(c.loss.name())),
            ("batch", Json::i(c.batch)),
            ("threads", Json::i(self.threads)),
            ("n_params", Json::i(configs::n_params(c.sizes))),
            ("n_weights", Json::i(configs::n_weights(c.sizes))),
            ("reps", Json::i(self.samples.secs.len())),
            ("step_s_median", Json::n(self.step_s())),
            ("step_s_min", Json::n(self.samples.min())),
            ("samples_per_s", Json::n(self.samples_per_s())),
            ("gflops", Json::n(self.gflops())),
            ("sgemm_peak_gflops", Json::n(self.sgemm_peak_gflops)),
            ("frac_of_sgemm_peak", Json::n(self.frac_of_peak())),
            ("gemm_only_step_s", Json::n(self.gemm_sum_s)),
            (
                "gemm_share_of_step",
                Json::n(self.gemm_sum_s / self.step_s()),
            ),
            ("allocs_per_step", Json::n(self.samples.allocs_per_rep())),
            (
                "peak_rss_kib",
                Json::opt(rss.and_then(|r| r.vm_hwm_kib), |v| Json::i(v as usize)),
            ),
        ])
    }
}

#[derive(Debug, Clone)]
struct GemmResult {
    config: &'static str,
    threads: usize,
    shape: configs::GemmShape,
    secs: f64,
}

impl GemmResult {
    fn gflops(&self) -> f64 {
        self.shape.flops() / self.secs / 1e9
    }
}

/// Times every GEMM of a step of `c`; returns per-shape results.
fn measure_gemms(c: &Config, threads: usize, timing: Timing) -> Vec<GemmResult> {
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

/// Training steps of `c` in `rounds` rounds alternating over `threads`.
fn measure_steps(c: &Config, threads: &[usize], rounds: usize, timing: Timing) -> Vec<Samples> {
    let mut bench = StepBench::for_config(c);
    let mut all = vec![Samples::default(); threads.len()];
    for _ in 0..rounds {
        for (i, &t) in threads.iter().enumerate() {
            set_threads(t);
            // Inside the pool, as `Trainer::fit` runs: entering it once per
            // measurement instead of once per elementwise pass.
            let samples = &mut all[i];
            let bench = &mut bench;
            parallel::install(|| measure(timing, samples, || bench.step()));
        }
    }
    all
}

#[derive(Debug, Clone)]
struct InferenceResult {
    config: Config,
    batch: usize,
    threads: usize,
    secs: f64,
    allocs: f64,
}

fn measure_inference(c: &Config, threads: &[usize], timing: Timing) -> Vec<InferenceResult> {
    let net = configs::build(c.sizes, c.hidden, c.loss);
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
                batch,
                threads: t,
                secs: s.median(),
                allocs: s.allocs_per_rep(),
            });
        }
    }
    out
}

#[derive(Debug, Clone)]
struct ScalingPoint {
    sizes: Vec<usize>,
    n_params: usize,
    secs: f64,
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

#[derive(Debug, Clone)]
struct FdPoint {
    n_params: usize,
    backprop_s: f64,
    fd_s: f64,
}

/// Central-difference step in f32; it sets the cost of nothing, only the
/// values, which are discarded.
const FD_EPSILON: f32 = 1e-2;

fn measure_fd(hs: &[usize], timing: Timing) -> Vec<FdPoint> {
    set_threads(1);
    let loss = backprop::Loss::CategoricalCrossEntropy;
    hs.iter()
        .map(|&h| {
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
        })
        .collect()
}

// ---- peak RSS in a child process -----------------------------------------------------

#[derive(Debug, Clone)]
struct RssResult {
    config: &'static str,
    threads: usize,
    vm_hwm_kib: Option<u64>,
    note: Option<String>,
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The child side: train `steps` steps of one configuration, print VmHWM.
fn rss_child(name: &str, threads: usize, steps: usize) -> Result<(), String> {
    let c = lookup(name)?;
    set_threads(threads);
    let mut bench = StepBench::for_config(&c);
    for _ in 0..steps {
        bench.step();
    }
    match vm_hwm_kib() {
        Some(kib) => println!("VmHWM_KiB {kib}"),
        None => println!("VmHWM_KiB unavailable"),
    }
    Ok(())
}

fn measure_rss(c: &Config, threads: usize, steps: usize) -> RssResult {
    let fail = |note: String| RssResult {
        config: c.name,
        threads,
        vm_hwm_kib: None,
        note: Some(note),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot locate this program: {e}")),
    };
    let out = Command::new(exe)
        .args([
            "--rss-child",
            c.name,
            "--threads",
            &threads.to_string(),
            "--steps",
            &steps.to_string(),
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM_KiB "))
                .and_then(|v| v.trim().parse().ok());
            RssResult {
                config: c.name,
                threads,
                vm_hwm_kib: kib,
                note: kib
                    .is_none()
                    .then(|| "no /proc/self/status on this system".to_owned()),
            }
        }
        Ok(o) => fail(format!(
            "child exited with {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => fail(format!("cannot start child: {e}")),
    }
}

/// Bytes the training state needs at least: parameters, gradient, workspace
/// buffers (activations, output, two deltas, ones) and the batch, in f32.
fn model_floor_kib(c: &Config) -> f64 {
    let b = c.batch;
    let sizes = c.sizes;
    let n = configs::n_params(sizes);
    let hidden: usize = sizes[1..sizes.len() - 1].iter().sum();
    let widest = sizes[1..].iter().copied().max().unwrap_or(0);
    let out = *sizes.last().unwrap();
    let floats = 2 * n + b * (hidden + out + 2 * widest + 1 + sizes[0]);
    floats as f64 * 4.0 / 1024.0
}

// ---- the report ---------------------------------------------------------------------

struct Report {
    env: Json,
    steps: Vec<StepResult>,
    gemms: Vec<GemmResult>,
    inference: Vec<InferenceResult>,
    width: Vec<ScalingPoint>,
    depth: Vec<ScalingPoint>,
    fd: Vec<FdPoint>,
    rss: Vec<RssResult>,
}

fn run_report(opts: &Options) -> Result<Report, String> {
    let cfgs = opts.selected()?;
    let timing = opts.timing();
    let gemm_timing = Timing {
        min_time: timing.min_time * 0.5,
        ..timing
    };
    let mut report = Report {
        env: environment(opts),
        steps: Vec::new(),
        gemms: Vec::new(),
        inference: Vec::new(),
        width: Vec::new(),
        depth: Vec::new(),
        fd: Vec::new(),
        rss: Vec::new(),
    };
    for c in &cfgs {
        eprintln!("[bench_report] {}: sgemm shapes", c.name);
        let mut peaks = Vec::new();
        for &t in &opts.threads {
            let g = measure_gemms(c, t, gemm_timing);
            let peak = g.iter().map(GemmResult::gflops).fold(0.0, f64::max);
            let sum: f64 = g.iter().map(|r| r.secs).sum();
            peaks.push((peak, sum));
            report.gemms.extend(g);
        }
        eprintln!("[bench_report] {}: training steps", c.name);
        let samples = measure_steps(c, &opts.threads, opts.rounds, timing);
        for ((s, &t), (peak, sum)) in samples.into_iter().zip(&opts.threads).zip(peaks) {
            report.steps.push(StepResult {
                config: *c,
                threads: t,
                samples: s,
                sgemm_peak_gflops: peak,
                gemm_sum_s: sum,
            });
        }
        eprintln!("[bench_report] {}: inference", c.name);
        report
            .inference
            .extend(measure_inference(c, &opts.threads, timing));
        if opts.rss {
            eprintln!("[bench_report] {}: peak RSS (child process)", c.name);
            for &t in &opts.threads {
                report.rss.push(measure_rss(c, t, opts.steps));
            }
        }
    }
    if opts.scaling {
        let (widths, depths, hs) = if opts.smoke {
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
        report.width = measure_family(&members, backprop::Activation::Relu, timing);
        eprintln!("[bench_report] scaling: depth family");
        let members: Vec<Vec<usize>> = depths.iter().map(|&d| configs::depth_sizes(d)).collect();
        report.depth = measure_family(&members, backprop::Activation::Tanh, timing);
        eprintln!("[bench_report] scaling: backprop vs central differences");
        report.fd = measure_fd(hs, timing);
    }
    Ok(report)
}

fn slope_of(points: &[ScalingPoint]) -> f64 {
    loglog_slope(
        &points
            .iter()
            .map(|p| (p.n_params as f64, p.secs))
            .collect::<Vec<_>>(),
    )
}

struct Slopes {
    width: f64,
    depth: f64,
    fd_ratio: f64,
    fd: f64,
    backprop: f64,
}

impl Report {
    fn slopes(&self) -> Slopes {
        let fd_pts = |f: &dyn Fn(&FdPoint) -> f64| {
            loglog_slope(
                &self
                    .fd
                    .iter()
                    .map(|p| (p.n_params as f64, f(p)))
                    .collect::<Vec<_>>(),
            )
        };
        Slopes {
            width: slope_of(&self.width),
            depth: slope_of(&self.depth),
            fd_ratio: fd_pts(&|p| p.fd_s / p.backprop_s),
            fd: fd_pts(&|p| p.fd_s),
            backprop: fd_pts(&|p| p.backprop_s),
        }
    }

    fn rss_for(&self, name: &str, threads: usize) -> Option<&RssResult> {
        self.rss
            .iter()
            .find(|r| r.config == name && r.threads == threads)
    }

    fn json(&self) -> Json {
        let sl = self.slopes();
        let point = |p: &ScalingPoint| {
            Json::obj(vec![
                ("sizes", Json::s(sizes_text(&p.sizes))),
                ("n_params", Json::i(p.n_params)),
                ("step_s", Json::n(p.secs)),
                ("params_per_s", Json::n(p.n_params as f64 / p.secs)),
            ])
        };
        Json::obj(vec![
            ("schema", Json::i(1)),
            ("environment", self.env.clone()),
            (
                "flop_count",
                Json::s("training step: 6*B*N_weights; forward: 2*B*N_weights; sgemm: 2*m*n*k"),
            ),
            (
                "train_step",
                Json::Arr(
                    self.steps
                        .iter()
                        .map(|s| s.json(self.rss_for(s.config.name, s.threads)))
                        .collect(),
                ),
            ),
            (
                "inference",
                Json::Arr(
                    self.inference
                        .iter()
                        .map(|r| {
                            Json::obj(vec![
                                ("config", Json::s(r.config.name)),
                                ("batch", Json::i(r.batch)),
                                ("threads", Json::i(r.threads)),
                                ("time_s", Json::n(r.secs)),
                                ("samples_per_s", Json::n(r.batch as f64 / r.secs)),
                                (
                                    "gflops",
                                    Json::n(
                                        configs::forward_flops(r.config.sizes, r.batch)
                                            / r.secs
                                            / 1e9,
                                    ),
                                ),
                                ("allocs_per_call", Json::n(r.allocs)),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "sgemm",
                Json::Arr(
                    self.gemms
                        .iter()
                        .map(|g| {
                            Json::obj(vec![
                                ("config", Json::s(g.config)),
                                ("threads", Json::i(g.threads)),
                                ("layer", Json::i(g.shape.layer)),
                                ("op", Json::s(g.shape.op)),
                                ("m", Json::i(g.shape.m)),
                                ("n", Json::i(g.shape.n)),
                                ("k", Json::i(g.shape.k)),
                                ("trans_a", Json::s(if g.shape.trans_a { "T" } else { "N" })),
                                ("trans_b", Json::s(if g.shape.trans_b { "T" } else { "N" })),
                                ("time_s", Json::n(g.secs)),
                                ("gflops", Json::n(g.gflops())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "scaling",
                Json::obj(vec![
                    ("batch", Json::i(configs::SCALING_BATCH)),
                    ("threads", Json::i(1)),
                    (
                        "width_family",
                        Json::Arr(self.width.iter().map(point).collect()),
                    ),
                    ("width_slope", Json::n(sl.width)),
                    (
                        "depth_family",
                        Json::Arr(self.depth.iter().map(point).collect()),
                    ),
                    ("depth_slope", Json::n(sl.depth)),
                    ("fd_batch", Json::i(configs::FD_BATCH)),
                    (
                        "backprop_vs_central_differences",
                        Json::Arr(
                            self.fd
                                .iter()
                                .map(|p| {
                                    Json::obj(vec![
                                        ("n_params", Json::i(p.n_params)),
                                        ("backprop_s", Json::n(p.backprop_s)),
                                        ("central_differences_s", Json::n(p.fd_s)),
                                        ("ratio", Json::n(p.fd_s / p.backprop_s)),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                    ("fd_over_backprop_slope", Json::n(sl.fd_ratio)),
                    ("central_differences_slope", Json::n(sl.fd)),
                    ("backprop_slope", Json::n(sl.backprop)),
                ]),
            ),
            (
                "peak_rss",
                Json::Arr(
                    self.rss
                        .iter()
                        .map(|r| {
                            let c = configs::config_by_name(r.config).expect("known config");
                            Json::obj(vec![
                                ("config", Json::s(r.config)),
                                ("threads", Json::i(r.threads)),
                                (
                                    "vm_hwm_kib",
                                    Json::opt(r.vm_hwm_kib, |v| Json::i(v as usize)),
                                ),
                                ("model_floor_kib", Json::n(model_floor_kib(&c).round())),
                                ("note", Json::opt(r.note.clone(), Json::s)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let env_field = |path: &[&str]| -> String {
            let mut cur = &self.env;
            for key in path {
                cur = match cur {
                    Json::Obj(pairs) => match pairs.iter().find(|(k, _)| k == key) {
                        Some((_, v)) => v,
                        None => return "?".into(),
                    },
                    _ => return "?".into(),
                };
            }
            match cur {
                Json::Str(s) => s.clone(),
                Json::Int(i) => i.to_string(),
                Json::Null => "unset".into(),
                other => other.to_text().trim().to_owned(),
            }
        };
        let _ = writeln!(md, "### Results ({} run)\n", env_field(&["mode"]));
        if env_field(&["mode"]) == "smoke" {
            let _ = writeln!(
                md,
                "Smoke run: tiny sizes and a few repetitions to check the tooling; \
                 the figures below mean nothing.\n"
            );
        }
        let _ = writeln!(
            md,
            "Machine: {} ({} logical CPUs), {} {}. BLAS: {} (kernel {}). rustc: {}. \
             Env: OPENBLAS_CORETYPE={}, OPENBLAS_L2_SIZE={}, OPENBLAS_NUM_THREADS={}.\n",
            env_field(&["machine", "cpu_model"]),
            env_field(&["machine", "logical_cpus"]),
            env_field(&["machine", "os"]),
            env_field(&["machine", "kernel"]),
            env_field(&["blas", "config"]),
            env_field(&["blas", "corename"]),
            env_field(&["versions", "rustc"]),
            env_field(&["env", "OPENBLAS_CORETYPE"]),
            env_field(&["env", "OPENBLAS_L2_SIZE"]),
            env_field(&["env", "OPENBLAS_NUM_THREADS"]),
        );
        let _ = writeln!(md, "Command: `{}`\n", env_field(&["command"]));

        let _ = writeln!(md, "#### Training step (f32, forward + backward + SGD)\n");
        let _ = writeln!(
            md,
            "| config | sizes | B | threads | step (ms, median) | samples/s | GFLOP/s (6·B·N_w) \
             | sgemm peak GFLOP/s | % of peak | GEMM share | allocs/step | peak RSS (MiB) | state floor (MiB) |"
        );
        let _ = writeln!(
            md,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for s in &self.steps {
            let rss = self
                .rss_for(s.config.name, s.threads)
                .and_then(|r| r.vm_hwm_kib)
                .map_or("n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.3} | {:.0} | {:.1} | {:.1} | {:.0}% | {:.0}% | {} | {} | {:.1} |",
                s.config.name,
                sizes_text(s.config.sizes),
                s.config.batch,
                s.threads,
                s.step_s() * 1e3,
                s.samples_per_s(),
                s.gflops(),
                s.sgemm_peak_gflops,
                100.0 * s.frac_of_peak(),
                100.0 * s.gemm_sum_s / s.step_s(),
                fmt_allocs(s.samples.allocs_per_rep()),
                rss,
                model_floor_kib(&s.config) / 1024.0
            );
        }
        let _ = writeln!(
            md,
            "\n\"sgemm peak\" is the best GFLOP/s of the step's own GEMM shapes run alone; \
             \"GEMM share\" is the sum of those GEMMs' times over the step time. GFLOP/s \
             credits 6·B·N_w; % of peak uses the FLOPs the GEMMs actually perform \
             (6·B·N_w − 2·B·n₀·n₁: the first layer back-propagates no delta). \
             \"state floor\" is parameters + gradient + workspace + batch in f32.\n"
        );

        let _ = writeln!(md, "#### Inference (f32, `predict_into`)\n");
        let _ = writeln!(
            md,
            "| config | batch | threads | time (ms) | samples/s | GFLOP/s |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        for r in &self.inference {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.4} | {:.0} | {:.1} |",
                r.config.name,
                r.batch,
                r.threads,
                r.secs * 1e3,
                r.batch as f64 / r.secs,
                configs::forward_flops(r.config.sizes, r.batch) / r.secs / 1e9
            );
        }

        let _ = writeln!(md, "\n#### sgemm at the step's shapes\n");
        let _ = writeln!(
            md,
            "| config | shape (layer-op[m×n×k]) | op(A),op(B) | threads | GFLOP/s |"
        );
        let _ = writeln!(md, "|---|---|---|---:|---:|");
        for g in &self.gemms {
            let _ = writeln!(
                md,
                "| {} | {} | {}{} | {} | {:.1} |",
                g.config,
                g.shape.label(),
                if g.shape.trans_a { "T" } else { "N" },
                if g.shape.trans_b { "T" } else { "N" },
                g.threads,
                g.gflops()
            );
        }

        if !self.width.is_empty() || !self.fd.is_empty() {
            let sl = self.slopes();
            let _ = writeln!(
                md,
                "\n#### Scaling (1 thread, batch {})\n",
                configs::SCALING_BATCH
            );
            for (title, pts, slope) in [
                ("same depth, growing width", &self.width, sl.width),
                ("same width, growing depth", &self.depth, sl.depth),
            ] {
                let _ = writeln!(
                    md,
                    "{title}: fitted slope of ln(step time) vs ln N = **{slope:.3}**\n"
                );
                let _ = writeln!(md, "| sizes | N | step (ms) | params/s |");
                let _ = writeln!(md, "|---|---:|---:|---:|");
                for p in pts.iter() {
                    let sizes = if p.sizes.len() > 8 {
                        format!(
                            "{}×{}-{}",
                            p.sizes.len() - 2,
                            p.sizes[1],
                            p.sizes.last().unwrap()
                        )
                    } else {
                        sizes_text(&p.sizes)
                    };
                    let _ = writeln!(
                        md,
                        "| {sizes} | {} | {:.3} | {:.3e} |",
                        p.n_params,
                        p.secs * 1e3,
                        p.n_params as f64 / p.secs
                    );
                }
                let _ = writeln!(md);
            }
            let _ = writeln!(
                md,
                "Gradient by backprop vs central differences (batch {}): slope of ln(ratio) vs ln N = \
                 **{:.3}** (backprop {:.3}, central differences {:.3})\n",
                configs::FD_BATCH,
                sl.fd_ratio,
                sl.backprop,
                sl.fd
            );
            let _ = writeln!(
                md,
                "| N | backprop (ms) | central differences (ms) | ratio |"
            );
            let _ = writeln!(md, "|---:|---:|---:|---:|");
            for p in &self.fd {
                let _ = writeln!(
                    md,
                    "| {} | {:.4} | {:.3} | {:.0} |",
                    p.n_params,
                    p.backprop_s * 1e3,
                    p.fd_s * 1e3,
                    p.fd_s / p.backprop_s
                );
            }
        }

        let _ = writeln!(md, "\n#### Against the targets (informational)\n");
        let _ = writeln!(md, "| target | measured | met |");
        let _ = writeln!(md, "|---|---|---|");
        for s in self.steps.iter().filter(|s| s.config.big) {
            let f = s.frac_of_peak();
            let _ = writeln!(
                md,
                "| ≥ 90% of sgemm peak, {} {}t | {:.0}% | {} |",
                s.config.name,
                s.threads,
                100.0 * f,
                yes_no(f >= 0.9)
            );
        }
        if !self.width.is_empty() {
            let sl = self.slopes();
            for (name, v) in [("width", sl.width), ("depth", sl.depth)] {
                let _ = writeln!(
                    md,
                    "| slope 1.00 ± 0.05, {name} family | {v:.3} | {} |",
                    yes_no((v - 1.0).abs() <= 0.05)
                );
            }
        }
        let worst = self
            .steps
            .iter()
            .map(|s| s.samples.allocs_per_rep())
            .fold(0.0, f64::max);
        if !self.steps.is_empty() {
            let _ = writeln!(
                md,
                "| 0 allocations per step (all configs) | max {} | {} |",
                fmt_allocs(worst),
                yes_no(worst == 0.0)
            );
        }
        let _ = writeln!(
            md,
            "\nPyTorch ratios come from `bench/compare_peers.py`, not from this report."
        );
        md
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn fmt_allocs(v: f64) -> String {
    if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Writes `text` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

// ---- single-configuration mode (for bench/compare_peers.py) -------------------------

fn run_single(opts: &Options, name: &str) -> Result<(), String> {
    let c = lookup(name)?;
    let t = match opts.threads.as_slice() {
        [t] => *t,
        _ => return Err("--config needs exactly one thread count, e.g. --threads 1".into()),
    };
    let timing = opts.timing();
    let s = measure_steps(&c, &[t], 1, timing)
        .pop()
        .expect("one thread count, one result");
    let r = StepResult {
        config: c,
        threads: t,
        samples: s,
        sgemm_peak_gflops: f64::NAN,
        gemm_sum_s: f64::NAN,
    };
    if opts.json {
        let (blas, core) = blas_description();
        let j = Json::obj(vec![
            ("impl", Json::s("backprop")),
            ("config", Json::s(c.name)),
            ("threads", Json::i(t)),
            ("batch", Json::i(c.batch)),
            ("reps", Json::i(r.samples.secs.len())),
            ("step_s_median", Json::n(r.step_s())),
            ("step_s_min", Json::n(r.samples.min())),
            ("samples_per_s", Json::n(r.samples_per_s())),
            ("gflops", Json::n(r.gflops())),
            ("allocs_per_step", Json::n(r.samples.allocs_per_rep())),
            ("blas", Json::s(format!("{blas} (kernel {core})"))),
        ]);
        print!("{}", j.to_text());
    } else {
        println!(
            "{} {} B={} {}t: step {:.3} ms (median of {}), {:.0} samples/s, {:.1} GFLOP/s, {} allocs/step",
            c.name,
            sizes_text(c.sizes),
            c.batch,
            t,
            r.step_s() * 1e3,
            r.samples.secs.len(),
            r.samples_per_s(),
            r.gflops(),
            fmt_allocs(r.samples.allocs_per_rep())
        );
    }
    Ok(())
}

fn list_configs() {
    let j = Json::Arr(
        configs::CONFIGS
            .iter()
            .map(|c| {
                Json::obj(vec![
                    ("name", Json::s(c.name)),
                    (
                        "sizes",
                        Json::Arr(c.sizes.iter().map(|&n| Json::i(n)).collect()),
                    ),
                    ("hidden", Json::s(c.hidden.name())),
                    ("loss", Json::s(c.loss.name())),
                    ("batch", Json::i(c.batch)),
                    ("big", Json::Bool(c.big)),
                    ("learning_rate", Json::n(configs::LEARNING_RATE)),
                ])
            })
            .collect(),
    );
    print!("{}", j.to_text());
}

fn main() {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let result = if let Some(name) = &opts.rss_child {
        let t = opts.threads.first().copied().unwrap_or(1);
        rss_child(name, t, opts.steps)
    } else if opts.list_configs {
        list_configs();
        Ok(())
    } else if let Some(name) = &opts.single {
        run_single(&opts, name)
    } else {
        run_report(&opts).and_then(|report| {
            let md = report.markdown();
            let json = report.json().to_text();
            print!("{md}");
            std::fs::create_dir_all(&opts.out)
                .and_then(|()| write_atomic(&opts.out.join("report.json"), &json))
                .and_then(|()| write_atomic(&opts.out.join("report.md"), &md))
                .map_err(|e| format!("cannot write the report to {}: {e}", opts.out.display()))?;
            eprintln!(
                "[bench_report] wrote {} and {}",
                opts.out.join("report.json").display(),
                opts.out.join("report.md").display()
            );
            Ok(())
        })
    };
    if let Err(msg) = result {
        eprintln!("bench_report: {msg}");
        std::process::exit(1);
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

    #[test]
    fn json_escapes_strings_and_nulls_non_finite_numbers() {
        let j = Json::obj(vec![
            ("a", Json::s("q\"b\\n\nx\u{1}")),
            ("nan", Json::n(f64::NAN)),
            (
                "list",
                Json::Arr(vec![Json::i(1), Json::Bool(true), Json::Null]),
            ),
        ]);
        let text = j.to_text();
        assert!(text.contains(r#""a": "q\"b\\n\nx\u0001""#), "{text}");
        assert!(text.contains(r#""nan": null"#), "{text}");
        let compact: String = text.split_whitespace().collect();
        assert!(compact.contains(r#""list":[1,true,null]"#), "{text}");
    }

    #[test]
    fn step_gemms_are_the_counted_flops_less_the_first_layer_delta() {
        for c in configs::CONFIGS {
            let sum: f64 = configs::step_gemms(c.sizes, c.batch)
                .iter()
                .map(configs::GemmShape::flops)
                .sum();
            let no_first_delta = 2.0 * c.batch as f64 * (c.sizes[0] * c.sizes[1]) as f64;
            assert_eq!(
                sum,
                configs::step_flops(c.sizes, c.batch) - no_first_delta,
                "{}",
                c.name
            );
            assert_eq!(
                sum,
                configs::step_gemm_flops(c.sizes, c.batch),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn config_table_matches_the_networks_built() {
        for c in configs::CONFIGS.iter().filter(|c| !c.big) {
            let net = configs::build(c.sizes, c.hidden, c.loss);
            assert_eq!(net.sizes(), c.sizes);
            assert_eq!(net.n_params(), configs::n_params(c.sizes));
        }
        assert_eq!(configs::n_weights(&[784, 128, 10]), 784 * 128 + 128 * 10);
    }

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options_parse_and_reject() {
        let o = parse(&["--smoke", "--threads", "1,2", "--out", "x"]).unwrap();
        assert!(o.smoke);
        assert_eq!(o.rounds, 1, "smoke defaults to one round");
        assert_eq!(o.threads, vec![1, 2]);
        assert!(o.selected().unwrap().iter().all(|c| !c.big));
        assert_eq!(parse(&["--smoke", "--rounds", "4"]).unwrap().rounds, 4);
        assert!(parse(&["--threads", "0"]).unwrap_err().contains("positive"));
        assert!(parse(&["--min-time", "-1"]).is_err());
        assert!(parse(&["--wat"]).unwrap_err().contains("unknown argument"));
        let o = parse(&["--configs", "S,xl"]).unwrap();
        let names: Vec<&str> = o.selected().unwrap().iter().map(|c| c.name).collect();
        assert_eq!(names, ["S", "XL"]);
        assert!(
            parse(&["--configs", "Q"])
                .unwrap()
                .selected()
                .unwrap_err()
                .contains("known: S, M, T, L, XL")
        );
    }
}
