//! The command line, as clap types. Every option of `train` that is not
//! given falls back to the Fashion-MNIST recipe ([`backprop::recipes`]),
//! and `--help` shows the recipe's values ([`command`]).

use std::path::PathBuf;

use backprop::preprocess::Scaling;
use backprop::recipes::{self, Recipe};
use backprop::{Activation, Dense, Loss, Monitor, Schedule};
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::solver_flags::SolverFlags;

/// Train, evaluate and run multilayer perceptrons (BLAS-backed backpropagation).
#[derive(Debug, Parser)]
#[command(name = "backprop", version, about, propagate_version = true)]
pub struct Cli {
    /// Threads for the matrix products and elementwise passes (default: the
    /// library's: OPENBLAS_NUM_THREADS, else all cores, for BLAS); at most 4
    /// per core unless BACKPROP_MAX_THREADS allows more.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network; with no data argument, on Fashion-MNIST.
    #[command(allow_negative_numbers = true)]
    Train(Box<TrainArgs>),
    /// Metrics of a saved model on a data set (default: the Fashion-MNIST test set).
    Eval(EvalArgs),
    /// Predictions of a saved model, written to CSV or NPY (by the output's extension).
    Predict(PredictArgs),
    /// Check backpropagation against finite differences on a small random network (f64).
    #[command(allow_negative_numbers = true)]
    Gradcheck(GradcheckArgs),
    /// Architecture and metadata of a saved model, and its tensors (names,
    /// shapes, dtypes) for any safetensors file.
    Info(InfoArgs),
    /// Write a saved model (or a PyTorch state_dict, with --activation and
    /// --loss) as ONNX.
    ExportOnnx(ExportOnnxArgs),
}

/// The command line, parsed, with the options `train` was given recorded
/// (so that an option the chosen method cannot use is an error, not
/// ignored).
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Train(a), Some(("train", m))) = (&mut cli.command, matches.subcommand()) {
        a.given = m
            .ids()
            .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.to_string())
            .collect();
    }
    Ok(cli)
}

/// The command line, with the Fashion-MNIST recipe's values as the
/// defaults `train --help` shows.
pub fn command() -> clap::Command {
    let r = recipes::fashion_mnist();
    Cli::command().mut_subcommand("train", |mut c| {
        for (id, value) in recipe_defaults(&r) {
            c = c.mut_arg(id, |a| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                a.help(format!("{help} [default: {value}]"))
            });
        }
        c
    })
}

/// (argument id, default shown) for each `train` option the recipe sets.
fn recipe_defaults(r: &Recipe) -> Vec<(&'static str, String)> {
    let t = &r.trainer;
    let name = |v: Option<clap::builder::PossibleValue>| {
        v.map_or(String::new(), |v| v.get_name().to_string())
    };
    let layers: Vec<String> = r.hidden.iter().map(|d| d.units.to_string()).collect();
    let mut out = vec![
        ("layers", layers.join(",")),
        ("epochs", t.epochs.to_string()),
        ("lambda", t.lambda.to_string()),
        ("seed", t.seed.to_string()),
        ("optimizer", t.solver.unwrap_or_default().name().to_string()),
        (
            "schedule",
            name(ScheduleName::of(&t.schedule).to_possible_value()),
        ),
    ];
    if let Some(g) = r.hidden.first().map(|d| d.activation) {
        out.push(("activation", g.to_string()));
    }
    if let Some(lr) = t.learning_rate {
        out.push(("learning_rate", lr.to_string()));
    }
    if let Some(b) = t.batch_size {
        out.push(("batch_size", b.to_string()));
    }
    if let Schedule::Cosine { eta_min, .. } = t.schedule {
        out.push((
            "eta_min",
            format!("{eta_min}, or 0 when --lr is at or below it"),
        ));
    }
    let fraction = r.validation_fraction.unwrap_or(0.0);
    out.push(("validation_fraction", fraction.to_string()));
    let rates: Vec<String> = r.hidden.iter().map(|d| d.dropout.to_string()).collect();
    out.push(("dropout", rates.join(",")));
    out.push(("label_smoothing", t.label_smoothing.to_string()));
    // The recipe's augmentation applies to image data only (see
    // `train::augment`); the value comes first, for scripts that read it.
    let shift = t.augment.as_ref().map_or(0, |a| a.max_shift);
    let flip = t.augment.as_ref().is_some_and(|a| a.hflip);
    let images = |on: bool| if on { " on image data" } else { "" };
    out.push(("shift", format!("{shift}{}", images(shift > 0))));
    out.push(("flip", format!("{flip}{}", images(flip))));
    if let Some(c) = t.max_norm {
        out.push(("max_norm", c.to_string()));
    }
    if let Some(es) = t.early_stopping {
        out.push(("patience", es.patience.to_string()));
        out.push((
            "monitor",
            name(MonitorName::of(es.monitor).to_possible_value()),
        ));
    }
    out.push((
        "scaling",
        name(ScalingName::of(r.scaling).to_possible_value()),
    ));
    let samples = r.standardize_samples;
    out.push((
        "standardize_samples",
        format!("{samples}{}", images(samples)),
    ));
    out.push((
        "input_power",
        match r.input_power {
            Some(p) => format!("{p} on image data with no negative values, else 1"),
            None => "1".into(),
        },
    ));
    out
}

/// File formats for data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Guess from the file name (.csv/.tsv/.txt, optionally .gz, is CSV;
    /// .npy is NPY; .npz is NPZ), else from the file's first bytes.
    Auto,
    /// Comma- (or --delimiter-) separated values.
    Csv,
    /// IDX (MNIST layout), raw or gzip.
    Idx,
    /// NumPy .npy arrays.
    Npy,
    /// NumPy .npz archives (numpy.savez).
    Npz,
}

/// How a CSV file is read and where targets come from.
#[derive(Debug, Clone, Args)]
pub struct DataOptions {
    /// Format of the data files.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,

    /// CSV field separator (one ASCII character; `tab` for tabs) [default:
    /// tab for .tsv, else the most frequent of `,` `;` tab `|` on the first
    /// line, `,` on a tie].
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The CSV files have no header line.
    #[arg(long)]
    pub no_header: bool,

    /// CSV target column: last, first, a 0-based index, a header name, or
    /// none [default: the model's for eval; else a column named label,
    /// target, class or y (any case), else the last].
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,

    /// Directory holding the four Fashion-MNIST (or MNIST) IDX gz files,
    /// used when no data file is given [env: BACKPROP_FASHION_MNIST_DIR]
    /// [default: /usr/share/datasets/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// What the targets are, when the loss does not say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Guess from the targets: integers or strings are classes, other
    /// numbers are regression values.
    Auto,
    /// Class labels.
    Classify,
    /// Real values.
    Regress,
}

/// Learning-rate schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleName {
    /// η₀ throughout.
    Constant,
    /// η₀·γ^⌊e/s⌋ (--gamma, --step-size).
    Step,
    /// η₀·γᵉ (--gamma).
    Exponential,
    /// Cosine annealing to --eta-min over the epochs.
    Cosine,
    /// η₀/(t+1)^p, t in samples (--power-t).
    Invscaling,
    /// Cut by --plateau-factor when the loss stalls for --plateau-patience epochs.
    Plateau,
}

impl ScheduleName {
    /// The ids of the options this schedule reads.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            ScheduleName::Constant => &[],
            ScheduleName::Step => &["gamma", "step_size"],
            ScheduleName::Exponential => &["gamma"],
            ScheduleName::Cosine => &["eta_min"],
            ScheduleName::Invscaling => &["power_t"],
            ScheduleName::Plateau => &["plateau_factor", "plateau_patience"],
        }
    }

    /// The name of a schedule.
    pub fn of(s: &Schedule) -> Self {
        match s {
            Schedule::Constant => ScheduleName::Constant,
            Schedule::Step { .. } => ScheduleName::Step,
            Schedule::Exponential { .. } => ScheduleName::Exponential,
            Schedule::Cosine { .. } => ScheduleName::Cosine,
            Schedule::InvScaling { .. } => ScheduleName::Invscaling,
            Schedule::ReduceOnPlateau { .. } => ScheduleName::Plateau,
        }
    }
}

/// Feature scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalingName {
    /// Raw features.
    None,
    /// Each feature to [0, 1] on the training rows.
    Minmax,
    /// Each feature to mean 0, std 1 on the training rows.
    Standard,
}

impl ScalingName {
    /// The library's scaling (`None` for raw features).
    pub fn scaling(self) -> Option<Scaling> {
        match self {
            ScalingName::None => None,
            ScalingName::Minmax => Some(Scaling::MinMax),
            ScalingName::Standard => Some(Scaling::Standard),
        }
    }

    /// The name of a scaling.
    pub fn of(s: Option<Scaling>) -> Self {
        match s {
            None => ScalingName::None,
            Some(Scaling::MinMax) => ScalingName::Minmax,
            Some(Scaling::Standard) => ScalingName::Standard,
        }
    }
}

/// What early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MonitorName {
    /// Validation loss.
    ValLoss,
    /// Validation accuracy (R² for regression).
    ValMetric,
    /// Training loss.
    TrainLoss,
}

impl MonitorName {
    /// The library's monitor.
    pub fn monitor(self) -> Monitor {
        match self {
            MonitorName::ValLoss => Monitor::ValLoss,
            MonitorName::ValMetric => Monitor::ValMetric,
            MonitorName::TrainLoss => Monitor::TrainLoss,
        }
    }

    /// The name of a monitor.
    pub fn of(m: Monitor) -> Self {
        match m {
            Monitor::ValLoss => MonitorName::ValLoss,
            Monitor::ValMetric => MonitorName::ValMetric,
            Monitor::TrainLoss => MonitorName::TrainLoss,
        }
    }
}

/// `backprop train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: a CSV file (features and target), or an IDX / NPY
    /// feature file with --train-targets. Default: Fashion-MNIST.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Targets for an IDX or NPY --train file.
    #[arg(long, value_name = "FILE")]
    pub train_targets: Option<PathBuf>,
    /// Test data, as --train (reported, never trained on).
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Targets for an IDX or NPY --test file.
    #[arg(long, value_name = "FILE")]
    pub test_targets: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataOptions,
    /// Classification or regression, when --loss is not given.
    #[arg(long, value_enum, default_value_t = Task::Auto)]
    pub task: Task,

    /// Hidden layer widths, input side first, e.g. 256,128 (`none` for
    /// none).
    #[arg(long, value_name = "N,N,...", value_parser = parse_layers)]
    pub layers: Option<Layers>,
    /// Hidden activation: identity, logistic, tanh, relu.
    #[arg(long)]
    pub activation: Option<Activation>,
    /// Loss: squared-error, binary-cross-entropy, categorical-cross-entropy
    /// [default: inferred from the targets].
    #[arg(long)]
    pub loss: Option<Loss>,

    /// Optimizer.
    #[arg(long, value_parser = crate::solver_flags::optimizer_names())]
    pub optimizer: Option<String>,
    /// Initial learning rate η₀ (mini-batch optimizers).
    #[arg(long = "lr", value_name = "ETA")]
    pub learning_rate: Option<f64>,
    #[command(flatten)]
    pub solver_settings: SolverFlags,

    /// Learning-rate schedule (mini-batch optimizers).
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleName>,
    /// Factor γ of the step and exponential schedules.
    #[arg(long, default_value_t = 0.5)]
    pub gamma: f64,
    /// Epochs between cuts of the step schedule.
    #[arg(long, default_value_t = 10)]
    pub step_size: usize,
    /// Final η of the cosine schedule.
    #[arg(long)]
    pub eta_min: Option<f64>,
    /// Exponent of the invscaling schedule.
    #[arg(long, default_value_t = 0.5)]
    pub power_t: f64,
    /// Factor of the plateau schedule.
    #[arg(long, default_value_t = 0.1)]
    pub plateau_factor: f64,
    /// Window (epochs) of the plateau schedule.
    #[arg(long, default_value_t = 10)]
    pub plateau_patience: usize,

    /// Maximum number of epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Rows per mini-batch (mini-batch optimizers).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// L2 coefficient λ of (λ/2m)·ΣW², m the batch's rows.
    #[arg(long = "lambda")]
    pub lambda: Option<f64>,
    /// Rescale the gradient to this norm when it is longer (mini-batch
    /// optimizers).
    #[arg(long)]
    pub clip_norm: Option<f64>,
    /// Dropout probability of the hidden layers in training: one value for
    /// all, or one per --layers entry (e.g. 0.2,0.1); 0 for none.
    #[arg(long, value_name = "P[,P,...]", value_parser = parse_dropout)]
    pub dropout: Option<Dropout>,
    /// Label smoothing ε of a cross-entropy head: targets (1 − ε)·y + ε/K.
    #[arg(long, value_name = "EPS")]
    pub label_smoothing: Option<f64>,
    /// Max-norm constraint: after each step, rescale every unit's incoming
    /// weights to at most this norm (mini-batch optimizers).
    #[arg(long, value_name = "C")]
    pub max_norm: Option<f64>,
    /// Image augmentation: shift each training image by up to this many
    /// pixels each way, uncovered pixels filled with a scaled raw 0
    /// (mini-batch optimizers; needs an image shape; 0 for none).
    #[arg(long, value_name = "PIXELS")]
    pub shift: Option<usize>,
    /// Image augmentation: mirror each training image left-right with
    /// probability 1/2 (`--flip` or `--flip true`; `--flip false` for none).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub flip: Option<bool>,
    /// Shape of each sample as an image, HxW (e.g. 28x28), for CSV and
    /// flat NPY data; IDX and m x h x w NPY files give it themselves.
    #[arg(long, value_name = "HxW", value_parser = parse_image_shape)]
    pub image_shape: Option<(usize, usize)>,
    /// Seed of initialization, batch order and hold-out split.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of the training data held out for validation (0 for none).
    #[arg(long)]
    pub validation_fraction: Option<f64>,
    /// Early stopping: epochs without improvement (0 turns it off; off
    /// without a validation set unless given).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Early stopping: smallest change that counts as an improvement.
    #[arg(long, default_value_t = 0.0)]
    pub min_delta: f64,
    /// What early stopping watches.
    #[arg(long, value_enum)]
    pub monitor: Option<MonitorName>,
    /// Train this many networks (seeds seed, seed+1, ...) and keep the best.
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Feature scaling, fitted on the training rows.
    #[arg(long, value_enum)]
    pub scaling: Option<ScalingName>,
    /// Standardize each sample (mean 0, std 1 over its own features) before
    /// --scaling's per-feature map, in training and whenever the model is
    /// used: removes each image's brightness and contrast
    /// (`--standardize-samples` or `--standardize-samples true`; `false` for
    /// none).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub standardize_samples: Option<bool>,
    /// Raise each raw feature to the power P (> 0; features must be >= 0)
    /// before the other scaling steps, in training and whenever the model is
    /// used: a gamma correction of pixel intensities (1 for none).
    #[arg(long, value_name = "P")]
    pub input_power: Option<f64>,

    /// Where to write the model (safetensors); the history (.history.csv) and
    /// learning curves (.curves.svg) go next to it.
    #[arg(short, long, default_value = "model.safetensors", value_name = "FILE")]
    pub output: PathBuf,
    /// Also export the model to ONNX.
    #[arg(long, value_name = "FILE")]
    pub onnx: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Save the run's whole state (network, optimizer, schedule, shuffling
    /// stream, early stopping, history) every N epochs to --checkpoint,
    /// replacing the previous one atomically, so that --resume can go on.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// The checkpoint file [default: the --output path with the extension
    /// .ckpt].
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Go on with the run saved in this checkpoint, up to --epochs: given
    /// the same data and settings, the model and history equal those of an
    /// uninterrupted run (bit for bit at the same thread count).
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// The ids of the options given on the command line (see [`parse`]).
    #[arg(skip)]
    pub given: Vec<String>,
}

impl TrainArgs {
    /// True when the option with this id was given on the command line.
    pub fn given(&self, id: &str) -> bool {
        self.given.iter().any(|g| g == id)
    }
}

/// How a model file is read: what a file without this crate's metadata
/// (a PyTorch `state_dict`) does not say, and whether its scaler is used.
#[derive(Debug, Clone, Args)]
pub struct ModelOptions {
    /// Hidden activation for a model file without metadata (e.g. saved by
    /// PyTorch): one name for every hidden layer, or one per hidden layer
    /// separated by commas (identity, logistic, tanh, relu). Checked against
    /// the file's metadata when it has some.
    #[arg(long, value_name = "NAME[,NAME...]", value_parser = parse_activations)]
    pub activation: Option<Activations>,
    /// Output head for a model file without metadata: categorical-cross-entropy
    /// (softmax, alias softmax-ce), binary-cross-entropy (sigmoid, alias
    /// sigmoid-bce) or squared-error (identity). Checked against the file's
    /// metadata when it has some.
    #[arg(long, value_name = "NAME")]
    pub loss: Option<Loss>,
    /// Feature scaling: `file` applies the scaler saved in the model (none
    /// when it has none); `none` passes raw features to the network.
    #[arg(long, value_enum, default_value_t = ModelScaling::File)]
    pub scaling: ModelScaling,
}

/// Which scaler a saved model is used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelScaling {
    /// The scaler saved in the model file, if any.
    File,
    /// None: raw features.
    None,
}

/// Hidden activations, as given to --activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activations(pub Vec<Activation>);

fn parse_activations(s: &str) -> Result<Activations, String> {
    s.split(',')
        .map(|g| g.trim().parse::<Activation>())
        .collect::<Result<Vec<_>, _>>()
        .map(Activations)
}

/// `backprop eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model (safetensors).
    pub model: PathBuf,
    #[command(flatten)]
    pub model_options: ModelOptions,
    /// Data: a CSV file, or an IDX / NPY feature file with --targets.
    /// Default: the Fashion-MNIST test set.
    pub data: Option<PathBuf>,
    /// Targets for an IDX or NPY data file.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,
    #[command(flatten)]
    pub options: DataOptions,
}

/// `backprop predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model (safetensors).
    pub model: PathBuf,
    #[command(flatten)]
    pub model_options: ModelOptions,
    /// Features: CSV (every column a feature unless --target is given), IDX
    /// or NPY.
    pub data: PathBuf,
    /// Output: .csv (predicted label and outputs) or .npy (the outputs).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub options: DataOptions,
}

/// `backprop gradcheck`.
#[derive(Debug, Args)]
pub struct GradcheckArgs {
    /// Input features n₀.
    #[arg(long, default_value_t = 4)]
    pub inputs: usize,
    /// Hidden layer widths, e.g. 5,3 (`none` for none).
    #[arg(long, default_value = "5,3", value_parser = parse_layers)]
    pub layers: Layers,
    /// Output units.
    #[arg(long, default_value_t = 3)]
    pub outputs: usize,
    /// Hidden activation.
    #[arg(long, default_value = "tanh")]
    pub activation: Activation,
    /// Loss.
    #[arg(long, default_value = "categorical-cross-entropy")]
    pub loss: Loss,
    /// L2 coefficient λ.
    #[arg(long = "lambda", default_value_t = 0.1)]
    pub lambda: f64,
    /// Samples in the batch.
    #[arg(long, default_value_t = 7)]
    pub samples: usize,
    /// Seed of the network and the data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Finite-difference step ε.
    #[arg(long, default_value_t = 1e-5)]
    pub step: f64,
    /// Largest relative error that passes (exit code 1 above it).
    #[arg(long, default_value_t = 1e-6)]
    pub tolerance: f64,
}

/// `backprop info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The model (safetensors).
    pub model: PathBuf,
    #[command(flatten)]
    pub model_options: ModelOptions,
}

/// `backprop export-onnx`.
#[derive(Debug, Args)]
pub struct ExportOnnxArgs {
    /// The model (safetensors).
    pub model: PathBuf,
    #[command(flatten)]
    pub model_options: ModelOptions,
    /// The ONNX file to write (atomically: a failed export leaves any
    /// previous file intact).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Hidden layer widths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers(pub Vec<usize>);

impl Layers {
    /// The layer specs: one per width, each with activation `g` (what
    /// `--layers` and `--activation` describe together).
    pub fn dense(&self, g: Activation) -> Vec<Dense> {
        self.0.iter().map(|&n| Dense::new(n, g)).collect()
    }
}

/// `--image-shape HxW`: two whole numbers ≥ 1.
fn parse_image_shape(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not an image shape; expected HEIGHTxWIDTH, e.g. 28x28");
    let (h, w) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let (h, w): (usize, usize) = (
        h.trim().parse().map_err(|_| bad())?,
        w.trim().parse().map_err(|_| bad())?,
    );
    if h == 0 || w == 0 {
        return Err(format!(
            "image shape {s}: height and width must be at least 1"
        ));
    }
    Ok((h, w))
}

/// `--dropout`: one rate for every hidden layer, or one per layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout(pub Vec<f64>);

impl Dropout {
    /// The rate of each of `n_layers` hidden layers.
    ///
    /// # Errors
    /// A message when a list's length differs from `n_layers`.
    pub fn per_layer(&self, n_layers: usize) -> Result<Vec<f64>, String> {
        match self.0.as_slice() {
            [p] => Ok(vec![*p; n_layers]),
            list if list.len() == n_layers => Ok(list.to_vec()),
            list => Err(format!(
                "--dropout lists {} rates for {n_layers} hidden layers; give one rate for \
                 all or one per layer",
                list.len()
            )),
        }
    }
}

fn parse_dropout(s: &str) -> Result<Dropout, String> {
    s.split(',')
        .map(|p| {
            let p = p.trim();
            match p.parse::<f64>() {
                Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
                Ok(_) => Err(format!("dropout rate {p} must lie in [0, 1)")),
                Err(_) => Err(format!(
                    "`{p}` is not a dropout rate; expected numbers in [0, 1) separated by commas"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Dropout)
}

fn parse_layers(s: &str) -> Result<Layers, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Ok(Layers(Vec::new()));
    }
    s.split(',')
        .map(|p| {
            let p = p.trim();
            match p.parse::<usize>() {
                Ok(0) => Err("a layer needs at least one unit".to_string()),
                Ok(n) => Ok(n),
                Err(_) => Err(format!(
                    "`{p}` is not a layer width; expected positive integers separated by commas"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Layers)
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("`{s}` is not one ASCII character")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn schedule_options_name_train_arguments() {
        let cmd = command();
        let train = cmd.find_subcommand("train").unwrap();
        for s in ScheduleName::value_variants() {
            for id in s.options() {
                assert!(
                    train.get_arguments().any(|a| a.get_id() == id),
                    "{s:?} reads `{id}`, which is not an option of train"
                );
            }
        }
    }

    #[test]
    fn layers_parse() {
        assert_eq!(parse_layers("256,128").unwrap(), Layers(vec![256, 128]));
        assert_eq!(parse_layers("none").unwrap(), Layers(vec![]));
        assert!(parse_layers("256,0").is_err());
        assert!(parse_layers("a,b").is_err());
    }

    #[test]
    fn activations_parse() {
        assert_eq!(
            parse_activations("relu").unwrap(),
            Activations(vec![Activation::Relu])
        );
        assert_eq!(
            parse_activations("tanh, sigmoid").unwrap(),
            Activations(vec![Activation::Tanh, Activation::Logistic])
        );
        assert!(parse_activations("relu,gelu").is_err());
    }

    #[test]
    fn image_shapes_parse() {
        assert_eq!(parse_image_shape("28x28").unwrap(), (28, 28));
        assert_eq!(parse_image_shape(" 3X5 ").unwrap(), (3, 5));
        for bad in ["28", "0x4", "4x0", "ax4", "4x", "-1x4"] {
            assert!(parse_image_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dropout_parses_one_rate_or_one_per_layer() {
        let one = parse_dropout("0.25").unwrap();
        assert_eq!(one.per_layer(3).unwrap(), vec![0.25; 3]);
        let list = parse_dropout("0.2, 0.1").unwrap();
        assert_eq!(list.per_layer(2).unwrap(), vec![0.2, 0.1]);
        assert!(list.per_layer(3).is_err());
        assert!(parse_dropout("1").is_err());
        assert!(parse_dropout("-0.1").is_err());
        assert!(parse_dropout("x").is_err());
    }

    #[test]
    fn delimiters_parse() {
        assert_eq!(parse_delimiter(";").unwrap(), b';');
        assert_eq!(parse_delimiter("tab").unwrap(), b'\t');
        assert!(parse_delimiter(";;").is_err());
    }
}
