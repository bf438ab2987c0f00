//! The report as Markdown, section by section, in the layout of
//! BENCHMARKS.md.

use std::fmt::Write as _;

use crate::configs;
use crate::memory::model_floor_kib;
use crate::report::{Report, sizes_text};
use crate::weights::Weights;

/// All sections of the report.
pub fn markdown(r: &Report) -> String {
    let mut md = String::new();
    header(&mut md, r);
    subnormals(&mut md, r);
    steps(&mut md, r);
    gemm_limit(&mut md, r);
    inference(&mut md, r);
    sgemm(&mut md, r);
    if !r.scaling.is_empty() {
        scaling(&mut md, r);
    }
    if !r.main_job.is_empty() {
        main_job(&mut md, r);
    }
    targets(&mut md, r);
    md
}

fn unset(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("unset")
}

fn header(md: &mut String, r: &Report) {
    let e = &r.env;
    let _ = writeln!(md, "### Results ({} run)\n", e.mode);
    if e.mode == "smoke" {
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
        e.machine.cpu_model,
        e.machine.logical_cpus,
        e.machine.os,
        unset(&e.machine.kernel),
        e.blas.config,
        e.blas.corename,
        unset(&e.versions.rustc),
        unset(&e.env.openblas_coretype),
        unset(&e.env.openblas_l2_size),
        unset(&e.env.openblas_num_threads),
    );
    let _ = writeln!(md, "Command: `{}`\n", e.command);
}

fn subnormals(md: &mut String, r: &Report) {
    if r.subnormals.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "#### Subnormal numbers at the measured weights
"
    );
    let _ = writeln!(
        md,
        "| config | weights | trained | Adam steps | train accuracy | head scale \
         | Δᴸ subnormal | gradient subnormal |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|---:|");
    for s in &r.subnormals {
        let how = s.convergence.as_ref();
        let c = &s.counts;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} of {} | {} of {} |",
            s.config,
            s.weights.name(),
            how.map_or("no", |h| h.trained),
            how.map_or("–".to_owned(), |h| h.steps.to_string()),
            how.map_or("–".to_owned(), |h| format!("{:.1}%", 100.0 * h.accuracy)),
            how.map_or("–".to_owned(), |h| format!("{:.1}", h.head_scale)),
            c.delta,
            c.delta_entries,
            c.gradient,
            c.gradient_entries
        );
    }
    let _ = writeln!(
        md,
        "\nCounted on the step's batch with flush-to-zero off: Δᴸ = Aᴸ − Y from \
         `predict`, the gradient from `compute_gradient`. Converged weights are trained \
         with Adam on a teacher task (all layers; the output layer alone for the big \
         configurations), then their output layer is scaled to the confidence at which \
         the most entries of Δᴸ are subnormal (see `benches/common/weights.rs`). Where \
         subnormal operands cost a microcode assist (Intel), converged steps are slower.\n"
    );
}

fn steps(md: &mut String, r: &Report) {
    let _ = writeln!(md, "#### Training step (f32, forward + backward + SGD)\n");
    let _ = writeln!(
        md,
        "| config | weights | sizes | B | threads | step (ms, median) | samples/s | GFLOP/s (6·B·N_w) \
         | sgemm peak GFLOP/s | % of peak | GEMM share | allocs/step | peak RSS (MiB) | state floor (MiB) |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in &r.steps {
        let rss = r
            .rss_for(s.config.name, s.threads)
            .and_then(|r| r.vm_hwm_kib)
            .map_or("n/a".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.3} | {:.0} | {:.1} | {:.1} | {:.0}% | {:.0}% | {} | {} | {:.1} |",
            s.config.name,
            s.weights.name(),
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
}

/// Step time beside the time of its GEMMs alone, per configuration and
/// thread count, one column group per set of weights.
fn gemm_limit(md: &mut String, r: &Report) {
    let weights: Vec<Weights> = Weights::ALL
        .into_iter()
        .filter(|&w| r.steps.iter().any(|s| s.weights == w))
        .collect();
    let _ = writeln!(md, "#### Training step against its GEMMs alone\n");
    let mut head = "| config | threads |".to_owned();
    let mut rule = "|---|---:|".to_owned();
    for w in &weights {
        let n = w.name();
        let _ = write!(
            head,
            " {n} step (ms) | {n} GEMMs alone (ms) | {n} step/GEMMs |"
        );
        rule.push_str("---:|---:|---:|");
    }
    let _ = writeln!(md, "{head}\n{rule}");
    let mut rows: Vec<(&str, usize)> = Vec::new();
    for s in &r.steps {
        if !rows.contains(&(s.config.name, s.threads)) {
            rows.push((s.config.name, s.threads));
        }
    }
    for (name, t) in rows {
        let mut line = format!("| {name} | {t} |");
        for &w in &weights {
            match r
                .steps
                .iter()
                .find(|s| (s.config.name, s.threads, s.weights) == (name, t, w))
            {
                Some(s) => {
                    let (step, alone) = (s.step_s() * 1e3, s.gemms_alone_s() * 1e3);
                    let _ = write!(
                        line,
                        " {step:.3} | {alone:.3} | {:.2} |",
                        s.step_over_gemms()
                    );
                }
                None => line.push_str(" – | – | – |"),
            }
        }
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(
        md,
        "\n\"GEMMs alone\" runs every GEMM and GEMV of the step (the forward GEMM per \
         layer; dW, db and, above the first layer, Δ_prev per layer backward) with the \
         step's shapes, transposes and α/β through the same BLAS, on random operands of \
         ordinary magnitude, timed in the same rounds as the step. step/GEMMs is 1 when \
         everything else is free; a converged ratio above the fresh one is the cost of \
         the converged values (subnormal numbers).\n"
    );
}

fn inference(md: &mut String, r: &Report) {
    let _ = writeln!(md, "#### Inference (f32, `predict_into`)\n");
    let _ = writeln!(
        md,
        "| config | weights | batch | threads | time (ms) | samples/s | GFLOP/s |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|");
    for i in &r.inference {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.4} | {:.0} | {:.1} |",
            i.config.name,
            i.weights.name(),
            i.batch,
            i.threads,
            i.secs * 1e3,
            i.batch as f64 / i.secs,
            configs::forward_flops(i.config.sizes, i.batch) / i.secs / 1e9
        );
    }
}

fn sgemm(md: &mut String, r: &Report) {
    let _ = writeln!(md, "\n#### sgemm at the step's shapes\n");
    let _ = writeln!(
        md,
        "| config | shape (layer-op[m×n×k]) | op(A),op(B) | threads | GFLOP/s |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|");
    for g in &r.gemms {
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
}

fn scaling(md: &mut String, r: &Report) {
    let s = &r.scaling;
    let sl = s.slopes();
    let _ = writeln!(
        md,
        "\n#### Scaling (1 thread, batch {})\n",
        configs::SCALING_BATCH
    );
    for (title, pts, slope) in [
        ("same depth, growing width", &s.width, sl.width),
        ("same width, growing depth", &s.depth, sl.depth),
    ] {
        let _ = writeln!(
            md,
            "{title}: fitted slope of ln(step time) vs ln N = **{slope:.3}**\n"
        );
        let _ = writeln!(md, "| sizes | N | step (ms) | params/s |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for p in pts.iter() {
            let sizes = if p.sizes.len() > 8 {
                let (depth, width) = (p.sizes.len() - 2, p.sizes[1]);
                format!("{depth}×{width}-{}", p.sizes.last().unwrap())
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
    for p in &s.fd {
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

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main_job(md: &mut String, r: &Report) {
    let _ = writeln!(md, "\n#### Memory of the main job\n");
    let _ = writeln!(
        md,
        "| command | threads | peak RSS (MiB) | data | parameters | optimizer state \
         | workspace | budget (MiB) | RSS/budget |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for j in &r.main_job {
        let b = &j.budget;
        let rss = j.peak_rss_kib.map_or_else(
            || format!("n/a ({})", j.note.as_deref().unwrap_or("not measured")),
            |k| format!("{:.1}", k as f64 / 1024.0),
        );
        let _ = writeln!(
            md,
            "| `{}` | {} | {rss} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            j.command,
            j.threads,
            mib(b.data),
            mib(b.params),
            mib(b.optimizer),
            mib(b.workspace),
            mib(b.total()),
            j.ratio().map_or("n/a".to_owned(), |v| format!("{v:.2}"))
        );
    }
    let _ = writeln!(
        md,
        "\nOne epoch of the default recipe (784-512-256-10, Adam, batch {}). Budget: \
         training and test features (f32) and labels, parameters (f32), Adam's two moments \
         (f32), gradient + workspace + one mini-batch (f32), in MiB. Peak RSS from `wait4`.\n",
        crate::main_job::recipe_batch_size()
    );
}

fn targets(md: &mut String, r: &Report) {
    let _ = writeln!(md, "\n#### Against the targets (informational)\n");
    let _ = writeln!(md, "| target | measured | met |");
    let _ = writeln!(md, "|---|---|---|");
    for s in r.steps.iter().filter(|s| s.config.big) {
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
    if !r.scaling.width.is_empty() {
        let sl = r.scaling.slopes();
        for (name, v) in [("width", sl.width), ("depth", sl.depth)] {
            let _ = writeln!(
                md,
                "| slope 1.00 ± 0.05, {name} family | {v:.3} | {} |",
                yes_no((v - 1.0).abs() <= 0.05)
            );
        }
    }
    for j in &r.main_job {
        if let Some(v) = j.ratio() {
            let _ = writeln!(
                md,
                "| main job's peak RSS ≤ 1.2 × budget, {}t | {v:.2} | {} |",
                j.threads,
                yes_no(v <= 1.2)
            );
        }
    }
    if !r.steps.is_empty() {
        let worst = r
            .steps
            .iter()
            .map(|s| s.samples.allocs_per_rep())
            .fold(0.0, f64::max);
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
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Allocations per repetition: an integer when whole.
pub fn fmt_allocs(v: f64) -> String {
    if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
