//! The safetensors container: named tensors and string metadata, nothing
//! about networks (what a saved model puts in it is [`super::model`]'s).
//!
//! # Layout
//! An 8-byte little-endian header length n, n bytes of JSON header, then the
//! data section. The header maps each tensor name to
//! `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data
//! section, row-major little-endian values) and the optional key
//! `__metadata__` to a string → string object. The writer pads the header
//! with spaces to a multiple of 8 bytes, as the reference implementation
//! does, so the data section stays aligned. Only the `F32` and `F64` dtypes
//! are read.
//!
//! # Hostile files
//! Before anything is allocated the header length is checked against the
//! file's length (and a 100 MB cap, as in the reference implementation), and
//! every tensor's offsets against its dtype, shape and the data section;
//! tensors must tile the data section exactly, without overlap or gap.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{FilePosition, io_error, write_atomic};
use crate::{Error, Result, Scalar};

/// The format's name in [`Error::Malformed`].
const FORMAT: &str = "safetensors";
/// The reference implementation's limit on the JSON header.
const MAX_HEADER: u64 = 100_000_000;
/// The header's key for the string → string metadata.
const METADATA: &str = "__metadata__";

/// Element type of a tensor (the two a network's parameters can have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    F32,
    F64,
}

impl Dtype {
    /// The dtype that holds `S` exactly.
    pub(crate) fn of<S: Scalar>() -> Self {
        if S::NAME == "f32" {
            Self::F32
        } else {
            Self::F64
        }
    }

    /// Bytes per element.
    pub(crate) fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F64 => "F64",
        }
    }

    /// Decodes one little-endian element of `self.size()` bytes.
    fn decode<S: Scalar>(self, b: &[u8]) -> S {
        match self {
            Self::F64 => S::cast(f64::from_le_bytes(b.try_into().expect("8 bytes"))),
            Self::F32 => S::cast(f64::from(f32::from_le_bytes(
                b.try_into().expect("4 bytes"),
            ))),
        }
    }
}

/// One tensor entry of the header, validated against the data section.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The tensor's name in the header.
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    /// Byte range in the data section.
    begin: u64,
    end: u64,
}

/// Writes `tensors` (name and shape, in this order) whose values are `data`
/// laid end to end, as `Dtype::of::<S>()`, with `metadata`, atomically.
///
/// # Panics
/// If the shapes do not add up to `data.len()` (a caller's broken invariant).
pub(crate) fn write<S: Scalar>(
    path: &Path,
    tensors: &[(String, Vec<usize>)],
    data: &[S],
    metadata: Map<String, Value>,
) -> Result<()> {
    let dtype = Dtype::of::<S>();
    let size = dtype.size();
    let mut header = Map::new();
    let mut at = 0usize;
    for (name, shape) in tensors {
        let len = shape.iter().product::<usize>() * size;
        header.insert(
            name.clone(),
            json!({"dtype": dtype.name(), "shape": shape, "data_offsets": [at, at + len]}),
        );
        at += len;
    }
    assert_eq!(at, data.len() * size, "tensor shapes cover the data");
    header.insert(METADATA.into(), Value::Object(metadata));
    let mut text = Value::Object(header).to_string();
    // Pad to 8 bytes with spaces, as the reference writer does, so the
    // data section stays aligned.
    text.push_str(&" ".repeat((8 - text.len() % 8) % 8));
    write_atomic(path, |w| {
        w.write_all(&(text.len() as u64).to_le_bytes())?;
        w.write_all(text.as_bytes())?;
        for &v in data {
            match dtype {
                Dtype::F32 => w.write_all(&(v.wide() as f32).to_le_bytes())?,
                Dtype::F64 => w.write_all(&v.wide().to_le_bytes())?,
            }
        }
        Ok(())
    })
}

/// An open safetensors file whose header has been read and validated; the
/// data section is read on demand by [`read_into`](Self::read_into).
pub(crate) struct Reader {
    path: PathBuf,
    reader: BufReader<File>,
    entries: Vec<Entry>,
    metadata: BTreeMap<String, String>,
}

impl Reader {
    /// Opens `path` and validates its header against the file.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_error(path, "open", e))?;
        let len = file
            .metadata()
            .map_err(|e| io_error(path, "read the size of", e))?
            .len();
        let mut reader = BufReader::new(file);
        let header = read_header(path, &mut reader, len)?;
        let data_start = 8 + header.n;
        let data_len = len - data_start;
        let (entries, metadata) = split_header(path, header.json, data_len)?;
        check_tiling(path, &entries, data_start, data_len)?;
        Ok(Reader {
            path: path.to_path_buf(),
            reader,
            entries,
            metadata,
        })
    }

    /// The tensors, in header order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The `__metadata__` strings (empty when the file has none).
    pub(crate) fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// [`Error::Malformed`] for this file at `at`.
    pub(crate) fn bad(&self, at: FilePosition, reason: impl Into<String>) -> Error {
        malformed(&self.path, at, reason)
    }

    /// Reads every tensor into `out`, converting to `S`: tensor i (in
    /// [`entries`](Self::entries) order) fills `out[dest[i]..]`. Streams
    /// through the data section in file order.
    ///
    /// # Panics
    /// If `dest` does not give each tensor room in `out`.
    pub(crate) fn read_into<S: Scalar>(&mut self, dest: &[usize], out: &mut [S]) -> Result<()> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| self.entries[i].begin);
        let mut buf = vec![0u8; 1 << 16];
        for i in order {
            let e = &self.entries[i];
            let size = e.dtype.size();
            let values = &mut out[dest[i]..dest[i] + ((e.end - e.begin) as usize / size)];
            let per_chunk = buf.len() / size;
            for chunk in values.chunks_mut(per_chunk) {
                let bytes = &mut buf[..chunk.len() * size];
                self.reader.read_exact(bytes).map_err(|err| {
                    if err.kind() == std::io::ErrorKind::UnexpectedEof {
                        malformed(
                            &self.path,
                            FilePosition::Tensor(e.name.clone()),
                            "the file ends inside this tensor's data (changed while reading?)",
                        )
                    } else {
                        io_error(&self.path, "read", err)
                    }
                })?;
                for (v, b) in chunk.iter_mut().zip(bytes.chunks_exact(size)) {
                    *v = e.dtype.decode(b);
                }
            }
        }
        Ok(())
    }
}

/// The header's JSON object and its length n in bytes (the data section
/// starts at byte 8 + n).
struct Header {
    json: Map<String, Value>,
    n: u64,
}

/// Reads the header length and the JSON header, checked against the file's
/// length `len` before allocating.
fn read_header(path: &Path, reader: &mut BufReader<File>, len: u64) -> Result<Header> {
    let bad = |at, reason: String| malformed(path, at, reason);
    let mut n = [0u8; 8];
    if len < 8 {
        return Err(bad(
            FilePosition::Byte(0),
            format!("the file has {len} bytes, too few for the 8-byte header length"),
        ));
    }
    reader
        .read_exact(&mut n)
        .map_err(|e| io_error(path, "read", e))?;
    let n = u64::from_le_bytes(n);
    if n > len - 8 || n > MAX_HEADER {
        return Err(bad(
            FilePosition::Byte(0),
            format!(
                "header length {n} exceeds the {} bytes that follow it{} (truncated or not a safetensors file?)",
                len - 8,
                if n > MAX_HEADER {
                    " and the 100 MB limit"
                } else {
                    ""
                }
            ),
        ));
    }
    let mut text = vec![0u8; n as usize];
    reader
        .read_exact(&mut text)
        .map_err(|e| io_error(path, "read", e))?;
    let header: Value = serde_json::from_slice(&text).map_err(|e| {
        bad(
            FilePosition::Byte(8),
            format!("the header is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(json) = header else {
        return Err(bad(
            FilePosition::Byte(8),
            "the header is not a JSON object".into(),
        ));
    };
    Ok(Header { json, n })
}

/// Separates the header into validated tensor entries and the metadata.
fn split_header(
    path: &Path,
    header: Map<String, Value>,
    data_len: u64,
) -> Result<(Vec<Entry>, BTreeMap<String, String>)> {
    let bad = |at, reason: String| malformed(path, at, reason);
    let mut entries = Vec::new();
    let mut metadata = BTreeMap::new();
    for (name, v) in header {
        if name == METADATA {
            let Value::Object(m) = v else {
                return Err(bad(
                    FilePosition::Byte(8),
                    "__metadata__ is not an object".into(),
                ));
            };
            for (k, v) in m {
                let Value::String(s) = v else {
                    return Err(bad(
                        FilePosition::Byte(8),
                        format!("__metadata__ value for {k:?} is not a string"),
                    ));
                };
                metadata.insert(k, s);
            }
            continue;
        }
        let entry = parse_entry(&name, &v, data_len)
            .map_err(|why| bad(FilePosition::Tensor(name.clone()), why))?;
        entries.push(entry);
    }
    Ok((entries, metadata))
}

/// Tensors must tile the data section: sorted by offset, each starts where
/// the previous ends, and the last ends where the file does.
fn check_tiling(path: &Path, entries: &[Entry], data_start: u64, data_len: u64) -> Result<()> {
    let bad = |at, reason: String| malformed(path, at, reason);
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.begin, e.end));
    let mut at = 0u64;
    let mut prev: Option<&Entry> = None;
    for e in sorted {
        if e.begin < at {
            let other = prev.map_or("", |p| p.name.as_str());
            return Err(bad(
                FilePosition::Tensor(e.name.clone()),
                format!(
                    "data bytes {}..{} overlap tensor `{other}` (ends at {at})",
                    e.begin, e.end
                ),
            ));
        }
        if e.begin > at {
            return Err(bad(
                FilePosition::Tensor(e.name.clone()),
                format!("data bytes {at}..{} belong to no tensor", e.begin),
            ));
        }
        at = e.end;
        prev = Some(e);
    }
    if at != data_len {
        return Err(bad(
            FilePosition::Byte(data_start + at),
            format!(
                "the tensors cover {at} data bytes but the file holds {data_len} after the header"
            ),
        ));
    }
    Ok(())
}

fn malformed(path: &Path, at: FilePosition, reason: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        format: FORMAT,
        at,
        reason: reason.into(),
    }
}

/// The array of whole numbers under `key`; `entries` is the error for an
/// entry that is not one.
fn u64_array(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    entries: &str,
) -> std::result::Result<Vec<u64>, String> {
    obj.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("missing \"{key}\" array"))?
        .iter()
        .map(|d| d.as_u64().ok_or_else(|| entries.to_string()))
        .collect()
}

/// Validates one header entry: `{"dtype", "shape", "data_offsets"}` with
/// `end − begin = Π shape × dtype size` and `end ≤ data_len`.
fn parse_entry(name: &str, v: &Value, data_len: u64) -> std::result::Result<Entry, String> {
    let obj = v.as_object().ok_or("the entry is not a JSON object")?;
    let dtype_name = obj
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or("missing \"dtype\"")?;
    let dtype = match dtype_name {
        "F32" => Dtype::F32,
        "F64" => Dtype::F64,
        other => {
            return Err(format!(
                "dtype {other} is not supported: network parameters must be F32 or F64"
            ));
        }
    };
    let shape = u64_array(obj, "shape", "shape entries must be integers >= 0")?;
    let offsets = u64_array(obj, "data_offsets", "data_offsets must be integers >= 0")?;
    let &[begin, end] = offsets.as_slice() else {
        return Err(format!(
            "data_offsets must be [begin, end], found {offsets:?}"
        ));
    };
    if begin > end || end > data_len {
        return Err(format!(
            "data_offsets [{begin}, {end}] do not lie within the {data_len}-byte data section"
        ));
    }
    let bytes = shape
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is too large"))?;
    if bytes != end - begin {
        return Err(format!(
            "shape {shape:?} of {dtype_name} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {}",
            end - begin
        ));
    }
    Ok(Entry {
        name: name.to_string(),
        dtype,
        shape: shape.into_iter().map(|d| d as usize).collect(),
        begin,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_metadata_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let tensors = [("a".to_string(), vec![2, 3]), ("b".to_string(), vec![1])];
        let data: Vec<f64> = (0..7).map(|i| f64::from(i) * 0.5 - 1.0).collect();
        let mut meta = Map::new();
        meta.insert("k".into(), Value::String("v".into()));
        write(&p, &tensors, &data, meta).unwrap();

        let bytes = std::fs::read(&p).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0, "header padded to 8 bytes");
        assert_eq!(bytes.len(), 8 + n + 7 * 8);

        let mut r = Reader::open(&p).unwrap();
        assert_eq!(r.metadata()["k"], "v");
        let names: Vec<&str> = r.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(r.entries()[0].shape, [2, 3]);
        assert_eq!(r.entries()[1].dtype, Dtype::F64);
        // Read b first, then a, into a vector laid out the other way round.
        let mut out = vec![0.0f32; 7];
        r.read_into(&[1, 0], &mut out).unwrap();
        assert_eq!(out[0], -1.0 + 6.0 * 0.5);
        assert_eq!(
            out[1..],
            data[..6].iter().map(|&v| v as f32).collect::<Vec<_>>()[..]
        );
    }
}
