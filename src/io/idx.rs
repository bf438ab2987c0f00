//! IDX, the format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! Layout (all integers big-endian): two zero bytes, a type code (0x08 u8,
//! 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of
//! dimensions d, d sizes as u32, then the values in row-major order.

use std::path::Path;

use ndarray::{Array2, ArrayD, IxDyn};

use super::{Elem, Grid, Source, to_labels};
use crate::{Result, Scalar};

const FORMAT: &str = "IDX";

/// The parsed header of an IDX file.
struct Header {
    elem: Elem,
    dims: Vec<usize>,
    count: usize,
}

impl Header {
    /// Rows are the first dimension (for messages).
    fn grid(&self) -> Grid {
        Grid {
            rows: self.dims[0],
            fortran: false,
        }
    }
}

fn read_header(src: &mut Source) -> Result<Header> {
    let mut magic = [0u8; 4];
    src.read_exact(&mut magic, "IDX header")?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(src.malformed(
            src.position_at(0),
            format!(
                "not an IDX file: the first two bytes are {:#04x} {:#04x}, expected 0x00 0x00{}",
                magic[0],
                magic[1],
                match &magic[..2] {
                    b"PK" => " (this is a zip archive: a NumPy .npz file? name it .npz)",
                    [0x93, b'N'] => " (this is a NumPy .npy file: name it .npy)",
                    _ => "",
                }
            ),
        ));
    }
    let elem = match magic[2] {
        0x08 => Elem::U8,
        0x09 => Elem::I8,
        0x0B => Elem::I16,
        0x0C => Elem::I32,
        0x0D => Elem::F32,
        0x0E => Elem::F64,
        code => {
            return Err(src.malformed(
                src.position_at(2),
                format!(
                    "unknown IDX type code {code:#04x}; expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E"
                ),
            ));
        }
    };
    let ndim = magic[3] as usize;
    if ndim == 0 {
        return Err(src.malformed(src.position_at(3), "IDX file declares 0 dimensions"));
    }
    let mut dims = Vec::with_capacity(ndim);
    let mut bytes: u64 = elem.size() as u64;
    for _ in 0..ndim {
        let mut d = [0u8; 4];
        src.read_exact(&mut d, "IDX dimension list")?;
        let d = u32::from_be_bytes(d);
        dims.push(d as usize);
        bytes = bytes.saturating_mul(u64::from(d));
    }
    let data_start = 4 + 4 * ndim as u64;
    let available = src.max_remaining();
    if bytes > available || (src.exact_length() && bytes != available) {
        return Err(src.malformed(
            src.position_at(data_start),
            format!(
                "the header declares shape {dims:?} ({bytes} bytes of data) but the file {} {available} bytes after the header{}",
                if src.exact_length() { "has" } else { "can hold at most" },
                if bytes > available { " (truncated?)" } else { " (trailing data?)" },
            ),
        ));
    }
    let count = super::element_count(src, &dims, src.position_at(4))?;
    Ok(Header { elem, dims, count })
}

/// Reads an IDX file (raw or gzip, detected from its content) of any shape,
/// converting every value to `S` (pixels stay 0–255; see
/// [`Scaler`](crate::preprocess::Scaler) to rescale).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("tiny-idx3-ubyte");
/// // Two 2x3 "images": magic 0x00000803, dims 2, 2, 3, then 12 bytes.
/// let mut bytes = vec![0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
/// bytes.extend(0u8..12);
/// std::fs::write(&path, bytes)?;
/// let a = backprop::io::read_idx::<f32>(&path)?;
/// assert_eq!(a.shape(), &[2, 2, 3]);
/// assert_eq!(a[[1, 0, 2]], 8.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) when the file cannot be read;
/// [`Error::Malformed`](crate::Error::Malformed) with the byte offset for a
/// bad magic number or type code, a header whose shape does not match the
/// file's length, truncated data, trailing bytes, corrupt gzip data, or a
/// value that is not finite as an `S` (NaN, infinite, or beyond f32's range
/// when read as f32).
pub fn read_idx<S: Scalar>(path: impl AsRef<Path>) -> Result<ArrayD<S>> {
    let mut src = Source::open(path.as_ref(), FORMAT)?;
    let h = read_header(&mut src)?;
    let data = src.read_elements(h.elem, true, h.count, h.grid())?;
    src.expect_end()?;
    Ok(ArrayD::from_shape_vec(IxDyn(&h.dims), data).expect("count is the product of dims"))
}

/// Reads an IDX file of samples as an m × n matrix: the first dimension is
/// the sample, the others are flattened row-major (a 60000 × 28 × 28 image
/// file becomes 60000 × 784).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("tiny-idx3-ubyte");
/// let mut bytes = vec![0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
/// bytes.extend(0u8..12);
/// std::fs::write(&path, bytes)?;
/// let x = backprop::io::read_idx_features::<f32>(&path)?;
/// assert_eq!(x.dim(), (2, 6));
/// assert_eq!(x[[1, 0]], 6.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_idx`]; [`Error::Malformed`](crate::Error::Malformed) for a
/// one-dimensional file (labels: use [`read_idx_labels`]).
pub fn read_idx_features<S: Scalar>(path: impl AsRef<Path>) -> Result<Array2<S>> {
    let mut src = Source::open(path.as_ref(), FORMAT)?;
    let h = read_header(&mut src)?;
    if h.dims.len() < 2 {
        return Err(src.malformed(
            src.position_at(3),
            format!(
                "expected samples of at least one dimension, found a 1-D file of shape {:?} (labels?)",
                h.dims
            ),
        ));
    }
    let m = h.dims[0];
    let n = h.dims[1..].iter().product();
    let data = src.read_elements(h.elem, true, h.count, h.grid())?;
    src.expect_end()?;
    Ok(Array2::from_shape_vec((m, n), data).expect("count is m·n"))
}

/// Reads a one-dimensional IDX file of class labels (MNIST's
/// `*-labels-idx1-ubyte`).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("tiny-idx1-ubyte");
/// std::fs::write(&path, [0, 0, 0x08, 1, 0, 0, 0, 3, 9, 0, 4])?;
/// assert_eq!(backprop::io::read_idx_labels(&path)?, vec![9, 0, 4]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`read_idx`]; [`Error::Malformed`](crate::Error::Malformed) for a file
/// of more than one dimension or a label that is negative or fractional.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let mut src = Source::open(path.as_ref(), FORMAT)?;
    let h = read_header(&mut src)?;
    if h.dims.len() != 1 {
        return Err(src.malformed(
            src.position_at(3),
            format!("expected a 1-D file of labels, found shape {:?}", h.dims),
        ));
    }
    let data_start = 8;
    let values = src.read_elements::<f64>(h.elem, true, h.count, h.grid())?;
    src.expect_end()?;
    to_labels(&src, values, data_start, h.elem.size() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::io::FilePosition;
    use std::io::Write;

    fn images(n: u32) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, 3];
        for d in [n, 2, 2] {
            b.extend(d.to_be_bytes());
        }
        b.extend((0..n * 4).map(|v| v as u8));
        b
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// Found by fuzzing (`fuzz/`, target `idx`): an f64 file whose value
    /// overflows f32 was read as f32 infinity, and NaN passed through.
    #[test]
    fn non_finite_and_overflowing_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        // 2 x 1 of big-endian f64: 0.5, then -1e300.
        let mut b = vec![0, 0, 0x0E, 2, 0, 0, 0, 2, 0, 0, 0, 1];
        b.extend(0.5f64.to_be_bytes());
        b.extend((-1e300f64).to_be_bytes());
        let p = write(&dir, "wide", &b);
        assert_eq!(read_idx_features::<f64>(&p).unwrap()[[1, 0]], -1e300);
        let e = read_idx_features::<f32>(&p).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                &e,
                Error::Malformed {
                    at: FilePosition::Byte(20),
                    ..
                }
            ) && msg.contains("the value at row 1 is -1e300, beyond the range of f32"),
            "{msg}"
        );
        // NaN in an f32 file, raw and gzip.
        let mut b = vec![0, 0, 0x0D, 1, 0, 0, 0, 2];
        b.extend(1.0f32.to_be_bytes());
        b.extend(f32::NAN.to_be_bytes());
        for (name, bytes) in [("nan", b.clone()), ("nan.gz", gzip(&b))] {
            let p = write(&dir, name, &bytes);
            let e = read_idx::<f64>(&p).unwrap_err();
            assert!(e.to_string().contains("at row 1 is NaN"), "{e}");
            assert!(e.to_string().contains("byte 12"), "{e}");
        }
    }

    /// Found by fuzzing (target `idx`): an empty array (one length 0) whose
    /// other lengths multiply beyond `isize::MAX` made ndarray panic.
    #[test]
    fn empty_shapes_too_large_to_index_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = vec![0, 0, 0x08, 3];
        for d in [0u32, u32::MAX, u32::MAX] {
            b.extend(d.to_be_bytes());
        }
        let p = write(&dir, "huge-empty", &b);
        for e in [
            read_idx::<f32>(&p).unwrap_err(),
            read_idx_features::<f32>(&p).unwrap_err(),
        ] {
            assert!(e.to_string().contains("is too large"), "{e}");
        }
        // Empty and indexable: an empty array.
        let mut b = vec![0, 0, 0x08, 2];
        for d in [0u32, 5] {
            b.extend(d.to_be_bytes());
        }
        let p = write(&dir, "empty", &b);
        assert_eq!(read_idx_features::<f32>(&p).unwrap().dim(), (0, 5));
    }

    #[test]
    fn raw_and_gzip_agree() {
        let dir = tempfile::tempdir().unwrap();
        let raw = write(&dir, "a", &images(3));
        let gz = write(&dir, "a.gz", &gzip(&images(3)));
        let a = read_idx_features::<f64>(&raw).unwrap();
        assert_eq!(a, read_idx_features::<f64>(&gz).unwrap());
        assert_eq!(a.dim(), (3, 4));
        assert_eq!(a[[2, 3]], 11.0);
    }

    #[test]
    fn big_endian_wide_types() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = vec![0, 0, 0x0B, 1, 0, 0, 0, 2];
        b.extend((-300i16).to_be_bytes());
        b.extend(7i16.to_be_bytes());
        let p = write(&dir, "s", &b);
        assert_eq!(
            read_idx::<f32>(&p).unwrap().into_raw_vec_and_offset().0,
            vec![-300.0, 7.0]
        );
        let mut b = vec![0, 0, 0x0D, 1, 0, 0, 0, 1];
        b.extend(2.5f32.to_be_bytes());
        let p = write(&dir, "f", &b);
        assert_eq!(read_idx::<f64>(&p).unwrap()[[0]], 2.5);
    }

    #[test]
    fn truncated_file_names_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = images(3);
        b.truncate(b.len() - 1);
        let p = write(&dir, "t", &b);
        let err = read_idx_features::<f32>(&p).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Byte(16),
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
        // Trailing bytes are as wrong as missing ones.
        let mut b = images(3);
        b.push(0);
        let err = read_idx::<f32>(write(&dir, "x", &b)).unwrap_err();
        assert!(err.to_string().contains("trailing"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut z = gzip(&images(50));
        z.truncate(z.len() - 12);
        let err = read_idx::<f32>(write(&dir, "t.gz", &z)).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        // Data that decompresses fine but is shorter than the header says.
        let mut b = images(3);
        b.truncate(b.len() - 2);
        let err = read_idx::<f32>(write(&dir, "s.gz", &gzip(&b))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    at: FilePosition::DecompressedByte(26),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn hostile_header_allocates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Claims 4G x 4G x 4G bytes in a 16-byte file.
        let b = [
            0, 0, 0x08, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        let err = read_idx::<f32>(write(&dir, "h", &b)).unwrap_err();
        assert!(err.to_string().contains("after the header"), "{err}");
        let err = read_idx::<f32>(write(&dir, "h.gz", &gzip(&b))).unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
    }

    #[test]
    fn bad_magic_and_type_code() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_idx::<f32>(write(&dir, "m", b"PK\x03\x04")).unwrap_err();
        assert!(err.to_string().contains("not an IDX file"), "{err}");
        let err = read_idx::<f32>(write(&dir, "c", &[0, 0, 0x07, 1, 0, 0, 0, 0])).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Byte(2),
                    ..
                }
            ),
            "{err}"
        );
        let err = read_idx::<f32>(write(&dir, "e", &[])).unwrap_err();
        assert!(err.to_string().contains("ends inside"), "{err}");
    }

    #[test]
    fn labels_must_be_one_dimensional_and_non_negative() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_idx_labels(write(&dir, "i", &images(1))).unwrap_err();
        assert!(err.to_string().contains("1-D"), "{err}");
        let err =
            read_idx_labels(write(&dir, "n", &[0, 0, 0x09, 1, 0, 0, 0, 2, 1, 0xff])).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Byte(9),
                    ..
                }
            ),
            "{err}"
        );
        let err = read_idx_features::<f32>(write(&dir, "l", &[0, 0, 0x08, 1, 0, 0, 0, 1, 3]))
            .unwrap_err();
        assert!(err.to_string().contains("labels?"), "{err}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = read_idx::<f32>("/nonexistent/train-images-idx3-ubyte.gz").unwrap_err();
        assert!(matches!(err, Error::Io { action: "open", .. }), "{err}");
    }
}
