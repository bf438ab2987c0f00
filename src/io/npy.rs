//! NPY, numpy's `.npy` array files (format versions 1, 2 and 3).
//!
//! Layout: the magic `\x93NUMPY`, a major and minor version byte, the header
//! length (u16 little-endian in version 1, u32 in 2 and 3), a header that is
//! a Python dict literal `{'descr': '<f4', 'fortran_order': False,
//! 'shape': (3, 4), }`, then the raw values.

use std::io::Read;
use std::path::Path;

use ndarray::{Array, ArrayD, ArrayView, Dimension, IxDyn, ShapeBuilder};

use super::{Elem, FilePosition, Grid, Source, to_labels, write_atomic};
use crate::{Result, Scalar};

const FORMAT: &str = "NPY";
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy itself refuses headers above 10 000 bytes unless told otherwise;
/// one mebibyte leaves room for any real shape and stops a hostile length.
const MAX_HEADER: u64 = 1 << 20;

struct Header {
    elem: Elem,
    big_endian: bool,
    fortran: bool,
    shape: Vec<usize>,
    count: usize,
    data_start: u64,
}

impl Header {
    /// Rows are the first dimension, one for a 0-d array (for messages).
    fn grid(&self) -> Grid {
        Grid {
            rows: self.shape.first().copied().unwrap_or(1),
            fortran: self.fortran,
        }
    }
}

fn read_header(src: &mut Source) -> Result<Header> {
    let (len, header_start) = read_preamble(src)?;
    let mut text = vec![0u8; len as usize];
    src.read_exact(&mut text, "NPY header")?;
    let at = FilePosition::Byte(header_start);
    let text = String::from_utf8(text)
        .map_err(|_| src.malformed(at.clone(), "the header is not valid UTF-8 text"))?;
    let (descr, fortran, shape) = header_entries(src, &text, &at)?;
    let (elem, big_endian) = parse_descr(&descr).ok_or_else(|| {
        src.malformed(
            at.clone(),
            format!(
                "unsupported dtype {descr:?}: expected a little- or big-endian float (f4, f8), \
                 integer (i1-i8, u1-u8) or bool (b1)"
            ),
        )
    })?;
    let data_start = header_start + len;
    check_data_size(src, &shape, &descr, elem, data_start)?;
    let shape: Vec<usize> = shape.into_iter().map(|d| d as usize).collect();
    Ok(Header {
        elem,
        big_endian,
        fortran,
        count: super::element_count(src, &shape, at)?,
        shape,
        data_start,
    })
}

/// Reads the magic string, the version and the header length; returns the
/// length and the offset at which the header starts.
fn read_preamble(src: &mut Source) -> Result<(u64, u64)> {
    let mut pre = [0u8; 8];
    src.read_exact(&mut pre, "NPY preamble")?;
    if &pre[..6] != MAGIC {
        return Err(src.malformed(
            FilePosition::Byte(0),
            "not an NPY file: it does not start with \\x93NUMPY",
        ));
    }
    let (len, len_bytes) = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            src.read_exact(&mut b, "NPY header length")?;
            (u64::from(u16::from_le_bytes(b)), 2)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            src.read_exact(&mut b, "NPY header length")?;
            (u64::from(u32::from_le_bytes(b)), 4)
        }
        v => {
            return Err(src.malformed(
                FilePosition::Byte(6),
                format!(
                    "unsupported NPY format version {v}.{}; expected 1, 2 or 3",
                    pre[7]
                ),
            ));
        }
    };
    if len > MAX_HEADER || len > src.max_remaining() {
        return Err(src.malformed(
            FilePosition::Byte(8),
            format!(
                "header length {len} is larger than the file allows ({} bytes at most)",
                src.max_remaining().min(MAX_HEADER)
            ),
        ));
    }
    Ok((len, 8 + len_bytes))
}

/// The `descr`, `fortran_order` and `shape` entries of the header `text`
/// (read at `at`), each required and nothing else allowed.
fn header_entries(src: &Source, text: &str, at: &FilePosition) -> Result<(String, bool, Vec<u64>)> {
    let dict = parse_dict(text).map_err(|why| {
        src.malformed(
            at.clone(),
            format!("cannot parse the header {text:?}: {why}"),
        )
    })?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (key, value) in dict {
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k, v) => {
                return Err(
                    src.malformed(at.clone(), format!("unexpected header entry {k:?}: {v:?}"))
                );
            }
        }
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran), Some(shape)) => Ok((descr, fortran, shape)),
        _ => Err(src.malformed(
            at.clone(),
            "the header must give 'descr', 'fortran_order' and 'shape'",
        )),
    }
}

/// Checks that the data `shape` of `descr` declares fits the file after
/// the header: exactly for a raw file, within the deflate bound for gzip.
fn check_data_size(
    src: &Source,
    shape: &[u64],
    descr: &str,
    elem: Elem,
    data_start: u64,
) -> Result<()> {
    let mut bytes = elem.size() as u64;
    for &d in shape {
        bytes = bytes.saturating_mul(d);
    }
    let available = src.max_remaining();
    if bytes > available || (src.exact_length() && bytes != available) {
        return Err(src.malformed(
            src.position_at(data_start),
            format!(
                "the header declares shape {shape:?} of {descr} ({bytes} bytes) but the file {} \
                 {available} bytes after the header{}",
                if src.exact_length() {
                    "has"
                } else {
                    "can hold at most"
                },
                if bytes > available {
                    " (truncated?)"
                } else {
                    " (trailing data?)"
                },
            ),
        ));
    }
    Ok(())
}

fn parse_descr(d: &str) -> Option<(Elem, bool)> {
    let mut chars = d.chars();
    let order = chars.next()?;
    let big = match order {
        '<' | '|' => false,
        '>' => true,
        '=' => cfg!(target_endian = "big"),
        _ => return None,
    };
    let elem = match chars.as_str() {
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        "i1" => Elem::I8,
        "u1" => Elem::U8,
        "b1" => Elem::Bool,
        "i2" => Elem::I16,
        "u2" => Elem::U16,
        "i4" => Elem::I32,
        "u4" => Elem::U32,
        "i8" => Elem::I64,
        "u8" => Elem::U64,
        _ => return None,
    };
    Some((elem, big))
}

#[derive(Debug)]
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses the Python dict literal of an NPY header: string keys; string,
/// boolean or integer-tuple values.
fn parse_dict(text: &str) -> std::result::Result<Vec<(String, Value)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let mut out = Vec::new();
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = match p.peek() {
            Some(b'\'' | b'"') => Value::Str(p.string()?),
            Some(b'(') => Value::Tuple(p.tuple()?),
            _ if p.word("True") => Value::Bool(true),
            _ if p.word("False") => Value::Bool(false),
            _ => return Err(format!("unexpected value at character {}", p.i)),
        };
        out.push((key, value));
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected text after the dict at character {}",
            p.i
        ));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        self.ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at character {}", c as char, self.i))
        }
    }
    fn word(&mut self, w: &str) -> bool {
        let hit = self.s[self.i..].starts_with(w.as_bytes());
        if hit {
            self.i += w.len();
        }
        hit
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at character {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == q)
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }
    fn tuple(&mut self) -> std::result::Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII digits");
            let d: u64 = digits
                .parse()
                .map_err(|_| format!("expected a dimension at character {start}"))?;
            dims.push(d);
            self.ws();
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Reads the header and every value of an NPY file, as `T`, checking that
/// nothing follows them. With `expected = Some((n, what))` an array of
/// other than n dimensions is an error saying `what` was expected.
fn read_values<T: Scalar>(
    path: &Path,
    expected: Option<(usize, String)>,
) -> Result<(Source, Header, Vec<T>)> {
    read_values_from(Source::open(path, FORMAT)?, expected)
}

/// As [`read_values`], from an opened source.
fn read_values_from<T: Scalar>(
    mut src: Source,
    expected: Option<(usize, String)>,
) -> Result<(Source, Header, Vec<T>)> {
    let h = read_header(&mut src)?;
    if let Some((n, what)) = expected
        && n != h.shape.len()
    {
        return Err(src.malformed(
            FilePosition::Byte(8),
            format!("expected {what}, the file holds shape {:?}", h.shape),
        ));
    }
    let values = src.read_elements::<T>(h.elem, h.big_endian, h.count, h.grid())?;
    src.expect_end()?;
    Ok((src, h, values))
}

/// Reads a `.npy` file into an array of `S` with `D` dimensions (use
/// `IxDyn`, as in `ArrayD`, to accept any number). Any supported dtype
/// (f4, f8, i1–i8, u1–u8, b1; either byte order) is converted to `S`;
/// Fortran-ordered data is returned in standard (row-major) layout.
///
/// ```
/// use ndarray::{Array2, array};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.npy");
/// backprop::io::write_npy(&path, array![[1.0f32, 2.0], [3.0, 4.0]].view())?;
/// let x: Array2<f64> = backprop::io::read_npy(&path)?;
/// assert_eq!(x, array![[1.0, 2.0], [3.0, 4.0]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) when the file cannot be read;
/// [`Error::Malformed`](crate::Error::Malformed) with the byte offset for a
/// bad magic string, an unparsable header, an unsupported dtype, a shape
/// whose size does not match the file, a number of dimensions other than
/// `D`'s, truncated data, trailing bytes, or a value that is not finite as
/// an `S` (NaN, infinite, or beyond f32's range when read as f32).
pub fn read_npy<S: Scalar, D: Dimension>(path: impl AsRef<Path>) -> Result<Array<S, D>> {
    let expected = D::NDIM.map(|n| (n, format!("a {n}-dimensional array")));
    let (_, h, data) = read_values::<S>(path.as_ref(), expected)?;
    let a = standard_array(&h, data);
    Ok(a.into_dimensionality::<D>().expect("ndim checked"))
}

/// The arrays in a `.npz` archive (NumPy's `savez`), by name (the member
/// file names without `.npy`), in archive order.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) when the file cannot be read;
/// [`Error::Malformed`](crate::Error::Malformed) when it is not a zip
/// archive.
pub fn npz_names(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let archive = open_npz(path.as_ref())?;
    Ok(archive
        .file_names()
        .filter_map(|n| n.strip_suffix(".npy"))
        .map(str::to_string)
        .collect())
}

fn open_npz(path: &Path) -> Result<zip::ZipArchive<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| super::io_error(path, "open", e))?;
    zip::ZipArchive::new(file).map_err(|e| npz_error(path, format!("not a zip archive: {e}")))
}

fn npz_error(path: &Path, reason: String) -> crate::Error {
    crate::Error::Malformed {
        path: path.to_path_buf(),
        format: "NPZ",
        at: FilePosition::Byte(0),
        reason,
    }
}

/// Reads the array `name` of a `.npz` archive (`numpy.savez(path, x=...,
/// y=...)` stores `x.npy` and `y.npy`; stored or deflated, as
/// `savez_compressed` writes) as [`read_npy`] reads a `.npy` file. The
/// member is decompressed into memory first, so the peak memory is twice
/// the array's; its size is checked against what the archive can hold
/// before anything is allocated.
///
/// ```
/// use ndarray::{ArrayD, array};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("d.npz");
/// # let npy = dir.path().join("x.npy");
/// # backprop::io::write_npy(&npy, array![[1.0f32, 2.0]].view())?;
/// # let mut z = zip::ZipWriter::new(std::fs::File::create(&path)?);
/// # z.start_file("x.npy", zip::write::SimpleFileOptions::default()
/// #     .compression_method(zip::CompressionMethod::Stored))?;
/// # std::io::Write::write_all(&mut z, &std::fs::read(&npy)?)?;
/// # z.finish()?;
/// assert_eq!(backprop::io::npz_names(&path)?, ["x"]);
/// let x: ArrayD<f64> = backprop::io::read_npz(&path, "x")?;
/// assert_eq!(x, array![[1.0, 2.0]].into_dyn());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_npy`], naming `archive.npz/name.npy`;
/// [`Error::Malformed`](crate::Error::Malformed) for a file that is not a
/// zip archive, a missing member (the message lists those there), or a
/// member larger than the archive could hold.
pub fn read_npz<S: Scalar>(path: impl AsRef<Path>, name: &str) -> Result<ArrayD<S>> {
    let path = path.as_ref();
    let mut archive = open_npz(path)?;
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let member = format!("{name}.npy");
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let mut f = archive.by_name(&member).map_err(|_| {
        npz_error(
            path,
            format!("no array named {name:?}; the archive holds {names:?}"),
        )
    })?;
    // Deflate expands at most 1032:1 (see `GZIP_MAX_RATIO`).
    let bound = file_len.saturating_mul(1032);
    if f.size() > bound {
        return Err(npz_error(
            path,
            format!(
                "{member} claims {} bytes, more than the archive can hold",
                f.size()
            ),
        ));
    }
    let size = f.size();
    let mut bytes = Vec::new();
    (&mut f)
        .take(size)
        .read_to_end(&mut bytes)
        .map_err(|e| npz_error(path, format!("{member}: {e}")))?;
    let src = Source::from_bytes(path.join(&member), FORMAT, bytes);
    let (_, h, data) = read_values_from::<S>(src, None)?;
    Ok(standard_array(&h, data))
}

/// The values in row-major layout, whatever order the file stored.
fn standard_array<S: Scalar>(h: &Header, data: Vec<S>) -> ArrayD<S> {
    if h.fortran {
        let f = ArrayD::from_shape_vec(IxDyn(&h.shape).f(), data).expect("count matches shape");
        f.as_standard_layout().into_owned()
    } else {
        ArrayD::from_shape_vec(IxDyn(&h.shape), data).expect("count matches shape")
    }
}

/// Reads a one-dimensional `.npy` file of class labels (any integer dtype, or
/// floats holding whole numbers) as class indices.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("y.npy");
/// backprop::io::write_npy(&path, ndarray::array![2.0f32, 0.0, 1.0].view())?;
/// assert_eq!(backprop::io::read_npy_labels(&path)?, vec![2, 0, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_npy`]; [`Error::Malformed`](crate::Error::Malformed) for an
/// array of more than one dimension or a value that is not a whole number
/// ≥ 0.
pub fn read_npy_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let expected = Some((1, "a 1-D array of labels".to_string()));
    let (src, h, values) = read_values::<f64>(path.as_ref(), expected)?;
    to_labels(&src, values, h.data_start, h.elem.size() as u64)
}

/// Writes `array` as a version 1.0 `.npy` file (little-endian `<f4` or
/// `<f8`, C order), atomically.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("p.npy");
/// backprop::io::write_npy(&path, ndarray::array![[0.25f64, 0.75]].view())?;
/// let back: ndarray::Array2<f64> = backprop::io::read_npy(&path)?;
/// assert_eq!(back[[0, 1]], 0.75);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) when the file cannot be written; the
/// previous file at `path`, if any, is then left as it was.
pub fn write_npy<S: Scalar, D: Dimension>(
    path: impl AsRef<Path>,
    array: ArrayView<'_, S, D>,
) -> Result<()> {
    let f32 = S::NAME == "f32";
    let dims: Vec<String> = array.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        if f32 { "<f4" } else { "<f8" }
    );
    // Pad with spaces and a final newline so the data starts on a 64-byte
    // boundary, as numpy does.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let len = u16::try_from(header.len()).map_err(|_| {
        super::io_error(
            path.as_ref(),
            "write",
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} dimensions do not fit an NPY 1.0 header", dims.len()),
            ),
        )
    })?;
    write_atomic(path.as_ref(), |w| {
        w.write_all(MAGIC)?;
        w.write_all(&[1, 0])?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        for &v in array.iter() {
            if f32 {
                w.write_all(&(v.wide() as f32).to_le_bytes())?;
            } else {
                w.write_all(&v.wide().to_le_bytes())?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use ndarray::{Array1, Array2, array};

    fn npy(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut b = MAGIC.to_vec();
        b.extend([1, 0]);
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(data);
        b
    }

    fn file(dir: &tempfile::TempDir, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(format!("{}.npy", bytes.len()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// As the IDX reader (found by fuzzing): no NPY value comes back
    /// infinite, NaN, or overflowed to infinity by the conversion to f32.
    #[test]
    fn non_finite_and_overflowing_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = 1.0f64.to_le_bytes().to_vec();
        data.extend(f64::INFINITY.to_le_bytes());
        let p = file(&dir, &npy("<f8", "(2,)", false, &data));
        let e = read_npy::<f64, ndarray::Ix1>(&p).unwrap_err();
        assert!(
            matches!(&e, Error::Malformed { .. }) && e.to_string().contains("at row 1 is inf"),
            "{e}"
        );
        let data = 1e39f64.to_le_bytes();
        let p = file(&dir, &npy("<f8", "(1,)", false, &data));
        assert_eq!(read_npy::<f64, ndarray::Ix1>(&p).unwrap()[0], 1e39);
        let e = read_npy::<f32, ndarray::Ix1>(&p).unwrap_err();
        assert!(e.to_string().contains("beyond the range of f32"), "{e}");
    }

    /// As the IDX reader (found by fuzzing): an empty shape whose other
    /// lengths multiply beyond `isize::MAX` is an error, not a panic.
    #[test]
    fn empty_shapes_too_large_to_index_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, &npy("<f4", "(0, 4294967296, 4294967296)", false, &[]));
        let e = read_npy::<f32, ndarray::IxDyn>(&p).unwrap_err();
        assert!(e.to_string().contains("is too large"), "{e}");
        let p = file(&dir, &npy("<f4", "(0, 3)", false, &[]));
        assert_eq!(read_npy::<f32, ndarray::Ix2>(&p).unwrap().dim(), (0, 3));
    }

    #[test]
    fn round_trip_f32_and_f64() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let a = array![[1.5f32, -2.0, 3.25], [4.0, 5.0, 6.0]];
        write_npy(&p, a.view()).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            128 + 6 * 4,
            "data starts at 128"
        );
        let back: Array2<f32> = read_npy(&p).unwrap();
        assert_eq!(back, a);
        let b = array![0.1f64, 1e300];
        write_npy(&p, b.view()).unwrap();
        let back: Array1<f64> = read_npy(&p).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn big_endian_fortran_and_integers() {
        let dir = tempfile::tempdir().unwrap();
        // 2x3 array [[1,2,3],[4,5,6]] stored column by column as >i4.
        let data: Vec<u8> = [1i32, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let p = file(&dir, &npy(">i4", "(2, 3)", true, &data));
        let a: Array2<f32> = read_npy(&p).unwrap();
        assert_eq!(a, array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        let data: Vec<u8> = [2.5f64, -1.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let p = file(&dir, &npy(">f8", "(2,)", false, &data));
        let a: ArrayD<f64> = read_npy(&p).unwrap();
        assert_eq!(a.into_raw_vec_and_offset().0, vec![2.5, -1.0]);
        let p = file(&dir, &npy("|u1", "(3,)", false, &[7, 0, 9]));
        assert_eq!(read_npy_labels(&p).unwrap(), vec![7, 0, 9]);
        let data: Vec<u8> = [3i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = file(&dir, &npy("<i8", "(2,)", false, &data));
        let err = read_npy_labels(&p).unwrap_err();
        assert!(err.to_string().contains("label 1 is -1"), "{err}");
    }

    #[test]
    fn header_mismatch_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, &npy("<f4", "(2, 3)", false, &[0; 20]));
        let err = read_npy::<f32, ndarray::Ix2>(&p).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let p = file(&dir, &npy("<f4", "(1, 1)", false, &[0; 8]));
        let err = read_npy::<f32, ndarray::Ix2>(&p).unwrap_err();
        assert!(err.to_string().contains("trailing"), "{err}");
        let p = file(&dir, &npy("<f4", "(2,)", false, &[0; 8]));
        let err = read_npy::<f32, ndarray::Ix2>(&p).unwrap_err();
        assert!(err.to_string().contains("2-dimensional"), "{err}");
        let p = file(&dir, &npy("<c8", "(1,)", false, &[0; 8]));
        let err = read_npy::<f32, IxDyn>(&p).unwrap_err();
        assert!(err.to_string().contains("unsupported dtype"), "{err}");
        let p = file(&dir, &npy("<f4", "(2, x)", false, &[0; 8]));
        let err = read_npy::<f32, IxDyn>(&p).unwrap_err();
        assert!(err.to_string().contains("cannot parse"), "{err}");
    }

    #[test]
    fn hostile_sizes_are_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            &dir,
            &npy(
                "<f8",
                "(4294967296, 4294967296, 4294967296)",
                false,
                &[0; 8],
            ),
        );
        let err = read_npy::<f32, IxDyn>(&p).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        // Version 2 header length of 4 GiB in a tiny file.
        let mut b = MAGIC.to_vec();
        b.extend([2, 0, 0xff, 0xff, 0xff, 0xff, b'{']);
        let err = read_npy::<f32, IxDyn>(file(&dir, &b)).unwrap_err();
        assert!(err.to_string().contains("header length"), "{err}");
        let err = read_npy::<f32, IxDyn>(file(&dir, b"\x93NUM")).unwrap_err();
        assert!(err.to_string().contains("ends inside"), "{err}");
    }

    #[test]
    fn dict_parser_accepts_numpy_spellings() {
        let d = parse_dict("{\"descr\": \"<f4\", 'fortran_order':False,'shape':()}").unwrap();
        assert!(matches!(&d[2].1, Value::Tuple(t) if t.is_empty()));
        assert!(parse_dict("{'shape': (1,2,)}").is_ok());
        assert!(parse_dict("{'shape': (1,2)} extra").is_err());
        assert!(parse_dict("{'shape': (-1,)}").is_err());
    }
}
