//! With a BLAS feature (`openblas`, the default, or `blis`): checks, before
//! anything links, that the system library is installed (stopping with the
//! one command that fixes it), then compiles the small C wrapper around the
//! BLAS calls (`src/blas_ftz.c`). BLIS is linked from here; OpenBLAS through
//! `blas-src`/`openblas-src`. With `mpi`, compiles the shim that exports
//! `MPI_IN_PLACE` (`src/mpi_in_place.c`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENBLAS_LIB_DIR");
    println!("cargo:rerun-if-env-changed=BLIS_LIB_DIR");
    let openblas = std::env::var_os("CARGO_FEATURE_OPENBLAS").is_some();
    let blis = std::env::var_os("CARGO_FEATURE_BLIS").is_some();
    match (openblas, blis) {
        // Both: src/lib.rs stops the build with a `compile_error!` that says
        // which flags to use; nothing to link until then.
        (true, true) | (false, false) => {}
        (true, false) => {
            if find_lib("OPENBLAS_LIB_DIR", "openblas", OPENBLAS_DIRS).is_none() {
                panic!(
                    "\n\nbackprop: the system OpenBLAS was not found.\n\
                     Install it with:    apt-get install libopenblas-dev\n\
                     (or point OPENBLAS_LIB_DIR at the directory holding libopenblas.so,\n\
                     or build with `--no-default-features` for the slower pure-Rust GEMM).\n\n"
                );
            }
            compile_blas_wrapper(false);
        }
        (false, true) => {
            let Some(dir) = find_lib("BLIS_LIB_DIR", "blis", BLIS_DIRS) else {
                panic!(
                    "\n\nbackprop: the system BLIS was not found (feature `blis`).\n\
                     Install it with:    apt-get install libblis-dev\n\
                     (or point BLIS_LIB_DIR at the directory holding libblis.so,\n\
                     or build with the default `openblas` feature).\n\n"
                );
            };
            compile_blas_wrapper(true);
            if let Some(dir) = dir {
                println!("cargo:rustc-link-search=native={}", dir.display());
            }
            // After the wrapper, which calls into it.
            println!("cargo:rustc-link-lib=dylib=blis");
        }
    }
    compile_mpi_shim();
}

/// Feature `mpi`: the one-line C shim that exports `MPI_IN_PLACE`, compiled
/// against the system MPI's headers (the MPI library itself is linked by
/// `mpi-sys`).
#[cfg(feature = "mpi")]
fn compile_mpi_shim() {
    println!("cargo:rerun-if-changed=src/mpi_in_place.c");
    let lib = build_probe_mpi::probe().unwrap_or_else(|errs| {
        panic!(
            "\n\nbackprop: the system MPI was not found (feature `mpi`): {errs:?}\n\
             Install it with:    apt-get install openmpi-bin libopenmpi-dev \
             libclang1-14 libclang-common-14-dev\n\n"
        )
    });
    let mut build = cc::Build::new();
    build.file("src/mpi_in_place.c").warnings(true);
    for dir in &lib.include_paths {
        build.include(dir);
    }
    build.compile("backprop_mpi_in_place");
}

#[cfg(not(feature = "mpi"))]
fn compile_mpi_shim() {}

/// The BLAS entry points, wrapped so that flush-to-zero is switched on around
/// each call only (see src/denormal.rs).
#[cfg(any(feature = "openblas", feature = "blis"))]
fn compile_blas_wrapper(blis: bool) {
    println!("cargo:rerun-if-changed=src/blas_ftz.c");
    let mut build = cc::Build::new();
    build.file("src/blas_ftz.c").warnings(true);
    if blis {
        build.define("BACKPROP_BLIS", None);
    }
    build.compile("backprop_blas_ftz");
}

#[cfg(not(any(feature = "openblas", feature = "blis")))]
fn compile_blas_wrapper(_blis: bool) {}

const OPENBLAS_DIRS: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/opt/homebrew/opt/openblas/lib",
    "/usr/local/opt/openblas/lib",
];

const BLIS_DIRS: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/opt/homebrew/opt/blis/lib",
    "/usr/local/opt/blis/lib",
];

/// Looks for `lib<name>` in the directory named by `env_var`, else where
/// pkg-config says, else in the multiarch and the usual directories.
///
/// `None`: not found. `Some(None)`: found where the linker looks anyway.
/// `Some(Some(dir))`: found in `dir`, which the linker must be told about.
fn find_lib(env_var: &str, name: &str, dirs: &[&str]) -> Option<Option<PathBuf>> {
    if let Some(dir) = std::env::var_os(env_var) {
        let dir = PathBuf::from(dir);
        return has_lib(&dir, name).then_some(Some(dir));
    }
    if let Some(search) = pkg_config_dirs(name) {
        return Some(search.into_iter().find(|d| has_lib(d, name)));
    }
    let multiarch = format!(
        "/usr/lib/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default()
    );
    let found = std::iter::once(multiarch.as_str())
        .chain(dirs.iter().copied())
        .find(|dir| has_lib(Path::new(dir), name))?;
    let default_path = found == multiarch || found == "/usr/lib" || found == "/usr/lib64";
    Some((!default_path).then(|| PathBuf::from(found)))
}

/// The `-L` directories of a pkg-config package, or `None` if pkg-config
/// does not know it.
fn pkg_config_dirs(name: &str) -> Option<Vec<PathBuf>> {
    let out = Command::new("pkg-config")
        .args(["--libs-only-L", name])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|flag| flag.strip_prefix("-L"))
            .map(PathBuf::from)
            .collect(),
    )
}

fn has_lib(dir: &Path, name: &str) -> bool {
    ["so", "a", "dylib"]
        .iter()
        .any(|ext| dir.join(format!("lib{name}.{ext}")).exists())
}
