//! Benchmark report: training-step throughput, inference, the sgemm roofline,
//! the O(N) scaling fit, peak memory and allocations per step, written as
//! JSON and Markdown.
//!
//! ```text
//! cargo run --release --example bench_report -- [--smoke] [--out DIR]
//!     [--configs S,M,...] [--threads 1,2] [--rounds R] [--min-time SECS]
//!     [--skip-big] [--weights fresh,converged] [--no-scaling] [--no-rss]
//!     [--memory [--backprop-bin PATH]]
//! cargo run --release --example bench_report -- --config S --threads 1 --json
//! cargo run --release --example bench_report -- --list-configs
//! ```
//!
//! The full report writes `DIR/report.json` and `DIR/report.md` (default
//! `target/bench-report`). `--smoke` runs the small configurations with a few
//! repetitions and tiny scaling families, in seconds: CI runs it so that the
//! tooling cannot rot; its figures mean nothing.
//!
//! `--memory` adds the memory of the main job: the peak RSS of the
//! `backprop` binary (`cargo build --release --bin backprop` first) training
//! one epoch of Fashion-MNIST, beside the data + parameters + optimizer
//! state + workspace it needs at least.
//!
//! Every configuration is measured on fresh and on converged weights
//! (`benches/common/weights.rs`); the report counts the subnormal entries of
//! Δᴸ and of the gradient at both, the evidence that the converged setup
//! exercises subnormal numbers.
//!
//! `--config NAME --threads N --json` times training steps of one
//! configuration (fresh weights unless `--weights` says otherwise) and prints
//! one JSON object: `bench/compare_peers.py` calls it between peer runs.
//! `--list-configs` prints the configuration table as JSON.
//!
//! Timing: each measurement warms up, then repeats the operation until a
//! minimum time has passed and reports the median (and minimum) of the
//! individual durations. Training steps are measured in `--rounds` rounds that
//! alternate between thread counts, so that drift of the machine affects every
//! thread count alike. GFLOP/s count 6·B·N_weights per training step and
//! 2·B·N_weights per forward pass.
//!
//! The counting global allocator of `tests/common/counting_alloc.rs` records
//! heap allocations made by Rust code (OpenBLAS allocates through C `malloc`
//! and is not counted); the report gives the allocations per step after
//! warm-up. Peak RSS comes from a child process per configuration (this
//! program re-invoked with a hidden flag) that trains a few steps and reads
//! `VmHWM` from `/proc/self/status`.
//!
//! Files: `options` (command line), `measure` (timing loops and the measured
//! operations), `scaling` (the O(N) families), `memory` (peak RSS),
//! `main_job` (the binary's memory against its budget),
//! `environment` (machine and versions), `report` (what a run measures and
//! its JSON), `markdown` (its Markdown).

#[path = "../../benches/common/configs.rs"]
mod configs;
#[path = "../../tests/common/counting_alloc.rs"]
mod counting_alloc;
mod environment;
mod main_job;
mod markdown;
mod measure;
mod memory;
mod options;
mod report;
mod scaling;
#[path = "../../benches/common/weights.rs"]
mod weights;

use serde::Serialize;

use measure::{Timing, measure_steps};
use options::{Options, lookup};
use report::{StepResult, to_json_text};

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
        memory::rss_child(name, t, opts.steps)
    } else if opts.list_configs {
        print!("{}", to_json_text(&list_configs()));
        Ok(())
    } else if let Some(name) = &opts.single {
        run_single(&opts, name)
    } else {
        run_full(&opts)
    };
    if let Err(msg) = result {
        eprintln!("bench_report: {msg}");
        std::process::exit(1);
    }
}

/// The full report: printed as Markdown, written as JSON and Markdown.
fn run_full(opts: &Options) -> Result<(), String> {
    let report = report::run_report(opts)?;
    let md = markdown::markdown(&report);
    let json = report.json();
    print!("{md}");
    let write = |name: &str, text: &str| -> Result<(), String> {
        let path = opts.out.join(name);
        backprop::io::write_atomic(&path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| format!("cannot write the report: {e}"))
    };
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    write("report.json", &json)?;
    write("report.md", &md)?;
    eprintln!(
        "[bench_report] wrote {} and {}",
        opts.out.join("report.json").display(),
        opts.out.join("report.md").display()
    );
    Ok(())
}

/// One configuration's training steps, as `bench/compare_peers.py` reads them.
#[derive(Serialize)]
struct SingleJson {
    #[serde(rename = "impl")]
    implementation: &'static str,
    config: &'static str,
    weights: &'static str,
    threads: usize,
    batch: usize,
    reps: usize,
    step_s_median: f64,
    step_s_min: f64,
    samples_per_s: f64,
    gflops: f64,
    allocs_per_step: f64,
    blas: String,
}

fn run_single(opts: &Options, name: &str) -> Result<(), String> {
    let c = lookup(name)?;
    let t = match opts.threads.as_slice() {
        [t] => *t,
        _ => return Err("--config needs exactly one thread count, e.g. --threads 1".into()),
    };
    let timing: Timing = opts.timing();
    let w = opts.weights[0];
    let s = measure_steps(&c, &[w], &[t], 1, timing, false)
        .pop()
        .expect("one thread count, one result");
    let r = StepResult {
        config: c,
        weights: w,
        threads: t,
        samples: s.step,
        gemms_alone: s.gemms,
        sgemm_peak_gflops: f64::NAN,
        gemm_sum_s: f64::NAN,
    };
    if opts.json {
        let (blas, core) = environment::blas_description();
        let j = SingleJson {
            implementation: "backprop",
            config: c.name,
            weights: w.name(),
            threads: t,
            batch: c.batch,
            reps: r.samples.secs.len(),
            step_s_median: r.step_s(),
            step_s_min: r.samples.min(),
            samples_per_s: r.samples_per_s(),
            gflops: r.gflops(),
            allocs_per_step: r.samples.allocs_per_rep(),
            blas: format!("{blas} (kernel {core})"),
        };
        print!("{}", to_json_text(&j));
    } else {
        println!(
            "{} {} {} B={} {}t: step {:.3} ms (median of {}), {:.0} samples/s, {:.1} GFLOP/s, {} allocs/step",
            c.name,
            w.name(),
            report::sizes_text(c.sizes),
            c.batch,
            t,
            r.step_s() * 1e3,
            r.samples.secs.len(),
            r.samples_per_s(),
            r.gflops(),
            markdown::fmt_allocs(r.samples.allocs_per_rep())
        );
    }
    Ok(())
}

/// One row of `--list-configs`.
#[derive(Serialize)]
struct ConfigJson {
    name: &'static str,
    sizes: &'static [usize],
    hidden: &'static str,
    loss: &'static str,
    batch: usize,
    big: bool,
    learning_rate: f64,
}

fn list_configs() -> Vec<ConfigJson> {
    configs::CONFIGS
        .iter()
        .map(|c| ConfigJson {
            name: c.name,
            sizes: c.sizes,
            hidden: c.hidden.name(),
            loss: c.loss.name(),
            batch: c.batch,
            big: c.big,
            learning_rate: configs::LEARNING_RATE,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn step_calls_follow_the_networks_forward_backward() {
        let sizes = [9, 12, 8, 3];
        let calls = configs::step_calls(&sizes, 16);
        let order: Vec<String> = calls
            .iter()
            .map(|c| format!("{}{}", c.op, c.layer))
            .collect();
        assert_eq!(
            order,
            [
                "fwd0", "fwd1", "fwd2", "dW2", "db2", "dX2", "dW1", "db1", "dX1", "dW0", "db0"
            ]
        );
        for c in &calls {
            let (alpha, beta) = match c.op {
                "dW" | "db" => (1.0 / 16.0, 0.0),
                _ => (1.0, 0.0),
            };
            assert_eq!((c.alpha, c.beta), (alpha, beta), "{}", c.label());
        }
        // The shapes and transposes fit the buffers they are run on.
        configs::StepGemms::new(&sizes, 16).run();
    }

    #[test]
    fn converged_weights_are_trained_and_exercise_subnormals() {
        let c = configs::config_by_name("S").unwrap();
        let batch = weights::task(&c, c.batch);
        let fresh = weights::network(&c, weights::Weights::Fresh);
        let counts = weights::subnormals(&fresh, batch.x.view(), &batch.y);
        assert_eq!(counts.delta, 0, "fresh weights give a normal Δᴸ");
        let (net, how) = weights::converged(&c);
        assert_eq!(how.accuracy, 1.0, "{how:?}");
        assert!(how.head_scale > 1.0, "{how:?}");
        let counts = weights::subnormals(&net, batch.x.view(), &batch.y);
        assert!(counts.delta > counts.delta_entries / 10, "{counts:?}");
        assert_eq!(net.predict_classes(batch.x.view()).unwrap(), {
            let configs::OwnedTargets::Classes(c) = &batch.y else {
                unreachable!("S is a softmax configuration")
            };
            c.clone()
        });
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

    #[test]
    fn json_nulls_non_finite_numbers_and_keeps_field_names() {
        let j = SingleJson {
            implementation: "backprop",
            config: "S",
            weights: "fresh",
            threads: 1,
            batch: 64,
            reps: 3,
            step_s_median: f64::NAN,
            step_s_min: 0.5,
            samples_per_s: f64::INFINITY,
            gflops: 1.0,
            allocs_per_step: 0.0,
            blas: "q\"b".into(),
        };
        let text = to_json_text(&j);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["impl"], "backprop");
        assert!(v["step_s_median"].is_null(), "{text}");
        assert!(v["samples_per_s"].is_null(), "{text}");
        assert_eq!(v["blas"], "q\"b");
        let rows = serde_json::to_value(list_configs()).unwrap();
        assert_eq!(rows[0]["sizes"], serde_json::json!([784, 128, 10]));
    }
}
