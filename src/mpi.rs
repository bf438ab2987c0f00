//! Data-parallel training over MPI (feature `mpi`): a [`Communicator`] over
//! `MPI_COMM_WORLD`, and the guards that keep a failing job from hanging.
//!
//! ```no_run
//! # fn main() -> backprop::Result<()> {
//! let mpi = backprop::mpi::MpiSession::init()?;
//! backprop::parallel::set_num_threads(mpi.threads_per_rank())?;
//! let trainer = backprop::Trainer::new().distributed(mpi.distributed());
//! // ... every rank: trainer.fit(&mut net, train, val)?, rank 0 saves.
//! # Ok(()) }
//! ```
//!
//! # No hangs
//! A rank that stops taking part leaves the others waiting in their next
//! collective forever. [`MpiSession::init`] therefore
//! - installs a panic hook that calls `MPI_Abort` after the usual message
//!   (rsmpi's finalize would otherwise wait for the ranks still reducing);
//! - starts a watchdog thread that aborts the job when no collective has
//!   completed for [`WATCHDOG_ENV`] seconds (default
//!   [`DEFAULT_WATCHDOG_SECS`]; 0 turns it off).
//!
//! A caller whose rank meets an error must end the job with
//! [`MpiSession::abort`] (or `std::process::exit`, which `mpirun` sees) after
//! printing it, never return into code that waits for the others. A killed
//! rank ends the job through `mpirun` itself.
//!
//! # Running
//! `mpirun -n 4 --bind-to none my_program`: Open MPI binds each rank to one
//! core at `-n <= 2`, so the BLAS threads inside a rank would share it;
//! `--bind-to none` lets [`MpiSession::threads_per_rank`] (cores / ranks on
//! this node) take effect. As root, add `--allow-run-as-root`.

use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use mpi::environment::Universe;
use mpi::ffi;
use mpi::topology::Communicator as _;

use crate::distributed::{Communicator, Distributed};
use crate::scalar::SliceMut;
use crate::{Error, Result};

unsafe extern "C" {
    /// `MPI_IN_PLACE`, from `src/mpi_in_place.c`.
    fn backprop_mpi_in_place() -> *mut c_void;
}

/// The environment variable that sets the watchdog's timeout in seconds
/// (0: no watchdog).
pub const WATCHDOG_ENV: &str = "BACKPROP_MPI_WATCHDOG_SECS";

/// The watchdog's timeout when [`WATCHDOG_ENV`] is unset: long enough for
/// reading a large data set and for one validation pass.
pub const DEFAULT_WATCHDOG_SECS: u64 = 600;

/// The exit code of a job ended by the panic hook (Rust's panic code).
const PANIC_CODE: c_int = 101;
/// The exit code of a job ended by the watchdog (`timeout`'s).
const WATCHDOG_CODE: c_int = 124;

/// MPI, initialized for this process: finalized when dropped.
pub struct MpiSession {
    // Dropped first: finalize waits for every rank, under the watchdog.
    _universe: Universe,
    watchdog: Arc<Watchdog>,
    rank: usize,
    size: usize,
    local_size: usize,
}

impl MpiSession {
    /// Installs the panic hook, initializes MPI (thread level `Multiple`:
    /// collectives run on a pool thread, the watchdog aborts from its own),
    /// and starts the watchdog.
    ///
    /// # Errors
    /// [`Error::Distributed`] when MPI is already initialized, or
    /// [`WATCHDOG_ENV`] is not a whole number of seconds.
    pub fn init() -> Result<Self> {
        let timeout = watchdog_timeout()?;
        install_panic_hook();
        let (universe, _level) = mpi::initialize_with_threading(mpi::Threading::Multiple)
            .ok_or_else(|| Error::Distributed {
                rank: 0,
                reason: "MPI is already initialized in this process".into(),
            })?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let local_size = world.split_shared(0).size() as usize;
        let watchdog = Watchdog::start(rank, timeout);
        Ok(MpiSession {
            _universe: universe,
            watchdog,
            rank,
            size,
            local_size,
        })
    }

    /// This process's rank in `MPI_COMM_WORLD`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The ranks on this node (sharing its memory).
    pub fn local_size(&self) -> usize {
        self.local_size
    }

    /// The default thread count of each rank: the cores this process may
    /// run on divided by the ranks on this node, at least 1.
    pub fn threads_per_rank(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / self.local_size.max(1)).max(1)
    }

    /// The handle a [`Trainer`](crate::Trainer) trains over.
    pub fn distributed(&self) -> Distributed {
        Distributed::new(MpiCommunicator {
            rank: self.rank,
            size: self.size,
            watchdog: Arc::clone(&self.watchdog),
        })
    }

    /// Tells the watchdog that this rank is making progress outside the
    /// collectives (reading data, writing files).
    pub fn progress(&self) {
        self.watchdog.tick();
    }

    /// Ends every rank of the job with exit code `code`.
    pub fn abort(&self, code: i32) -> ! {
        abort(code)
    }
}

impl Drop for MpiSession {
    fn drop(&mut self) {
        // Finalize (the universe's drop) waits for the other ranks: give
        // them the whole timeout from here.
        self.watchdog.tick();
    }
}

/// `MPI_Abort` on `MPI_COMM_WORLD` when MPI is running, else
/// `std::process::exit`.
pub fn abort(code: i32) -> ! {
    if mpi_running() {
        // mpirun forwards a rank's stderr asynchronously and drops what is
        // still in flight when it kills the job: give the error message
        // printed just before this call time to arrive.
        std::thread::sleep(Duration::from_millis(250));
        // SAFETY: MPI is initialized and not finalized; MPI_Abort takes the
        // predefined world communicator and does not return.
        unsafe {
            ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, code);
        }
    }
    std::process::exit(code)
}

fn mpi_running() -> bool {
    let (mut init, mut fin) = (0, 0);
    // SAFETY: both calls may be made at any time, from any thread.
    unsafe {
        ffi::MPI_Initialized(&mut init);
        ffi::MPI_Finalized(&mut fin);
    }
    init != 0 && fin == 0
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if mpi_running() {
                abort(PANIC_CODE);
            }
        }));
    });
}

fn watchdog_timeout() -> Result<Option<Duration>> {
    let secs = match std::env::var(WATCHDOG_ENV) {
        Err(_) => DEFAULT_WATCHDOG_SECS,
        Ok(v) => v.trim().parse::<u64>().map_err(|_| Error::Distributed {
            rank: 0,
            reason: format!("{WATCHDOG_ENV}={v:?} is not a whole number of seconds"),
        })?,
    };
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// The time of the last progress; a thread that aborts the job when it
/// lies further back than the timeout.
struct Watchdog {
    last_ms: AtomicU64,
    armed: AtomicBool,
}

impl Watchdog {
    fn start(rank: usize, timeout: Option<Duration>) -> Arc<Self> {
        let dog = Arc::new(Watchdog {
            last_ms: AtomicU64::new(now_ms()),
            armed: AtomicBool::new(timeout.is_some()),
        });
        if let Some(timeout) = timeout {
            let watched = Arc::clone(&dog);
            let poll = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(poll);
                    let idle = now_ms().saturating_sub(watched.last_ms.load(Ordering::Relaxed));
                    if watched.armed.load(Ordering::Relaxed) && idle > timeout.as_millis() as u64 {
                        eprintln!(
                            "error: rank {rank}: no progress for {} s ({WATCHDOG_ENV}); \
                             aborting the job",
                            timeout.as_secs()
                        );
                        abort(WATCHDOG_CODE);
                    }
                }
            });
        }
        dog
    }

    fn tick(&self) {
        self.last_ms.store(now_ms(), Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// [`Communicator`] over `MPI_COMM_WORLD`; made by
/// [`MpiSession::distributed`].
struct MpiCommunicator {
    rank: usize,
    size: usize,
    watchdog: Arc<Watchdog>,
}

impl MpiCommunicator {
    /// Runs `call(pointer, count)` over `buf` in chunks of at most
    /// 2³¹ − 1 elements (MPI counts are `int`), then feeds the watchdog.
    fn chunked<T>(&self, buf: &mut [T], call: impl Fn(*mut c_void, c_int) -> c_int) -> Result<()> {
        for chunk in buf.chunks_mut(c_int::MAX as usize) {
            let code = call(chunk.as_mut_ptr().cast(), chunk.len() as c_int);
            if code != ffi::MPI_SUCCESS as c_int {
                return Err(Error::Distributed {
                    rank: self.rank,
                    reason: format!("MPI call failed with error code {code}"),
                });
            }
        }
        self.watchdog.tick();
        Ok(())
    }
}

impl Communicator for MpiCommunicator {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum(&self, buf: SliceMut<'_>) -> Result<()> {
        // SAFETY: the predefined handles are constants after MPI_Init.
        let (comm, sum) = unsafe { (ffi::RSMPI_COMM_WORLD, ffi::RSMPI_SUM) };
        // SAFETY: `p` points to `n` elements of the named type, owned
        // mutably by this call; MPI_IN_PLACE makes it both input and output.
        let reduce = |dt| {
            move |p, n| unsafe { ffi::MPI_Allreduce(backprop_mpi_in_place(), p, n, dt, sum, comm) }
        };
        match buf {
            // SAFETY: as above.
            SliceMut::F32(b) => self.chunked(b, reduce(unsafe { ffi::RSMPI_FLOAT })),
            SliceMut::F64(b) => self.chunked(b, reduce(unsafe { ffi::RSMPI_DOUBLE })),
        }
    }

    fn broadcast(&self, buf: SliceMut<'_>, root: usize) -> Result<()> {
        // SAFETY: as in `all_reduce_sum`.
        let comm = unsafe { ffi::RSMPI_COMM_WORLD };
        let root = root as c_int;
        // SAFETY: `p` points to `n` elements of the named type, owned
        // mutably by this call.
        let bcast = |dt| move |p, n| unsafe { ffi::MPI_Bcast(p, n, dt, root, comm) };
        match buf {
            // SAFETY: as above.
            SliceMut::F32(b) => self.chunked(b, bcast(unsafe { ffi::RSMPI_FLOAT })),
            SliceMut::F64(b) => self.chunked(b, bcast(unsafe { ffi::RSMPI_DOUBLE })),
        }
    }
}
