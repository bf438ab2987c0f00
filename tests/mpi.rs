//! `backprop train` under `mpirun` (feature `mpi`): the real binary on 2 and
//! 4 ranks against one process, and the failures that must end the job.
//!
//! Needs `mpirun` (Debian: `openmpi-bin`); without it these tests fail, they
//! do not skip. Every job runs under `timeout -k 5 60`, so a hang fails the
//! test instead of stalling the suite.
//!
//! Tolerance: the ranks sum the same global-batch gradient as one process,
//! in another order (per-shard GEMMs weighted by their share, then the
//! all-reduce), so each f32 step differs by rounding (~1e-7 relative). Adam
//! divides by √v̂, which passes the gradient's relative error on to the
//! step: after the 30–55 steps here the weights agree to ~1e-7 (measured on
//! both data sets);
//! `TOL` = 1e-4 leaves room for other thread counts while a wrong weighting
//! (a shard's mean taken for the batch's, L2 counted on every rank) moves
//! them by 1e-2 or more. Across ranks the weights must be bitwise equal.

#![cfg(all(feature = "mpi", feature = "cli"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backprop::io::SavedModel;

const TOL: f32 = 1e-4;
const BIN: &str = env!("CARGO_BIN_EXE_backprop");

/// One job at a time: the ranks of concurrent jobs would share the cores,
/// and the time limits below are for one job.
static ONE_JOB: Mutex<()> = Mutex::new(());

/// `timeout -k 5 60 mpirun ... -n <ranks> <program> <args>`, with `env`;
/// its output and how long it ran.
fn mpirun_program(
    ranks: usize,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Output, Duration) {
    let _one = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let mut c = Command::new("timeout");
    c.args([
        "-k",
        "5",
        "60",
        "mpirun",
        "--oversubscribe",
        "--bind-to",
        "none",
    ]);
    c.args(["--allow-run-as-root", "-n", &ranks.to_string(), program]);
    c.args(args).envs(env.iter().copied());
    // One thread per rank (the machine may have fewer cores than ranks),
    // and ranks waiting in a collective yield their core.
    c.env("BACKPROP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMPI_MCA_mpi_yield_when_idle", "1");
    let o = c
        .output()
        .expect("mpirun must be installed (apt-get install openmpi-bin)");
    (o, started.elapsed())
}

fn mpirun(ranks: usize, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    mpirun_program(ranks, BIN, args, env)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Three noisy blobs in 4-D, 301 rows: with 10% held out, 271 training
/// rows make a ragged last batch of 21 at batch size 25.
fn blobs_csv(path: &Path) {
    let names = ["cat", "dog", "emu"];
    let mut t = String::from("a,b,c,d,species\n");
    for i in 0..301 {
        let c = i % 3;
        let j = |k: f64| ((i as f64 + 1.0) * k).sin();
        let (a, b) = (c as f64 + 0.8 * j(12.9898), -(c as f64) + 0.8 * j(78.233));
        t.push_str(&format!("{a},{b},{},{},{}\n", j(3.1), j(5.7), names[c]));
    }
    std::fs::write(path, t).unwrap();
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--train",
        data,
        "-o",
        out,
        "--layers",
        "8",
        "--epochs",
        "5",
        "--batch-size",
        "25",
        "--lr",
        "0.03",
        "--lambda",
        "0.001",
        "--seed",
        "3",
        "--no-progress",
    ]
}

fn params(path: &Path) -> Vec<f32> {
    SavedModel::<f32>::load(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .network
        .params()
        .to_vec()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn rank_copy(model: &Path, rank: usize) -> PathBuf {
    model.with_extension(format!("rank{rank}.safetensors"))
}

/// Trains with `args` (which end in `-o <dir>/<name>.safetensors`, set
/// here) on one process and on 2 and 4 ranks, and compares the models.
fn matches_one_process(dir: &Path, args: &[&str]) {
    let with_output = |name: &Path| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["-o", s(name)]);
        a.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    let one = dir.join("one.safetensors");
    let o = Command::new(BIN)
        .args(with_output(&one))
        .env("BACKPROP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let reference = params(&one);
    for ranks in [2, 4] {
        let model = dir.join(format!("n{ranks}.safetensors"));
        let a = with_output(&model);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (o, _) = mpirun(ranks, &a, &[("BACKPROP_MPI_SAVE_RANKS", "1")]);
        assert!(o.status.success(), "{}", text(&o));
        // Rank 0 alone reports.
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.matches("training:").count(), 1, "{}", text(&o));
        let root = params(&model);
        for r in 1..ranks {
            assert_eq!(params(&rank_copy(&model, r)), root, "rank {r} of {ranks}");
        }
        let worst = root
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0f32, f32::max);
        eprintln!("{ranks} ranks: worst relative difference from one process {worst:e}");
        assert!(worst <= TOL, "{ranks} ranks: worst difference {worst}");
    }
}

#[test]
fn two_and_four_ranks_match_one_process_and_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("blobs.csv");
    blobs_csv(&data);
    let mut args = train_args(s(&data), "");
    args.drain(3..5); // `-o ""`: set by matches_one_process
    matches_one_process(dir.path(), &args);
}

const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The first `n` items of a gzip IDX file, written raw to `out`.
fn idx_head(from: &Path, out: &Path, n: usize) {
    use std::io::Read;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(from).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let dims = bytes[3] as usize;
    let shape: Vec<usize> = (0..dims)
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap()) as usize)
        .collect();
    let item: usize = shape[1..].iter().product();
    let header = 4 + 4 * dims;
    let mut head = bytes[..header].to_vec();
    head[4..8].copy_from_slice(&(n as u32).to_be_bytes());
    head.extend_from_slice(&bytes[header..header + n * item]);
    std::fs::write(out, head).unwrap();
}

#[test]
fn fashion_mnist_subset_matches_one_process() {
    let src = Path::new(FASHION_MNIST);
    if !src.join("t10k-images-idx3-ubyte.gz").exists() {
        eprintln!("{FASHION_MNIST} not installed: the generated data test covers this");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
    idx_head(&src.join("t10k-images-idx3-ubyte.gz"), &images, 500);
    idx_head(&src.join("t10k-labels-idx1-ubyte.gz"), &labels, 500);
    let args = [
        "train",
        "--train",
        s(&images),
        "--train-targets",
        s(&labels),
        "--layers",
        "32",
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--lr",
        "0.005",
        "--seed",
        "1",
        "--no-progress",
    ];
    matches_one_process(dir.path(), &args);
}

/// A job where rank 1 fails in the way `fault` names (see
/// src/bin/backprop/cluster.rs) must end within 10 s, non-zero, with the
/// previous output file untouched.
fn failing_job(fault: &str, extra_env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("blobs.csv");
    blobs_csv(&data);
    let model = dir.path().join("m.safetensors");
    std::fs::write(&model, b"previous model").unwrap();
    let mut args = train_args(s(&data), s(&model));
    args[8] = "50"; // epochs: the job outlives the fault by far
    let mut env = vec![("BACKPROP_MPI_FAULT", fault)];
    env.extend_from_slice(extra_env);
    let (o, took) = mpirun(2, &args, &env);
    assert!(!o.status.success(), "{fault}: {}", text(&o));
    assert!(took < Duration::from_secs(10), "{fault}: took {took:?}");
    assert_eq!(std::fs::read(&model).unwrap(), b"previous model", "{fault}");
    text(&o)
}

#[test]
fn a_rank_that_errors_ends_the_job() {
    let out = failing_job("1:error:2", &[]);
    assert!(out.contains("error: rank 1: injected fault"), "{out}");
}

#[test]
fn a_rank_that_panics_ends_the_job() {
    let out = failing_job("1:panic:2", &[]);
    assert!(out.contains("injected panic"), "{out}");
}

#[test]
fn a_rank_that_crashes_or_is_killed_ends_the_job() {
    failing_job("1:crash:2", &[]);
    failing_job("1:kill:2", &[]);
}

#[test]
fn a_stalled_rank_ends_the_job_through_the_watchdog() {
    let out = failing_job("1:stall:2", &[("BACKPROP_MPI_WATCHDOG_SECS", "3")]);
    assert!(out.contains("no progress for 3 s"), "{out}");
}

#[test]
fn ranks_reading_different_data_stop_with_an_error() {
    // Each rank reads the file its rank names: rank 1's has one row less.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("blobs.csv");
    blobs_csv(&data);
    let text_all = std::fs::read_to_string(&data).unwrap();
    let shorter: String = text_all
        .lines()
        .take(300)
        .map(|l| format!("{l}\n"))
        .collect();
    let script = dir.path().join("by_rank.sh");
    let model = dir.path().join("m.safetensors");
    std::fs::write(dir.path().join("rank0.csv"), &text_all).unwrap();
    std::fs::write(dir.path().join("rank1.csv"), shorter).unwrap();
    let args = train_args("RANKFILE", s(&model)).join(" ");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {BIN} {}\n",
            args.replace(
                "RANKFILE",
                &format!("{}/rank$OMPI_COMM_WORLD_RANK.csv", dir.path().display())
            )
        ),
    )
    .unwrap();
    let (o, took) = mpirun_program(2, "sh", &[s(&script)], &[]);
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: {}",
        text(&o)
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("every rank must read the same data"),
        "{}",
        text(&o)
    );
    assert!(!model.exists());
}
