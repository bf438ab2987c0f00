//! Peak resident memory: a child process per configuration (this program
//! re-invoked with the hidden `--rss-child` flag) trains a few steps and
//! reports its `VmHWM` from `/proc/self/status`. Fresh weights: memory does
//! not depend on their values.

use std::process::Command;

use crate::configs::{self, Config};
use crate::measure::{StepBench, set_threads};
use crate::options::lookup;
use crate::weights::Weights;

/// Peak RSS of one configuration at one thread count.
#[derive(Debug, Clone)]
pub struct RssResult {
    pub config: &'static str,
    pub threads: usize,
    pub vm_hwm_kib: Option<u64>,
    pub note: Option<String>,
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
pub fn rss_child(name: &str, threads: usize, steps: usize) -> Result<(), String> {
    let c = lookup(name)?;
    set_threads(threads);
    let mut bench = StepBench::for_config(&c, Weights::Fresh);
    for _ in 0..steps {
        bench.step();
    }
    match vm_hwm_kib() {
        Some(kib) => println!("VmHWM_KiB {kib}"),
        None => println!("VmHWM_KiB unavailable"),
    }
    Ok(())
}

/// The parent side: runs the child and parses its answer.
pub fn measure_rss(c: &Config, threads: usize, steps: usize) -> RssResult {
    let result = |vm_hwm_kib: Option<u64>, note: Option<String>| RssResult {
        config: c.name,
        threads,
        vm_hwm_kib,
        note,
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return result(None, Some(format!("cannot locate this program: {e}"))),
    };
    let threads_arg = threads.to_string();
    let steps_arg = steps.to_string();
    let args = [
        "--rss-child",
        c.name,
        "--threads",
        &threads_arg,
        "--steps",
        &steps_arg,
    ];
    match Command::new(exe).args(args).output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM_KiB "))
                .and_then(|v| v.trim().parse().ok());
            let note = kib
                .is_none()
                .then(|| "no /proc/self/status on this system".to_owned());
            result(kib, note)
        }
        Ok(o) => result(
            None,
            Some(format!(
                "child exited with {}: {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
        ),
        Err(e) => result(None, Some(format!("cannot start child: {e}"))),
    }
}

/// Bytes the training state needs at least: parameters, gradient, workspace
/// buffers (activations, output, two deltas, ones) and the batch, in f32.
pub fn model_floor_kib(c: &Config) -> f64 {
    let b = c.batch;
    let sizes = c.sizes;
    let n = configs::n_params(sizes);
    let hidden: usize = sizes[1..sizes.len() - 1].iter().sum();
    let widest = sizes[1..].iter().copied().max().unwrap_or(0);
    let out = *sizes.last().unwrap();
    let floats = 2 * n + b * (hidden + out + 2 * widest + 1 + sizes[0]);
    floats as f64 * 4.0 / 1024.0
}
