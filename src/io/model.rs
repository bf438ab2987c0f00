//! A saved model: a network with its feature scaler and class names, stored
//! in a safetensors file (the container is read and written by
//! `io/safetensors.rs`) under the names and layout of a PyTorch
//! `nn.Sequential`, so that
//!
//! ```python
//! net = torch.nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
//! net.load_state_dict(safetensors.torch.load_file("model.safetensors"))
//! ```
//!
//! loads a saved network as is (the output head's softmax or sigmoid, which
//! has no parameters, is the caller's to apply, as in PyTorch).
//!
//! # File layout
//! An 8-byte little-endian header length n, n bytes of JSON header, then the
//! tensor data. Layer `l` (0-based) is module `2l` of the Sequential, with
//! the activation modules at the odd indices between; a hidden layer with
//! dropout adds a `Dropout` module after its activation, which shifts the
//! indices of the layers after it by one (`Linear`, `ReLU`, `Dropout`,
//! `Linear`: the second layer is module 3), so that the file loads into the
//! `nn.Sequential` its `torch_modules` describe:
//!
//! | tensor | shape | contents |
//! |---|---|---|
//! | `{i}.weight` | (n_out, n_in) | W for `layer = l` (module i = 2l without dropout), row-major (PyTorch's `Linear.weight`) |
//! | `{i}.bias` | (n_out,) | b for `layer = l` |
//!
//! Tensors are written `F32` for `Network<f32>` and `F64` for
//! `Network<f64>`; `F16`, `BF16`, `F32` and `F64` tensors are read into
//! either (half precision converted exactly on load).
//! The header's `__metadata__` (string → string) holds:
//!
//! | key | value |
//! |---|---|
//! | `format` | `backprop-mlp` |
//! | `format_version` | `1` |
//! | `sizes` | JSON array n₀…n_L, e.g. `[784,256,10]` |
//! | `activations` | JSON array of hidden activation names, e.g. `["relu"]` |
//! | `loss` | `squared-error`, `binary-cross-entropy` or `categorical-cross-entropy` |
//! | `output_activation` | `identity`, `logistic` or `softmax` |
//! | `torch_modules` | JSON array describing the equivalent `nn.Sequential`, e.g. `["Linear(784, 256)", "ReLU()", "Linear(256, 10)", "Softmax(dim=1)"]`; with dropout, `"Dropout(p=0.2)"` after the hidden layer's activation |
//! | `dropout` | only with dropout: JSON array of the hidden layers' rates, e.g. `[0.2,0.0]` (training only: inference drops nothing); a file without it has none |
//! | `scaler` | only with a scaler: JSON `{"scaling": "min-max" or "standard", "shift": [...], "scale": [...]}`, with `"standardize_samples": true` when each sample is standardized first |
//! | `scaler_formula` | only with a scaler: `(x - shift) / scale` ([`SCALER_FORMULA`]), the transform applied to each raw feature column before the network (`scale` divides: it is not scikit-learn's `MinMaxScaler.scale_`, which multiplies); with sample standardization, [`SAMPLE_SCALER_FORMULA`] |
//! | `class_labels` | only with class labels: JSON array of strings |
//! | `feature_names` | only when known (a CSV header): JSON array of the n₀ input column names, in input order |
//! | `target_column` | only when known: the name of the column the targets were read from |
//!
//! # Reading files from elsewhere
//! A file written by PyTorch (`safetensors.torch.save_file(net.state_dict())`)
//! has no metadata: the layer sizes are read from the tensor shapes, and the
//! hidden activations and the loss come from [`LoadOptions`] (on the
//! command line: `--activation` and `--loss`). Module indices
//! need not be even (a `Dropout` between layers shifts them), a common prefix
//! such as `net.` is accepted, and F16, BF16, F32 and F64 tensors load into
//! either scalar type.
//!
//! # Hostile files
//! Before anything is allocated the header length is checked against the
//! file's length (and a 100 MB cap, as in the reference implementation), and
//! every tensor's offsets against its dtype, shape and the data section;
//! tensors must tile the data section exactly, without overlap or gap.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array2, ArrayView2, AsArray, Ix2};
use serde_json::{Map, Value, json};

use super::FilePosition;
use super::safetensors::{self, Reader};
use crate::preprocess::{Scaler, Scaling};
use crate::{Activation, Error, Loss, Network, Result, Scalar};

/// Metadata `format`: what kind of model the file holds.
const FORMAT_NAME: &str = "backprop-mlp";
/// Metadata `format_version`: bumped when the metadata changes meaning.
const FORMAT_VERSION: &str = "1";
/// Metadata `scaler_formula`: what [`Scaler`] does to a raw feature x.
pub const SCALER_FORMULA: &str = "(x - shift) / scale";
/// Metadata `scaler_formula` of a [`Scaler`] that standardizes each sample
/// first ([`Scaler::standardizes_samples`]).
pub const SAMPLE_SCALER_FORMULA: &str = "(r - shift) / scale, r = (x - mean(x)) / std(x) over \
     the sample's features (population std; r = 0 for a constant sample)";

/// A network with what it needs to be used on raw data: the [`Scaler`]
/// fitted on the training features and the names of the classes.
///
/// ```
/// use backprop::io::SavedModel;
/// use backprop::preprocess::{Scaler, Scaling};
/// use backprop::{Activation, Loss, Network};
/// use ndarray::array;
/// # let dir = tempfile::tempdir()?;
/// let x = array![[0.0f32, 10.0], [5.0, 20.0]];
/// let net = Network::<f32>::builder(2)
///     .hidden(3, Activation::Relu)
///     .output(2, Loss::CategoricalCrossEntropy)
///     .build()?;
/// let model = SavedModel::new(net)
///     .with_scaler(Scaler::fit(Scaling::MinMax, x.view())?)?
///     .with_class_labels(vec!["no".into(), "yes".into()])?;
/// let path = dir.path().join("model.safetensors");
/// model.save(&path)?;
/// let back = SavedModel::<f32>::load(&path)?;
/// assert_eq!(back, model);
/// assert_eq!(back.predict(x.view())?, model.predict(x.view())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel<S: Scalar> {
    /// The network.
    pub network: Network<S>,
    /// The scaling applied to raw features before the network, if any.
    pub scaler: Option<Scaler>,
    /// `class_labels[k]` names class k, if known.
    pub class_labels: Option<Vec<String>>,
    /// `feature_names[j]` names input j (a column of the training file), if
    /// known. Files written without it still load (`None`).
    pub feature_names: Option<Vec<String>>,
    /// The column of the training file that held the targets, if known.
    pub target_column: Option<String>,
}

/// Fills in what a safetensors file does not say (a file written by PyTorch
/// holds no metadata) and checks what it does; every setting defaults to
/// "take it from the file".
///
/// ```
/// use backprop::io::LoadOptions;
/// use backprop::{Activation, Loss};
/// let opts = LoadOptions::new()
///     .activations(vec![Activation::Relu])
///     .loss(Loss::CategoricalCrossEntropy);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    sizes: Option<Vec<usize>>,
    activations: Option<Vec<Activation>>,
    activation: Option<Activation>,
    loss: Option<Loss>,
}

impl LoadOptions {
    /// Everything from the file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expected layer sizes n₀…n_L, checked against the tensor shapes.
    /// Default: whatever the shapes say.
    pub fn sizes(mut self, sizes: Vec<usize>) -> Self {
        self.sizes = Some(sizes);
        self
    }

    /// Hidden activations, one per hidden layer. Default: the file's
    /// `activations` metadata; required when it is missing.
    pub fn activations(mut self, activations: Vec<Activation>) -> Self {
        self.activations = Some(activations);
        self
    }

    /// One hidden activation for every hidden layer, however many the file
    /// has (what `nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)` needs).
    /// Default: the file's `activations` metadata. Ignored when
    /// [`activations`](Self::activations) is given.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = Some(activation);
        self
    }

    /// The output head. Default: the file's `loss` metadata; required when
    /// it is missing.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }
}

impl<S: Scalar> SavedModel<S> {
    /// A model with no scaler and no class labels.
    pub fn new(network: Network<S>) -> Self {
        SavedModel {
            network,
            scaler: None,
            class_labels: None,
            feature_names: None,
            target_column: None,
        }
    }

    /// Records the names of the input columns, in input order, so that data
    /// files can be checked against them.
    ///
    /// # Errors
    /// [`Error::InputWidth`] when there are not n₀ names.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        check_feature_names(&self.network, &names)?;
        self.feature_names = Some(names);
        Ok(self)
    }

    /// Records the name of the column the targets were read from.
    pub fn with_target_column(mut self, name: String) -> Self {
        self.target_column = Some(name);
        self
    }

    /// Attaches the scaler applied to raw features.
    ///
    /// # Errors
    /// [`Error::InputWidth`] when the scaler was fitted on a different number
    /// of features than the network takes.
    pub fn with_scaler(mut self, scaler: Scaler) -> Result<Self> {
        check_scaler(&self.network, &scaler)?;
        self.scaler = Some(scaler);
        Ok(self)
    }

    /// Attaches class names: one per output, or two (for classes 0 and 1) for
    /// a single logistic output.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a different number of names.
    pub fn with_class_labels(mut self, labels: Vec<String>) -> Result<Self> {
        check_labels(&self.network, labels.len())?;
        self.class_labels = Some(labels);
        Ok(self)
    }

    /// Outputs aᴸ for the raw rows of `x`: the scaler (if any), then
    /// [`Network::predict`].
    ///
    /// # Errors
    /// As [`Network::predict`].
    pub fn predict<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Array2<S>> {
        let x: ArrayView2<'x, S> = x.into();
        match &self.scaler {
            Some(s) => self.network.predict(s.transform(x)?.view()),
            None => self.network.predict(x),
        }
    }

    /// The class of each raw row of `x`: the scaler (if any), then
    /// [`Network::predict_classes`].
    ///
    /// # Errors
    /// As [`Network::predict`].
    pub fn predict_classes<'x>(&self, x: impl AsArray<'x, S, Ix2>) -> Result<Vec<usize>> {
        let x: ArrayView2<'x, S> = x.into();
        match &self.scaler {
            Some(s) => self.network.predict_classes(s.transform(x)?.view()),
            None => self.network.predict_classes(x),
        }
    }

    /// Writes the model as safetensors (layout in the [module docs](self)),
    /// atomically: a crash mid-save leaves any previous file intact.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written; [`Error::InputWidth`]
    /// or [`Error::InvalidHyperparameter`] when the public fields were set to
    /// a scaler or labels that do not fit the network.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let net = &self.network;
        if let Some(s) = &self.scaler {
            check_scaler(net, s)?;
        }
        if let Some(c) = &self.class_labels {
            check_labels(net, c.len())?;
        }
        if let Some(f) = &self.feature_names {
            check_feature_names(net, f)?;
        }
        let mut tensors = Vec::with_capacity(2 * net.depth());
        for l in 0..net.depth() {
            let (n_in, n_out) = (net.sizes()[l], net.sizes()[l + 1]);
            let i = linear_module(net, l);
            tensors.push((format!("{i}.weight"), vec![n_out, n_in]));
            tensors.push((format!("{i}.bias"), vec![n_out]));
        }
        // The flat vector is already W⁽¹⁾, b⁽¹⁾, W⁽²⁾, ... in order.
        safetensors::write(path.as_ref(), &tensors, net.params(), self.metadata())
    }

    /// The `__metadata__` strings (the table in the [module docs](self)),
    /// also written into exported ONNX files.
    pub(super) fn metadata(&self) -> Map<String, Value> {
        let net = &self.network;
        let mut m = Map::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.into(), Value::String(v));
        };
        put("format", FORMAT_NAME.into());
        put("format_version", FORMAT_VERSION.into());
        put("sizes", json!(net.sizes()).to_string());
        let acts: Vec<&str> = net.activations().iter().map(|a| a.name()).collect();
        put("activations", json!(acts).to_string());
        put("loss", net.loss().name().into());
        put("output_activation", net.loss().output_activation().into());
        put("torch_modules", json!(torch_modules(net)).to_string());
        // Only with dropout, so that a file without it is written as before.
        if net.dropout().iter().any(|&p| p > 0.0) {
            put("dropout", json!(net.dropout()).to_string());
        }
        if let Some(s) = &self.scaler {
            let mut v =
                json!({"scaling": s.scaling().name(), "shift": s.shift(), "scale": s.scale()});
            // Only when on, so that other files are written as before.
            if s.standardizes_samples() {
                v["standardize_samples"] = json!(true);
            }
            if let Some(p) = s.power() {
                v["power"] = json!(p);
            }
            put("scaler", v.to_string());
            put("scaler_formula", scaler_formula(s));
        }
        if let Some(c) = &self.class_labels {
            put("class_labels", json!(c).to_string());
        }
        if let Some(f) = &self.feature_names {
            put("feature_names", json!(f).to_string());
        }
        if let Some(t) = &self.target_column {
            put("target_column", t.clone());
        }
        m
    }

    /// Reads a model written by [`save`](Self::save) (all settings from the
    /// file's metadata).
    ///
    /// # Errors
    /// As [`load_with`](Self::load_with).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, &LoadOptions::new())
    }

    /// Reads a model, taking from `options` what the file does not say (see
    /// the [module docs](self) for files written by PyTorch).
    ///
    /// ```
    /// use backprop::io::{LoadOptions, SavedModel};
    /// use backprop::{Activation, Loss, Network};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("m.safetensors");
    /// # SavedModel::new(Network::<f32>::builder(3).hidden(4, Activation::Tanh)
    /// #     .output(1, Loss::BinaryCrossEntropy).build()?).save(&path)?;
    /// let opts = LoadOptions::new().activations(vec![Activation::Tanh]);
    /// let model = SavedModel::<f32>::load_with(&path, &opts)?;
    /// assert_eq!(model.network.sizes(), &[3, 4, 1]);
    /// // Options that contradict the file are refused.
    /// let wrong = LoadOptions::new().activations(vec![Activation::Relu]);
    /// assert!(SavedModel::<f32>::load_with(&path, &wrong).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Malformed`] for a
    /// truncated or corrupt file, a hostile header (a length beyond the file,
    /// offsets that overlap, leave gaps or disagree with dtype and shape), a
    /// dtype other than F32/F64, tensors that are not `{i}.weight` /
    /// `{i}.bias` pairs of chained shapes, or unreadable metadata;
    /// [`Error::ModelMismatch`] when the activations or loss are neither in
    /// the file nor in `options`, or the two disagree; [`Error::NonFinite`]
    /// for NaN or infinite parameters.
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self> {
        let mut file = Reader::open(path.as_ref())?;
        let layers = linear_layers(&file)?;
        let sizes = sizes_of(&file, &layers, options)?;
        let activations = activations_of(&file, &sizes, options)?;
        let loss = loss_of(&file, options)?;
        let meta = file.metadata();
        let scaler = match meta.get("scaler") {
            Some(s) => Some(parse_scaler(&file, s)?),
            None => None,
        };
        if let Some(f) = meta.get("scaler_formula") {
            let expected = scaler
                .as_ref()
                .map_or_else(|| SCALER_FORMULA.to_string(), scaler_formula);
            if *f != expected {
                return Err(file.bad(
                    FilePosition::Byte(8),
                    format!("metadata scaler_formula {f:?} is not {expected:?}, the one this scaler applies"),
                ));
            }
        }
        let class_labels: Option<Vec<String>> = match meta.get("class_labels") {
            Some(s) => Some(parse_meta(&file, "class_labels", s)?),
            None => None,
        };

        let feature_names: Option<Vec<String>> = match meta.get("feature_names") {
            Some(s) => Some(parse_meta(&file, "feature_names", s)?),
            None => None,
        };
        let target_column = meta.get("target_column").cloned();
        let dropout: Option<Vec<f64>> = match meta.get("dropout") {
            Some(s) => Some(parse_meta(&file, "dropout", s)?),
            None => None,
        };

        let params = read_params::<S>(&mut file, &layers)?;
        let mut network = Network::from_params(&sizes, &activations, loss, params)?;
        if let Some(p) = dropout {
            network = network
                .with_dropout(&p)
                .map_err(|e| file.bad(FilePosition::Byte(8), format!("dropout metadata: {e}")))?;
        }
        let mut model = SavedModel::new(network);
        if let Some(s) = scaler {
            model = model
                .with_scaler(s)
                .map_err(|e| file.bad(FilePosition::Byte(8), format!("scaler metadata: {e}")))?;
        }
        if let Some(c) = class_labels {
            model = model.with_class_labels(c).map_err(|e| {
                file.bad(FilePosition::Byte(8), format!("class_labels metadata: {e}"))
            })?;
        }
        if let Some(f) = feature_names {
            model = model.with_feature_names(f).map_err(|e| {
                file.bad(
                    FilePosition::Byte(8),
                    format!("feature_names metadata: {e}"),
                )
            })?;
        }
        model.target_column = target_column;
        Ok(model)
    }
}

/// Layer sizes n₀…n_L from the tensor shapes, checked against the
/// metadata's `sizes` and the caller's.
fn sizes_of(file: &Reader, layers: &[LinearLayer], options: &LoadOptions) -> Result<Vec<usize>> {
    let mut sizes = vec![layers[0].n_in];
    sizes.extend(layers.iter().map(|t| t.n_out));
    if let Some(s) = file.metadata().get("sizes") {
        let from_meta: Vec<usize> = parse_meta(file, "sizes", s)?;
        if from_meta != sizes {
            return Err(file.bad(
                FilePosition::Byte(8),
                format!("metadata says sizes {from_meta:?} but the tensors have {sizes:?}"),
            ));
        }
    }
    if let Some(want) = &options.sizes
        && *want != sizes
    {
        return Err(mismatch(
            file.path(),
            format!("expected layer sizes {want:?}, the file holds {sizes:?}"),
        ));
    }
    Ok(sizes)
}

/// The hidden activations, from the metadata or the caller (both given must
/// agree), one per hidden layer.
fn activations_of(
    file: &Reader,
    sizes: &[usize],
    options: &LoadOptions,
) -> Result<Vec<Activation>> {
    let path = file.path();
    let from_meta: Option<Vec<Activation>> = match file.metadata().get("activations") {
        Some(s) => {
            let names: Vec<String> = parse_meta(file, "activations", s)?;
            let acts = names
                .iter()
                .map(|n| n.parse::<Activation>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| file.bad(FilePosition::Byte(8), e))?;
            Some(acts)
        }
        None => None,
    };
    let given = options.activations.clone().or_else(|| {
        options
            .activation
            .map(|g| vec![g; sizes.len().saturating_sub(2)])
    });
    let activations = pick(path, "activations", from_meta, given)?
        .or_else(|| (sizes.len() == 2).then(Vec::new))
        .ok_or_else(|| {
            mismatch(
                path,
                format!(
                    "the file does not say which activations its {} hidden layer(s) use \
                     (written by PyTorch?): give them when loading (on the command line: \
                     --activation NAME, or a comma-separated list), or set the file's \
                     `activations` metadata key to a JSON array of names such as [\"relu\"]",
                    sizes.len() - 2
                ),
            )
        })?;
    if activations.len() != sizes.len() - 2 {
        return Err(mismatch(
            path,
            format!(
                "{} activations given for {} hidden layers (sizes {sizes:?})",
                activations.len(),
                sizes.len() - 2
            ),
        ));
    }
    Ok(activations)
}

/// The output head, from the metadata or the caller (both given must agree).
fn loss_of(file: &Reader, options: &LoadOptions) -> Result<Loss> {
    let loss_meta = match file.metadata().get("loss") {
        Some(s) => Some(
            s.parse::<Loss>()
                .map_err(|e| file.bad(FilePosition::Byte(8), e))?,
        ),
        None => None,
    };
    pick(file.path(), "loss", loss_meta, options.loss)?.ok_or_else(|| {
        mismatch(
            file.path(),
            "the file does not say which loss (output head) the network has \
             (written by PyTorch?): give it when loading (on the command line: --loss NAME, \
             e.g. categorical-cross-entropy for a softmax head), or set the file's `loss` \
             metadata key (squared-error, binary-cross-entropy or categorical-cross-entropy)"
                .into(),
        )
    })
}

/// The index of layer `l`'s `Linear` in the saved file's `nn.Sequential`
/// (its tensors are `{i}.weight` and `{i}.bias`): 2l, plus one for each
/// hidden layer with dropout before it.
///
/// ```
/// use backprop::{Activation, Dense, Loss, Network};
/// use backprop::io::model::linear_module;
/// let net = Network::<f32>::builder(4)
///     .layer(Dense::new(8, Activation::Relu).dropout(0.5))
///     .output(3, Loss::CategoricalCrossEntropy)
///     .build()?;
/// assert_eq!((linear_module(&net, 0), linear_module(&net, 1)), (0, 3));
/// # Ok::<(), backprop::Error>(())
/// ```
///
/// # Panics
/// If `l >= net.depth()`.
pub fn linear_module<S: Scalar>(net: &Network<S>, l: usize) -> usize {
    2 * l + net.dropout()[..l].iter().filter(|&&p| p > 0.0).count()
}

/// The modules of the equivalent `torch.nn.Sequential`, for the metadata:
/// per layer a `Linear`, its activation and, for a hidden layer with
/// dropout, a `Dropout` (the identity in `eval()` mode, as here).
fn torch_modules<S: Scalar>(net: &Network<S>) -> Vec<String> {
    let mut out = Vec::new();
    for l in 0..net.depth() {
        if l > 0 && net.dropout()[l - 1] > 0.0 {
            out.push(format!("Dropout(p={})", net.dropout()[l - 1]));
        }
        out.push(format!(
            "Linear({}, {})",
            net.sizes()[l],
            net.sizes()[l + 1]
        ));
        let act = match net.activations().get(l) {
            Some(Activation::Identity) => "Identity()",
            Some(Activation::Logistic) => "Sigmoid()",
            Some(Activation::Tanh) => "Tanh()",
            Some(Activation::Relu) => "ReLU()",
            None => match net.loss() {
                Loss::SquaredError => continue,
                Loss::BinaryCrossEntropy => "Sigmoid()",
                Loss::CategoricalCrossEntropy => "Softmax(dim=1)",
            },
        };
        out.push(act.into());
    }
    out
}

fn check_scaler<S: Scalar>(net: &Network<S>, scaler: &Scaler) -> Result<()> {
    if scaler.n_features() != net.n_inputs() {
        return Err(Error::InputWidth {
            got: scaler.n_features(),
            expected: net.n_inputs(),
        });
    }
    Ok(())
}

fn check_feature_names<S: Scalar>(net: &Network<S>, names: &[String]) -> Result<()> {
    if names.len() != net.n_inputs() {
        return Err(Error::InputWidth {
            got: names.len(),
            expected: net.n_inputs(),
        });
    }
    Ok(())
}

fn check_labels<S: Scalar>(net: &Network<S>, n: usize) -> Result<()> {
    let want = if net.n_outputs() == 1 && net.loss() == Loss::BinaryCrossEntropy {
        2
    } else {
        net.n_outputs()
    };
    if n != want {
        return Err(Error::InvalidHyperparameter {
            name: "class_labels",
            value: format!("{n} names"),
            reason: "need one name per output unit (two for a single logistic output)",
        });
    }
    Ok(())
}

fn mismatch(path: &Path, reason: String) -> Error {
    Error::ModelMismatch {
        path: path.to_path_buf(),
        reason,
    }
}

/// The file's value, else the caller's; both given must agree.
fn pick<T: PartialEq + std::fmt::Debug>(
    path: &Path,
    what: &str,
    file: Option<T>,
    given: Option<T>,
) -> Result<Option<T>> {
    match (file, given) {
        (Some(f), Some(g)) if f != g => Err(mismatch(
            path,
            format!("the file's metadata says {what} {f:?} but {g:?} was asked for"),
        )),
        (f, g) => Ok(f.or(g)),
    }
}

/// A metadata value, parsed as JSON.
fn parse_meta<T: serde::de::DeserializeOwned>(file: &Reader, key: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        file.bad(
            FilePosition::Byte(8),
            format!("metadata {key:?} = {text:?} cannot be read: {e}"),
        )
    })
}

/// The `scaler` metadata.
fn parse_scaler(file: &Reader, text: &str) -> Result<Scaler> {
    let v: Value = parse_meta(file, "scaler", text)?;
    let bad = |why: String| file.bad(FilePosition::Byte(8), format!("metadata \"scaler\": {why}"));
    let scaling: Scaling = v["scaling"]
        .as_str()
        .ok_or_else(|| bad("no \"scaling\" name".into()))?
        .parse()
        .map_err(bad)?;
    let numbers = |key: &str| -> Result<Vec<f64>> {
        serde_json::from_value(v[key].clone())
            .map_err(|e| bad(format!("\"{key}\" is not an array of numbers: {e}")))
    };
    let samples = match v.get("standardize_samples") {
        None => false,
        Some(b) => b
            .as_bool()
            .ok_or_else(|| bad(format!("\"standardize_samples\" is {b}, not true or false")))?,
    };
    let power = match v.get("power") {
        None => None,
        Some(p) => Some(
            p.as_f64()
                .ok_or_else(|| bad(format!("\"power\" is {p}, not a number")))?,
        ),
    };
    Scaler::from_parts(scaling, numbers("shift")?, numbers("scale")?)
        .and_then(|s| s.with_standardized_samples(samples).with_power(power))
        .map_err(|e| bad(e.to_string()))
}

/// The `scaler_formula` metadata of `s`: [`SCALER_FORMULA`], or
/// [`SAMPLE_SCALER_FORMULA`] when it standardizes samples, followed by
/// `, x = raw^p (raw >= 0)` when it raises features to a power p.
///
/// ```
/// use backprop::io::model::scaler_formula;
/// use backprop::preprocess::{Scaler, Scaling};
/// let x = ndarray::array![[0.0f32, 1.0], [4.0, 9.0]];
/// let s = Scaler::builder(Scaling::Standard).power(0.6).fit(x.view())?;
/// assert_eq!(scaler_formula(&s), "(x - shift) / scale, x = raw^0.6 (raw >= 0)");
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn scaler_formula(s: &Scaler) -> String {
    let base = if s.standardizes_samples() {
        SAMPLE_SCALER_FORMULA
    } else {
        SCALER_FORMULA
    };
    match s.power() {
        None => base.to_string(),
        Some(p) => format!("{base}, x = raw^{p} (raw >= 0)"),
    }
}

/// A weight/bias pair forming one Linear layer: indices into the file's
/// entries and the layer's sizes.
struct LinearLayer {
    weight: usize,
    bias: usize,
    n_in: usize,
    n_out: usize,
}

/// Groups the tensors into Linear layers in module order and checks that
/// their shapes chain.
fn linear_layers(file: &Reader) -> Result<Vec<LinearLayer>> {
    let by_index = modules(file)?;
    let entries = file.entries();
    let mut layers: Vec<LinearLayer> = Vec::with_capacity(by_index.len());
    for (index, slot) in by_index {
        let (Some(w), Some(b)) = slot else {
            return Err(file.bad(
                FilePosition::Byte(8),
                format!(
                    "module {index} has a {} but no {} (Linear layers without bias are not supported)",
                    if slot.0.is_some() { "weight" } else { "bias" },
                    if slot.0.is_some() { "bias" } else { "weight" },
                ),
            ));
        };
        let (we, be) = (&entries[w], &entries[b]);
        for e in [we, be] {
            if !e.dtype.is_float() {
                return Err(file.bad(
                    FilePosition::Tensor(e.name.clone()),
                    format!(
                        "dtype {} cannot hold Linear parameters: expected F16, BF16, F32 or F64",
                        e.dtype.name()
                    ),
                ));
            }
        }
        let &[n_out, n_in] = we.shape.as_slice() else {
            return Err(file.bad(
                FilePosition::Tensor(we.name.clone()),
                format!(
                    "a Linear weight must be 2-D (out, in), found shape {:?}",
                    we.shape
                ),
            ));
        };
        if be.shape != [n_out] {
            return Err(file.bad(
                FilePosition::Tensor(be.name.clone()),
                format!(
                    "bias shape {:?} does not fit weight shape {:?}",
                    be.shape, we.shape
                ),
            ));
        }
        if let Some(prev) = layers.last()
            && prev.n_out != n_in
        {
            return Err(file.bad(
                FilePosition::Tensor(we.name.clone()),
                format!(
                    "weight shape {:?} takes {n_in} inputs but the layer before has {} outputs",
                    we.shape, prev.n_out
                ),
            ));
        }
        if n_in == 0 || n_out == 0 {
            return Err(file.bad(
                FilePosition::Tensor(we.name.clone()),
                format!("a layer of shape {:?} has no units", we.shape),
            ));
        }
        layers.push(LinearLayer {
            weight: w,
            bias: b,
            n_in,
            n_out,
        });
    }
    Ok(layers)
}

/// Entry indices of the weight and the bias of each Sequential module index.
type Modules = BTreeMap<u64, (Option<usize>, Option<usize>)>;

/// Sorts the tensors by module from their names, `{prefix}{index}.weight`
/// and `{prefix}{index}.bias` with one common prefix.
fn modules(file: &Reader) -> Result<Modules> {
    let mut prefix: Option<&str> = None;
    let mut by_index = Modules::new();
    for (i, e) in file.entries().iter().enumerate() {
        let unexpected = || {
            file.bad(
                FilePosition::Tensor(e.name.clone()),
                "expected only `{i}.weight` and `{i}.bias` tensors of Linear layers in an \
                 nn.Sequential",
            )
        };
        let (module, kind) = e.name.rsplit_once('.').ok_or_else(unexpected)?;
        let (pre, index) = match module.rsplit_once('.') {
            Some((p, i)) => (&e.name[..p.len() + 1], i),
            None => ("", module),
        };
        let index: u64 = index.parse().map_err(|_| unexpected())?;
        if *prefix.get_or_insert(pre) != pre {
            return Err(file.bad(
                FilePosition::Tensor(e.name.clone()),
                format!(
                    "tensor names mix the prefixes {:?} and {pre:?}",
                    prefix.unwrap_or("")
                ),
            ));
        }
        let slot = by_index.entry(index).or_default();
        match kind {
            "weight" if slot.0.is_none() => slot.0 = Some(i),
            "bias" if slot.1.is_none() => slot.1 = Some(i),
            _ => return Err(unexpected()),
        }
    }
    if by_index.is_empty() {
        return Err(file.bad(FilePosition::Byte(8), "the file holds no tensors"));
    }
    Ok(by_index)
}

/// Reads the tensors into the flat parameter vector (W⁽¹⁾, b⁽¹⁾, W⁽²⁾, ...).
fn read_params<S: Scalar>(file: &mut Reader, layers: &[LinearLayer]) -> Result<Vec<S>> {
    // Destination offset of every tensor in the flat vector; the sizes
    // were checked against the file, so n_params is bounded by it.
    let mut dest = vec![usize::MAX; file.entries().len()];
    let mut at = 0;
    for l in layers {
        dest[l.weight] = at;
        at += l.n_out * l.n_in;
        dest[l.bias] = at;
        at += l.n_out;
    }
    let mut params = vec![S::zero(); at];
    file.read_into(&dest, &mut params)?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use std::path::PathBuf;

    fn net<S: Scalar>() -> Network<S> {
        Network::<S>::builder(3)
            .hidden(4, Activation::Tanh)
            .hidden(2, Activation::Relu)
            .output(2, Loss::CategoricalCrossEntropy)
            .bias_init(crate::BiasInit::Gaussian)
            .seed(5)
            .build()
            .unwrap()
    }

    /// A hand-made file: header JSON text and data bytes.
    fn raw(dir: &tempfile::TempDir, header: &str, data: &[u8]) -> PathBuf {
        let p = dir.path().join("h.safetensors");
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend(header.as_bytes());
        b.extend(data);
        std::fs::write(&p, b).unwrap();
        p
    }

    fn err_of(p: &Path) -> Error {
        SavedModel::<f32>::load_with(
            p,
            &LoadOptions::new()
                .loss(Loss::SquaredError)
                .activations(vec![]),
        )
        .unwrap_err()
    }

    #[test]
    fn feature_names_and_target_column_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let bare = SavedModel::new(net::<f32>());
        bare.save(&p).unwrap();
        let back = SavedModel::<f32>::load(&p).unwrap();
        assert_eq!((back.feature_names, back.target_column), (None, None));
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let m = bare
            .with_feature_names(names.clone())
            .unwrap()
            .with_target_column("label".into());
        m.save(&p).unwrap();
        let back = SavedModel::<f32>::load(&p).unwrap();
        assert_eq!(back.feature_names, Some(names));
        assert_eq!(back.target_column.as_deref(), Some("label"));
        assert!(matches!(
            SavedModel::new(net::<f32>()).with_feature_names(vec!["a".into()]),
            Err(Error::InputWidth {
                got: 1,
                expected: 3
            })
        ));
    }

    #[test]
    fn round_trip_f32_f64_and_cross_types() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let m32 = SavedModel::new(net::<f32>());
        m32.save(&p).unwrap();
        assert_eq!(SavedModel::<f32>::load(&p).unwrap(), m32);
        // f32 widens to f64 exactly.
        let wide = SavedModel::<f64>::load(&p).unwrap();
        for (a, b) in wide.network.params().iter().zip(m32.network.params()) {
            assert_eq!(*a, f64::from(*b));
        }
        let m64 = SavedModel::new(net::<f64>())
            .with_class_labels(vec!["a".into(), "b".into()])
            .unwrap()
            .with_scaler(
                Scaler::fit(
                    Scaling::Standard,
                    array![[1.0f64, 2.0, 3.0], [0.1, 0.7, 1e-3]].view(),
                )
                .unwrap(),
            )
            .unwrap();
        m64.save(&p).unwrap();
        assert_eq!(
            SavedModel::<f64>::load(&p).unwrap(),
            m64,
            "f64 and JSON stats are exact"
        );
    }

    #[test]
    fn header_is_padded_and_names_follow_sequential() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        SavedModel::new(net::<f32>()).save(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let h: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(h["0.weight"]["shape"], json!([4, 3]));
        assert_eq!(h["2.weight"]["shape"], json!([2, 4]));
        assert_eq!(h["4.bias"]["shape"], json!([2]));
        assert_eq!(h["__metadata__"]["sizes"], json!("[3,4,2,2]"));
        assert_eq!(
            h["__metadata__"]["torch_modules"],
            json!(
                r#"["Linear(3, 4)","Tanh()","Linear(4, 2)","ReLU()","Linear(2, 2)","Softmax(dim=1)"]"#
            )
        );
    }

    #[test]
    fn dropout_is_recorded_and_shifts_the_module_indices() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let with = Network::<f32>::builder(3)
            .layer(crate::Dense::new(4, Activation::Tanh).dropout(0.25))
            .layer(crate::Dense::new(2, Activation::Relu))
            .output(2, Loss::CategoricalCrossEntropy)
            .seed(5)
            .build()
            .unwrap();
        let m = SavedModel::new(with);
        m.save(&p).unwrap();
        let back = SavedModel::<f32>::load(&p).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.network.dropout(), &[0.25, 0.0]);
        let bytes = std::fs::read(&p).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let h: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(h["0.weight"]["shape"], json!([4, 3]));
        assert_eq!(h["3.weight"]["shape"], json!([2, 4]));
        assert_eq!(h["5.bias"]["shape"], json!([2]));
        assert_eq!(h["__metadata__"]["dropout"], json!("[0.25,0.0]"));
        assert_eq!(
            h["__metadata__"]["torch_modules"],
            json!(
                r#"["Linear(3, 4)","Tanh()","Dropout(p=0.25)","Linear(4, 2)","ReLU()","Linear(2, 2)","Softmax(dim=1)"]"#
            )
        );
        // Without dropout nothing moves and the key is left out.
        SavedModel::new(net::<f32>()).save(&p).unwrap();
        assert_eq!(
            SavedModel::<f32>::load(&p).unwrap().network.dropout(),
            &[0.0, 0.0]
        );
        let bytes = std::fs::read(&p).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let h: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert!(h["__metadata__"].get("dropout").is_none());
    }

    #[test]
    fn every_truncation_and_byte_flip_is_an_error_or_a_valid_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        SavedModel::new(net::<f32>()).save(&p).unwrap();
        let good = std::fs::read(&p).unwrap();
        let q = dir.path().join("cut.safetensors");
        for len in 0..good.len() {
            std::fs::write(&q, &good[..len]).unwrap();
            assert!(
                SavedModel::<f32>::load(&q).is_err(),
                "truncated to {len} bytes"
            );
        }
        // Flipping any header byte must not panic (most give errors; a flip
        // inside padding or a digit of a float may still load).
        let n = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        for i in 0..n {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            std::fs::write(&q, &bad).unwrap();
            let _ = SavedModel::<f32>::load(&q);
        }
    }

    #[test]
    fn hostile_headers() {
        let dir = tempfile::tempdir().unwrap();
        // Header length u64::MAX.
        let p = dir.path().join("huge");
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend(b"{}");
        std::fs::write(&p, &b).unwrap();
        assert!(err_of(&p).to_string().contains("header length"));

        let w = |shape: &str, off: &str| {
            format!(
                r#"{{"0.weight":{{"dtype":"F32","shape":{shape},"data_offsets":{off}}},"0.bias":{{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}}}"#
            )
        };
        let data = [0u8; 12];
        let cases = [
            // Shape that needs more bytes than its offsets hold.
            (w("[1,4]", "[0,8]"), "needs 16 bytes"),
            // Shape whose byte count overflows u64.
            (w("[4294967296,4294967296,4294967296]", "[0,8]"), "too large"),
            // Offsets past the data section.
            (w("[1,2]", "[0,800]"), "within"),
            // Offsets that overlap the bias.
            (
                r#"{"0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#.into(),
                "overlap",
            ),
            // A gap.
            (
                r#"{"0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#.into(),
                "belong to no tensor",
            ),
            (w("[1,2]", "[0,8]").replace("\"F32\",\"shape\":[1,2]", "\"I32\",\"shape\":[1,2]"), "dtype I32 cannot"),
            (w("[1,2]", "[0,8]").replace("\"F32\",\"shape\":[1,2]", "\"X9\",\"shape\":[1,2]"), "unknown dtype"),
            (w("[1,2]", "[0,8]").replace("[1,2]", "[2]"), "2-D"),
            (w("[2,1]", "[0,8]"), "bias shape"),
            (w("[1,2]", "[0,8]").replace("0.weight", "0.running_mean"), "expected only"),
            (w("[1,2]", "[0,8]").replace("0.weight", "1.weight"), "no weight"),
            ("[1,2,3]".into(), "not a JSON object"),
            ("{\"a\":".into(), "not valid JSON"),
            (w("[1,2]", "[0,-8]"), "integers"),
        ];
        for (header, want) in cases {
            let p = raw(&dir, &header, &data);
            let err = err_of(&p);
            assert!(matches!(err, Error::Malformed { .. }), "{header}: {err}");
            assert!(
                err.to_string().contains(want),
                "{header}: wanted {want:?}, got {err}"
            );
        }
        // The good version of the same file loads.
        let p = raw(&dir, &w("[1,2]", "[0,8]"), &data);
        let m =
            SavedModel::<f32>::load_with(&p, &LoadOptions::new().loss(Loss::SquaredError)).unwrap();
        assert_eq!(m.network.sizes(), &[2, 1]);
        // Trailing bytes after the last tensor.
        let p = raw(&dir, &w("[1,2]", "[0,8]"), &[0u8; 13]);
        assert!(err_of(&p).to_string().contains("cover 12"));
        // NaN parameters.
        let mut nan = [0u8; 12];
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        let p = raw(&dir, &w("[1,2]", "[0,8]"), &nan);
        assert!(matches!(err_of(&p), Error::NonFinite { .. }));
    }

    #[test]
    fn torch_style_files_need_options() {
        let dir = tempfile::tempdir().unwrap();
        // Two Linear layers at modules 0 and 3 (a Dropout at 2), prefixed.
        let h = r#"{"net.0.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"net.0.bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"net.3.weight":{"dtype":"F64","shape":[1,2],"data_offsets":[16,32]},"net.3.bias":{"dtype":"F64","shape":[1],"data_offsets":[32,40]}}"#;
        let mut data = Vec::new();
        for v in [1.0f32, -1.0, 0.5, 0.5] {
            data.extend(v.to_le_bytes());
        }
        for v in [2.0f64, 3.0, -1.0] {
            data.extend(v.to_le_bytes());
        }
        let p = raw(&dir, h, &data);
        let err = SavedModel::<f32>::load(&p).unwrap_err();
        assert!(
            err.to_string().contains("`activations` metadata key"),
            "{err}"
        );
        let opts = LoadOptions::new().activations(vec![Activation::Relu]);
        let err = SavedModel::<f32>::load_with(&p, &opts).unwrap_err();
        assert!(err.to_string().contains("`loss` metadata key"), "{err}");
        let opts = opts.loss(Loss::SquaredError);
        let m = SavedModel::<f32>::load_with(&p, &opts).unwrap();
        assert_eq!(m.network.sizes(), &[1, 2, 1]);
        // x = 2: hidden relu(2·[1, −1] + 0.5) = [2.5, 0]; out = 2·2.5 + 3·0 − 1 = 4.
        assert_eq!(m.predict(array![[2.0f32]].view()).unwrap(), array![[4.0]]);
        let wrong = opts.clone().sizes(vec![1, 3, 1]);
        assert!(matches!(
            SavedModel::<f32>::load_with(&p, &wrong),
            Err(Error::ModelMismatch { .. })
        ));
    }

    #[test]
    fn metadata_and_options_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        SavedModel::new(net::<f32>()).save(&p).unwrap();
        let opts = LoadOptions::new().loss(Loss::SquaredError);
        let err = SavedModel::<f32>::load_with(&p, &opts).unwrap_err();
        assert!(matches!(err, Error::ModelMismatch { .. }), "{err}");
        let opts = LoadOptions::new().loss(Loss::CategoricalCrossEntropy);
        assert!(SavedModel::<f32>::load_with(&p, &opts).is_ok());
    }

    #[test]
    fn labels_and_scaler_must_fit() {
        let m = SavedModel::new(net::<f32>());
        assert!(m.clone().with_class_labels(vec!["a".into()]).is_err());
        let s = Scaler::fit(Scaling::MinMax, array![[1.0f32, 2.0]].view()).unwrap();
        assert!(matches!(
            m.with_scaler(s),
            Err(Error::InputWidth {
                got: 2,
                expected: 3
            })
        ));
        let bin = Network::<f32>::builder(1)
            .output(1, Loss::BinaryCrossEntropy)
            .build()
            .unwrap();
        assert!(
            SavedModel::new(bin)
                .with_class_labels(vec!["neg".into(), "pos".into()])
                .is_ok()
        );
    }

    #[test]
    fn one_activation_for_every_hidden_layer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let two_relu = Network::<f32>::builder(3)
            .hidden(4, Activation::Relu)
            .hidden(2, Activation::Relu)
            .output(2, Loss::CategoricalCrossEntropy)
            .build()
            .unwrap();
        SavedModel::new(two_relu.clone()).save(&p).unwrap();
        let opts = LoadOptions::new().activation(Activation::Relu);
        assert_eq!(
            SavedModel::<f32>::load_with(&p, &opts).unwrap().network,
            two_relu
        );
        let wrong = LoadOptions::new().activation(Activation::Tanh);
        assert!(matches!(
            SavedModel::<f32>::load_with(&p, &wrong),
            Err(Error::ModelMismatch { .. })
        ));
    }

    #[test]
    fn scaler_formula_is_written_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let x = array![[0.0f32, 1.0, 2.0], [4.0, 5.0, 6.0]];
        let m = SavedModel::new(net::<f32>())
            .with_scaler(Scaler::fit(Scaling::MinMax, x.view()).unwrap())
            .unwrap();
        assert_eq!(m.metadata()["scaler_formula"], json!("(x - shift) / scale"));
        assert!(
            !SavedModel::new(net::<f32>())
                .metadata()
                .contains_key("scaler_formula")
        );
        m.save(&p).unwrap();
        // A file that claims another formula is refused, not misread.
        let mut bytes = std::fs::read(&p).unwrap();
        let formula = b"(x - shift) / scale";
        let at = bytes
            .windows(formula.len())
            .position(|w| w == formula)
            .unwrap();
        bytes[at + 12] = b'*';
        std::fs::write(&p, &bytes).unwrap();
        let err = SavedModel::<f32>::load(&p).unwrap_err();
        assert!(err.to_string().contains("scaler_formula"), "{err}");
    }

    /// The load error of the model file `bytes`, written to `p` with the
    /// first `from` replaced by `to` (of the same length).
    fn load_error_after_edit(p: &Path, bytes: &[u8], from: &[u8], to: &[u8]) -> String {
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut b = bytes.to_vec();
        b[at..at + from.len()].copy_from_slice(to);
        std::fs::write(p, &b).unwrap();
        SavedModel::<f32>::load(p).unwrap_err().to_string()
    }

    #[test]
    fn sample_standardization_is_saved_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let x = array![[0.0f32, 1.0, 5.0], [4.0, 5.0, 9.0], [1.0, 1.0, 2.0]];
        let scaler = Scaler::fit_standardized_samples(Scaling::Standard, x.view()).unwrap();
        let m = SavedModel::new(net::<f32>()).with_scaler(scaler).unwrap();
        let meta = m.metadata();
        assert_eq!(meta["scaler_formula"], json!(SAMPLE_SCALER_FORMULA));
        let v: Value = serde_json::from_str(meta["scaler"].as_str().unwrap()).unwrap();
        assert_eq!(v["standardize_samples"], json!(true));
        m.save(&p).unwrap();
        let back = SavedModel::<f32>::load(&p).unwrap();
        assert_eq!(back, m);
        assert!(back.scaler.as_ref().unwrap().standardizes_samples());
        assert_eq!(
            back.predict(x.view()).unwrap(),
            m.predict(x.view()).unwrap()
        );

        // The flag and the formula must agree, and the flag be a boolean.
        let bytes = std::fs::read(&p).unwrap();
        let edit = |from: &[u8], to: &[u8]| load_error_after_edit(&p, &bytes, from, to);
        let err = edit(
            br#"\"standardize_samples\":true"#,
            br#"\"standardize_samples\":1234"#,
        );
        assert!(err.contains("not true or false"), "{err}");
        let err = edit(
            br#"\"standardize_samples\":true"#,
            br#"\"standardize_sample_\":true"#,
        );
        assert!(err.contains("scaler_formula"), "{err}");
    }

    #[test]
    fn power_is_saved_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let x = array![[0.0f32, 1.0, 5.0], [4.0, 5.0, 9.0], [1.0, 1.0, 2.0]];
        let scaler = Scaler::builder(Scaling::Standard)
            .power(0.6)
            .standardize_samples(true)
            .fit(x.view())
            .unwrap();
        let m = SavedModel::new(net::<f32>()).with_scaler(scaler).unwrap();
        let meta = m.metadata();
        assert_eq!(
            meta["scaler_formula"],
            json!(format!("{SAMPLE_SCALER_FORMULA}, x = raw^0.6 (raw >= 0)"))
        );
        let v: Value = serde_json::from_str(meta["scaler"].as_str().unwrap()).unwrap();
        assert_eq!(v["power"], json!(0.6));
        m.save(&p).unwrap();
        let back = SavedModel::<f32>::load(&p).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.scaler.as_ref().unwrap().power(), Some(0.6));
        assert_eq!(
            back.predict(x.view()).unwrap(),
            m.predict(x.view()).unwrap()
        );
        // predict refuses what the power cannot take.
        let err = back
            .predict(array![[0.0f32, -1.0, 2.0]].view())
            .unwrap_err();
        assert!(matches!(err, Error::OutOfDomain { col: 1, .. }), "{err:?}");

        // The power must be a valid number and agree with the formula.
        let bytes = std::fs::read(&p).unwrap();
        let edit = |from: &[u8], to: &[u8]| load_error_after_edit(&p, &bytes, from, to);
        let err = edit(br#"\"power\":0.6"#, br#"\"power\":[1]"#);
        assert!(err.contains("not a number"), "{err}");
        let err = edit(br#"\"power\":0.6"#, br#"\"power\":0.0"#);
        assert!(err.contains("power"), "{err}");
        let err = edit(br#"\"power\":0.6"#, br#"\"power\":0.7"#);
        assert!(err.contains("scaler_formula"), "{err}");
        let err = edit(br#"\"power\":0.6"#, br#"\"powe_\":0.6"#);
        assert!(err.contains("scaler_formula"), "{err}");
    }
}
