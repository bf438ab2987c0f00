//! Data-parallel scaling (feature `mpi`): one training step split into
//! compute (forward and backward on this rank's shard of the global batch)
//! and the all-reduce of the gradient, for the S, M, L, XL configurations
//! of `benches/common/configs.rs`; then an α-β model of the all-reduce
//! that projects to 8–64 machines.
//!
//! Two phases. Measure, once per rank count (each run appends JSON lines):
//!
//! ```text
//! cargo build --release --features mpi --example mpi_scaling
//! for n in 1 2 4; do
//!   mpirun -n $n --bind-to none target/release/examples/mpi_scaling --out target/mpi-scaling.jsonl
//! done
//! ```
//!
//! then analyse (no mpirun): `target/release/examples/mpi_scaling --report
//! target/mpi-scaling.jsonl` prints the markdown tables of BENCHMARKS.md.
//!
//! Options: `--quick` (few steps, S and M only, small sweep: a smoke run);
//! `BACKPROP_BENCH_CONFIGS=S,M` picks configurations. Threads per rank: the
//! cores divided by the ranks on the node (`MpiSession::threads_per_rank`).

#[path = "../benches/common/configs.rs"]
mod configs;

use std::io::Write;
use std::time::Instant;

use backprop::distributed::Distributed;
use backprop::mpi::MpiSession;
use serde_json::{Value, json};

/// Rank counts P of the projection.
const MACHINES: &[usize] = &[1, 8, 16, 32, 64];
/// Network bandwidths of the projection, Gbit/s.
const LINKS_GBIT: &[f64] = &[10.0, 100.0];
/// Per-message latency assumed for a network (a projection input, not a
/// measurement): TCP over 10 GbE ~ 25 µs, RDMA over 100 Gbit/s ~ 3 µs.
const LINK_LATENCY_US: &[f64] = &[25.0, 3.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    if let Some(path) = value("--report") {
        return report(&std::fs::read_to_string(path)?);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mpi = MpiSession::init()?;
    backprop::parallel::set_num_threads(mpi.threads_per_rank())?;
    let comm = mpi.distributed();
    let mut rows = Vec::new();
    let all = std::env::var_os("BACKPROP_BENCH_CONFIGS").is_some();
    for c in configs::selected_configs() {
        // S, M, L, XL unless named; the big ones are left out of smoke runs.
        if (quick && c.big) || !(all || ["S", "M", "L", "XL"].contains(&c.name)) {
            continue;
        }
        rows.push(step_split(&comm, &c, quick)?);
        if comm.size() == 1 {
            rows.extend(local_batches(&c, quick)?);
        }
    }
    if comm.size() > 1 {
        rows.extend(sweep(&comm, quick)?);
    }
    if comm.rank() == 0 {
        let mut text = String::new();
        for r in &rows {
            text.push_str(&format!("{r}\n"));
        }
        print!("{text}");
        if let Some(path) = value("--out") {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            f.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Steps of a configuration at R ranks: median compute and all-reduce
/// seconds per step (means over the ranks).
fn step_split(
    comm: &Distributed,
    c: &configs::Config,
    quick: bool,
) -> Result<Value, Box<dyn std::error::Error>> {
    let (r, size) = (comm.rank(), comm.size());
    let part = c.batch * (r + 1) / size - c.batch * r / size;
    let net = configs::build(c.sizes, c.hidden, c.loss);
    let x = configs::inputs(part.max(1), c.sizes[0], 7 + r as u64);
    let y = configs::targets(part.max(1), *c.sizes.last().unwrap(), c.loss);
    let mut ws = net.workspace(part.max(1));
    let steps = if quick {
        3
    } else if c.big {
        10
    } else {
        50
    };
    let (mut compute, mut reduce) = (Vec::new(), Vec::new());
    for s in 0..steps + 2 {
        let t0 = Instant::now();
        net.compute_gradient(&mut ws, x.view(), y.view(), 1e-4)?;
        let t1 = Instant::now();
        // The ranks meet first, so that the all-reduce is timed alone.
        comm.sum_one(0.0)?;
        let t2 = Instant::now();
        comm.sum(ws.gradient_mut().as_mut_slice())?;
        let t3 = Instant::now();
        if s >= 2 {
            compute.push((t1 - t0).as_secs_f64());
            reduce.push((t3 - t2).as_secs_f64());
        }
    }
    let mean = |v: f64| comm.sum_one(v).map(|s| s / size as f64);
    Ok(json!({
        "kind": "step", "config": c.name, "ranks": size, "batch": c.batch,
        "params": net.n_params(), "threads": backprop::parallel::num_threads(),
        "compute_s": mean(median(compute))?, "allreduce_s": mean(median(reduce))?,
    }))
}

/// One process: compute seconds per step on B/P rows, the shard a rank of
/// P would hold, for the projection.
fn local_batches(
    c: &configs::Config,
    quick: bool,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let net = configs::build(c.sizes, c.hidden, c.loss);
    let mut out = Vec::new();
    for &p in MACHINES {
        let rows = c.batch.div_ceil(p);
        let x = configs::inputs(rows, c.sizes[0], 7);
        let y = configs::targets(rows, *c.sizes.last().unwrap(), c.loss);
        let mut ws = net.workspace(rows);
        let steps = if quick {
            3
        } else if c.big {
            10
        } else {
            50
        };
        let mut t = Vec::new();
        for s in 0..steps + 2 {
            let t0 = Instant::now();
            net.compute_gradient(&mut ws, x.view(), y.view(), 1e-4)?;
            if s >= 2 {
                t.push(t0.elapsed().as_secs_f64());
            }
        }
        out.push(json!({
            "kind": "shard", "config": c.name, "machines": p, "rows": rows,
            "params": net.n_params(), "compute_s": median(t),
        }));
    }
    Ok(out)
}

/// All-reduce seconds of f32 buffers from 1K to 16M elements at R ranks.
fn sweep(comm: &Distributed, quick: bool) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = (0..if quick { 4 } else { 8 })
        .map(|k| 1024 << (2 * k))
        .collect();
    let mut out = Vec::new();
    for n in sizes {
        let mut buf = vec![1.0f32; n];
        let reps = if quick { 3 } else { (64 << 20) / (n * 4) + 5 }.min(200);
        let mut t = Vec::new();
        for _ in 0..reps {
            comm.sum_one(0.0)?;
            let t0 = Instant::now();
            comm.sum(&mut buf)?;
            t.push(t0.elapsed().as_secs_f64());
        }
        let m = median(t);
        let worst = comm.sum_one(m)? / comm.size() as f64;
        out.push(json!({
            "kind": "allreduce", "ranks": comm.size(), "floats": n, "seconds": worst,
        }));
    }
    Ok(out)
}

/// The markdown tables from the measured rows.
fn report(jsonl: &str) -> Result<(), Box<dyn std::error::Error>> {
    let rows: Vec<Value> = jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let kind = |k: &'static str| rows.iter().filter(move |r| r["kind"] == k);
    println!("### Step time split (compute | all-reduce), ms per step\n");
    println!(
        "| config | params | global batch | ranks | threads/rank | compute | all-reduce | all-reduce share |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in kind("step") {
        let (c, a) = (
            r["compute_s"].as_f64().unwrap_or(0.0),
            r["allreduce_s"].as_f64().unwrap_or(0.0),
        );
        println!(
            "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.0}% |",
            r["config"].as_str().unwrap_or("?"),
            r["params"],
            r["batch"],
            r["ranks"],
            r["threads"],
            c * 1e3,
            a * 1e3,
            100.0 * a / (c + a).max(1e-12)
        );
    }
    // α-β fit per rank count, t = a + b·bytes, least squares.
    println!("\n### All-reduce fit t = α_R + β_R·bytes (this machine, shared memory)\n");
    println!("| ranks | α_R (µs) | β_R (ns/byte) | 1/β_R (GB/s) |");
    println!("|---|---|---|---|");
    let mut alpha_per_hop = 0.0f64;
    let mut ranks: Vec<u64> = kind("allreduce")
        .filter_map(|r| r["ranks"].as_u64())
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    for &rk in &ranks {
        let pts: Vec<(f64, f64)> = kind("allreduce")
            .filter(|r| r["ranks"].as_u64() == Some(rk))
            .map(|r| {
                (
                    r["floats"].as_f64().unwrap() * 4.0,
                    r["seconds"].as_f64().unwrap(),
                )
            })
            .collect();
        let (a, b) = fit(&pts);
        println!(
            "| {rk} | {:.1} | {:.3} | {:.2} |",
            a * 1e6,
            b * 1e9,
            1e-9 / b.max(1e-18)
        );
        // A ring all-reduce sends 2(R−1) messages in sequence.
        alpha_per_hop = alpha_per_hop.max(a / (2.0 * (rk as f64 - 1.0)));
    }
    println!(
        "\nProjection: ring all-reduce on P machines, t_ar = 2(P−1)·α + 2(P−1)/P·bytes/BW, \
         α = max(fitted α per hop = {:.1} µs, the link's assumed latency); compute of a \
         step = the measured one-process time on ⌈B/P⌉ rows. Efficiency = t(1)/(P·t(P)).\n",
        alpha_per_hop * 1e6
    );
    println!(
        "| config | link | P | rows/machine | compute ms | all-reduce ms | step ms | samples/s | efficiency |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (&gbit, &lat_us) in LINKS_GBIT.iter().zip(LINK_LATENCY_US) {
        let alpha = alpha_per_hop.max(lat_us * 1e-6);
        let bw = gbit * 1e9 / 8.0;
        let mut configs: Vec<&str> = kind("shard").filter_map(|r| r["config"].as_str()).collect();
        configs.dedup();
        for c in configs {
            let mut t1 = None;
            for r in kind("shard").filter(|r| r["config"] == c) {
                let p = r["machines"].as_f64().unwrap();
                let bytes = r["params"].as_f64().unwrap() * 4.0;
                let comp = r["compute_s"].as_f64().unwrap();
                let ar = if p > 1.0 {
                    2.0 * (p - 1.0) * alpha + 2.0 * (p - 1.0) / p * bytes / bw
                } else {
                    0.0
                };
                let step = comp + ar;
                let t1v = *t1.get_or_insert(step);
                let batch = kind("step")
                    .find(|s| s["config"] == c)
                    .and_then(|s| s["batch"].as_f64())
                    .unwrap_or(0.0);
                println!(
                    "| {c} | {gbit} Gbit/s | {p} | {} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0}% |",
                    r["rows"],
                    comp * 1e3,
                    ar * 1e3,
                    step * 1e3,
                    batch / step,
                    100.0 * t1v / (p * step)
                );
            }
        }
    }
    Ok(())
}

/// Line through (x, y) minimizing the relative residuals Σ((y − a − b·x)/y)²
/// (the sizes span four decades; plain least squares would leave the
/// intercept to the noise of the largest messages): (intercept, slope).
fn fit(pts: &[(f64, f64)]) -> (f64, f64) {
    // Weighted normal equations with weights 1/y².
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y) in pts {
        let w = 1.0 / (y * y).max(1e-30);
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    let det = sw * sxx - sx * sx;
    if det.abs() < 1e-300 {
        return (sy / sw.max(1e-300), 0.0);
    }
    let b = (sw * sxy - sx * sy) / det;
    let a = (sy - b * sx) / sw;
    (a.max(0.0), b.max(0.0))
}
