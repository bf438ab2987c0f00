//! The machine, BLAS, versions and environment variables a report was made
//! with.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub mode: &'static str,
    pub machine: Machine,
    pub blas: Blas,
    pub env: EnvVars,
    pub versions: Versions,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub os: &'static str,
    pub arch: &'static str,
    pub kernel: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blas {
    pub config: String,
    pub corename: String,
}

/// The variables that change how BLAS and the library use threads.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct EnvVars {
    pub openblas_num_threads: Option<String>,
    pub openblas_coretype: Option<String>,
    pub openblas_l2_size: Option<String>,
    pub omp_num_threads: Option<String>,
    pub backprop_num_threads: Option<String>,
}

/// Versions of the compiler and of the crates that matter, the latter read
/// from `Cargo.lock`.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    pub backprop: &'static str,
    pub rustc: Option<String>,
    pub ndarray: Option<String>,
    pub rayon: Option<String>,
    #[serde(rename = "blas-src")]
    pub blas_src: Option<String>,
    #[serde(rename = "openblas-src")]
    pub openblas_src: Option<String>,
    #[serde(rename = "cblas-sys")]
    pub cblas_sys: Option<String>,
    pub criterion: Option<String>,
}

impl Environment {
    pub fn detect(smoke: bool) -> Self {
        let (config, corename) = blas_description();
        Environment {
            mode: if smoke { "smoke" } else { "full" },
            machine: Machine {
                cpu_model: cpu_model(),
                logical_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
                os: std::env::consts::OS,
                arch: std::env::consts::ARCH,
                kernel: command_line("uname", &["-r"]),
            },
            blas: Blas { config, corename },
            env: EnvVars::read(),
            versions: Versions::read(),
            command: std::iter::once("bench_report".to_owned())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl EnvVars {
    fn read() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        EnvVars {
            openblas_num_threads: var("OPENBLAS_NUM_THREADS"),
            openblas_coretype: var("OPENBLAS_CORETYPE"),
            openblas_l2_size: var("OPENBLAS_L2_SIZE"),
            omp_num_threads: var("OMP_NUM_THREADS"),
            backprop_num_threads: var("BACKPROP_NUM_THREADS"),
        }
    }
}

impl Versions {
    fn read() -> Self {
        let lock =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
                .unwrap_or_default();
        let locked = |name: &str| {
            let needle = format!("name = \"{name}\"\nversion = \"");
            let rest = &lock[lock.find(&needle)? + needle.len()..];
            rest.find('"').map(|j| rest[..j].to_owned())
        };
        Versions {
            backprop: env!("CARGO_PKG_VERSION"),
            rustc: command_line("rustc", &["--version"]),
            ndarray: locked("ndarray"),
            rayon: locked("rayon"),
            blas_src: locked("blas-src"),
            openblas_src: locked("openblas-src"),
            cblas_sys: locked("cblas-sys"),
            criterion: locked("criterion"),
        }
    }
}

#[cfg(feature = "openblas")]
unsafe extern "C" {
    fn openblas_get_config() -> *const std::ffi::c_char;
    fn openblas_get_corename() -> *const std::ffi::c_char;
}

/// OpenBLAS's build configuration and the kernel it selected at run time.
pub fn blas_description() -> (String, String) {
    #[cfg(feature = "openblas")]
    {
        // SAFETY: both functions return pointers to static NUL-terminated
        // strings owned by OpenBLAS.
        let (config, core) = unsafe {
            (
                std::ffi::CStr::from_ptr(openblas_get_config()),
                std::ffi::CStr::from_ptr(openblas_get_corename()),
            )
        };
        (
            config.to_string_lossy().trim().to_owned(),
            core.to_string_lossy().trim().to_owned(),
        )
    }
    #[cfg(feature = "blis")]
    {
        ("BLIS (system library)".to_owned(), "n/a".to_owned())
    }
    #[cfg(not(any(feature = "openblas", feature = "blis")))]
    {
        (
            "matrixmultiply (pure Rust, no BLAS)".to_owned(),
            "n/a".to_owned(),
        )
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
