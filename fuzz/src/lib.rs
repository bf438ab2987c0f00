//! What every fuzz target shares: the readers take a path (that is their
//! public entry point, and gzip detection and the length checks against the
//! file's size happen there), so each input is written to a scratch file
//! first, on the RAM disk `/dev/shm` where there is one.

use std::path::PathBuf;

/// A scratch file private to this process and target.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A scratch file named after `target` in the temporary directory.
    pub fn new(target: &str) -> Self {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let path = dir.join(format!("backprop-fuzz-{target}-{}", std::process::id()));
        Scratch { path }
    }

    /// Writes `data` to the scratch file and returns its path.
    pub fn write(&self, data: &[u8]) -> &std::path::Path {
        std::fs::write(&self.path, data).expect("write the scratch file");
        &self.path
    }

    /// A second path beside the scratch file (for a save/load round trip).
    pub fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Every value read must be finite: the readers promise an error otherwise.
pub fn assert_finite<'a>(values: impl IntoIterator<Item = &'a f64>) {
    for v in values {
        assert!(v.is_finite(), "a reader returned the non-finite value {v}");
    }
}
