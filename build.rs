//! With the default `openblas` feature: checks, before anything links, that the
//! system OpenBLAS is installed (stopping with the one command that fixes it),
//! then compiles the small C wrapper around the BLAS calls (`src/blas_ftz.c`).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENBLAS_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_OPENBLAS").is_none() {
        return;
    }
    if !openblas_found() {
        panic!(
            "\n\nbackprop: the system OpenBLAS was not found.\n\
         Install it with:    apt-get install libopenblas-dev\n\
         (or point OPENBLAS_LIB_DIR at the directory holding libopenblas.so,\n\
         or build with `--no-default-features` for the slower pure-Rust GEMM).\n\n"
        );
    }
    compile_blas_wrapper();
}

/// The BLAS entry points, wrapped so that flush-to-zero is switched on around
/// each call only (see src/denormal.rs).
#[cfg(feature = "openblas")]
fn compile_blas_wrapper() {
    println!("cargo:rerun-if-changed=src/blas_ftz.c");
    cc::Build::new()
        .file("src/blas_ftz.c")
        .warnings(true)
        .compile("backprop_blas_ftz");
}

#[cfg(not(feature = "openblas"))]
fn compile_blas_wrapper() {}

fn openblas_found() -> bool {
    if let Some(dir) = std::env::var_os("OPENBLAS_LIB_DIR") {
        return has_lib(Path::new(&dir));
    }
    let pkg_config = Command::new("pkg-config")
        .args(["--exists", "openblas"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if pkg_config {
        return true;
    }
    let multiarch = format!(
        "/usr/lib/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default()
    );
    [
        multiarch.as_str(),
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/opt/homebrew/opt/openblas/lib",
        "/usr/local/opt/openblas/lib",
    ]
    .iter()
    .any(|dir| has_lib(Path::new(dir)))
}

fn has_lib(dir: &Path) -> bool {
    ["libopenblas.so", "libopenblas.a", "libopenblas.dylib"]
        .iter()
        .any(|name| dir.join(name).exists())
}
