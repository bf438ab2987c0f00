//! Files in and out: data sets (IDX, CSV, NPY) into ndarray arrays, models
//! to and from safetensors, and export to ONNX.
//!
//! | format | read | write |
//! |---|---|---|
//! | IDX (MNIST, Fashion-MNIST; raw or gzip) | [`read_idx`], [`read_idx_features`], [`read_idx_labels`] | |
//! | CSV (header or not, any delimiter, a target column) | [`read_csv`] with [`CsvOptions`] | |
//! | NPY (`.npy`: f32, f64, integers, bool; either byte order, C or Fortran) | [`read_npy`], [`read_npy_labels`] | [`write_npy`] |
//! | NPZ (`.npz`: NumPy's `savez` / `savez_compressed` archives of NPY arrays) | [`read_npz`], [`npz_names`] | |
//! | safetensors (PyTorch `nn.Sequential` names and layout; F16, BF16, F32, F64) | [`SavedModel::load`], [`SavedModel::load_with`]; any file's tensor list: [`read_safetensors_header`] | [`SavedModel::save`] |
//! | ONNX (opset [`ONNX_OPSET`]) | | [`export_onnx`] |
//!
//! # Guarantees
//! - Readers stream: values are decoded chunk by chunk into the result, never
//!   through a second copy of the whole file.
//! - A size read from a header is checked against the length of the file
//!   before anything is allocated from it (for gzip, against the largest size
//!   deflate can expand the file to), so a hostile header cannot make a reader
//!   allocate more than the file could hold.
//! - No reader returns a NaN or an infinity: such a value, or one that
//!   overflows the scalar type it is read into, is an [`Error::Malformed`]
//!   naming its position.
//! - A truncated, corrupt or inconsistent file is an [`Error::Malformed`]
//!   naming the file, the position ([`FilePosition`]: byte offset or line)
//!   and what was wrong; nothing in this module panics on file contents.
//! - Every writer is atomic: it writes a temporary file in the target's
//!   directory, flushes it to disk, then renames it over the target, so a
//!   crash mid-save leaves the previous file intact.

pub(crate) mod checkpoint;
pub mod csv;
pub mod idx;
pub mod model;
pub mod npy;
pub mod onnx;
mod safetensors;

pub use self::csv::{CsvData, CsvOptions, CsvTarget, TargetColumn, TargetKind, read_csv};
pub use self::idx::{read_idx, read_idx_features, read_idx_labels};
pub use self::model::{LoadOptions, SavedModel};
pub use self::npy::{npz_names, read_npy, read_npy_labels, read_npz, write_npy};
pub use self::onnx::{ONNX_OPSET, export_onnx};
pub use self::safetensors::{SafetensorsHeader, TensorInfo, read_safetensors_header};

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result, Scalar};

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilePosition {
    /// Byte offset from the start of the file.
    Byte(u64),
    /// Byte offset in the decompressed contents of a gzip file.
    DecompressedByte(u64),
    /// A 1-based line, and the 1-based field on it when one is to blame.
    Line {
        /// Line number, from 1.
        line: u64,
        /// Field number on the line, from 1.
        field: Option<usize>,
    },
    /// A named tensor of a safetensors file.
    Tensor(String),
}

impl fmt::Display for FilePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Byte(b) => write!(f, "byte {b}"),
            Self::DecompressedByte(b) => write!(f, "byte {b} of the decompressed data"),
            Self::Line { line, field: None } => write!(f, "line {line}"),
            Self::Line {
                line,
                field: Some(c),
            } => write!(f, "line {line}, field {c}"),
            Self::Tensor(name) => write!(f, "tensor `{name}`"),
        }
    }
}

/// [`Error::Io`] for `path`.
pub(crate) fn io_error(path: &Path, action: &'static str, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        action,
        source: e.into(),
    }
}

/// Deflate expands data by at most 1032:1 (one length/distance pair, at least
/// two bits, yields at most 258 bytes: 8 bits in, 1032 bytes out), so a gzip
/// file of n bytes cannot decompress to more than 1032·n bytes. This bounds
/// what a header inside a gzip file may claim.
const GZIP_MAX_RATIO: u64 = 1032;

/// Bytes read per chunk while streaming.
const CHUNK: usize = 1 << 16;

/// A file opened for reading, transparently gunzipped, that knows how far it
/// has read so that every error can name the offset.
pub(crate) struct Source {
    path: PathBuf,
    format: &'static str,
    reader: Box<dyn BufRead>,
    gzip: bool,
    file_len: u64,
    pos: u64,
}

impl Source {
    /// Opens `path`; gzip is detected from its magic bytes, not its name.
    pub(crate) fn open(path: &Path, format: &'static str) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_error(path, "open", e))?;
        let file_len = file
            .metadata()
            .map_err(|e| io_error(path, "read the size of", e))?
            .len();
        let mut buffered = BufReader::with_capacity(CHUNK, file);
        let head = buffered.fill_buf().map_err(|e| io_error(path, "read", e))?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                CHUNK,
                flate2::bufread::MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        Ok(Source {
            path: path.to_path_buf(),
            format,
            reader,
            gzip,
            file_len,
            pos: 0,
        })
    }

    /// A source over bytes already in memory (a member of an archive);
    /// `path` names it in errors.
    pub(crate) fn from_bytes(path: PathBuf, format: &'static str, bytes: Vec<u8>) -> Self {
        Source {
            path,
            format,
            file_len: bytes.len() as u64,
            reader: Box::new(std::io::Cursor::new(bytes)),
            gzip: false,
            pos: 0,
        }
    }

    /// The current offset, in the decompressed stream for gzip files.
    pub(crate) fn position(&self) -> FilePosition {
        self.position_at(self.pos)
    }

    pub(crate) fn position_at(&self, pos: u64) -> FilePosition {
        if self.gzip {
            FilePosition::DecompressedByte(pos)
        } else {
            FilePosition::Byte(pos)
        }
    }

    /// [`Error::Malformed`] at `at`.
    pub(crate) fn malformed(&self, at: FilePosition, reason: impl Into<String>) -> Error {
        Error::Malformed {
            path: self.path.clone(),
            format: self.format,
            at,
            reason: reason.into(),
        }
    }

    /// Most bytes that can still follow the current position: exact for a
    /// raw file, the deflate bound for gzip.
    pub(crate) fn max_remaining(&self) -> u64 {
        if self.gzip {
            self.file_len.saturating_mul(GZIP_MAX_RATIO)
        } else {
            self.file_len.saturating_sub(self.pos)
        }
    }

    /// True for a raw (not gzip) file, where [`max_remaining`] is exact.
    pub(crate) fn exact_length(&self) -> bool {
        !self.gzip
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match std::io::Read::read(self, buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    /// The error for a failed read: [`Error::Malformed`] for corrupt or
    /// cut-off gzip data (flate2's words for it), else [`Error::Io`].
    pub(crate) fn read_error(&self, e: std::io::Error) -> Error {
        if self.gzip
            && matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return self.malformed(
                self.position(),
                format!("corrupt or truncated gzip data: {e}"),
            );
        }
        io_error(&self.path, "read", e)
    }

    /// Skips `prefix` (a byte-order mark) when the file starts with it.
    pub(crate) fn skip_prefix(&mut self, prefix: &[u8]) -> Result<bool> {
        let head = match self.reader.fill_buf() {
            Ok(h) => h,
            Err(e) => return Err(self.read_error(e)),
        };
        let found = head.starts_with(prefix);
        if found {
            self.reader.consume(prefix.len());
            self.pos += prefix.len() as u64;
        }
        Ok(found)
    }

    /// Fills `buf` or fails naming `what` was cut short.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let start = self.pos;
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_some(&mut buf[done..])?;
            if n == 0 {
                return Err(self.malformed(
                    self.position(),
                    format!(
                        "file ends inside the {what}: needed {} bytes from {}, found {done}",
                        buf.len(),
                        self.position_at(start)
                    ),
                ));
            }
            done += n;
        }
        Ok(())
    }

    /// Fails if anything follows the current position.
    pub(crate) fn expect_end(&mut self) -> Result<()> {
        let at = self.position();
        let mut probe = [0u8; 1];
        if self.read_some(&mut probe)? != 0 {
            return Err(self.malformed(
                at,
                "unexpected bytes after the data the header declares (wrong header, or two files joined?)",
            ));
        }
        Ok(())
    }

    /// Reads `count` elements of type `elem` and converts them to `S`,
    /// chunk by chunk. The caller has checked `count` against
    /// [`max_remaining`](Self::max_remaining).
    ///
    /// A value that is NaN or infinite, or that overflows `S` (an f64 beyond
    /// f32's range read as f32), is an [`Error::Malformed`] at its byte, as
    /// a non-numeric CSV field is: no reader hands back a non-finite value.
    pub(crate) fn read_elements<S: Scalar>(
        &mut self,
        elem: Elem,
        big_endian: bool,
        count: usize,
        grid: Grid,
    ) -> Result<Vec<S>> {
        let size = elem.size();
        // Preallocate only what the file provably holds; gzip output grows
        // with the data actually decompressed.
        let mut out = Vec::with_capacity(if self.gzip { count.min(CHUNK) } else { count });
        let mut buf = vec![0u8; (CHUNK / size) * size];
        let mut left = count;
        while left > 0 {
            let n = left.min(buf.len() / size);
            let chunk = &mut buf[..n * size];
            let chunk_start = self.pos;
            self.read_exact(chunk, "data")?;
            for (k, b) in chunk.chunks_exact(size).enumerate() {
                let v = S::cast(elem.decode(b, big_endian));
                if !v.is_finite() {
                    let at = chunk_start + (k * size) as u64;
                    let i = count - left + k;
                    return Err(self.not_finite::<S>(at, grid.cell(i, count), b, elem, big_endian));
                }
                out.push(v);
            }
            left -= n;
        }
        Ok(out)
    }
}

impl Source {
    /// The error for the element at `cell`, byte `at`, whose bytes `b` are
    /// not a finite `S`.
    fn not_finite<S: Scalar>(
        &self,
        at: u64,
        cell: String,
        b: &[u8],
        elem: Elem,
        big_endian: bool,
    ) -> Error {
        let raw = elem.decode(b, big_endian);
        let reason = if raw.is_finite() {
            format!(
                "the value at {cell} is {raw:e}, beyond the range of {} (read the file as f64)",
                S::NAME
            )
        } else {
            format!("the value at {cell} is {raw}; data must be finite numbers")
        };
        self.malformed(self.position_at(at), reason)
    }
}

impl Read for Source {
    /// Reads from the (decompressed) contents, counting the position.
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// How the elements of a binary file map onto rows (the first dimension)
/// and columns (the others, flattened), to name a value in messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    /// Length of the first dimension.
    pub(crate) rows: usize,
    /// Stored column by column (NPY `fortran_order`).
    pub(crate) fortran: bool,
}

impl Grid {
    /// "row r, column c" (0-based, as the data checks say) of element `i`
    /// in file order, of `count`.
    fn cell(self, i: usize, count: usize) -> String {
        let rows = self.rows.max(1);
        let cols = count / rows;
        let (r, c) = if self.fortran {
            (i % rows, i / rows)
        } else {
            (i / cols.max(1), i % cols.max(1))
        };
        if cols <= 1 {
            format!("row {r}")
        } else {
            format!("row {r}, column {c}")
        }
    }
}

/// An element type stored in a binary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl Elem {
    pub(crate) fn size(self) -> usize {
        match self {
            Self::Bool | Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
        }
    }

    /// The value of one element (`b.len() == self.size()`), widened to f64
    /// (exact except for 64-bit integers beyond 2⁵³).
    #[inline]
    pub(crate) fn decode(self, b: &[u8], big_endian: bool) -> f64 {
        macro_rules! num {
            ($t:ty) => {{
                let a = b.try_into().expect("chunk has the element size");
                (if big_endian {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                }) as f64
            }};
        }
        match self {
            Self::Bool | Self::U8 => f64::from(b[0]),
            Self::I8 => f64::from(b[0] as i8),
            Self::U16 => num!(u16),
            Self::I16 => num!(i16),
            Self::U32 => num!(u32),
            Self::I32 => num!(i32),
            Self::U64 => num!(u64),
            Self::I64 => num!(i64),
            Self::F32 => num!(f32),
            Self::F64 => num!(f64),
        }
    }
}

/// The number of elements of an array of shape `dims`, checked to be
/// indexable: ndarray requires the product of the non-zero lengths to fit
/// in `isize`, even when another length is 0 and the array is empty.
///
/// # Errors
/// [`Error::Malformed`] at `at` for a shape beyond that.
pub(crate) fn element_count(src: &Source, dims: &[usize], at: FilePosition) -> Result<usize> {
    let nonzero = (dims.iter().filter(|&&d| d != 0))
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&p| p <= isize::MAX as usize);
    match nonzero {
        Some(_) if dims.contains(&0) => Ok(0),
        Some(p) => Ok(p),
        None => Err(src.malformed(
            at,
            format!(
                "shape {dims:?} is too large: the product of its non-zero lengths exceeds {}",
                isize::MAX
            ),
        )),
    }
}

/// Converts decoded label values to class indices, naming the first one that
/// is negative, fractional or not finite.
pub(crate) fn to_labels(
    src: &Source,
    values: Vec<f64>,
    data_start: u64,
    size: u64,
) -> Result<Vec<usize>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53) {
                Ok(v as usize)
            } else {
                Err(src.malformed(
                    src.position_at(data_start + i as u64 * size),
                    format!("label {i} is {v}; class labels must be integers >= 0"),
                ))
            }
        })
        .collect()
}

/// Distinguishes temporary files written concurrently by one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary files that exist now, for [`remove_temp_files`].
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temp_files() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere cannot leave the list itself inconsistent.
    TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary file of a write still in progress (for a
/// Ctrl-C or SIGTERM handler that ends the process next). Safe to call from
/// any thread; the writes in progress then fail.
pub fn remove_temp_files() {
    for p in temp_files().drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

/// A temporary file beside a target: `.{name}.tmp-{pid}-{n}` in the
/// target's directory (hidden, and marked with the process id, so a file
/// left by a killed process is never taken for an output). It is removed
/// when dropped unless [`persist`](Self::persist)ed, and listed for
/// [`remove_temp_files`] while it exists.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Reserves a temporary path beside `target` (nothing is created yet).
    ///
    /// # Errors
    /// [`Error::Io`] when `target` names no file.
    pub fn beside(target: &Path) -> Result<Self> {
        let name = target.file_name().ok_or_else(|| {
            io_error(
                target,
                "write",
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path does not name a file",
                ),
            )
        })?;
        let path = dir_of(target).join(format!(
            ".{}.tmp-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        temp_files().push(path.clone());
        Ok(TempFile { path })
    }

    /// The temporary path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary file onto `target`.
    ///
    /// # Errors
    /// [`Error::Io`] when the rename fails (the temporary file is removed).
    pub fn persist(mut self, target: &Path) -> Result<()> {
        std::fs::rename(&self.path, target)
            .map_err(|e| io_error(target, "rename the temporary file onto", e))?;
        // Emptied, so that the drop below neither removes nor unlists
        // anything (and the path's buffer is freed, not leaked).
        let path = std::mem::take(&mut self.path);
        temp_files().retain(|p| *p != path);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return; // persisted
        }
        let _ = std::fs::remove_file(&self.path);
        temp_files().retain(|p| *p != self.path);
    }
}

/// The directory a path's file is in (`.` for a bare name).
fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Where a write to `path` lands: `path` itself, or the file a symbolic link
/// points to (the link is kept, its target written).
///
/// # Errors
/// [`Error::Io`] when `path` (or the link's target) exists and is not a
/// regular file (a directory, a device, a FIFO, a socket), or is a link that
/// points nowhere.
pub fn output_target(path: &Path) -> Result<PathBuf> {
    let refuse = |p: &Path, what: String| {
        io_error(
            p,
            "write",
            std::io::Error::new(std::io::ErrorKind::InvalidInput, what),
        )
    };
    let target = match std::fs::symlink_metadata(path) {
        Err(_) => return Ok(path.to_path_buf()),
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|_| {
            refuse(
                path,
                "it is a symbolic link to a missing file; remove it or point it at a file".into(),
            )
        })?,
        Ok(_) => path.to_path_buf(),
    };
    let meta = std::fs::metadata(&target).map_err(|e| io_error(&target, "inspect", e))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a device, FIFO or socket)"
        };
        return Err(refuse(
            &target,
            format!("it is {kind}; outputs are written only to regular files or new paths"),
        ));
    }
    Ok(target)
}

/// Writes `path` atomically: `write` fills a temporary file in the same
/// directory ([`TempFile`]), which is flushed and fsynced, then renamed over
/// `path`; the directory is fsynced too so the rename survives a crash. On
/// any error the temporary file is removed and `path` is untouched. A
/// symbolic link is followed (its target is replaced, the link kept); a
/// directory, device or FIFO is refused ([`output_target`]).
///
/// ```
/// use std::io::Write;
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("notes.txt");
/// backprop::io::write_atomic(&path, |w| w.write_all(b"hello"))?;
/// assert_eq!(std::fs::read_to_string(&path)?, "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming the step that failed (creating, writing, flushing
/// or renaming the temporary file), or refusing the target.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let path = &output_target(path)?;
    let tmp = TempFile::beside(path)?;
    let result = (|| -> std::result::Result<(), (&'static str, std::io::Error)> {
        let file = File::create(tmp.path()).map_err(|e| ("create a temporary file for", e))?;
        let mut w = std::io::BufWriter::with_capacity(CHUNK, file);
        write(&mut w).map_err(|e| ("write", e))?;
        let file = w.into_inner().map_err(|e| ("write", e.into_error()))?;
        file.sync_all().map_err(|e| ("flush to disk", e))?;
        Ok(())
    })();
    if let Err((action, e)) = result {
        return Err(io_error(path, action, e));
    }
    tmp.persist(path)?;
    // Persist the rename itself; directories cannot be opened for this on
    // every platform, and the data is already safe, so failure is ignored.
    if let Ok(d) = File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_well() {
        assert_eq!(FilePosition::Byte(16).to_string(), "byte 16");
        assert_eq!(
            FilePosition::Line {
                line: 3,
                field: Some(2)
            }
            .to_string(),
            "line 3, field 2"
        );
        assert_eq!(
            FilePosition::DecompressedByte(8).to_string(),
            "byte 8 of the decompressed data"
        );
    }

    #[test]
    fn decode_both_byte_orders() {
        assert_eq!(Elem::I16.decode(&[0xff, 0xfe], true), -2.0);
        assert_eq!(Elem::I16.decode(&[0xfe, 0xff], false), -2.0);
        assert_eq!(Elem::F32.decode(&1.5f32.to_be_bytes(), true), 1.5);
        assert_eq!(Elem::U8.decode(&[200], false), 200.0);
        assert_eq!(Elem::I8.decode(&[200], false), -56.0);
    }

    #[test]
    fn atomic_write_replaces_and_failure_keeps_old() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        write_atomic(&p, |w| w.write_all(b"one")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let err = write_atomic(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_devices_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, |w| w.write_all(b"new")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let err = write_atomic(&dangling, |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("missing file"), "{err}");
        let err = write_atomic(Path::new("/dev/null"), |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = write_atomic(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn temp_files_are_listed_until_persisted_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.bin");
        let t = TempFile::beside(&target).unwrap();
        std::fs::write(t.path(), b"x").unwrap();
        let name = t.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".m.bin.tmp-"), "{name}");
        assert!(temp_files().contains(&t.path().to_path_buf()));
        // Dropped unpersisted: removed and no longer listed. (Not through
        // `remove_temp_files`, which would also remove the files of other
        // tests running beside this one; the CLI's signal tests cover it.)
        let p = t.path().to_path_buf();
        drop(t);
        assert!(!p.exists());
        assert!(!temp_files().contains(&p));
        let t = TempFile::beside(&target).unwrap();
        std::fs::write(t.path(), b"y").unwrap();
        t.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
