//! Sizes checked before anything is allocated: a network whose training
//! would not fit in memory is refused with the bytes it needs, instead of
//! being killed (or aborting) part way.

use crate::CliError;

/// Environment variable: the memory (GiB) a command may plan to use,
/// instead of the available memory the system reports.
pub const MEMORY_LIMIT_ENV: &str = "BACKPROP_MEMORY_LIMIT_GIB";

/// Copies of the parameter vector that training holds at once: the
/// weights, the gradient, up to two optimizer moments, and the best weights
/// early stopping keeps.
const TRAINING_COPIES: u128 = 5;

/// Buffers per unit and sample in the workspace: Z, A and Δ.
const WORKSPACE_COPIES: u128 = 3;

/// The memory a command may use: [`MEMORY_LIMIT_ENV`] when set, else
/// `MemAvailable` from /proc/meminfo; `None` when neither is known.
fn memory_limit() -> Option<u128> {
    if let Some(gib) = std::env::var(MEMORY_LIMIT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some((gib * 1073741824.0) as u128);
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a network of these layer sizes (n₀…n_L), trained on batches of
/// `batch` rows of `scalar_bytes`-byte numbers, whose parameters, gradient,
/// optimizer state and workspace need more memory than is available.
pub fn check_network(sizes: &[usize], batch: usize, scalar_bytes: usize) -> Result<(), CliError> {
    let params = backprop::network::param_count(sizes);
    let units: u128 = sizes.iter().map(|&n| n as u128).sum();
    let bytes = (params * TRAINING_COPIES + units * batch as u128 * WORKSPACE_COPIES)
        * scalar_bytes as u128;
    let Some(limit) = memory_limit() else {
        return Ok(());
    };
    if bytes > limit {
        let gib = |b: u128| b as f64 / 1073741824.0;
        return Err(CliError(format!(
            "the network {} has {params} parameters; training it needs about {:.1} GiB \
             (weights, gradient, optimizer state, best weights and the batch's buffers), \
             more than the {:.1} GiB of memory available; use fewer or narrower layers \
             or a smaller batch (or set {MEMORY_LIMIT_ENV} to allow more)",
            sizes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            gib(bytes),
            gib(limit)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_networks_are_refused_small_ones_pass() {
        let err = check_network(&[784, 100_000, 100_000, 10], 256, 4)
            .unwrap_err()
            .0;
        assert!(err.contains("10079600010 parameters"), "{err}");
        check_network(&[784, 64, 10], 256, 4).unwrap();
    }
}
