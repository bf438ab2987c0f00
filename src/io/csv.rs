//! CSV: one sample per line, numeric feature columns and an optional target
//! column holding class labels (integers or strings) or numeric values.
//!
//! The fields are split by the [`csv`] crate (RFC 4180): a field may be
//! quoted with `"` (a doubled `""` inside stands for one quote, and a quoted
//! field may span lines). A UTF-8 byte-order mark at the start is skipped,
//! whitespace around a field is ignored, and so are empty lines.
//! Gzip-compressed files are read as well.
//!
//! # Limits
//! A line (or a record spanning lines) longer than [`MAX_LINE_BYTES`] is an
//! error, so memory stays bounded by the data actually held even for an
//! endless stream such as `/dev/zero`. A NUL byte is an error at once (a
//! binary file is not CSV text).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2};

use super::{FilePosition, Source};
use crate::{Error, Result, Scalar};

const FORMAT: &str = "CSV";

/// The longest line (or record, for quoted fields spanning lines) that
/// [`read_csv`] accepts: 64 MiB, a header of several million column names.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// Header names that [`TargetColumn::Auto`] takes for the target, compared
/// without regard to case.
pub const LABEL_NAMES: [&str; 4] = ["label", "target", "class", "y"];

/// Which column of a CSV file holds the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetColumn {
    /// The last column.
    Last,
    /// The first column (the layout of the Kaggle MNIST CSVs).
    First,
    /// The column at this 0-based index.
    Index(usize),
    /// The column with this name in the header line.
    Name(String),
    /// No target: every column is a feature (data to predict on).
    None,
    /// The header column named like a target (one of [`LABEL_NAMES`], in
    /// any case), else the last column. Two such names are an error.
    Auto,
}

/// What the target column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Class labels, read as [`CsvTarget::Classes`]. Labels that are all
    /// whole numbers ≥ 0 are their own class index (`"3"` is class 3, and
    /// the class names are `"0"` up to the largest label); any other labels
    /// are strings, numbered in sorted order (`"cat" < "dog"`).
    Classes,
    /// Numbers (regression), read as [`CsvTarget::Values`].
    Values,
}

/// How [`read_csv`] reads a file; every setting has a documented default.
///
/// ```
/// use backprop::io::{CsvOptions, TargetColumn, TargetKind};
/// let opts = CsvOptions::new()
///     .delimiter(b';')
///     .header(false)
///     .target(TargetColumn::First)
///     .target_kind(TargetKind::Values);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: u8,
    header: bool,
    target: TargetColumn,
    kind: TargetKind,
    classes: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvOptions {
    /// The defaults: comma-separated, a header line, class labels in the last
    /// column.
    pub fn new() -> Self {
        CsvOptions {
            delimiter: b',',
            header: true,
            target: TargetColumn::Last,
            kind: TargetKind::Classes,
            classes: None,
        }
    }

    /// Field separator. Default: `b','`.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first non-empty line holds column names. Default: `true`.
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The target column. Default: [`TargetColumn::Last`].
    pub fn target(mut self, target: TargetColumn) -> Self {
        self.target = target;
        self
    }

    /// What the target column holds. Default: [`TargetKind::Classes`].
    pub fn target_kind(mut self, kind: TargetKind) -> Self {
        self.kind = kind;
        self
    }

    /// Fixes the class names, in class-index order (as saved with a model or
    /// read from the training file), so that a test file maps labels the same
    /// way; a label not in the list is an error. Default: none, classes are
    /// found in the file (see [`TargetKind::Classes`]).
    pub fn classes(mut self, names: Vec<String>) -> Self {
        self.classes = Some(names);
        self
    }
}

/// The target column of a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub enum CsvTarget<S> {
    /// No target column was read.
    None,
    /// Class indices, one per row, and the name of each class.
    Classes {
        /// Class index of each row.
        labels: Vec<usize>,
        /// `names[k]` is the label text of class k.
        names: Vec<String>,
    },
    /// One number per row.
    Values(Array1<S>),
}

/// What [`read_csv`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvData<S> {
    /// m × n₀ features, one sample per row.
    pub features: Array2<S>,
    /// The target column.
    pub target: CsvTarget<S>,
    /// Names of the feature columns: from the header, or `column 1`,
    /// `column 2`, ... (1-based positions in the file) without one.
    pub feature_names: Vec<String>,
    /// The target column's name (as `feature_names`), `None` without one.
    pub target_name: Option<String>,
}

/// Reads a CSV file into features and a target (see [`CsvOptions`] for the
/// choices and their defaults), streaming line by line.
///
/// ```
/// use backprop::io::{CsvOptions, CsvTarget, read_csv};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("iris.csv");
/// std::fs::write(&path, "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n")?;
/// let data = read_csv::<f32>(&path, &CsvOptions::new())?;
/// assert_eq!(data.features, ndarray::array![[5.1, 1.4], [7.0, 4.7]]);
/// assert_eq!(data.feature_names, ["sepal", "petal"]);
/// let CsvTarget::Classes { labels, names } = data.target else { unreachable!() };
/// assert_eq!(labels, [0, 1]);
/// assert_eq!(names, ["setosa", "versicolor"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read;
/// [`Error::Malformed`] naming the line (and field) for a line with a
/// different number of fields than the first, a feature that is not a
/// finite number, an empty field, an unterminated quote, invalid UTF-8, a
/// NUL byte, a line longer than [`MAX_LINE_BYTES`], a label outside
/// [`CsvOptions::classes`], a target column that does not exist, or a file
/// without data rows.
pub fn read_csv<S: Scalar>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData<S>> {
    let mut lines = Lines::open(path.as_ref(), options.delimiter)?;
    if !lines.next()? {
        return Err(lines.no_data_rows());
    }
    let columns = Columns::new(&lines, options)?;
    let mut table = Table::new(options);
    if !options.header {
        table.push_row(&lines, &columns)?;
    }
    while lines.next()? {
        table.push_row(&lines, &columns)?;
    }
    if table.rows == 0 {
        return Err(lines.no_data_rows());
    }
    Ok(table.finish(columns))
}

/// The delimiter the first line of a CSV file seems to use: the most
/// frequent of `,` `;` tab `|` outside quotes, `,` when none appears (or
/// on a tie with it). Reads at most 64 KiB.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.csv");
/// std::fs::write(&path, "a;b;\"c,d\"\n1;2;3\n")?;
/// assert_eq!(backprop::io::csv::sniff_delimiter(&path)?, b';');
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read.
pub fn sniff_delimiter(path: impl AsRef<Path>) -> Result<u8> {
    let mut src = Source::open(path.as_ref(), FORMAT)?;
    src.skip_prefix(BOM)?;
    let mut head = Vec::new();
    let read = (&mut src).take(1 << 16).read_to_end(&mut head);
    if let Err(e) = read {
        return Err(src.read_error(e));
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|c| c.0 == b) {
            c.1 += 1;
        }
    }
    // The first of the most frequent: `,` wins ties.
    let best = counts
        .iter()
        .fold(counts[0], |a, &c| if c.1 > a.1 { c } else { a });
    Ok(best.0)
}

/// UTF-8's byte-order mark, which spreadsheet programs write first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's bytes on their way to the tokenizer: counts the length of the
/// current line against [`MAX_LINE_BYTES`], refuses NUL bytes, and follows
/// the quoting (as the tokenizer does: a `"` opens a quoted field only at
/// the start of a field) to tell an unterminated quote at the end.
struct Stream {
    src: Source,
    delimiter: u8,
    line_len: u64,
    in_quotes: bool,
    field_start: bool,
    after_quote: bool,
    /// Why the last read failed, when the stream itself refused the bytes.
    refused: Option<&'static str>,
}

impl Stream {
    fn scan(&mut self, bytes: &[u8]) -> std::result::Result<(), &'static str> {
        if bytes.contains(&0) {
            return Err("the file holds NUL bytes: a binary file, not CSV text");
        }
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(p) => self.line_len = (bytes.len() - p - 1) as u64,
            None => self.line_len += bytes.len() as u64,
        }
        if self.line_len > MAX_LINE_BYTES {
            return Err("a line is longer than 64 MiB (MAX_LINE_BYTES): not a CSV file?");
        }
        if !self.in_quotes && !bytes.contains(&b'"') {
            if let Some(&last) = bytes.last() {
                self.after_quote = false;
                self.field_start = self.ends_field(last);
            }
            return Ok(());
        }
        for &b in bytes {
            if self.in_quotes {
                if b == b'"' {
                    self.in_quotes = false;
                    self.after_quote = true;
                }
            } else if b == b'"' && (self.field_start || self.after_quote) {
                // An opening quote, or the second of a doubled `""`.
                self.in_quotes = true;
                self.after_quote = false;
                self.field_start = false;
            } else {
                self.after_quote = false;
                self.field_start = self.ends_field(b);
            }
        }
        Ok(())
    }

    fn ends_field(&self, b: u8) -> bool {
        b == self.delimiter || b == b'\n' || b == b'\r'
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.src.read(buf)?;
        if let Err(why) = self.scan(&buf[..n]) {
            self.refused = Some(why);
            return Err(std::io::Error::other(why));
        }
        Ok(n)
    }
}

/// The non-empty records of a CSV file, one at a time.
struct Lines {
    reader: csv::Reader<Stream>,
    record: csv::ByteRecord,
    /// A record read ahead (to tell whether the current one is the last).
    pending: Option<csv::ByteRecord>,
    /// The line the current record starts on, from 1.
    line_no: u64,
}

impl Lines {
    fn open(path: &Path, delimiter: u8) -> Result<Self> {
        let mut src = Source::open(path, FORMAT)?;
        src.skip_prefix(BOM)?;
        let stream = Stream {
            src,
            delimiter,
            line_len: 0,
            in_quotes: false,
            field_start: true,
            after_quote: false,
            refused: None,
        };
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(stream);
        Ok(Lines {
            reader,
            record: csv::ByteRecord::new(),
            pending: None,
            line_no: 0,
        })
    }

    fn src(&self) -> &Source {
        &self.reader.get_ref().src
    }

    /// Reads the next non-empty record into `record`; `false` at the end
    /// of the file.
    fn next(&mut self) -> Result<bool> {
        loop {
            let more = match self.pending.take() {
                Some(r) => {
                    self.record = r;
                    true
                }
                None => self.read_record()?,
            };
            if !more {
                return Ok(false);
            }
            if let Some(p) = self.record.position() {
                self.line_no = p.line();
            }
            if self.reader.get_ref().in_quotes && !self.peek()? {
                // The file ends inside a quote, and this is its last record:
                // the quote opened in its last field.
                return Err(self.src().malformed(
                    self.at(Some(self.record.len())),
                    "unterminated quoted field: the file ends inside it",
                ));
            }
            // A line of blanks is one empty field once trimmed.
            if !(self.record.len() == 1 && self.record[0].trim_ascii().is_empty()) {
                return Ok(true);
            }
        }
    }

    fn read_record(&mut self) -> Result<bool> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(e) => Err(self.read_error(e)),
        }
    }

    /// Reads the record after the current one into `pending`; `false` when
    /// there is none.
    fn peek(&mut self) -> Result<bool> {
        let mut next = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut next) {
            Ok(true) => {
                self.pending = Some(next);
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => Err(self.read_error(e)),
        }
    }

    fn read_error(&self, e: csv::Error) -> Error {
        let stream = self.reader.get_ref();
        let at = FilePosition::Line {
            line: e.position().map_or(self.line_no + 1, |p| p.line()),
            field: None,
        };
        match (stream.refused, e.into_kind()) {
            (Some(why), _) => stream.src.malformed(at, why),
            (None, csv::ErrorKind::Io(io)) => stream.src.read_error(io),
            (None, kind) => stream.src.malformed(at, format!("{kind:?}")),
        }
    }

    /// The fields of the current record, as text, without the whitespace
    /// around them.
    fn fields(&self) -> impl Iterator<Item = Result<&str>> {
        self.record.iter().enumerate().map(|(j, f)| {
            // Trimmed here rather than by the tokenizer, which would copy
            // every record into a new one.
            std::str::from_utf8(f.trim_ascii()).map_err(|_| {
                self.src().malformed(
                    self.at(Some(j + 1)),
                    "the field is not valid UTF-8 (a binary file, or another text encoding?)",
                )
            })
        })
    }

    /// The current line, and the 1-based field on it when one is to blame.
    fn at(&self, field: Option<usize>) -> FilePosition {
        FilePosition::Line {
            line: self.line_no,
            field,
        }
    }

    /// The error for a file that ends without a data row.
    fn no_data_rows(&self) -> Error {
        let at = FilePosition::Line {
            line: self.line_no.max(1),
            field: None,
        };
        self.src().malformed(at, "the file has no data rows")
    }
}

/// The columns, fixed by the first non-empty line.
struct Columns {
    n_fields: usize,
    /// Index of the target column among the fields.
    target: Option<usize>,
    /// Names of every column (header or `column j`).
    names: Vec<String>,
}

impl Columns {
    fn new(lines: &Lines, options: &CsvOptions) -> Result<Self> {
        let first: Vec<&str> = lines.fields().collect::<Result<_>>()?;
        let n_fields = first.len();
        let header_error = |reason: String| lines.src().malformed(lines.at(None), reason);
        if n_fields < 2 && options.target != TargetColumn::None {
            return Err(header_error(one_field(first[0], options.delimiter)));
        }
        let target =
            resolve_target(&options.target, &first, options.header).map_err(header_error)?;
        let names = if options.header {
            first.iter().map(|f| f.to_string()).collect()
        } else {
            (1..=n_fields).map(|j| format!("column {j}")).collect()
        };
        Ok(Columns {
            n_fields,
            target,
            names,
        })
    }
}

/// Why a first line with one field cannot be a table with a target, with
/// the delimiter the line seems to use.
fn one_field(line: &str, delimiter: u8) -> String {
    let shown = |d: u8| match d {
        b'\t' => "tab".to_string(),
        d => format!("`{}`", d as char),
    };
    let mut reason = format!(
        "the first line has one field (no {} in it): a target column needs at least one \
         feature column beside it",
        shown(delimiter)
    );
    let guess = [b',', b';', b'\t', b'|', b' ']
        .into_iter()
        .filter(|&d| d != delimiter)
        .map(|d| (line.bytes().filter(|&b| b == d).count(), d))
        .max();
    if let Some((count, d)) = guess.filter(|g| g.0 > 0) {
        reason.push_str(&format!(
            "; the line holds {count} {}: is the file {}-separated? set the delimiter to {}",
            shown(d),
            shown(d),
            shown(d)
        ));
    }
    reason
}

/// The data rows read so far: the features, row after row, and the target
/// column.
struct Table<'a, S> {
    options: &'a CsvOptions,
    rows: usize,
    features: Vec<S>,
    values: Vec<S>,
    /// Class of each row: an index into `options.classes` when they are
    /// fixed, else into `seen_order`.
    raw_labels: Vec<u32>,
    seen: HashMap<String, u32>,
    /// Distinct labels in order of appearance.
    seen_order: Vec<String>,
    fixed: Option<HashMap<&'a str, usize>>,
}

impl<'a, S: Scalar> Table<'a, S> {
    fn new(options: &'a CsvOptions) -> Self {
        Table {
            options,
            rows: 0,
            features: Vec::new(),
            values: Vec::new(),
            raw_labels: Vec::new(),
            seen: HashMap::new(),
            seen_order: Vec::new(),
            fixed: options
                .classes
                .as_ref()
                .map(|c| c.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect()),
        }
    }

    /// Reads the current line of `lines` as a data row.
    fn push_row(&mut self, lines: &Lines, columns: &Columns) -> Result<()> {
        let src = lines.src();
        if lines.record.len() != columns.n_fields {
            return Err(src.malformed(
                lines.at(None),
                format!(
                    "{} fields, but the first line has {} (wrong delimiter, or a missing value?)",
                    lines.record.len(),
                    columns.n_fields
                ),
            ));
        }
        for (j, f) in lines.fields().enumerate() {
            let f = f?;
            let at = lines.at(Some(j + 1));
            if Some(j) == columns.target {
                self.push_target(src, f, at)?;
            } else {
                self.features.push(parse_number(src, f, at)?);
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn push_target(&mut self, src: &Source, f: &str, at: FilePosition) -> Result<()> {
        match self.options.kind {
            TargetKind::Values => self.values.push(parse_number(src, f, at)?),
            TargetKind::Classes => {
                let id = match &self.fixed {
                    Some(map) => match map.get(f) {
                        Some(&k) => k as u32,
                        None => {
                            return Err(src.malformed(
                                at,
                                format!(
                                    "label {f:?} is not one of the {} known classes",
                                    map.len()
                                ),
                            ));
                        }
                    },
                    None => {
                        let next = self.seen.len() as u32;
                        *self.seen.entry(f.to_string()).or_insert_with(|| {
                            self.seen_order.push(f.to_string());
                            next
                        })
                    }
                };
                self.raw_labels.push(id);
            }
        }
        Ok(())
    }

    fn finish(self, mut columns: Columns) -> CsvData<S> {
        let target_name = columns.target.map(|t| columns.names.remove(t));
        let shape = (self.rows, columns.names.len());
        let features =
            Array2::from_shape_vec(shape, self.features).expect("every row has n features");
        let target = match (columns.target, self.options.kind) {
            (None, _) => CsvTarget::None,
            (Some(_), TargetKind::Values) => CsvTarget::Values(Array1::from(self.values)),
            (Some(_), TargetKind::Classes) => match &self.options.classes {
                Some(c) => CsvTarget::Classes {
                    labels: self.raw_labels.into_iter().map(|k| k as usize).collect(),
                    names: c.clone(),
                },
                None => {
                    let (remap, names) = number_classes(&self.seen_order);
                    CsvTarget::Classes {
                        labels: self
                            .raw_labels
                            .into_iter()
                            .map(|k| remap[k as usize])
                            .collect(),
                        names,
                    }
                }
            },
        };
        CsvData {
            features,
            target,
            feature_names: columns.names,
            target_name,
        }
    }
}

/// Class indices for the distinct labels (in order of appearance): whole
/// numbers are their own index, anything else is numbered in sorted order.
/// Returns the index of each distinct label and the class names.
fn number_classes(seen: &[String]) -> (Vec<usize>, Vec<String>) {
    /// Larger integer labels are treated as strings, so that one stray
    /// "1000000" cannot create a million-class head.
    const MAX_INTEGER_CLASS: usize = 1 << 16;
    let ints: Option<Vec<usize>> = seen
        .iter()
        .map(|s| {
            s.parse::<usize>()
                .ok()
                .filter(|&k| k < MAX_INTEGER_CLASS && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    // Distinct spellings of one number ("1", "01") would collide.
    let unique = ints.as_ref().is_some_and(|v| {
        let mut s = v.clone();
        s.sort_unstable();
        s.dedup();
        s.len() == v.len()
    });
    match ints {
        Some(ints) if unique => {
            let max = ints.iter().copied().max().unwrap_or(0);
            (ints, (0..=max).map(|k| k.to_string()).collect())
        }
        _ => {
            let mut sorted: Vec<&String> = seen.iter().collect();
            sorted.sort();
            let index: HashMap<&String, usize> =
                sorted.iter().enumerate().map(|(i, s)| (*s, i)).collect();
            (
                seen.iter().map(|s| index[s]).collect(),
                sorted.into_iter().cloned().collect(),
            )
        }
    }
}

fn parse_number<S: Scalar>(src: &Source, field: &str, at: FilePosition) -> Result<S> {
    if field.is_empty() {
        return Err(src.malformed(at, "empty field (missing value?)"));
    }
    match field.parse::<f64>() {
        Ok(v) if S::cast(v).is_finite() => Ok(S::cast(v)),
        Ok(v) if v.is_finite() => Err(src.malformed(
            at,
            format!(
                "{field} is beyond the range of {} (read the file as f64)",
                S::NAME
            ),
        )),
        Ok(v) => Err(src.malformed(at, format!("{v} is not a finite number"))),
        Err(_) => Err(src.malformed(at, format!("{field:?} is not a number"))),
    }
}

/// The target's index among the fields of the first line; `Err` says why
/// the choice does not fit the file.
fn resolve_target(
    target: &TargetColumn,
    first: &[&str],
    header: bool,
) -> std::result::Result<Option<usize>, String> {
    let n = first.len();
    match target {
        TargetColumn::None => Ok(None),
        TargetColumn::Last => Ok(Some(n - 1)),
        TargetColumn::First => Ok(Some(0)),
        TargetColumn::Auto if !header => Ok(Some(n - 1)),
        TargetColumn::Auto => {
            let named: Vec<usize> = (0..n)
                .filter(|&j| LABEL_NAMES.iter().any(|l| first[j].eq_ignore_ascii_case(l)))
                .collect();
            match named[..] {
                [] => Ok(Some(n - 1)),
                [j] => Ok(Some(j)),
                _ => Err(format!(
                    "the columns {} are all named like a target; choose one",
                    named
                        .iter()
                        .map(|&j| format!("{:?}", first[j]))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )),
            }
        }
        &TargetColumn::Index(j) if j < n => Ok(Some(j)),
        TargetColumn::Index(j) => Err(format!(
            "the target column index {j} (from 0) is past the last of the {n} columns"
        )),
        TargetColumn::Name(name) if !header => Err(format!(
            "the target column {name:?} can be chosen by name only when the file has a header"
        )),
        TargetColumn::Name(name) => {
            first
                .iter()
                .position(|f| f == name)
                .map(Some)
                .ok_or_else(|| {
                    format!("no header field is named {name:?} (the target column asked for)")
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(format!("{}.csv", text.len()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn quotes_spaces_bom_and_lines_spanned() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            &dir,
            "\u{feff}a,b,name\n 1 ,2,\"a, \"\"b\"\"\" \n3,4,\"two\nlines\"\n",
        );
        let d = read_csv::<f32>(&p, &CsvOptions::new()).unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.target_name.as_deref(), Some("name"));
        assert_eq!(d.features, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        let CsvTarget::Classes { names, .. } = d.target else {
            panic!()
        };
        assert_eq!(names, [r#"a, "b""#, "two\nlines"]);
        let p = file(&dir, "1\t2\n3\t4\n");
        let opts = CsvOptions::new().delimiter(b'\t').header(false);
        assert_eq!(read_csv::<f32>(&p, &opts).unwrap().features.dim(), (2, 1));
    }

    #[test]
    fn label_like_column_is_the_auto_target() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CsvOptions::new().target(TargetColumn::Auto);
        let p = file(&dir, "Label,p1,p2\n1,0.5,0.25\n0,1,2\n");
        let d = read_csv::<f32>(&p, &opts).unwrap();
        assert_eq!(d.target_name.as_deref(), Some("Label"));
        assert_eq!(d.feature_names, ["p1", "p2"]);
        let p = file(&dir, "p1,p2,p3\n1,0.5,0\n0,1,1\n");
        let d = read_csv::<f32>(&p, &opts).unwrap();
        assert_eq!(d.target_name.as_deref(), Some("p3"));
        let p = file(&dir, "y,p1,class\n1,0.5,0\n");
        let err = read_csv::<f32>(&p, &opts).unwrap_err().to_string();
        assert!(err.contains("\"y\" and \"class\""), "{err}");
    }

    #[test]
    fn wrong_delimiter_and_binary_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "a;b;y\n1;2;0\n");
        let err = read_csv::<f32>(&p, &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("holds 2 `;`") && err.contains("line 1"),
            "{err}"
        );
        let p = file(&dir, "a\tb\ty\n1\t2\t0\n");
        let err = read_csv::<f32>(&p, &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("tab-separated"), "{err}");
        let bin = dir.path().join("b.csv");
        std::fs::write(&bin, b"\x7fELF\x02\x01\x00\x00,1\n").unwrap();
        let err = read_csv::<f32>(&bin, &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("NUL bytes") && err.contains("b.csv"), "{err}");
    }

    #[test]
    fn a_line_past_the_limit_is_refused_without_reading_on() {
        // An endless line: fails once MAX_LINE_BYTES are buffered, not at
        // the end of the stream.
        struct Endless;
        impl std::io::Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b'1');
                Ok(buf.len())
            }
        }
        let mut s = Stream {
            src: Source::open(Path::new("Cargo.toml"), FORMAT).unwrap(),
            delimiter: b',',
            line_len: 0,
            in_quotes: false,
            field_start: true,
            after_quote: false,
            refused: None,
        };
        let mut buf = vec![0; 1 << 20];
        let mut total = 0u64;
        let err = loop {
            let n = Endless.read(&mut buf).unwrap();
            match s.scan(&buf[..n]) {
                Ok(()) => total += n as u64,
                Err(e) => break e,
            }
        };
        assert!(err.contains("64 MiB"), "{err}");
        assert!(total <= MAX_LINE_BYTES, "{total}");
    }

    #[test]
    fn integer_labels_are_their_own_class() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "3,0.5\n1,0.25\r\n\n3,1\n");
        let opts = CsvOptions::new().header(false).target(TargetColumn::First);
        let d = read_csv::<f64>(&p, &opts).unwrap();
        assert_eq!(d.features, ndarray::array![[0.5], [0.25], [1.0]]);
        assert_eq!(d.feature_names, ["column 2"]);
        let CsvTarget::Classes { labels, names } = d.target else {
            panic!()
        };
        assert_eq!(labels, [3, 1, 3]);
        assert_eq!(names, ["0", "1", "2", "3"]);
    }

    #[test]
    fn fixed_classes_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "a;y\n1;dog\n2;cat\n");
        let opts = CsvOptions::new()
            .delimiter(b';')
            .target(TargetColumn::Name("y".into()))
            .classes(vec!["dog".into(), "cat".into()]);
        let d = read_csv::<f32>(&p, &opts).unwrap();
        assert_eq!(
            d.target,
            CsvTarget::Classes {
                labels: vec![0, 1],
                names: vec!["dog".into(), "cat".into()]
            }
        );
        let err = read_csv::<f32>(&p, &opts.clone().classes(vec!["dog".into()])).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Line {
                        line: 3,
                        field: Some(2)
                    },
                    ..
                }
            ),
            "{err}"
        );
        let p = file(&dir, "x,y\n1,2.5\n2,-1e3\n");
        let d = read_csv::<f64>(&p, &CsvOptions::new().target_kind(TargetKind::Values)).unwrap();
        assert_eq!(d.target, CsvTarget::Values(ndarray::array![2.5, -1000.0]));
        let d = read_csv::<f64>(&p, &CsvOptions::new().target(TargetColumn::None)).unwrap();
        assert_eq!(d.features.dim(), (2, 2));
        assert_eq!(d.target, CsvTarget::None);
    }

    #[test]
    fn errors_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, u64, Option<usize>, &str)] = &[
            ("a,b,y\n1,2,x\n1,2\n", 3, None, "2 fields"),
            ("a,b,y\n1,oops,x\n", 2, Some(2), "not a number"),
            ("a,b,y\n1,,x\n", 2, Some(2), "empty field"),
            ("a,b,y\n1,inf,x\n", 2, Some(2), "finite"),
            ("a,b,y\n", 1, None, "no data rows"),
            ("a,b,y\n1,\"2,x\n", 2, Some(2), "unterminated"),
            ("a,b,y\n1,2,\"x\n", 2, Some(3), "unterminated"),
        ];
        for &(text, line, field, what) in cases {
            let err = read_csv::<f32>(file(&dir, text), &CsvOptions::new()).unwrap_err();
            assert!(
                matches!(&err, Error::Malformed { at: FilePosition::Line { line: l, field: f }, .. } if *l == line && *f == field),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains(what), "{err}");
        }
        let p = file(&dir, "1,2\n");
        let opts = CsvOptions::new()
            .header(false)
            .target(TargetColumn::Index(5));
        let err = read_csv::<f32>(&p, &opts).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Line {
                        line: 1,
                        field: None
                    },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("index 5"), "{err}");
        let bad_utf8 = dir.path().join("u.csv");
        std::fs::write(&bad_utf8, b"a,y\n\xff,1\n").unwrap();
        let err = read_csv::<f32>(&bad_utf8, &CsvOptions::new()).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    /// A number beyond f32's range would become an infinity in an f32 data
    /// set (the class of bug fuzzing found in the IDX reader).
    #[test]
    fn numbers_beyond_the_scalar_range_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "a,y\n1e39,0.5\n2,-4e38\n");
        let opts = CsvOptions::new().target_kind(TargetKind::Values);
        let d = read_csv::<f64>(&p, &opts).unwrap();
        assert_eq!(d.features[[0, 0]], 1e39);
        let err = read_csv::<f32>(&p, &opts).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Malformed {
                    at: FilePosition::Line {
                        line: 2,
                        field: Some(1)
                    },
                    ..
                }
            ) && err.to_string().contains("1e39 is beyond the range of f32"),
            "{err}"
        );
        let p = file(&dir, "a,y\n1,0.5\n2,-4e38\n");
        let err = read_csv::<f32>(&p, &opts).unwrap_err();
        assert!(err.to_string().contains("line 3, field 2"), "{err}");
    }

    #[test]
    fn string_labels_sorted_and_leading_zero_ints_are_strings() {
        let (idx, names) = number_classes(&["b".into(), "a".into(), "c".into()]);
        assert_eq!(idx, [1, 0, 2]);
        assert_eq!(names, ["a", "b", "c"]);
        let (idx, names) = number_classes(&["1".into(), "01".into()]);
        assert_eq!(idx, [1, 0]);
        assert_eq!(names, ["01", "1"]);
    }
}
