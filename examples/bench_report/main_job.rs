//! Memory of the main job: the peak RSS of the `backprop` binary training
//! one epoch of Fashion-MNIST with its default recipe, beside the budget
//! the job needs at least (data, parameters, optimizer state, workspace).
//!
//! The binary runs as a child process; its peak RSS (`ru_maxrss`) comes from
//! `wait4`, which reports the resources of that one child. Measuring only:
//! the ratio says how far the job is from its budget (target ≤ 1.2).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::configs;

/// Rows per mini-batch of the Fashion-MNIST recipe.
pub fn recipe_batch_size() -> usize {
    backprop::recipes::fashion_mnist()
        .trainer
        .batch_size
        .expect("the recipe sets its batch size")
}

/// Fashion-MNIST's shapes: training and test samples, features, classes.
const TRAIN_ROWS: usize = 60_000;
const TEST_ROWS: usize = 10_000;
const N_FEATURES: usize = 784;
const N_CLASSES: usize = 10;

/// Bytes per parameter of Adam's state as the library holds it for an f32
/// network: the first and second moments, one f32 each.
const ADAM_BYTES_PER_PARAM: usize = 8;

/// The least memory the job needs, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Features (f32) and class labels (usize) of the training and test sets.
    pub data: usize,
    /// The parameters θ (f32).
    pub params: usize,
    /// Adam's moment estimates.
    pub optimizer: usize,
    /// The gradient, the network's workspace at the batch size and one
    /// mini-batch of inputs (f32).
    pub workspace: usize,
}

impl Budget {
    pub fn total(&self) -> usize {
        self.data + self.params + self.optimizer + self.workspace
    }
}

/// The budget of the default recipe on Fashion-MNIST.
pub fn budget() -> Budget {
    let recipe = backprop::recipes::fashion_mnist();
    let widths: Vec<usize> = recipe.hidden.iter().map(|d| d.units).collect();
    let mut sizes = vec![N_FEATURES];
    sizes.extend(&widths);
    sizes.push(N_CLASSES);
    let n = configs::n_params(&sizes);
    let b = recipe_batch_size();
    let hidden: usize = widths.iter().sum();
    // Dropout masks: one m × n_ℓ block per hidden layer that drops units.
    let masked: usize = recipe
        .hidden
        .iter()
        .filter(|d| d.dropout > 0.0)
        .map(|d| d.units)
        .sum();
    let widest = sizes[1..].iter().copied().max().unwrap_or(0);
    let f32_bytes = std::mem::size_of::<f32>();
    let rows = TRAIN_ROWS + TEST_ROWS;
    Budget {
        data: rows * (N_FEATURES * f32_bytes + std::mem::size_of::<usize>()),
        params: n * f32_bytes,
        optimizer: n * ADAM_BYTES_PER_PARAM,
        workspace: (n + b * (hidden + masked + N_CLASSES + 2 * widest + 1 + N_FEATURES))
            * f32_bytes,
    }
}

/// One training run of the binary.
#[derive(Debug, Clone)]
pub struct MainJob {
    pub command: String,
    pub threads: usize,
    pub peak_rss_kib: Option<u64>,
    pub budget: Budget,
    pub note: Option<String>,
}

impl MainJob {
    /// Peak RSS over the budget.
    pub fn ratio(&self) -> Option<f64> {
        self.peak_rss_kib
            .map(|k| k as f64 * 1024.0 / self.budget.total() as f64)
    }
}

/// The `backprop` binary beside this program (`target/release/backprop`
/// for `target/release/examples/bench_report`), or `given`.
fn backprop_binary(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("backprop"))
        .filter(|p| p.is_file())
        .ok_or(
            "no `backprop` binary beside this program; build it first with \
                `cargo build --release --bin backprop`, or pass --backprop-bin PATH",
        )?;
    Ok(bin)
}

/// Trains one epoch of Fashion-MNIST in the binary at `threads` threads.
pub fn measure_main_job(binary: Option<&Path>, threads: usize) -> MainJob {
    let mut job = MainJob {
        command: String::new(),
        threads,
        peak_rss_kib: None,
        budget: budget(),
        note: None,
    };
    match run_job(binary, threads, &mut job.command) {
        Ok(kib) => job.peak_rss_kib = Some(kib),
        Err(e) => job.note = Some(e),
    }
    job
}

fn run_job(binary: Option<&Path>, threads: usize, command: &mut String) -> Result<u64, String> {
    let bin = backprop_binary(binary)?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let model = dir.path().join("model.safetensors");
    let threads_arg = threads.to_string();
    let args = [
        "--threads",
        &threads_arg,
        "train",
        "--epochs",
        "1",
        "--no-progress",
        "-o",
    ];
    *command = format!("backprop {} TMP/model.safetensors", args.join(" "));
    let log = dir.path().join("log.txt");
    let out = std::fs::File::create(&log).map_err(|e| format!("cannot create a log: {e}"))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot share the log: {e}"))?;
    let child = Command::new(&bin)
        .args(args)
        .arg(&model)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let (success, kib) = wait_with_peak_rss(child.id())?;
    if !success {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        return Err(format!("the training run failed: {}", tail.join(" / ")));
    }
    Ok(kib)
}

/// Waits for the child `pid`; returns whether it exited with status 0 and
/// its peak RSS in KiB.
#[cfg(target_os = "linux")]
fn wait_with_peak_rss(pid: u32) -> Result<(bool, u64), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("process id {pid} out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is this process's child, not yet waited for; `status`
    // and `usage` are valid, exclusively borrowed out-parameters.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux reports ru_maxrss in KiB.
    Ok((success, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

#[cfg(not(target_os = "linux"))]
fn wait_with_peak_rss(_pid: u32) -> Result<(bool, u64), String> {
    Err("peak RSS of a child is read with Linux's wait4".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_the_recipes_shapes() {
        let b = budget();
        // 784-512-256-10: 784·512 + 512 + 512·256 + 256 + 256·10 + 10.
        let n = 535_818;
        assert_eq!(b.params, 4 * n);
        assert_eq!(b.optimizer, 8 * n);
        assert_eq!(b.data, 70_000 * (784 * 4 + 8));
        // A, dropout masks (both hidden layers), Zᴸ, two deltas, ones, X.
        let ws_floats = n + 128 * (768 + 768 + 10 + 2 * 512 + 1 + 784);
        assert_eq!(b.workspace, 4 * ws_floats);
        assert_eq!(b.total(), b.data + b.params + b.optimizer + b.workspace);
    }
}
