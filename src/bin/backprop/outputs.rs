//! Output files: checked before any work starts, written as one set, and
//! never left half-written.
//!
//! - An output is a regular file or a new path; a symbolic link is followed
//!   (its target written, the link kept); a directory, device, FIFO or
//!   socket is refused ([`backprop::io::output_target`]).
//! - No output may be an input or another output of the same command
//!   (same canonical path, or on Unix the same device and inode: a hard
//!   link).
//! - Each output's directory must exist and take a new file, which is
//!   tried before training starts, so a trained model is never lost to a
//!   read-only location.
//! - A set of outputs is written to temporary files first; only when all
//!   are complete are they renamed into place, the model last
//!   ([`Staged`]). A crash leaves the previous set, or the new history and
//!   curves beside the previous model for the instant between renames,
//!   never a model beside another run's history.
//! - Temporary files are removed on error, Ctrl-C, SIGTERM and SIGHUP.

use std::path::{Path, PathBuf};

use backprop::io::TempFile;

use crate::CliError;

/// On SIGINT, SIGTERM or SIGHUP: remove the temporary files of the writes
/// in progress and exit with 128 + the signal number.
pub fn remove_temp_files_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            backprop::io::remove_temp_files();
            // Without running exit handlers: other threads are still inside
            // BLAS, whose library destructors must not run under them.
            signal_hook::low_level::exit(128 + sig);
        }
    });
}

/// A file named on the command line, by flag, for messages.
#[derive(Debug, Clone)]
pub struct Named<'a> {
    pub flag: &'a str,
    pub path: &'a Path,
}

/// What identifies a file: its canonical path (for a new file, the
/// canonical directory and the name), and its device and inode when it
/// exists.
#[derive(Debug, PartialEq)]
struct Identity {
    path: PathBuf,
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn of(path: &Path) -> Identity {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            dir.join(path.file_name().unwrap_or_default())
        });
        Identity {
            path: canonical,
            inode: inode(path),
        }
    }

    fn same(&self, other: &Identity) -> bool {
        self.path == other.path || (self.inode.is_some() && self.inode == other.inode)
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn inode(_: &Path) -> Option<(u64, u64)> {
    None
}

/// Checks every output before any work: a regular file or a new path, in
/// an existing directory that takes a new file, neither an input nor
/// another output. Returns where each output will be written (a link's
/// target), in order.
///
/// # Errors
/// A [`CliError`] naming the flag and the path at fault.
pub fn check(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> Result<Vec<PathBuf>, CliError> {
    let ins: Vec<(Identity, &Named<'_>)> =
        inputs.iter().map(|n| (Identity::of(n.path), n)).collect();
    let mut outs: Vec<(Identity, &Named<'_>)> = Vec::new();
    let mut targets = Vec::new();
    for out in outputs {
        let target = backprop::io::output_target(out.path)
            .map_err(|e| CliError(format!("{} {}: {e}", out.flag, out.path.display())))?;
        writable(&target, out)?;
        let id = Identity::of(&target);
        if let Some((_, n)) = ins.iter().chain(&outs).find(|(other, _)| other.same(&id)) {
            let role = if ins.iter().any(|(_, i)| std::ptr::eq(*i, *n)) {
                "the input"
            } else {
                "the output"
            };
            return Err(CliError(format!(
                "{} {} is the same file as {role} {} {}; it would be overwritten: choose \
                 another output path",
                out.flag,
                out.path.display(),
                n.flag,
                n.path.display()
            )));
        }
        outs.push((id, out));
        targets.push(target);
    }
    Ok(targets)
}

/// Fails unless the directory of `target` exists and a new file can be
/// created in it (tried with a temporary file, removed at once).
fn writable(target: &Path, out: &Named<'_>) -> Result<(), CliError> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CliError(format!(
            "{} {}: the directory {} does not exist",
            out.flag,
            out.path.display(),
            dir.display()
        )));
    }
    let probe = TempFile::beside(target)?;
    std::fs::File::create(probe.path()).map_err(|e| {
        CliError(format!(
            "{} {}: cannot write in {}: {e}",
            out.flag,
            out.path.display(),
            dir.display()
        ))
    })?;
    Ok(())
}

/// A set of outputs being written: each goes to a temporary file beside
/// its target, and [`commit`](Self::commit) renames them all into place in
/// the order they were added (add the model last). Dropped uncommitted,
/// the temporary files are removed.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<(TempFile, PathBuf)>,
}

impl Staged {
    /// A temporary path to write `target`'s contents to.
    pub fn add(&mut self, target: &Path) -> Result<&Path, CliError> {
        let tmp = TempFile::beside(target)?;
        self.files.push((tmp, target.to_path_buf()));
        Ok(self.files.last().expect("just pushed").0.path())
    }

    /// Renames every temporary file onto its target, in order.
    pub fn commit(self) -> Result<(), CliError> {
        for (tmp, target) in self.files {
            tmp.persist(&target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_may_not_be_inputs_or_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.csv");
        std::fs::write(&data, "a,y\n1,0\n").unwrap();
        let model = dir.path().join("m.safetensors");
        let input = [Named {
            flag: "--train",
            path: &data,
        }];
        let out = |flag, path| Named { flag, path };
        let err = check(&input, &[out("-o", &data)]).unwrap_err().0;
        assert!(err.contains("same file as the input --train"), "{err}");
        let dotted = dir.path().join(".").join("m.safetensors");
        let err = check(&input, &[out("-o", &model), out("--onnx", &dotted)])
            .unwrap_err()
            .0;
        assert!(err.contains("same file as the output -o"), "{err}");
        let hard = dir.path().join("hard.csv");
        #[cfg(unix)]
        {
            std::fs::hard_link(&data, &hard).unwrap();
            assert!(check(&input, &[out("-o", &hard)]).is_err());
        }
        let ok = check(&input, &[out("-o", &model)]).unwrap();
        assert_eq!(ok, std::slice::from_ref(&model));
        // The probe left nothing behind.
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            if cfg!(unix) { 2 } else { 1 }
        );
    }

    #[test]
    fn staged_files_appear_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let mut s = Staged::default();
        std::fs::write(s.add(&a).unwrap(), "1").unwrap();
        std::fs::write(s.add(&b).unwrap(), "2").unwrap();
        assert!(!a.exists() && !b.exists());
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "2");
        let mut s = Staged::default();
        std::fs::write(s.add(&a).unwrap(), "3").unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "1");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
