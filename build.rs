//! Checks, before anything links, that the system OpenBLAS is installed when the
//! default `openblas` feature is on, and stops with the one command that fixes it.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENBLAS_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_OPENBLAS").is_none() {
        return;
    }
    if openblas_found() {
        return;
    }
    panic!(
        "\n\nbackprop: the system OpenBLAS was not found.\n\
         Install it with:    apt-get install libopenblas-dev\n\
         (or point OPENBLAS_LIB_DIR at the directory holding libopenblas.so,\n\
         or build with `--no-default-features` for the slower pure-Rust GEMM).\n\n"
    );
}

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
