//! CSV: one sample per line, numeric feature columns and an optional target
//! column holding class labels (integers or strings) or numeric values.
//!
//! Fields may be quoted with `"` (a doubled `""` inside stands for one
//! quote); quoted fields cannot span lines. Whitespace around a field is
//! ignored, and so are empty lines. Gzip-compressed files are read as well.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2};

use super::{FilePosition, Source};
use crate::{Error, Result, Scalar};

const FORMAT: &str = "CSV";

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
}

/// Splits a line into trimmed fields; `Err(field)` for an unterminated quote.
fn split(line: &str, delimiter: u8, out: &mut Vec<String>) -> std::result::Result<(), usize> {
    out.clear();
    let d = delimiter as char;
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') && d != ' ' && d != '\t' {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err(out.len() + 1),
                }
            }
            while chars.peek().is_some_and(|&c| c != d) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == d {
                    break;
                }
                field.push(c);
                chars.next();
            }
        }
        out.push(field.trim().to_string());
        if chars.next().is_none() {
            return Ok(());
        }
    }
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
/// label outside [`CsvOptions::classes`], or a file without data rows;
/// [`Error::InvalidHyperparameter`] for a target column that does not exist.
pub fn read_csv<S: Scalar>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData<S>> {
    let mut lines = Lines::open(path.as_ref(), options.delimiter)?;
    if !lines.next()? {
        return Err(lines.no_data_rows());
    }
    let columns = Columns::new(&lines.fields, options)?;
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

/// The non-empty lines of a CSV file, split into fields one at a time.
struct Lines {
    src: Source,
    delimiter: u8,
    bytes: Vec<u8>,
    /// The fields of the current line.
    fields: Vec<String>,
    /// The current line's number, from 1.
    line_no: u64,
}

impl Lines {
    fn open(path: &Path, delimiter: u8) -> Result<Self> {
        Ok(Lines {
            src: Source::open(path, FORMAT)?,
            delimiter,
            bytes: Vec::new(),
            fields: Vec::new(),
            line_no: 0,
        })
    }

    /// Splits the next non-empty line into `fields`; `false` at the end of
    /// the file.
    fn next(&mut self) -> Result<bool> {
        while self.src.read_line(&mut self.bytes)? > 0 {
            self.line_no += 1;
            let line = std::str::from_utf8(&self.bytes).map_err(|_| {
                self.src
                    .malformed(self.at(None), "the line is not valid UTF-8")
            })?;
            let line = line.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            split(line, self.delimiter, &mut self.fields).map_err(|f| {
                self.src
                    .malformed(self.at(Some(f)), "unterminated quoted field")
            })?;
            return Ok(true);
        }
        Ok(false)
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
        self.src.malformed(at, "the file has no data rows")
    }
}

/// The columns, fixed by the first non-empty line.
struct Columns {
    n_fields: usize,
    /// Index of the target column among the fields.
    target: Option<usize>,
    /// Names of the feature columns.
    names: Vec<String>,
}

impl Columns {
    fn new(first: &[String], options: &CsvOptions) -> Result<Self> {
        let n_fields = first.len();
        let target = resolve_target(&options.target, first, options.header)?;
        let mut names = if options.header {
            first.to_vec()
        } else {
            (1..=n_fields).map(|j| format!("column {j}")).collect()
        };
        if let Some(t) = target {
            names.remove(t);
        }
        Ok(Columns {
            n_fields,
            target,
            names,
        })
    }
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
        let (src, fields) = (&lines.src, &lines.fields);
        if fields.len() != columns.n_fields {
            return Err(src.malformed(
                lines.at(None),
                format!(
                    "{} fields, but the first line has {} (wrong delimiter, or a missing value?)",
                    fields.len(),
                    columns.n_fields
                ),
            ));
        }
        for (j, f) in fields.iter().enumerate() {
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

    fn finish(self, columns: Columns) -> CsvData<S> {
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

fn resolve_target(target: &TargetColumn, first: &[String], header: bool) -> Result<Option<usize>> {
    let n = first.len();
    let bad = |value: String, reason: &'static str| Error::InvalidHyperparameter {
        name: "target column",
        value,
        reason,
    };
    match target {
        TargetColumn::None => Ok(None),
        _ if n < 2 => Err(bad(
            format!("{n} column(s)"),
            "a target column needs at least one feature column beside it",
        )),
        TargetColumn::Last => Ok(Some(n - 1)),
        TargetColumn::First => Ok(Some(0)),
        &TargetColumn::Index(j) if j < n => Ok(Some(j)),
        TargetColumn::Index(j) => Err(bad(j.to_string(), "the index is past the last column")),
        TargetColumn::Name(name) if !header => Err(bad(
            name.clone(),
            "a column can be chosen by name only when the file has a header",
        )),
        TargetColumn::Name(name) => first
            .iter()
            .position(|f| f == name)
            .map(Some)
            .ok_or_else(|| bad(name.clone(), "no header field has this name")),
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
    fn split_handles_quotes_and_spaces() {
        let mut f = Vec::new();
        split(r#" 1 , "a, ""b""" ,x"#, b',', &mut f).unwrap();
        assert_eq!(f, ["1", r#"a, "b""#, "x"]);
        assert_eq!(split(r#"1,"open"#, b',', &mut f), Err(2));
        split("1\t2", b'\t', &mut f).unwrap();
        assert_eq!(f, ["1", "2"]);
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
        assert!(matches!(
            read_csv::<f32>(&p, &opts),
            Err(Error::InvalidHyperparameter { .. })
        ));
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
