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
//! does, so the data section stays aligned. Every dtype of the format is
//! recognized in the header; the float ones (`F16`, `BF16`, `F32`, `F64`)
//! can be read, F16 and BF16 converted exactly on load.
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

/// Element type of a tensor: every dtype of the safetensors format is
/// recognized (so that any file's header can be validated and listed); the
/// floating-point ones ([`is_float`](Self::is_float)) can be read as
/// parameters, F16 and BF16 converted exactly to the scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    U16,
    I16,
    F16,
    BF16,
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

impl Dtype {
    /// Every dtype, for name lookup.
    const ALL: [Dtype; 15] = [
        Self::Bool,
        Self::U8,
        Self::I8,
        Self::F8E5M2,
        Self::F8E4M3,
        Self::U16,
        Self::I16,
        Self::F16,
        Self::BF16,
        Self::U32,
        Self::I32,
        Self::F32,
        Self::U64,
        Self::I64,
        Self::F64,
    ];

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
            Self::Bool | Self::U8 | Self::I8 | Self::F8E5M2 | Self::F8E4M3 => 1,
            Self::U16 | Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
        }
    }

    /// The name in the header (`"F32"`, `"BF16"`, ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bool => "BOOL",
            Self::U8 => "U8",
            Self::I8 => "I8",
            Self::F8E5M2 => "F8_E5M2",
            Self::F8E4M3 => "F8_E4M3",
            Self::U16 => "U16",
            Self::I16 => "I16",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
            Self::U32 => "U32",
            Self::I32 => "I32",
            Self::F32 => "F32",
            Self::U64 => "U64",
            Self::I64 => "I64",
            Self::F64 => "F64",
        }
    }

    /// True for the dtypes network parameters can be read from.
    pub(crate) fn is_float(self) -> bool {
        matches!(self, Self::F16 | Self::BF16 | Self::F32 | Self::F64)
    }

    /// Decodes one little-endian element of `self.size()` bytes of a float
    /// dtype. Every F16, BF16 and F32 value is exact in f64 (and F16/BF16
    /// in f32), so only F64 into f32 rounds.
    ///
    /// # Panics
    /// For a dtype that is not [`is_float`](Self::is_float) (callers check).
    fn decode<S: Scalar>(self, b: &[u8]) -> S {
        match self {
            Self::F64 => S::cast(f64::from_le_bytes(b.try_into().expect("8 bytes"))),
            Self::F32 => S::cast(f64::from(f32::from_le_bytes(
                b.try_into().expect("4 bytes"),
            ))),
            Self::F16 => S::cast(f64::from(f16_to_f32(u16::from_le_bytes(
                b.try_into().expect("2 bytes"),
            )))),
            Self::BF16 => S::cast(f64::from(bf16_to_f32(u16::from_le_bytes(
                b.try_into().expect("2 bytes"),
            )))),
            other => panic!("dtype {} is not a float dtype", other.name()),
        }
    }
}

/// IEEE 754 binary16 to f32, exactly: 1 sign bit, 5 exponent bits (bias 15),
/// 10 mantissa bits. Normal numbers re-bias the exponent (15 → 127) and
/// shift the mantissa; subnormals (exponent 0) are m·2⁻²⁴, normal in f32;
/// infinities and NaNs (exponent 31) keep their payload.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x03ff);
    let bits = match exp {
        0 if man == 0 => sign,
        // m·2⁻²⁴ with m < 2¹⁰: exact in f32 (the product of two exact values).
        0 => return f32::from_bits(sign | 0x3f80_0000) * (man as f32) * 2f32.powi(-24),
        0x1f => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// bfloat16 to f32, exactly: bfloat16 is the upper half of an f32.
pub(crate) fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// One tensor of a safetensors file as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name, e.g. `"0.weight"`.
    pub name: String,
    /// The dtype's name in the file: `"F32"`, `"F16"`, `"BF16"`, `"I64"`, ...
    pub dtype: String,
    /// The shape, outermost first.
    pub shape: Vec<usize>,
}

/// What a safetensors file holds, read from its header alone (the data is
/// not read): the tensors in file order and the `__metadata__` strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetensorsHeader {
    /// The tensors, in the order of their data in the file.
    pub tensors: Vec<TensorInfo>,
    /// The `__metadata__` strings (empty when the file has none).
    pub metadata: BTreeMap<String, String>,
}

/// Reads and validates the header of any safetensors file (the checks of
/// the module docs), whatever its tensors are: a model file of this crate,
/// a PyTorch `state_dict`, or anything else.
///
/// ```
/// use backprop::io::{SavedModel, read_safetensors_header};
/// use backprop::{Loss, Network};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("m.safetensors");
/// SavedModel::new(Network::<f32>::builder(3).output(2, Loss::CategoricalCrossEntropy).build()?)
///     .save(&path)?;
/// let header = read_safetensors_header(&path)?;
/// assert_eq!(header.tensors[0].name, "0.weight");
/// assert_eq!(header.tensors[0].dtype, "F32");
/// assert_eq!(header.tensors[0].shape, [2, 3]);
/// assert_eq!(header.metadata["loss"], "categorical-cross-entropy");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Malformed`] when the
/// header is not a valid safetensors header for this file.
pub fn read_safetensors_header(path: impl AsRef<Path>) -> Result<SafetensorsHeader> {
    let r = Reader::open(path.as_ref())?;
    let mut entries: Vec<&Entry> = r.entries().iter().collect();
    entries.sort_by_key(|e| e.begin);
    Ok(SafetensorsHeader {
        tensors: entries
            .into_iter()
            .map(|e| TensorInfo {
                name: e.name.clone(),
                dtype: e.dtype.name().to_string(),
                shape: e.shape.clone(),
            })
            .collect(),
        metadata: r.metadata().clone(),
    })
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
            if dtype == Dtype::F32 {
                w.write_all(&(v.wide() as f32).to_le_bytes())?;
            } else {
                w.write_all(&v.wide().to_le_bytes())?;
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
    /// If `dest` does not give each tensor room in `out`, or a tensor's
    /// dtype is not a float dtype (callers check [`Dtype::is_float`]).
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
    let dtype = Dtype::ALL
        .into_iter()
        .find(|d| d.name() == dtype_name)
        .ok_or_else(|| format!("unknown dtype {dtype_name:?}"))?;
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

    /// An independent reference: the binary16 value from its fields by the
    /// format's definition, (−1)ˢ · 2^(e − 15) · (1 + m/1024), or
    /// (−1)ˢ · 2⁻¹⁴ · m/1024 for e = 0.
    fn f16_reference(h: u16) -> f64 {
        let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let e = i32::from((h >> 10) & 0x1f);
        let m = f64::from(h & 0x3ff);
        match e {
            0 => s * 2f64.powi(-14) * m / 1024.0,
            31 if m == 0.0 => s * f64::INFINITY,
            31 => f64::NAN,
            _ => s * 2f64.powi(e - 15) * (1.0 + m / 1024.0),
        }
    }

    #[test]
    fn f16_converts_exactly() {
        // Known values (IEEE 754 binary16 encodings).
        let known: [(u16, f32); 9] = [
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x7bff, 65504.0),
            (0x0400, 6.103_515_6e-5),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ];
        for (h, v) in known {
            assert_eq!(f16_to_f32(h), v, "{h:#06x}");
        }
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert!(f16_to_f32(0x7e00).is_nan());
        // Every one of the 65 536 encodings against the definition.
        for h in 0..=u16::MAX {
            let (got, want) = (f64::from(f16_to_f32(h)), f16_reference(h));
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "{h:#06x}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn bf16_converts_exactly() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc040), -3.0);
        assert_eq!(bf16_to_f32(0x3eab), 0.333_984_38);
        assert_eq!(bf16_to_f32(0x7f80), f32::INFINITY);
        // Every bfloat16 is the f32 with the same upper 16 bits.
        for h in 0..=u16::MAX {
            assert_eq!(bf16_to_f32(h).to_bits() >> 16, u32::from(h));
        }
    }

    #[test]
    fn half_precision_tensors_read_and_other_dtypes_list() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.safetensors");
        let header = r#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"c":{"dtype":"I64","shape":[1],"data_offsets":[6,14]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        for h in [0x3c00u16, 0xb800, 0x4049] {
            bytes.extend(h.to_le_bytes());
        }
        bytes.extend(7i64.to_le_bytes());
        std::fs::write(&p, bytes).unwrap();
        let h = read_safetensors_header(&p).unwrap();
        let listed: Vec<(&str, &str)> = h
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.dtype.as_str()))
            .collect();
        assert_eq!(listed, [("a", "F16"), ("b", "BF16"), ("c", "I64")]);
        let r = Reader::open(&p).unwrap();
        assert!(!r.entries()[2].dtype.is_float());
        // Only the float tensors: "c" is given no room and never decoded.
        let mut only_floats = Reader::open(&p).unwrap();
        only_floats.entries.truncate(2);
        let mut out = vec![0.0f64; 3];
        only_floats.read_into(&[0, 2], &mut out).unwrap();
        // 0xb800 = −0.5; BF16 0x4049 = 3.140625.
        assert_eq!(out, [1.0, -0.5, 3.140_625]);
    }
}
