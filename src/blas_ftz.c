/*
 * The four BLAS entry points the library calls, each wrapped so that
 * flush-to-zero (FTZ) and denormals-are-zero (DAZ) are on for the duration of
 * the call only, when `flush` is non-zero, plus the thread-count controls of
 * the BLAS linked. See src/denormal.rs and src/parallel.rs.
 *
 * The switch lives in C, around the foreign call, because Rust's language
 * rules assume the default floating-point environment wherever Rust code runs:
 * no Rust code executes between the switch and its restore.
 *
 * A new thread starts in its creator's floating-point mode and keeps it. How
 * each BLAS's threads come to flush:
 *
 * - OpenBLAS (default; BACKPROP_BLIS undefined) keeps a pool of worker
 *   threads for the life of the process, so backprop_blas_restart_workers()
 *   starts them again from inside the mode: they then flush for good, and
 *   run nothing but OpenBLAS. Its thread-pool entry points are weak symbols:
 *   with a build that lacks them (an OpenMP build) the workers are left as
 *   they are and only the calling thread flushes.
 * - BLIS (BACKPROP_BLIS defined), pthreads build: creates its threads inside
 *   each call, from the calling thread, so they inherit the call's mode.
 * - BLIS, OpenMP build (Debian's default): the OpenMP runtime creates a team
 *   of threads per calling thread on its first parallel call and reuses it,
 *   each member keeping the mode it was created with. Before a call, the team
 *   is brought into the call's mode by one parallel region of our own (same
 *   team: same calling thread, same size), whenever this calling thread's
 *   mode or thread count differs from its last sync. GOMP_parallel (libgomp's
 *   entry point, which LLVM's libomp also provides) is a weak symbol: it is
 *   there exactly when an OpenMP runtime is loaded.
 *
 * The BLIS calls use its typed API (bli_?gemm/bli_?gemv), whose names no
 * other BLAS exports, so the products run on BLIS even in a process that
 * also loads OpenBLAS (e.g. for LAPACK).
 *
 * x86-64: MXCSR bits FTZ (15) and DAZ (6). aarch64: FPCR.FZ (24), which
 * flushes both inputs and outputs. Elsewhere the calls run unchanged.
 */
#include <stdint.h>

#define CBLAS_ROW_MAJOR 101
#define CBLAS_TRANS 112

#if defined(__x86_64__)
typedef uint32_t fp_mode;
#define FLUSH_BITS 0x8040u
static fp_mode get_mode(void) {
    fp_mode mode;
    __asm__ volatile("stmxcsr %0" : "=m"(mode));
    return mode;
}
static void set_mode(fp_mode mode) { __asm__ volatile("ldmxcsr %0" : : "m"(mode)); }
#elif defined(__aarch64__)
typedef uint64_t fp_mode;
#define FLUSH_BITS (1ull << 24)
static fp_mode get_mode(void) {
    fp_mode mode;
    __asm__ volatile("mrs %0, fpcr" : "=r"(mode));
    return mode;
}
static void set_mode(fp_mode mode) { __asm__ volatile("msr fpcr, %0" : : "r"(mode)); }
#else
typedef int fp_mode;
#define FLUSH_BITS 0
static fp_mode get_mode(void) { return 0; }
static void set_mode(fp_mode mode) { (void)mode; }
#endif

/* Flushing on, if `flush`; returns the mode to restore with leave(). */
static fp_mode enter(int flush) {
    fp_mode saved = get_mode();
    if (flush && FLUSH_BITS) set_mode(saved | FLUSH_BITS);
    return saved;
}
static void leave(int flush, fp_mode saved) {
    if (flush && FLUSH_BITS) set_mode(saved);
}

#if !defined(BACKPROP_BLIS)
/* ---- OpenBLAS -------------------------------------------------------- */

void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
int blas_thread_shutdown_(void) __attribute__((weak));
int blas_thread_init(void) __attribute__((weak));

void cblas_sgemm(int layout, int ta, int tb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta,
                 float *c, int ldc);
void cblas_dgemm(int layout, int ta, int tb, int m, int n, int k, double alpha,
                 const double *a, int lda, const double *b, int ldb, double beta,
                 double *c, int ldc);
void cblas_sgemv(int layout, int ta, int m, int n, float alpha, const float *a,
                 int lda, const float *x, int incx, float beta, float *y,
                 int incy);
void cblas_dgemv(int layout, int ta, int m, int n, double alpha,
                 const double *a, int lda, const double *x, int incx,
                 double beta, double *y, int incy);

int backprop_blas_get_threads(void) { return openblas_get_num_threads(); }

/* The caller's mode with flushing on or off, whatever it was before. */
static fp_mode enter_exactly(int flush) {
    fp_mode saved = get_mode();
    if (FLUSH_BITS) set_mode(flush ? (saved | FLUSH_BITS) : (saved & ~FLUSH_BITS));
    return saved;
}

/*
 * Sets the thread count for the following calls. With the workers already
 * started (0.3.21, goto_set_num_threads) this is a store to a process-wide
 * global; a larger count than ever before starts the missing workers.
 */
void backprop_blas_set_threads(int threads) { openblas_set_num_threads(threads); }

/*
 * Sets OpenBLAS's thread count and (re)starts its worker threads with
 * flushing on or off. Must not run while another thread is inside OpenBLAS.
 * Returns 1 when the workers were restarted, 0 when this BLAS cannot.
 */
int backprop_blas_restart_workers(int flush, int threads) {
    fp_mode saved = enter_exactly(flush);
    int restarted = 0;
    if (threads > 0) openblas_set_num_threads(threads);
    if (blas_thread_shutdown_ && blas_thread_init) {
        blas_thread_shutdown_();
        blas_thread_init();
        restarted = 1;
    }
    set_mode(saved);
    return restarted;
}

#define SYNC_TEAM(flush) ((void)(flush))
#define GEMM(t, ...) cblas_##t##gemm(__VA_ARGS__)
#define GEMV(t, layout, ta, m, n, alpha, a, lda, x, beta, y) \
    cblas_##t##gemv(layout, ta, m, n, alpha, a, lda, x, 1, beta, y, 1)

#else
/* ---- BLIS ------------------------------------------------------------- */

/* dim_t and inc_t: BLIS's gint_t, 64 bits in every Debian build (the "32bit"
 * of libblis-dev is the BLAS-compatibility integer); checked at run time by
 * backprop_blas_check(). trans_t/conj_t are C enums. */
typedef int64_t dim_t;
typedef int64_t inc_t;
enum { BLI_NO_TRANSPOSE = 0x0, BLI_TRANSPOSE = 0x8, BLI_NO_CONJUGATE = 0x0 };

void bli_sgemm(int ta, int tb, dim_t m, dim_t n, dim_t k, const float *alpha,
               const float *a, inc_t rsa, inc_t csa, const float *b, inc_t rsb,
               inc_t csb, const float *beta, float *c, inc_t rsc, inc_t csc);
void bli_dgemm(int ta, int tb, dim_t m, dim_t n, dim_t k, const double *alpha,
               const double *a, inc_t rsa, inc_t csa, const double *b,
               inc_t rsb, inc_t csb, const double *beta, double *c, inc_t rsc,
               inc_t csc);
void bli_sgemv(int ta, int conjx, dim_t m, dim_t n, const float *alpha,
               const float *a, inc_t rsa, inc_t csa, const float *x, inc_t incx,
               const float *beta, float *y, inc_t incy);
void bli_dgemv(int ta, int conjx, dim_t m, dim_t n, const double *alpha,
               const double *a, inc_t rsa, inc_t csa, const double *x,
               inc_t incx, const double *beta, double *y, inc_t incy);
void bli_thread_set_num_threads(dim_t n);
dim_t bli_thread_get_num_threads(void);
dim_t bli_thread_get_jc_nt(void);
dim_t bli_thread_get_pc_nt(void);
dim_t bli_thread_get_ic_nt(void);
dim_t bli_thread_get_jr_nt(void);
dim_t bli_thread_get_ir_nt(void);
dim_t bli_info_get_int_type_size(void);
dim_t bli_info_get_enable_openmp(void);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads,
                   unsigned flags) __attribute__((weak));

/* 1 when the BLIS linked matches the declarations above. */
int backprop_blas_check(void) { return bli_info_get_int_type_size() == 64; }

/* Threads per level-3 call, as BLIS 0.9 decides (bli_rntm_set_ways_from_rntm):
 * per-loop ways (BLIS_JC_NT, ...), if any is set, multiplied, unset ones
 * counting 1, whatever the thread count says; else the thread count
 * (BLIS_NUM_THREADS, OMP_NUM_THREADS or bli_thread_set_num_threads()); else 1. */
int backprop_blas_get_threads(void) {
    dim_t w[5] = {bli_thread_get_jc_nt(), bli_thread_get_pc_nt(), bli_thread_get_ic_nt(),
                  bli_thread_get_jr_nt(), bli_thread_get_ir_nt()};
    dim_t product = 1;
    int any = 0;
    for (int i = 0; i < 5; i++) {
        if (w[i] > 0) {
            any = 1;
            product *= w[i];
        }
    }
    if (any) return (int)product;
    dim_t nt = bli_thread_get_num_threads();
    return nt < 1 ? 1 : (int)nt;
}

/* A process-wide setting in BLIS 0.9, taken under BLIS's own mutex (and
 * without effect while per-loop ways are set). */
void backprop_blas_set_threads(int threads) { bli_thread_set_num_threads(threads); }

/* BLIS's threads cannot be restarted (see the top of this file): sets the
 * thread count only, and returns 0. */
int backprop_blas_restart_workers(int flush, int threads) {
    (void)flush;
    if (threads > 0) bli_thread_set_num_threads(threads);
    return 0;
}

static void set_flush_bits(void *flush) {
    fp_mode mode = get_mode();
    set_mode(*(const int *)flush ? (mode | FLUSH_BITS) : (mode & ~FLUSH_BITS));
}

static int openmp_build(void) {
    static int known = -1; /* -1: not asked yet */
    int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (v < 0) {
        v = GOMP_parallel != 0 && bli_info_get_enable_openmp() != 0;
        __atomic_store_n(&known, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The OpenMP team of this calling thread, as last brought into a mode. */
static __thread int team_flush = -1;
static __thread int team_size = 1;

/* Brings this calling thread's OpenMP team into the `flush` mode (OpenMP
 * builds only; the calling thread's own mode is left as it was). */
static void sync_team(int flush) {
    if (!FLUSH_BITS || !openmp_build()) return;
    int threads = backprop_blas_get_threads();
    if (threads <= 1 || (team_flush == flush && team_size >= threads)) return;
    fp_mode saved = get_mode();
    GOMP_parallel(set_flush_bits, &flush, (unsigned)threads, 0);
    set_mode(saved);
    team_flush = flush;
    team_size = threads;
}

#define SYNC_TEAM(flush) sync_team(flush)

static int bli_trans(int t) { return t == CBLAS_TRANS ? BLI_TRANSPOSE : BLI_NO_TRANSPOSE; }
/* Row and column strides of a stored matrix with leading dimension ld. */
#define RS(layout, ld) ((layout) == CBLAS_ROW_MAJOR ? (inc_t)(ld) : 1)
#define CS(layout, ld) ((layout) == CBLAS_ROW_MAJOR ? 1 : (inc_t)(ld))

#define GEMM(t, layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) \
    bli_##t##gemm(bli_trans(ta), bli_trans(tb), m, n, k, &(alpha), a,           \
                  RS(layout, lda), CS(layout, lda), b, RS(layout, ldb),        \
                  CS(layout, ldb), &(beta), c, RS(layout, ldc), CS(layout, ldc))
/* m, n: the stored matrix's shape, as cblas_?gemv takes them. */
#define GEMV(t, layout, ta, m, n, alpha, a, lda, x, beta, y)                  \
    bli_##t##gemv(bli_trans(ta), BLI_NO_CONJUGATE, m, n, &(alpha), a,          \
                  RS(layout, lda), CS(layout, lda), x, 1, &(beta), y, 1)
#endif

/* ---- the wrappers ------------------------------------------------------ */

void backprop_sgemm(int flush, int layout, int ta, int tb, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc) {
    SYNC_TEAM(flush);
    fp_mode saved = enter(flush);
    GEMM(s, layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    leave(flush, saved);
}

void backprop_dgemm(int flush, int layout, int ta, int tb, int m, int n, int k,
                    double alpha, const double *a, int lda, const double *b,
                    int ldb, double beta, double *c, int ldc) {
    SYNC_TEAM(flush);
    fp_mode saved = enter(flush);
    GEMM(d, layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    leave(flush, saved);
}

void backprop_sgemv(int flush, int layout, int ta, int m, int n, float alpha,
                    const float *a, int lda, const float *x, float beta,
                    float *y) {
    SYNC_TEAM(flush);
    fp_mode saved = enter(flush);
    GEMV(s, layout, ta, m, n, alpha, a, lda, x, beta, y);
    leave(flush, saved);
}

void backprop_dgemv(int flush, int layout, int ta, int m, int n, double alpha,
                    const double *a, int lda, const double *x, double beta,
                    double *y) {
    SYNC_TEAM(flush);
    fp_mode saved = enter(flush);
    GEMV(d, layout, ta, m, n, alpha, a, lda, x, beta, y);
    leave(flush, saved);
}
