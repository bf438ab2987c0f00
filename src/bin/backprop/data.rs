//! Data files into features and targets: CSV, IDX and NPY, and the built-in
//! Fashion-MNIST.

use std::path::{Path, PathBuf};

use backprop::io::{CsvOptions, CsvTarget, TargetColumn, TargetKind};
use ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};

use crate::CliError;
use crate::args::{DataOptions, Format, Task};

/// Where the Debian package `dataset-fashion-mnist` puts the files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Environment variable that overrides [`FASHION_MNIST_DIR`].
pub const FASHION_MNIST_ENV: &str = "BACKPROP_FASHION_MNIST_DIR";
/// The four files, in the layout of the original distribution.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";
/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Targets as read from a file.
#[derive(Debug, Clone)]
pub enum Targets {
    /// No targets (features only).
    None,
    /// Class index per sample, and the name of each class.
    Classes {
        /// Class of each sample.
        labels: Vec<usize>,
        /// `names[k]` names class k.
        names: Vec<String>,
    },
    /// Real values, one row per sample.
    Values(Array2<f32>),
}

impl Targets {
    /// The class names, for class targets.
    pub fn class_names(&self) -> Option<&[String]> {
        match self {
            Targets::Classes { names, .. } => Some(names),
            _ => None,
        }
    }
}

/// Features and targets.
#[derive(Debug, Clone)]
pub struct Data {
    /// One sample per row.
    pub x: Array2<f32>,
    /// The targets.
    pub y: Targets,
    /// The feature columns' names, from a CSV header.
    pub feature_names: Option<Vec<String>>,
    /// The target column's name, from a CSV header.
    pub target_name: Option<String>,
    /// (height, width) of each sample, when the file stores samples as
    /// images (an m × h × w IDX or NPY array).
    pub image_shape: Option<(usize, usize)>,
}

impl Data {
    fn unnamed(x: Array2<f32>, y: Targets) -> Data {
        Data {
            x,
            y,
            feature_names: None,
            target_name: None,
            image_shape: None,
        }
    }
}

/// (h, w) of an m × h × w array; `None` for any other shape.
fn image_shape(dims: &[usize]) -> Option<(usize, usize)> {
    match dims {
        &[_, h, w] => Some((h, w)),
        _ => None,
    }
}

/// (height, width) of an image.
type Shape = (usize, usize);

/// An IDX feature file as m × n, with its image shape (see [`image_shape`]).
fn read_idx_images(path: &Path) -> Result<(Array2<f32>, Option<Shape>), CliError> {
    let a = backprop::io::read_idx::<f32>(path)?;
    if a.ndim() < 2 {
        return Err(CliError(format!(
            "{}: expected samples of at least one dimension, found a 1-D IDX file of shape \
             {:?} (labels?)",
            path.display(),
            a.shape()
        )));
    }
    let shape = image_shape(a.shape());
    Ok((flatten(a, path)?, shape))
}

/// Which half of Fashion-MNIST.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Train,
    Test,
}

/// The Fashion-MNIST directory: `--data-dir`, else the environment
/// variable, else the Debian package's.
pub fn fashion_mnist_dir(opts: &DataOptions) -> PathBuf {
    opts.data_dir
        .clone()
        .or_else(|| std::env::var_os(FASHION_MNIST_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(FASHION_MNIST_DIR))
}

/// One half of Fashion-MNIST (or of any data set in MNIST's file layout).
pub fn fashion_mnist(dir: &Path, split: Split) -> Result<Data, CliError> {
    let (images, labels) = match split {
        Split::Train => (TRAIN_IMAGES, TRAIN_LABELS),
        Split::Test => (TEST_IMAGES, TEST_LABELS),
    };
    for f in [images, labels] {
        if !dir.join(f).is_file() {
            return Err(CliError(format!(
                "Fashion-MNIST not found: {} does not exist; install with \
                 `apt-get install dataset-fashion-mnist` (or point --data-dir or {FASHION_MNIST_ENV} \
                 at a directory holding the four IDX files, or give --train)",
                dir.join(f).display()
            )));
        }
    }
    let (x, shape) = read_idx_images(&dir.join(images))?;
    let labels = backprop::io::read_idx_labels(dir.join(labels))?;
    check_count(&x, labels.len(), &dir.join(images))?;
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    let names = if k <= FASHION_MNIST_CLASSES.len() && dir_is_fashion(dir) {
        FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        (0..k).map(|c| c.to_string()).collect()
    };
    Ok(Data {
        image_shape: shape,
        ..Data::unnamed(x, Targets::Classes { labels, names })
    })
}

/// Class names are Fashion-MNIST's unless the directory is named like
/// another MNIST-layout data set.
fn dir_is_fashion(dir: &Path) -> bool {
    let name = lowercase_name(dir);
    !name.contains("mnist") || name.contains("fashion")
}

/// The last component of `path`, in lower case (empty for none), to match
/// extensions and names against.
pub fn lowercase_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn format_of(path: &Path, format: Format) -> Format {
    if format != Format::Auto {
        return format;
    }
    let name = lowercase_name(path);
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
        Format::Csv
    } else if name.ends_with(".npy") {
        Format::Npy
    } else if name.ends_with(".npz") {
        Format::Npz
    } else {
        format_of_contents(path)
    }
}

/// The format a file's first bytes show (through gzip): NPY's and zip's
/// magic strings, IDX's two zero bytes, else CSV text. IDX when the file
/// cannot be read (its reader then names the problem).
fn format_of_contents(path: &Path) -> Format {
    use std::io::Read;
    let mut head = [0u8; 6];
    let Ok(mut f) = std::fs::File::open(path) else {
        return Format::Idx;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let head = if head[..n].starts_with(&[0x1f, 0x8b]) {
        let mut inner = [0u8; 6];
        let f = std::fs::File::open(path).map(flate2::read::MultiGzDecoder::new);
        let m = f.map_or(0, |mut g| g.read(&mut inner).unwrap_or(0));
        inner[..m].to_vec()
    } else {
        head[..n].to_vec()
    };
    if head.starts_with(b"\x93NUMPY") {
        Format::Npy
    } else if head.starts_with(b"PK\x03\x04") {
        Format::Npz
    } else if head.starts_with(&[0, 0]) || head.is_empty() {
        Format::Idx
    } else {
        Format::Csv
    }
}

/// How the targets are to be read.
#[derive(Debug, Clone)]
pub struct TargetSpec<'a> {
    /// Classification, regression or a guess.
    pub task: Task,
    /// Class names fixed in advance (the training set's, or a model's).
    pub classes: Option<&'a [String]>,
    /// CSV target column when --target is not given.
    pub default_column: TargetColumn,
}

/// Reads `path` (and `targets` for IDX and NPY features).
pub fn load(
    path: &Path,
    targets: Option<&Path>,
    opts: &DataOptions,
    spec: &TargetSpec<'_>,
    targets_flag: &str,
) -> Result<Data, CliError> {
    match format_of(path, opts.format) {
        Format::Csv => {
            if targets.is_some() {
                return Err(CliError(format!(
                    "{targets_flag} is for IDX and NPY feature files; the CSV file {} holds its \
                     targets in a column (choose it with --target)",
                    path.display()
                )));
            }
            load_csv(path, opts, spec)
        }
        f => {
            let (x, shape) = if f == Format::Npz {
                let name = npz_member(path, &NPZ_FEATURES, "features")?;
                let a = backprop::io::read_npz::<f32>(path, &name)?;
                let shape = image_shape(a.shape());
                (flatten(a, path)?, shape)
            } else if f == Format::Npy {
                let a: ArrayD<f32> = backprop::io::read_npy::<f32, IxDyn>(path)?;
                let shape = image_shape(a.shape());
                (flatten(a, path)?, shape)
            } else {
                read_idx_images(path)?
            };
            check_finite(x.view(), path)?;
            let npz_targets = (f == Format::Npz && targets.is_none()).then_some(path);
            let targets = targets.or(npz_targets);
            let y = match targets {
                None => Targets::None,
                Some(t) => read_targets(t, opts.format, spec)?,
            };
            match &y {
                Targets::None => {}
                Targets::Classes { labels, .. } => check_count(&x, labels.len(), t_path(targets))?,
                Targets::Values(v) => {
                    check_count(&x, v.nrows(), t_path(targets))?;
                    check_finite(v.view(), t_path(targets))?;
                }
            }
            Ok(Data {
                image_shape: shape,
                ..Data::unnamed(x, y)
            })
        }
    }
}

/// Names of the features array in an `.npz` archive, in order of preference.
const NPZ_FEATURES: [&str; 6] = ["x", "X", "features", "data", "x_train", "X_train"];
/// Names of the targets array in an `.npz` archive.
const NPZ_TARGETS: [&str; 7] = ["y", "labels", "label", "targets", "target", "y_train", "Y"];

/// The member of an `.npz` archive holding `what`: the first of `names`
/// there, else the only array (features) or the only other one (targets).
fn npz_member(path: &Path, names: &[&str], what: &str) -> Result<String, CliError> {
    let have = backprop::io::npz_names(path)?;
    if let Some(n) = names.iter().find(|n| have.iter().any(|h| h == *n)) {
        return Ok(n.to_string());
    }
    let others: Vec<&String> = if what == "features" {
        have.iter()
            .filter(|h| !NPZ_TARGETS.contains(&h.as_str()))
            .collect()
    } else {
        have.iter()
            .filter(|h| !NPZ_FEATURES.contains(&h.as_str()))
            .collect()
    };
    match others[..] {
        [one] if have.len() <= 2 => Ok(one.clone()),
        _ => Err(CliError(format!(
            "{}: which array holds the {what}? the archive holds {have:?}; name it one of \
             {names:?}",
            path.display()
        ))),
    }
}

/// Fails naming the file, row and column of the first NaN or infinity.
fn check_finite(x: ndarray::ArrayView2<'_, f32>, path: &Path) -> Result<(), CliError> {
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some(((r, c), v)) => Err(CliError(format!(
            "{}: row {r}, column {c} (from 0) holds {v}; every value must be a finite number",
            path.display()
        ))),
    }
}

/// Checks the columns of `d` (read from `path`) against the names the
/// model was trained with (`reference` says whose: "the model m.safetensors",
/// "the training file train.csv"), and puts them in that order; `drop`
/// names a column the data may hold beside them (the target, for
/// predictions). Without names on either side, only the number of columns
/// is checked.
pub fn align(
    d: Data,
    path: &Path,
    reference: &str,
    names: Option<&[String]>,
    n_inputs: usize,
    drop: Option<&str>,
) -> Result<Data, CliError> {
    let (Some(have), Some(want)) = (&d.feature_names, names) else {
        if d.x.ncols() != n_inputs {
            return Err(CliError(format!(
                "{}: the data has {} feature column(s), {reference} has {n_inputs}",
                path.display(),
                d.x.ncols(),
            )));
        }
        return Ok(d);
    };
    if have == want {
        return Ok(d);
    }
    let missing: Vec<&String> = want.iter().filter(|w| !have.contains(w)).collect();
    let extra: Vec<&String> = have
        .iter()
        .filter(|h| !want.contains(h) && Some(h.as_str()) != drop)
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let list = |v: &[&String]| {
            let shown: Vec<String> = v.iter().take(8).map(|n| format!("{n:?}")).collect();
            match v.len().saturating_sub(8) {
                0 => shown.join(", "),
                more => format!("{} and {more} more", shown.join(", ")),
            }
        };
        let mut why = Vec::new();
        if !missing.is_empty() {
            why.push(format!("missing {}", list(&missing)));
        }
        if !extra.is_empty() {
            why.push(format!("extra {}", list(&extra)));
        }
        return Err(CliError(format!(
            "{}: the feature columns differ from those of {reference} ({}); the target \
             column is chosen with --target",
            path.display(),
            why.join("; "),
        )));
    }
    let order: Vec<usize> = want
        .iter()
        .map(|w| {
            have.iter()
                .position(|h| h == w)
                .expect("no name is missing")
        })
        .collect();
    eprintln!(
        "note: {}: columns taken in the model's order",
        path.display()
    );
    Ok(Data {
        x: d.x.select(Axis(1), &order),
        feature_names: Some(want.to_vec()),
        ..d
    })
}

fn t_path(p: Option<&Path>) -> &Path {
    p.unwrap_or(Path::new(""))
}

fn check_count(x: &Array2<f32>, n: usize, targets: &Path) -> Result<(), CliError> {
    if x.nrows() != n {
        return Err(CliError(format!(
            "the features hold {} samples but {} holds {n} targets",
            x.nrows(),
            targets.display()
        )));
    }
    Ok(())
}

/// An m × d₁ × d₂ … array as m × (d₁·d₂·…).
fn flatten(a: ArrayD<f32>, path: &Path) -> Result<Array2<f32>, CliError> {
    let shape = a.shape().to_vec();
    match shape.len() {
        0 => Err(CliError(format!(
            "{}: expected one sample per row, found a scalar",
            path.display()
        ))),
        1 => Ok(a
            .insert_axis(Axis(1))
            .into_dimensionality::<Ix2>()
            .expect("2-D")),
        _ => {
            let n: usize = shape[1..].iter().product();
            // Row-major already (as every reader returns it): no copy.
            let a = if a.is_standard_layout() {
                a
            } else {
                a.as_standard_layout().into_owned()
            };
            Ok(a.into_shape_with_order((shape[0], n))
                .expect("same element count"))
        }
    }
}

fn column(opts: &DataOptions, default: &TargetColumn) -> TargetColumn {
    match opts.target.as_deref().map(str::trim) {
        None => default.clone(),
        Some(t) => match t.to_ascii_lowercase().as_str() {
            "last" => TargetColumn::Last,
            "first" => TargetColumn::First,
            "none" => TargetColumn::None,
            _ => match t.parse::<usize>() {
                Ok(i) => TargetColumn::Index(i),
                Err(_) => TargetColumn::Name(t.to_string()),
            },
        },
    }
}

fn load_csv(path: &Path, opts: &DataOptions, spec: &TargetSpec<'_>) -> Result<Data, CliError> {
    let delimiter = match opts.delimiter {
        Some(d) => d,
        None if lowercase_name(path)
            .trim_end_matches(".gz")
            .ends_with(".tsv") =>
        {
            b'\t'
        }
        None => {
            let d = backprop::io::csv::sniff_delimiter(path)?;
            if d != b',' {
                eprintln!(
                    "note: {}: fields separated by {:?} (found on the first line; set --delimiter \
                     to override)",
                    path.display(),
                    d as char
                );
            }
            d
        }
    };
    let target = column(opts, &spec.default_column);
    let base = CsvOptions::new()
        .delimiter(delimiter)
        .header(!opts.no_header)
        .target(target.clone());
    // Labels are read as found and matched to fixed classes afterwards
    // (`to_classes`), so that integer labels can stand for named classes.
    let classes = |o: CsvOptions| o.target_kind(TargetKind::Classes);
    let read = |o: &CsvOptions| backprop::io::read_csv::<f32>(path, o);
    let data = match spec.task {
        Task::Regress => read(&base.target_kind(TargetKind::Values))?,
        Task::Classify => read(&classes(base))?,
        Task::Auto => {
            let d = read(&classes(base.clone()))?;
            // Labels that all read as numbers, some of them fractional, are
            // regression values.
            let real = match &d.target {
                CsvTarget::Classes { names, .. } if spec.classes.is_none() => {
                    let v: Option<Vec<f64>> = names.iter().map(|n| n.parse().ok()).collect();
                    v.is_some_and(|v| v.iter().any(|x| x.fract() != 0.0))
                }
                _ => false,
            };
            if real {
                read(&base.target_kind(TargetKind::Values))?
            } else {
                d
            }
        }
    };
    if let (TargetColumn::Auto, Some(t)) = (&target, &data.target_name) {
        eprintln!(
            "note: {}: target column {t:?} (choose another with --target)",
            path.display()
        );
    }
    let y = match data.target {
        CsvTarget::None => Targets::None,
        CsvTarget::Classes { labels, names } => match spec.classes {
            Some(c) => Targets::Classes {
                labels: to_classes(path, &labels, &names, c)?,
                names: c.to_vec(),
            },
            None => Targets::Classes { labels, names },
        },
        CsvTarget::Values(v) => Targets::Values(v.insert_axis(Axis(1))),
    };
    Ok(Data {
        x: data.features,
        y,
        feature_names: (!opts.no_header).then_some(data.feature_names),
        target_name: data.target_name.filter(|_| !opts.no_header),
        image_shape: None,
    })
}

/// Targets from an IDX or NPY file.
fn read_targets(path: &Path, format: Format, spec: &TargetSpec<'_>) -> Result<Targets, CliError> {
    let values: ArrayD<f64> = match format_of(path, format) {
        Format::Npy => backprop::io::read_npy::<f64, IxDyn>(path)?,
        Format::Idx => backprop::io::read_idx::<f64>(path)?,
        Format::Npz => {
            let name = npz_member(path, &NPZ_TARGETS, "targets")?;
            backprop::io::read_npz::<f64>(path, &name)?
        }
        Format::Csv | Format::Auto => {
            return Err(CliError(format!(
                "{}: targets must be an IDX, NPY or NPZ file",
                path.display()
            )));
        }
    };
    let whole = values
        .iter()
        .all(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e15);
    let classify = match spec.task {
        Task::Classify => true,
        Task::Regress => false,
        Task::Auto => spec.classes.is_some() || (values.ndim() == 1 && whole),
    };
    if classify {
        if values.ndim() != 1 || !whole {
            return Err(CliError(format!(
                "{}: class labels must be a 1-D array of whole numbers >= 0 (shape {:?})",
                path.display(),
                values.shape()
            )));
        }
        let labels: Vec<usize> = values.iter().map(|&v| v as usize).collect();
        let k = labels.iter().copied().max().map_or(0, |m| m + 1);
        let found: Vec<String> = (0..k).map(|c| c.to_string()).collect();
        match spec.classes {
            Some(c) => Ok(Targets::Classes {
                labels: to_classes(path, &labels, &found, c)?,
                names: c.to_vec(),
            }),
            None => Ok(Targets::Classes {
                labels,
                names: found,
            }),
        }
    } else {
        let v = values.mapv(|v| v as f32);
        Ok(Targets::Values(flatten(v, path)?))
    }
}

/// The class a label names among fixed `classes` (a model's or the
/// training set's): the class of that name; else, when no class is named by
/// an integer, the integer k names class k (so a model trained from IDX with
/// class names takes a CSV file labelled 0..k, as it takes NPY labels).
/// With integer class names (["3", "5", "7"]) a label only ever matches by
/// name, so "5" cannot mean both class "5" and class 5.
fn class_of(label: &str, classes: &[String]) -> Option<usize> {
    if let Some(k) = classes.iter().position(|c| c == label) {
        return Some(k);
    }
    if classes.iter().any(|c| c.trim().parse::<i64>().is_ok()) {
        return None;
    }
    label
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&k| k < classes.len())
}

/// Maps labels (indices into `found`, the label texts as read) to indices
/// into `classes`; a label that names no class is an error.
fn to_classes(
    path: &Path,
    labels: &[usize],
    found: &[String],
    classes: &[String],
) -> Result<Vec<usize>, CliError> {
    let map: Vec<Option<usize>> = found.iter().map(|f| class_of(f, classes)).collect();
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            map[l].ok_or_else(|| {
                let shown: Vec<&str> = classes.iter().take(12).map(String::as_str).collect();
                CliError(format!(
                    "{}: label {:?} at sample {i} is not one of the {} known classes ({}{}){}",
                    path.display(),
                    found[l],
                    classes.len(),
                    shown.join(", "),
                    if classes.len() > shown.len() {
                        ", ..."
                    } else {
                        ""
                    },
                    if classes.iter().any(|c| c.trim().parse::<i64>().is_ok()) {
                        ""
                    } else {
                        " nor a class index below their count"
                    }
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_names_then_indices() {
        let named: Vec<String> = ["cat", "dog", "emu"].map(String::from).to_vec();
        assert_eq!(class_of("dog", &named), Some(1));
        assert_eq!(class_of("2", &named), Some(2));
        assert_eq!(class_of("3", &named), None, "no class 3");
        assert_eq!(class_of("bird", &named), None);
        // Integer names match by name only.
        let numbered: Vec<String> = ["3", "5", "7"].map(String::from).to_vec();
        assert_eq!(class_of("5", &numbered), Some(1));
        assert_eq!(class_of("1", &numbered), None);
        let p = Path::new("t.csv");
        let found: Vec<String> = ["0", "9", "Dress"].map(String::from).to_vec();
        let ten: Vec<String> = (0..10)
            .map(|k| format!("c{k}"))
            .chain(["Dress".into()])
            .collect();
        assert_eq!(to_classes(p, &[1, 0, 2], &found, &ten).unwrap(), [9, 0, 10]);
        let err = to_classes(p, &[0], &["11".to_string()], &ten).unwrap_err();
        assert!(err.0.contains("label \"11\" at sample 0"), "{}", err.0);
    }

    #[test]
    fn formats_from_names() {
        let f = |n: &str| format_of(Path::new(n), Format::Auto);
        assert_eq!(f("a.csv"), Format::Csv);
        assert_eq!(f("a.CSV.gz"), Format::Csv);
        assert_eq!(f("x.npy"), Format::Npy);
        assert_eq!(f("train-images-idx3-ubyte.gz"), Format::Idx);
        assert_eq!(format_of(Path::new("a.dat"), Format::Csv), Format::Csv);
    }

    #[test]
    fn arrays_flatten_per_sample() {
        let a = ArrayD::<f32>::zeros(IxDyn(&[3, 2, 2]));
        assert_eq!(flatten(a, Path::new("x")).unwrap().dim(), (3, 4));
        let a = ArrayD::<f32>::zeros(IxDyn(&[5]));
        assert_eq!(flatten(a, Path::new("x")).unwrap().dim(), (5, 1));
    }
}
