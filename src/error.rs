//! The crate's one error type.
//!
//! Every error a user can trigger (bad data, bad configuration, a workspace that
//! does not fit) is a variant here with the numbers needed to fix it.

use std::sync::Arc;

/// Shorthand for `std::result::Result<T, backprop::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`std::io::Error`], shared so that [`Error`] stays `Clone`; it shows
/// and chains (`source`) as the `io::Error` itself, and two compare equal
/// when kind and message agree.
///
/// ```
/// use std::error::Error as _;
/// let err = backprop::io::read_npy::<f32, ndarray::Ix2>("/no/such/file.npy").unwrap_err();
/// assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
/// let io = err.source().unwrap().downcast_ref::<backprop::error::IoError>().unwrap();
/// assert_eq!(io.get_ref().kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The error's kind (`NotFound`, `PermissionDenied`, ...).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }

    /// The `io::Error`.
    pub fn get_ref(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> Self {
        IoError(Arc::new(e))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    /// The kind of the operating system's error, for [`Error::Io`].
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// Everything that can go wrong at the library's boundary.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The network was described without any layer.
    #[error("the network has no layers: add at least an output layer")]
    NoLayers,

    /// A layer (or the input) was given zero units.
    #[error("layer {layer} has 0 units; every layer needs at least one (layer 0 is the input)")]
    ZeroSizeLayer {
        /// Index into the size list n₀…n_L.
        layer: usize,
    },

    /// The input matrix has the wrong number of columns.
    #[error("input has {got} features, network expects {expected}")]
    InputWidth {
        /// Columns in the input.
        got: usize,
        /// n₀ of the network.
        expected: usize,
    },

    /// The target matrix has the wrong number of columns.
    #[error("targets have {got} columns, network has {expected} outputs")]
    TargetWidth {
        /// Columns in the targets.
        got: usize,
        /// n_L of the network.
        expected: usize,
    },

    /// Inputs and targets disagree on the number of samples.
    #[error("input has {inputs} samples but targets have {targets}")]
    SampleCount {
        /// Rows in the input.
        inputs: usize,
        /// Rows (or labels) in the targets.
        targets: usize,
    },

    /// A batch or data set with no samples.
    #[error("{what} has no samples")]
    Empty {
        /// What was empty.
        what: &'static str,
    },

    /// A NaN or infinity in user data.
    #[error("{what} holds a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite {
        /// Which array ("input", "targets", ...).
        what: &'static str,
        /// Row (sample) index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value, as f64.
        value: f64,
    },

    /// A feature value outside the domain of a transform applied to it,
    /// such as a negative value given to a scaler's power transform
    /// ([`Scaler::power`](crate::preprocess::Scaler::power)).
    #[error("{what} holds {value} at row {row}, column {col}: {reason}")]
    OutOfDomain {
        /// Which array ("input", ...).
        what: &'static str,
        /// Row (sample) index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value, as f64.
        value: f64,
        /// What the transform accepts.
        reason: &'static str,
    },

    /// A class label that does not name an output unit.
    #[error("label {label} at sample {index} is out of range: the network has {n_classes} classes")]
    LabelOutOfRange {
        /// The label.
        label: usize,
        /// Sample index.
        index: usize,
        /// Number of classes the head can express.
        n_classes: usize,
    },

    /// A target outside what the loss accepts.
    #[error("target {value} at row {row}, column {col} is invalid for {loss}: {reason}")]
    InvalidTarget {
        /// The loss in use.
        loss: &'static str,
        /// Row (sample) index.
        row: usize,
        /// Column index.
        col: usize,
        /// The offending value, as f64.
        value: f64,
        /// What the loss requires.
        reason: &'static str,
    },

    /// Class-index targets given to a loss that needs dense targets.
    #[error("class labels cannot be used with {loss} and {n_outputs} output(s); {hint}")]
    LabelsUnsupported {
        /// The loss in use.
        loss: &'static str,
        /// n_L of the network.
        n_outputs: usize,
        /// What to do instead.
        hint: &'static str,
    },

    /// A batch larger than the workspace it is computed in.
    #[error(
        "batch of {batch} samples exceeds the workspace capacity of {capacity}; \
         create one with `network.workspace({batch})`"
    )]
    BatchTooLarge {
        /// Rows in the batch.
        batch: usize,
        /// Rows the workspace holds.
        capacity: usize,
    },

    /// A workspace built for a network of another shape.
    #[error("workspace was built for layer sizes {workspace:?}, network has {network:?}")]
    WorkspaceMismatch {
        /// Sizes the workspace was made for.
        workspace: Vec<usize>,
        /// Sizes of the network.
        network: Vec<usize>,
    },

    /// Gradients requested from a workspace made for inference only.
    #[error(
        "this workspace was made for inference; use `network.workspace(n)` to compute gradients"
    )]
    InferenceWorkspace,

    /// A caller-provided output buffer of the wrong shape.
    #[error("output buffer has shape {got:?}, expected {expected:?}")]
    OutputShape {
        /// Shape given.
        got: Vec<usize>,
        /// Shape needed.
        expected: Vec<usize>,
    },

    /// A hyperparameter out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidHyperparameter {
        /// Name of the setting.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// The valid range.
        reason: &'static str,
    },

    /// A parameter vector of the wrong length.
    #[error("parameter vector has {got} entries, network has {expected}")]
    ParameterCount {
        /// Length given.
        got: usize,
        /// Number of parameters N.
        expected: usize,
    },

    // ---- files ----
    /// The operating system refused to open, read or write a file. The
    /// `io::Error` is kept: [`source`](std::error::Error::source) returns
    /// it (as an [`IoError`]), and [`Error::io_kind`] its kind.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What was being done ("open", "read", "write", "rename", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: IoError,
    },

    /// A file whose contents break its format: truncated, corrupt,
    /// inconsistent or hostile.
    #[error("{}: malformed {format} file at {at}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// The format expected ("IDX", "CSV", "NPY", "safetensors").
        format: &'static str,
        /// Where the problem was found.
        at: crate::io::FilePosition,
        /// What was wrong, and what was expected.
        reason: String,
    },

    /// A well-formed model file that does not describe the network asked for.
    #[error("{}: {reason}", path.display())]
    ModelMismatch {
        /// The file.
        path: std::path::PathBuf,
        /// What does not match, and how to fix it.
        reason: String,
    },

    // ---- training ----
    /// A non-finite loss, gradient or parameter stopped training.
    #[error(
        "training diverged at epoch {epoch}, batch {batch}: non-finite {what} in layer \
         {layer} (0-based); lower the learning rate, clip the gradient norm or scale the inputs. \
         The network holds the last finite weights (from the start of epoch {epoch})"
    )]
    Diverged {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based mini-batch within the epoch.
        batch: usize,
        /// 0-based layer where the first non-finite value was found.
        layer: usize,
        /// `"loss"`, `"gradient"` or `"parameters"`.
        what: &'static str,
    },

    /// A sample weight that cannot be used.
    #[error("sample weight {value} at index {index} is invalid: {reason}")]
    InvalidSampleWeight {
        /// Sample index.
        index: usize,
        /// The weight (or the sum of weights, see `reason`).
        value: f64,
        /// What is required.
        reason: &'static str,
    },

    /// A hold-out split that leaves a side without samples.
    #[error(
        "holding out {fraction} of {n_samples} samples leaves {reason}; \
         use a fraction in (0, 1) that keeps both sides non-empty, or pass a validation set"
    )]
    ValidationSplit {
        /// Samples before the split.
        n_samples: usize,
        /// The fraction asked for.
        fraction: f64,
        /// Which side would be empty.
        reason: &'static str,
    },

    /// A method that needs a fitted model was called before `fit`.
    #[error("{what} is not fitted yet; call `fit` (or `partial_fit`) first")]
    NotFitted {
        /// The estimator.
        what: &'static str,
    },

    /// A label that the fitted classes do not contain.
    #[error("label {label} at sample {index} is not one of the classes {classes}")]
    UnknownClass {
        /// The label, formatted.
        label: String,
        /// Sample index.
        index: usize,
        /// The known classes, formatted.
        classes: String,
    },

    /// Labels whose classes differ from those the classifier was fitted
    /// with: a later `partial_fit` given other `classes`, or a warm-start
    /// `fit` on labels with other classes.
    #[error(
        "the classes {given} differ from the classes {fitted} the classifier was fitted with; \
         fit afresh (warm_start off) to change the classes"
    )]
    ClassesChanged {
        /// The fitted classes, formatted.
        fitted: String,
        /// The classes given now, formatted.
        given: String,
    },

    /// Classification targets with fewer than two distinct classes.
    #[error("the targets hold {found} distinct class(es); a classifier needs at least 2")]
    TooFewClasses {
        /// Distinct classes found.
        found: usize,
    },

    /// Data-parallel training cannot go on (see
    /// [`distributed`](crate::distributed)): the ranks disagree, or the
    /// message-passing library failed.
    #[error("distributed training, rank {rank}: {reason}")]
    Distributed {
        /// The rank that found the problem.
        rank: usize,
        /// What went wrong.
        reason: String,
    },

    // ---- resources ----
    /// A network or buffer too large to allocate.
    #[error(
        "{what} need {bytes} bytes ({:.1} GiB), more than can be allocated; {hint}",
        *bytes as f64 / 1073741824.0
    )]
    TooLarge {
        /// What was to be allocated.
        what: &'static str,
        /// The bytes asked for.
        bytes: u128,
        /// How to make it fit.
        hint: &'static str,
    },

    /// A run cannot be saved to, or resumed from, a checkpoint.
    #[error("cannot checkpoint {what}: {reason}")]
    Checkpoint {
        /// What could not be saved or restored (an optimizer, a solver).
        what: String,
        /// Why, and what to do instead.
        reason: String,
    },
}
