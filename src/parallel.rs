//! The only file that knows about threads: the BLAS threads that run the
//! GEMMs (OpenBLAS's pool, or BLIS's with the `blis` feature) and the rayon
//! pool that runs large elementwise passes.
//!
//! # Choosing thread counts
//! [`set_num_threads`] sets both pools at once. The BLAS parallelises inside
//! each GEMM; rayon splits elementwise passes (bias + activation, `⊙ g′`,
//! parameter updates) whose arrays hold at least [`PAR_MIN_ELEMS`] elements,
//! and runs smaller ones on the calling thread. The two never run at the same
//! moment, but OpenBLAS workers spin for a while after a GEMM returns: if
//! `blas + rayon` threads exceed the cores, the spinners steal cores from the
//! workers and a step can slow down by orders of magnitude. So:
//!
//! - one process training one network: `set_num_threads(cores)`;
//! - several networks trained side by side (e.g. restarts on their own
//!   threads): `set_num_threads(1)` and parallelise over networks;
//! - a caller that already owns a rayon pool: `set_num_threads(1)` and run
//!   inside the caller's pool.
//!
//! Small products can be slower on several BLAS threads than on one (the
//! others must be woken and waited for): [`set_min_parallel_gemm`] runs
//! products below a size on one thread (off by default).
//!
//! Without a call, OpenBLAS follows `OPENBLAS_NUM_THREADS` (else all cores),
//! BLIS follows `BLIS_NUM_THREADS` or `OMP_NUM_THREADS` (else 1), and
//! elementwise passes follow `BACKPROP_NUM_THREADS` (else 1: on small
//! machines the spinning OpenBLAS workers make a second elementwise pool a
//! loss, see `BENCHMARKS.md`). The OpenMP build of BLIS (Debian's default)
//! keeps its threads waiting actively after a call too (`OMP_WAIT_POLICY`).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rayon::prelude::*;

use crate::{Error, Result};

/// Arrays with fewer elements than this are processed on the calling thread.
///
/// Measured on 2 cores with `benches/elementwise.rs` (f32, OpenBLAS and
/// elementwise pool at 2 threads, pool forced on against forced off; see
/// `BENCHMARKS.md`): a whole training step of a 256-4096-10 network, whose
/// bias + ReLU and ⊙ g′ passes cover B·4096 elements right after GEMMs whose
/// OpenBLAS workers are still spinning, loses with the pool below 2²⁰
/// elements (1.27 ms against 1.04 ms per step at 2¹⁶, 3.9 against 3.3 ms at
/// 2¹⁸) and is at parity from 2²⁰ on (12.1 against 11.9 ms). The SGD update
/// alone lost with the pool at every size measured there (up to 2²²). So 2²⁰
/// is the smallest size at which the pool is not a loss on this machine;
/// with more cores the crossover moves down: see [`set_min_parallel_len`].
pub const PAR_MIN_ELEMS: usize = 1 << 20;

static POOL: RwLock<Option<Arc<rayon::ThreadPool>>> = RwLock::new(None);

// `src/blas_ftz.c`, for the BLAS linked (OpenBLAS or BLIS).
#[cfg(any(feature = "openblas", feature = "blis"))]
unsafe extern "C" {
    /// The thread count of the following calls.
    fn backprop_blas_get_threads() -> std::ffi::c_int;
    /// Sets the thread count of the following calls, workers left running.
    fn backprop_blas_set_threads(threads: std::ffi::c_int);
    /// Sets the thread count (`threads` > 0) and starts OpenBLAS's workers
    /// again with flushing on or off (BLIS: sets the count only).
    fn backprop_blas_restart_workers(
        flush: std::ffi::c_int,
        threads: std::ffi::c_int,
    ) -> std::ffi::c_int;
}

/// Sets the number of threads for both the BLAS and the elementwise pool.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] if `n` is 0 or above [`max_threads`],
/// or if the pool cannot be created.
///
/// # Example
/// ```
/// backprop::parallel::set_num_threads(1)?;
/// assert_eq!(backprop::parallel::num_threads(), 1);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidHyperparameter {
            name: "threads",
            value: "0".into(),
            reason: "need at least one thread",
        });
    }
    if n > max_threads() {
        return Err(Error::InvalidHyperparameter {
            name: "threads",
            value: n.to_string(),
            reason: "more than 4 threads per core (the limit; raise it with the environment \
                     variable BACKPROP_MAX_THREADS)",
        });
    }
    set_blas_threads(n);
    set_elementwise_threads(n)
}

/// Environment variable that overrides [`max_threads`].
pub const MAX_THREADS_ENV: &str = "BACKPROP_MAX_THREADS";

/// The most threads [`set_num_threads`] accepts: 4 × the cores the process
/// may use, or the value of `BACKPROP_MAX_THREADS` when it is set to a
/// number. Far more threads than cores only slow every step down (and
/// thousands of BLAS workers can take minutes to start).
pub fn max_threads() -> usize {
    std::env::var(MAX_THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            4 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
}

/// Sets the number of threads the BLAS uses inside each GEMM (no-op without
/// a BLAS feature). OpenBLAS's worker threads are started again in the
/// current [`denormal`](crate::denormal) mode; call it while no other thread
/// is inside a BLAS call. Process-wide for both libraries.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, i32::MAX as usize);
    restart_blas_workers(n);
    BLAS_THREADS.store(n, Ordering::Relaxed);
}

/// How OpenBLAS's worker threads were last started (BLIS's threads follow
/// the calling thread's mode by themselves: see `src/blas_ftz.c`).
const WORKERS_AS_LOADED: u8 = 0;
const WORKERS_FLUSHING: u8 = 1;
const WORKERS_IEEE: u8 = 2;
static WORKER_MODE: AtomicU8 = AtomicU8::new(WORKERS_AS_LOADED);
static WORKER_RESTART: Mutex<()> = Mutex::new(());

/// Before each BLAS call: makes OpenBLAS's worker threads flush subnormals
/// exactly when [`denormal::flush_denormal`](crate::denormal::flush_denormal)
/// says so. A worker keeps the floating-point mode it was started with, so a
/// change means starting them again (once; afterwards this is two atomic
/// loads).
#[inline]
#[cfg(any(feature = "openblas", feature = "blis"))]
pub(crate) fn sync_blas_workers() {
    let want = if crate::denormal::flush_denormal() {
        WORKERS_FLUSHING
    } else {
        WORKERS_IEEE
    };
    let have = WORKER_MODE.load(Ordering::Acquire);
    if have != want && !(have == WORKERS_AS_LOADED && want == WORKERS_IEEE) {
        restart_blas_workers(0);
    }
}

/// Starts OpenBLAS's workers again in the current flushing mode, first
/// setting the thread count when `threads` > 0.
fn restart_blas_workers(threads: usize) {
    let _one_at_a_time = WORKER_RESTART.lock().unwrap_or_else(|e| e.into_inner());
    let flush = crate::denormal::flush_denormal();
    #[cfg(any(feature = "openblas", feature = "blis"))]
    // SAFETY: the C side sets the thread count and restarts the pool with
    // the floating-point mode switched only inside the call; the lock keeps
    // two restarts apart, and callers run it outside any BLAS call.
    unsafe {
        backprop_blas_restart_workers(std::ffi::c_int::from(flush), threads as std::ffi::c_int);
    }
    #[cfg(not(any(feature = "openblas", feature = "blis")))]
    let _ = threads;
    let mode = if flush {
        WORKERS_FLUSHING
    } else {
        WORKERS_IEEE
    };
    WORKER_MODE.store(mode, Ordering::Release);
}

/// Threads the BLAS uses inside each GEMM (1 without a BLAS feature), as
/// the BLAS reports it: while another thread runs a product below
/// [`min_parallel_gemm`], that is 1.
pub fn blas_threads() -> usize {
    #[cfg(any(feature = "openblas", feature = "blis"))]
    // SAFETY: plain getter of the BLAS's global thread count.
    return unsafe { backprop_blas_get_threads() }.max(1) as usize;
    #[cfg(not(any(feature = "openblas", feature = "blis")))]
    1
}

/// The BLAS thread count set through [`set_blas_threads`]; 0 until then.
static BLAS_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The BLAS thread count products at or above [`min_parallel_gemm`] run on.
fn configured_blas_threads() -> usize {
    match BLAS_THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = blas_threads();
            // Only if still unset: a concurrent `set_blas_threads` wins.
            let _ = BLAS_THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed);
            BLAS_THREADS.load(Ordering::Relaxed)
        }
        n => n,
    }
}

/// A threshold for [`set_min_parallel_gemm`] measured on one machine (not the
/// default, which is 0: off).
///
/// Measured with `benches/gemm.rs` (`sgemm_threads`, OpenBLAS 0.3.21, 2-core
/// AMD EPYC Zen 3, see `BENCHMARKS.md`): the output-layer products of M and T
/// (m·n·k = 327 680, e.g. 128×10×256) take 20–21 µs on one thread and 27 µs
/// on two; from 6.4·10⁶ (S's first layer) on, two threads win (162 against
/// 221 µs). 2²⁰ lies between the two. It is not the default because it
/// changes results by rounding: OpenBLAS splits a transposed matrix-vector
/// product (the bias gradient) over its inner sum at 2 threads, so one thread
/// adds in another order; and the gain is small (about 13 µs of a 5.6 ms M
/// step).
pub const PAR_MIN_GEMM: usize = 1 << 20;

static MIN_PARALLEL_GEMM: AtomicUsize = AtomicUsize::new(0);

/// Sets the smallest product, in multiply-adds (m·n·k for C = A·B with A
/// m×k; m·n for a matrix-vector product), that runs on all
/// [`blas_threads`]; smaller products run on one BLAS thread, saving the
/// wake-up and synchronisation of the others, which for small layers can
/// cost more than the threads gain ([`PAR_MIN_GEMM`] was measured on one
/// machine). Default 0: every product runs on the configured count, under
/// the BLAS's own rules (OpenBLAS 0.3.21 runs m·n·k ≤ 262 144 on one thread
/// by itself), which keeps results identical to earlier versions. `benches/gemm.rs`
/// times each layer shape at 1 and 2 threads, from which the crossover can be
/// read on another machine.
///
/// The switch is made around each call by setting the BLAS's thread count
/// (with the workers already running, a store to one process-wide variable
/// in OpenBLAS 0.3.21; a setting under a mutex in BLIS 0.9), and set back to
/// the configured count right after. The count is process-wide: when several
/// threads call into the BLAS at once (several networks trained side by
/// side), a large product may run on one thread while a small one on
/// another thread is in progress, and the other way round. Results do not
/// depend on it; running several networks at once is best done with
/// `set_num_threads(1)`, where this setting has no effect.
///
/// ```
/// use backprop::parallel;
/// parallel::set_min_parallel_gemm(parallel::PAR_MIN_GEMM);
/// assert_eq!(parallel::min_parallel_gemm(), 1 << 20);
/// parallel::set_min_parallel_gemm(0);
/// ```
pub fn set_min_parallel_gemm(work: usize) {
    if work > 0 {
        // Learn the configured count now, while no product has lowered it.
        configured_blas_threads();
    }
    MIN_PARALLEL_GEMM.store(work, Ordering::Relaxed);
}

/// The current threshold set by [`set_min_parallel_gemm`].
pub fn min_parallel_gemm() -> usize {
    MIN_PARALLEL_GEMM.load(Ordering::Relaxed)
}

/// Held around one BLAS call: the BLAS runs on one thread while it lives if
/// the call's `work` is below [`min_parallel_gemm`], and goes back to the
/// configured count when it drops.
#[cfg(any(feature = "openblas", feature = "blis"))]
pub(crate) struct GemmThreads {
    lowered: bool,
}

#[cfg(any(feature = "openblas", feature = "blis"))]
impl GemmThreads {
    /// One relaxed load when the threshold is off (0).
    #[inline]
    pub(crate) fn for_work(work: usize) -> Self {
        let lowered = work < min_parallel_gemm() && configured_blas_threads() > 1;
        if lowered {
            // SAFETY: a setter of the BLAS's thread count; with the workers
            // running it starts or stops nothing.
            unsafe { backprop_blas_set_threads(1) };
        }
        GemmThreads { lowered }
    }
}

#[cfg(any(feature = "openblas", feature = "blis"))]
impl Drop for GemmThreads {
    fn drop(&mut self) {
        if self.lowered {
            // The count configured now, in case it changed meanwhile.
            let n = configured_blas_threads().min(i32::MAX as usize) as std::ffi::c_int;
            // SAFETY: as in `for_work`; never more threads than configured,
            // whose workers exist.
            unsafe { backprop_blas_set_threads(n) };
        }
    }
}

/// Sets the number of threads for elementwise passes (1 = always sequential).
///
/// # Errors
/// [`Error::InvalidHyperparameter`] if `n` is 0 or the pool cannot be built.
pub fn set_elementwise_threads(n: usize) -> Result<()> {
    let pool = if n <= 1 {
        None
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("backprop-{i}"))
            .build()
            .map_err(|_| Error::InvalidHyperparameter {
                name: "threads",
                value: n.to_string(),
                reason: "the thread pool could not be created",
            })?;
        Some(Arc::new(pool))
    };
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = pool;
    Ok(())
}

/// Runs `f` on a thread of the elementwise pool (directly when there is no
/// pool), so that the passes inside it split work through that thread's own
/// queue.
///
/// Entering a rayon pool from outside goes through a shared injection queue
/// that allocates a small block every few dozen entries; a training loop run
/// inside `install` enters the pool once and then allocates nothing per step.
/// The training loop of this crate does this itself; call it when driving
/// [`Network::compute_gradient`](crate::Network::compute_gradient) by hand
/// with more than one thread.
///
/// ```
/// let answer = backprop::parallel::install(|| 6 * 7);
/// assert_eq!(answer, 42);
/// ```
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    init_from_env();
    match pool() {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// Threads used for elementwise passes.
pub fn num_threads() -> usize {
    init_from_env();
    pool().map_or(1, |p| p.current_num_threads())
}

fn init_from_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Some(n) = std::env::var("BACKPROP_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 1)
        {
            // An unbuildable pool leaves the sequential default in place.
            let _ = set_elementwise_threads(n);
        }
    });
}

fn pool() -> Option<Arc<rayon::ThreadPool>> {
    POOL.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Applies `f` to each row of the row-major `data` (rows of `n_cols`), in
/// parallel over blocks of rows when the array is large enough.
pub(crate) fn for_each_row_mut<S, F>(data: &mut [S], n_cols: usize, f: F)
where
    S: Send,
    F: Fn(&mut [S]) + Sync,
{
    if n_cols == 0 {
        return;
    }
    match large_pool(data.len()) {
        Some(pool) => {
            let rows_per_task = rows_per_task(data.len(), n_cols, pool.current_num_threads());
            pool.install(|| {
                data.par_chunks_mut(rows_per_task * n_cols)
                    .for_each(|block| block.chunks_exact_mut(n_cols).for_each(&f))
            })
        }
        None => data.chunks_exact_mut(n_cols).for_each(f),
    }
}

/// `a[i] = f(a[i], b[i])` over two flat slices of equal length.
pub(crate) fn zip_apply<S, F>(a: &mut [S], b: &[S], f: F)
where
    S: Copy + Send + Sync,
    F: Fn(S, S) -> S + Sync,
{
    debug_assert_eq!(a.len(), b.len());
    let apply = |ca: &mut [S], cb: &[S]| {
        for (x, &y) in ca.iter_mut().zip(cb) {
            *x = f(*x, y);
        }
    };
    match large_pool(a.len()) {
        Some(pool) => {
            let chunk = a.len().div_ceil(pool.current_num_threads());
            pool.install(|| {
                a.par_chunks_mut(chunk)
                    .zip(b.par_chunks(chunk))
                    .for_each(|(ca, cb)| apply(ca, cb))
            })
        }
        None => apply(a, b),
    }
}

static MIN_PARALLEL_LEN: AtomicUsize = AtomicUsize::new(PAR_MIN_ELEMS);

/// Sets the smallest array (in elements) that an elementwise pass hands to
/// the pool; default [`PAR_MIN_ELEMS`]. `usize::MAX` keeps every pass on the
/// calling thread, 0 sends every pass to the pool (with more than one
/// thread).
///
/// ```
/// use backprop::parallel;
/// parallel::set_min_parallel_len(1 << 18);
/// assert_eq!(parallel::min_parallel_len(), 1 << 18);
/// parallel::set_min_parallel_len(parallel::PAR_MIN_ELEMS);
/// ```
pub fn set_min_parallel_len(n: usize) {
    MIN_PARALLEL_LEN.store(n, Ordering::Relaxed);
}

/// The current threshold set by [`set_min_parallel_len`].
pub fn min_parallel_len() -> usize {
    MIN_PARALLEL_LEN.load(Ordering::Relaxed)
}

fn large_pool(len: usize) -> Option<Arc<rayon::ThreadPool>> {
    if len < min_parallel_len() {
        return None;
    }
    init_from_env();
    pool()
}

/// One contiguous block of rows per thread: the fewest tasks that keep every
/// thread busy.
fn rows_per_task(len: usize, n_cols: usize, threads: usize) -> usize {
    (len / n_cols).div_ceil(threads).max(1)
}
