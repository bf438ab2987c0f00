//! `backprop train` under `mpirun` (feature `mpi`): every rank trains its
//! shard of each batch (see `backprop::distributed`), rank 0 alone prints,
//! shows progress and writes files. Without the feature, or outside a
//! launcher, this is one process and rank 0.
//!
//! Two environment variables exist for the tests only (they inject the
//! failures whose handling the tests check): `BACKPROP_MPI_FAULT` =
//! `RANK:KIND:EPOCH` makes rank RANK fail after epoch EPOCH (from 1) with
//! KIND `error` (training returns an error, which takes the abort every
//! error takes),
//! `panic`, `crash` (killed by SIGABRT), `kill` (SIGKILL) or `stall` (sleeps
//! forever: the watchdog's case); `BACKPROP_MPI_SAVE_RANKS=1` makes every
//! rank other than 0 save its model beside the output, as
//! `<output stem>.rank<R>.safetensors`, so that ranks can be compared.

use std::sync::OnceLock;

use backprop::distributed::Distributed;

/// Rank 0, or the only process.
pub fn is_root() -> bool {
    rank() == 0
}

/// This process's rank (0 outside MPI).
pub fn rank() -> usize {
    HANDLE.get().map_or(0, Distributed::rank)
}

/// The communicator of this job when it runs on several ranks.
pub fn distributed() -> Option<Distributed> {
    HANDLE.get().filter(|d| d.size() > 1).cloned()
}

static HANDLE: OnceLock<Distributed> = OnceLock::new();

#[cfg(feature = "mpi")]
pub use with_mpi::*;

#[cfg(feature = "mpi")]
mod with_mpi {
    use std::path::Path;
    use std::time::Duration;

    use backprop::mpi::MpiSession;
    use backprop::{Callback, Control, EpochRecord, Network};

    use crate::CliError;

    /// Initializes MPI when this process was started by a launcher
    /// (`mpirun`, `mpiexec`, `srun`), and sets the default thread count to
    /// the cores divided by the ranks on this node unless `threads` is set.
    pub fn start(threads: Option<usize>) -> Result<Option<MpiSession>, CliError> {
        const LAUNCHED: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];
        if !LAUNCHED.iter().any(|v| std::env::var_os(v).is_some()) {
            return Ok(None);
        }
        let session = MpiSession::init()?;
        if threads.is_none() {
            backprop::parallel::set_num_threads(session.threads_per_rank())?;
        }
        let _ = super::HANDLE.set(session.distributed());
        Ok(Some(session))
    }

    /// After an error on this rank: ends every rank of a running job.
    pub fn abort_job() {
        if super::distributed().is_some() {
            backprop::mpi::abort(1);
        }
    }

    /// Rank R > 0 with `BACKPROP_MPI_SAVE_RANKS=1`: its model, beside
    /// `output` (tests compare it with rank 0's).
    pub fn save_rank_copy(output: &Path, net: &Network<f32>) -> Result<(), CliError> {
        if std::env::var_os("BACKPROP_MPI_SAVE_RANKS").is_none() {
            return Ok(());
        }
        let path = crate::train::sibling(output, &format!("rank{}.safetensors", super::rank()));
        backprop::io::SavedModel::new(net.clone()).save(&path)?;
        Ok(())
    }

    /// The failure `BACKPROP_MPI_FAULT` asks of this rank, as a callback.
    pub struct Fault {
        kind: String,
        epoch: usize,
        failed: bool,
    }

    impl Fault {
        /// The fault for this rank, if any.
        pub fn from_env() -> Option<Fault> {
            let spec = std::env::var("BACKPROP_MPI_FAULT").ok()?;
            let mut parts = spec.split(':');
            let rank: usize = parts.next()?.parse().ok()?;
            let kind = parts.next()?.to_string();
            let epoch = parts.next()?.parse().ok()?;
            (rank == super::rank()).then_some(Fault {
                kind,
                epoch,
                failed: false,
            })
        }

        /// The injected error, once the `error` fault has struck.
        pub fn outcome(&self) -> Result<(), CliError> {
            match self.failed {
                true => Err(CliError("injected fault".into())),
                false => Ok(()),
            }
        }
    }

    impl Callback<f32> for Fault {
        fn on_epoch_end(&mut self, record: &EpochRecord, _: &Network<f32>) -> Control {
            if record.epoch + 1 != self.epoch {
                return Control::Continue;
            }
            let rank = super::rank();
            match self.kind.as_str() {
                "error" => {
                    // Stops this rank alone; `fit` then returns the error.
                    self.failed = true;
                    return Control::Stop;
                }
                "panic" => panic!("rank {rank}: injected panic"),
                "crash" => std::process::abort(),
                "kill" => {
                    let pid = std::process::id().to_string();
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", &pid])
                        .status();
                }
                "stall" => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
                _ => {}
            }
            Control::Continue
        }
    }
}

#[cfg(not(feature = "mpi"))]
pub use without_mpi::*;

#[cfg(not(feature = "mpi"))]
mod without_mpi {
    use std::path::Path;

    use backprop::{Callback, Control, EpochRecord, Network};

    use crate::CliError;

    /// One process: nothing to start.
    pub fn start(_threads: Option<usize>) -> Result<Option<()>, CliError> {
        Ok(None)
    }

    /// One process: the error ends it.
    pub fn abort_job() {}

    /// One process: no other rank's model.
    pub fn save_rank_copy(_output: &Path, _net: &Network<f32>) -> Result<(), CliError> {
        Ok(())
    }

    /// No faults to inject.
    pub enum Fault {}

    impl Fault {
        /// None.
        pub fn from_env() -> Option<Fault> {
            None
        }

        /// Never called: there is no fault.
        pub fn outcome(&self) -> Result<(), CliError> {
            match *self {}
        }
    }

    impl Callback<f32> for Fault {
        fn on_epoch_end(&mut self, _: &EpochRecord, _: &Network<f32>) -> Control {
            match *self {}
        }
    }
}
