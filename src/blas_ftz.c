/*
 * The four BLAS entry points the library calls, each wrapped so that
 * flush-to-zero (FTZ) and denormals-are-zero (DAZ) are on for the duration of
 * the call only, when `flush` is non-zero. See src/denormal.rs.
 *
 * The switch lives in C, around the foreign call, because Rust's language
 * rules assume the default floating-point environment wherever Rust code runs:
 * no Rust code executes between the switch and its restore.
 *
 * OpenBLAS's worker threads keep the mode they were started with (a new
 * thread inherits its creator's), so backprop_blas_restart_workers() starts
 * them again from inside the mode: they then flush for good, and run nothing
 * but OpenBLAS. Its thread-pool entry points are weak symbols: with a BLAS
 * that lacks them (an OpenMP build, another library) the workers are left as
 * they are and only the calling thread flushes.
 *
 * x86-64: MXCSR bits FTZ (15) and DAZ (6). aarch64: FPCR.FZ (24), which
 * flushes both inputs and outputs. Elsewhere the calls run unchanged.
 */
#include <stdint.h>

void openblas_set_num_threads(int n);
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

#if defined(__x86_64__)
typedef uint32_t fp_mode;
static fp_mode enter(int flush) {
    fp_mode saved;
    __asm__ volatile("stmxcsr %0" : "=m"(saved));
    if (flush) {
        fp_mode on = saved | 0x8040u;
        __asm__ volatile("ldmxcsr %0" : : "m"(on));
    }
    return saved;
}
static void leave(int flush, fp_mode saved) {
    if (flush) __asm__ volatile("ldmxcsr %0" : : "m"(saved));
}
/* The caller's mode with flushing on or off, whatever it was before. */
static fp_mode enter_exactly(int flush) {
    fp_mode saved;
    __asm__ volatile("stmxcsr %0" : "=m"(saved));
    fp_mode mode = flush ? (saved | 0x8040u) : (saved & ~0x8040u);
    __asm__ volatile("ldmxcsr %0" : : "m"(mode));
    return saved;
}
#elif defined(__aarch64__)
typedef uint64_t fp_mode;
static fp_mode enter(int flush) {
    fp_mode saved;
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved));
    if (flush) __asm__ volatile("msr fpcr, %0" : : "r"(saved | (1ull << 24)));
    return saved;
}
static void leave(int flush, fp_mode saved) {
    if (flush) __asm__ volatile("msr fpcr, %0" : : "r"(saved));
}
static fp_mode enter_exactly(int flush) {
    fp_mode saved;
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved));
    fp_mode mode = flush ? (saved | (1ull << 24)) : (saved & ~(1ull << 24));
    __asm__ volatile("msr fpcr, %0" : : "r"(mode));
    return saved;
}
#else
typedef int fp_mode;
static fp_mode enter(int flush) { (void)flush; return 0; }
static void leave(int flush, fp_mode saved) { (void)flush; (void)saved; }
static fp_mode enter_exactly(int flush) { (void)flush; return 0; }
#endif

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
    leave(1, saved);
    return restarted;
}

void backprop_sgemm(int flush, int layout, int ta, int tb, int m, int n, int k,
                    float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc) {
    fp_mode saved = enter(flush);
    cblas_sgemm(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    leave(flush, saved);
}

void backprop_dgemm(int flush, int layout, int ta, int tb, int m, int n, int k,
                    double alpha, const double *a, int lda, const double *b,
                    int ldb, double beta, double *c, int ldc) {
    fp_mode saved = enter(flush);
    cblas_dgemm(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    leave(flush, saved);
}

void backprop_sgemv(int flush, int layout, int ta, int m, int n, float alpha,
                    const float *a, int lda, const float *x, float beta,
                    float *y) {
    fp_mode saved = enter(flush);
    cblas_sgemv(layout, ta, m, n, alpha, a, lda, x, 1, beta, y, 1);
    leave(flush, saved);
}

void backprop_dgemv(int flush, int layout, int ta, int m, int n, double alpha,
                    const double *a, int lda, const double *x, double beta,
                    double *y) {
    fp_mode saved = enter(flush);
    cblas_dgemv(layout, ta, m, n, alpha, a, lda, x, 1, beta, y, 1);
    leave(flush, saved);
}
