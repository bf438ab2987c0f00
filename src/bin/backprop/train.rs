//! `backprop train`: data in, a trained model, its history and learning
//! curves out. Options not given come from the Fashion-MNIST recipe
//! ([`backprop::recipes::fashion_mnist`]).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use backprop::data::{Dataset, ImageAugment, OwnedDataset, OwnedTargets};
use backprop::io::{SavedModel, TargetColumn};
use backprop::preprocess::{Scaler, Scaling};
use backprop::recipes::{self, Recipe};
use backprop::train::Checkpoints;
use backprop::{
    Activation, Callback, Dense, EarlyStopping, History, Loss, Monitor, Network, NetworkBuilder,
    Schedule, Solver, Trainer,
};
use ndarray::Array2;

use crate::{CliError, cluster};
use clap::ValueEnum;

use crate::args::{Layers, MonitorName, ScheduleName, TrainArgs};
use crate::data::{self, Data, Split, TargetSpec, Targets};
use crate::evaluate::sizes;
use crate::report::{self, Scores};
use crate::{outputs, solver_flags};

/// Targets in the form the network is trained on, plus class indices for
/// accuracy when the task is classification.
struct Prepared {
    x: Array2<f32>,
    y: OwnedTargets<f32>,
    labels: Option<Vec<usize>>,
}

impl Prepared {
    fn dataset(&self) -> Dataset<'_, f32> {
        match &self.y {
            OwnedTargets::Dense(d) => Dataset::new(self.x.view(), d),
            OwnedTargets::Classes(c) => Dataset::new(self.x.view(), c),
        }
    }

    fn score(&self, net: &Network<f32>) -> Result<Scores, CliError> {
        report::score(net, self.x.view(), self.dataset().y, self.labels.as_deref())
    }
}

/// The head (outputs, loss) for these targets.
/// `from` names where the targets were read (file and column).
fn head(y: &Targets, loss: Option<Loss>, from: &str) -> Result<(usize, Loss), CliError> {
    match y {
        Targets::None => Err(CliError(format!(
            "{from}: the training data has no targets; choose the target column with --target"
        ))),
        Targets::Classes { names, .. } => {
            let k = names.len();
            if k < 2 {
                return Err(CliError(format!(
                    "{from}: the training targets hold {k} class(es); a classifier needs at \
                     least 2 (choose the target column with --target, or use --task regress \
                     for real-valued targets)"
                )));
            }
            match loss {
                None if k == 2 => Ok((1, Loss::BinaryCrossEntropy)),
                None | Some(Loss::CategoricalCrossEntropy) => {
                    Ok((k, Loss::CategoricalCrossEntropy))
                }
                Some(Loss::BinaryCrossEntropy) if k == 2 => Ok((1, Loss::BinaryCrossEntropy)),
                Some(Loss::BinaryCrossEntropy) => Err(CliError(format!(
                    "binary-cross-entropy needs 2 classes, the targets hold {k}; use \
                     categorical-cross-entropy"
                ))),
                Some(l) => Ok((k, l)),
            }
        }
        Targets::Values(v) => Ok((v.ncols(), loss.unwrap_or(Loss::SquaredError))),
    }
}

/// Targets as the loss wants them: class indices, a one-hot matrix (squared
/// error on classes) or the values.
fn prepare(d: Data, n_out: usize, loss: Loss) -> Result<Prepared, CliError> {
    let (y, labels) = match d.y {
        Targets::Classes { labels, .. } if loss == Loss::SquaredError => (
            OwnedTargets::Dense(backprop::preprocess::one_hot(&labels, n_out)?),
            Some(labels),
        ),
        Targets::Classes { labels, .. } => (OwnedTargets::Classes(labels.clone()), Some(labels)),
        Targets::Values(v) => (OwnedTargets::Dense(v), None),
        Targets::None => {
            return Err(CliError(
                "the test data has no targets; choose the target column with --target".into(),
            ));
        }
    };
    Ok(Prepared { x: d.x, y, labels })
}

/// Class indices of split targets: the labels, or the hot column of one-hot
/// rows; `None` for regression.
fn labels_of(y: &OwnedTargets<f32>, classify: bool) -> Option<Vec<usize>> {
    match y {
        OwnedTargets::Classes(c) => Some(c.clone()),
        OwnedTargets::Dense(d) if classify => Some(
            d.rows()
                .into_iter()
                .map(|r| r.iter().position(|&v| v == 1.0).unwrap_or(0))
                .collect(),
        ),
        OwnedTargets::Dense(_) => None,
    }
}

/// `x.history.csv` and `x.curves.svg` for the model `x.safetensors`.
pub fn sibling(model: &Path, suffix: &str) -> PathBuf {
    model.with_extension(suffix)
}

pub fn check_dir(path: &Path, flag: &str) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CliError(format!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError(format!(
            "{flag} {} is a directory; give a file name",
            path.display()
        )));
    }
    Ok(())
}

/// The trainer for these arguments: the recipe's, with every option given
/// on top. Returns it with a one-line description.
///
/// The recipe's label smoothing applies to the cross-entropy heads only:
/// `loss` = squared error drops it unless --label-smoothing asks for it
/// (which the trainer then refuses).
fn trainer(a: &TrainArgs, has_val: bool, loss: Loss) -> Result<(Trainer, String), CliError> {
    let recipe = recipes::fashion_mnist();
    let mut t = recipe.trainer.clone();
    let solver = solver_flags::solver(
        a.optimizer.as_deref(),
        &a.solver_settings,
        t.solver.unwrap_or_default(),
    )?;
    t.solver = Some(solver);
    t.epochs = a.epochs.unwrap_or(t.epochs);
    t.lambda = a.lambda.unwrap_or(t.lambda);
    t.seed = a.seed.unwrap_or(t.seed);
    t.restarts = a.restarts;
    t.label_smoothing = match (a.label_smoothing, loss) {
        (Some(eps), _) => eps,
        (None, Loss::SquaredError) => 0.0,
        (None, _) => t.label_smoothing,
    };
    // Set from the data's image shape once it is read (see `augment`).
    t.augment = None;
    t.progress = !a.no_progress && std::io::stderr().is_terminal() && cluster::is_root();
    t.distributed = cluster::distributed();
    let steps = match solver {
        Solver::Lbfgs(_) => full_batch(a, &mut t)?,
        _ => mini_batch(a, &mut t)?,
    };
    let es_text = early_stopping(a, &mut t, has_val)?;
    let mut text = format!(
        "{} {steps}, {} epochs max, lambda {}, seed {}, early stopping {es_text}",
        solver.name(),
        t.epochs,
        t.lambda,
        t.seed,
    );
    if t.label_smoothing > 0.0 {
        text += &format!(", label smoothing {}", t.label_smoothing);
    }
    if let Some(c) = t.max_norm {
        text += &format!(", max-norm {c}");
    }
    t.validate()?;
    Ok((t, text))
}

/// Image augmentation: --shift and --flip given, else the recipe's when
/// the data are images (an IDX or m × h × w NPY file, or --image-shape),
/// none otherwise; uncovered pixels get the value of a raw 0 after
/// `scaler`; `data` is (image shape, features, scaler). `None` for L-BFGS
/// (whose flags [`full_batch`] checked). Describes it at the end of `text`.
fn augment(
    a: &TrainArgs,
    t: &Trainer,
    data: (Option<(usize, usize)>, usize, Option<&Scaler>),
    text: &mut String,
) -> Result<Option<ImageAugment>, CliError> {
    let (shape, n_in, scaler) = data;
    if let Some(Solver::Lbfgs(_)) = t.solver {
        return Ok(None);
    }
    let recipe = recipes::fashion_mnist().trainer.augment;
    let recipe = recipe.filter(|_| shape.is_some());
    let shift = a
        .shift
        .unwrap_or(recipe.as_ref().map_or(0, |r| r.max_shift));
    let flip = a.flip.unwrap_or(recipe.as_ref().is_some_and(|r| r.hflip));
    if shift == 0 && !flip {
        return Ok(None);
    }
    let Some((h, w)) = shape else {
        return Err(CliError(
            "--shift and --flip augment images and need their shape: give --image-shape HxW \
             (IDX files and m x h x w NPY arrays give it themselves)"
                .into(),
        ));
    };
    if h * w != n_in {
        return Err(CliError(format!(
            "--image-shape {h}x{w} has {} pixels, the data has {n_in} features",
            h * w
        )));
    }
    let mut g = ImageAugment::new(h, w).max_shift(shift).hflip(flip);
    if let Some(s) = scaler {
        if shift > 0 && s.standardizes_samples() {
            return Err(CliError(
                "--shift fills uncovered pixels with a scaled raw 0, which depends on each \
                 image's own statistics once samples are standardized: give \
                 --standardize-samples false to shift images"
                    .into(),
            ));
        }
        g = g.fill_scaled_zero(s);
    }
    if shift >= h.min(w) {
        return Err(CliError(format!(
            "--shift {shift} moves a whole {h}x{w} image out; use at most {}",
            h.min(w) - 1
        )));
    }
    g.check(n_in)?;
    *text += &format!(", augmentation {h}x{w} shift {shift} flip {flip}");
    Ok(Some(g))
}

/// L-BFGS: no mini-batch option may be given, and the recipe's do not
/// apply.
fn full_batch(a: &TrainArgs, t: &mut Trainer) -> Result<String, CliError> {
    let mini_batch = [
        "batch_size",
        "learning_rate",
        "schedule",
        "clip_norm",
        "max_norm",
        "shift",
        "flip",
    ];
    let schedules = ScheduleName::value_variants().iter();
    let mut options = mini_batch.iter().chain(schedules.flat_map(|s| s.options()));
    if let Some(id) = options.find(|id| a.given(id)) {
        return Err(CliError(format!(
            "{} does not apply to --optimizer lbfgs, which works on the full batch \
             (no batch size, learning rate, schedule, clipping, max-norm or augmentation)",
            flag(id)
        )));
    }
    t.batch_size = None;
    t.learning_rate = None;
    t.schedule = Schedule::Constant;
    t.clip_norm = None;
    t.max_norm = None;
    Ok("(full batch)".into())
}

/// A step-wise optimizer: batch size, η₀, schedule and clipping, each
/// given or the recipe's.
fn mini_batch(a: &TrainArgs, t: &mut Trainer) -> Result<String, CliError> {
    let lr = a.learning_rate.or(t.learning_rate).unwrap_or(1e-3);
    t.learning_rate = Some(lr);
    t.batch_size = a.batch_size.or(t.batch_size);
    t.clip_norm = a.clip_norm.or(t.clip_norm);
    t.max_norm = a.max_norm.or(t.max_norm);
    let recipe_eta_min = match t.schedule {
        Schedule::Cosine { eta_min, .. } => eta_min,
        _ => 0.0,
    };
    let sched = a.schedule.unwrap_or(ScheduleName::of(&t.schedule));
    let schedules = ScheduleName::value_variants().iter();
    let foreign = schedules
        .flat_map(|s| s.options())
        .find(|id| a.given(id) && !sched.options().contains(id));
    if let Some(id) = foreign {
        let name = sched.to_possible_value().map(|v| v.get_name().to_string());
        return Err(CliError(format!(
            "{} does not apply to --schedule {}",
            flag(id),
            name.unwrap_or_default()
        )));
    }
    t.schedule = match sched {
        ScheduleName::Constant => Schedule::Constant,
        ScheduleName::Step => Schedule::Step {
            step_size: a.step_size,
            gamma: a.gamma,
        },
        ScheduleName::Exponential => Schedule::Exponential { gamma: a.gamma },
        ScheduleName::Cosine => Schedule::Cosine {
            t_max: t.epochs.max(1),
            eta_min: a.eta_min.unwrap_or(if lr > recipe_eta_min {
                recipe_eta_min
            } else {
                0.0
            }),
        },
        ScheduleName::Invscaling => Schedule::InvScaling { power_t: a.power_t },
        ScheduleName::Plateau => Schedule::ReduceOnPlateau {
            factor: a.plateau_factor,
            patience: a.plateau_patience,
            threshold: 1e-4,
            min_lr: 0.0,
        },
    };
    let batch = t.batch_size.map_or("auto".into(), |b| b.to_string());
    Ok(format!(
        "lr {lr}, {} schedule, batch {batch}",
        format!("{sched:?}").to_lowercase()
    ))
}

/// The flag of an option id: `learning_rate` is `--lr`, the others are
/// their id with dashes.
fn flag(id: &str) -> String {
    match id {
        "learning_rate" => "--lr".into(),
        _ => format!("--{}", id.replace('_', "-")),
    }
}

/// Early stopping: patience and monitor given or the recipe's; off without
/// a validation set unless asked for (then an error).
fn early_stopping(a: &TrainArgs, t: &mut Trainer, has_val: bool) -> Result<String, CliError> {
    let base = t.early_stopping.take().unwrap_or_default();
    let monitor = a.monitor.map_or(base.monitor, MonitorName::monitor);
    let patience = a.patience.unwrap_or(base.patience);
    if patience == 0 {
        return Ok("off".into());
    }
    if monitor.needs_validation() && !has_val {
        if a.patience.is_some() || a.monitor.is_some() {
            return Err(CliError(
                "early stopping on a validation quantity needs a validation set: set \
                 --validation-fraction above 0, or --monitor train-loss, or --patience 0"
                    .into(),
            ));
        }
        return Ok("off".into());
    }
    t.early_stopping = Some(EarlyStopping {
        monitor,
        patience,
        min_delta: a.min_delta,
        restore_best: true,
    });
    let watched = match monitor {
        Monitor::ValLoss => "validation loss",
        Monitor::ValMetric => "validation accuracy (R² for regression)",
        Monitor::TrainLoss => "training loss",
    };
    Ok(format!("patience {patience} on {watched}"))
}

/// Checks every output path (see [`outputs::check`]) before any data is
/// read; returns where each will be written: the model, its history and
/// curves, and the ONNX file if asked for.
fn check_outputs(a: &TrainArgs) -> Result<Vec<PathBuf>, CliError> {
    let inputs: Vec<outputs::Named<'_>> = [
        ("--train", &a.train),
        ("--train-targets", &a.train_targets),
        ("--test", &a.test),
        ("--test-targets", &a.test_targets),
    ]
    .into_iter()
    .filter_map(|(flag, p)| p.as_deref().map(|path| outputs::Named { flag, path }))
    .collect();
    let history = sibling(&a.output, "history.csv");
    let curves = sibling(&a.output, "curves.svg");
    let mut outs = vec![
        outputs::Named {
            flag: "--output",
            path: &a.output,
        },
        outputs::Named {
            flag: "--output's history",
            path: &history,
        },
        outputs::Named {
            flag: "--output's curves",
            path: &curves,
        },
    ];
    if let Some(p) = &a.onnx {
        outs.push(outputs::Named {
            flag: "--onnx",
            path: p,
        });
    }
    outputs::check(&inputs, &outs)
}

/// Checks every setting before any data is read; returns the validation
/// fraction.
fn check_settings(a: &TrainArgs, recipe: &Recipe) -> Result<f64, CliError> {
    if let Some(f) = a.validation_fraction
        && !(f.is_finite() && (0.0..1.0).contains(&f))
    {
        return Err(CliError(format!(
            "invalid --validation-fraction {f}: must lie in [0, 1) (0 for no validation set)"
        )));
    }
    let fraction = a
        .validation_fraction
        .unwrap_or(recipe.validation_fraction.unwrap_or(0.0));
    trainer(a, fraction > 0.0, Loss::CategoricalCrossEntropy)?;
    hidden_layers(a, recipe)?;
    Ok(fraction)
}

pub fn run(a: &TrainArgs) -> Result<(), CliError> {
    let recipe = recipes::fashion_mnist();
    let targets = check_outputs(a)?;
    let fraction = check_settings(a, &recipe)?;

    let t0 = Instant::now();
    let (train_data, test_data, source) = load(a)?;
    let load_seconds = t0.elapsed().as_secs_f64();

    let (n_out, loss) = head(&train_data.y, a.loss, &with_target(&source, &train_data))?;
    let class_names = train_data.y.class_names().map(<[String]>::to_vec);
    let columns = (
        train_data.feature_names.clone(),
        train_data.target_name.clone(),
    );
    let n_in = train_data.x.ncols();
    let m_all = train_data.x.nrows();
    let image_shape = a.image_shape.or(train_data.image_shape);
    let train_all = prepare(train_data, n_out, loss)?;
    let mut test = prepare_test(test_data, n_out, loss, n_in, a.test.as_deref())?;

    let seed = a.seed.unwrap_or(recipe.trainer.seed);
    let (mut train, mut val) = holdout(train_all, fraction, seed)?;

    // The recipe's power is for pixel intensities: image data, none < 0.
    let images = image_shape.is_some();
    let intensities = images && train.x.iter().all(|&v| v >= 0.0);
    let scaler = scale(
        scaling_of(a, &recipe, (images, intensities)),
        &mut train,
        val.iter_mut().chain(test.iter_mut()),
    )?;

    let (mut trainer, mut trainer_text) = trainer(a, val.is_some(), loss)?;
    let data_shape = (image_shape, n_in, scaler.as_ref());
    trainer.augment = augment(a, &trainer, data_shape, &mut trainer_text)?;
    let ckpt = checkpoints(a, &trainer)?;
    let (builder, activation, widths) = network(a, &recipe, n_in, (n_out, loss), seed)?;
    let batch = trainer
        .batch_size
        .unwrap_or(train.x.nrows())
        .min(train.x.nrows());
    crate::limits::check_network(&widths, batch, std::mem::size_of::<f32>())?;
    let probe = builder.build()?;
    let root = cluster::is_root();
    if root {
        let rows = |d: Option<&Prepared>| d.map_or(0, |d| d.x.nrows());
        let counts = [
            m_all,
            train.x.nrows(),
            rows(val.as_ref()),
            rows(test.as_ref()),
        ];
        let classes = class_names.as_ref().map(Vec::len);
        let data = data_line(&source, counts, n_in, classes, n_out);
        let scaling = scaler.as_ref().map_or("none".into(), scaling_text);
        let what = (activation, loss, scaling.as_str());
        print_setup(&data, load_seconds, &probe, what, &trainer_text);
    }

    let val_set = val.as_ref().map(|v| v.dataset());
    let start = Instant::now();
    let (net, history, total_epochs) = fit(&trainer, &builder, probe, &train, val_set, ckpt)?;
    let seconds = start.elapsed().as_secs_f64();
    if !root {
        return cluster::save_rank_copy(&a.output, &net);
    }
    let sets = [
        ("train", Some(&train)),
        ("validation", val.as_ref()),
        ("test", test.as_ref()),
    ];
    report_fit(&net, &history, &sets, loss, total_epochs, seconds)?;

    let model = model(net, scaler, class_names, columns)?;
    save(&targets, &model, &history, loss)
}

/// `source`, naming the target column when the data has one.
fn with_target(source: &str, data: &Data) -> String {
    match &data.target_name {
        Some(t) => format!("{source}, target column {t:?}"),
        None => source.to_owned(),
    }
}

/// The lines that say what is about to be trained, flushed before training.
fn print_setup(
    data: &str,
    load_seconds: f64,
    probe: &Network<f32>,
    (activation, loss, scaling): (Activation, Loss, &str),
    trainer_text: &str,
) {
    println!("{data}; loaded in {load_seconds:.1} s");
    println!(
        "network: {}, {activation}, {loss} ({} output), {} parameters; scaling {scaling}",
        sizes(probe),
        loss.output_activation(),
        probe.n_params(),
    );
    println!("training: {trainer_text}");
    let _ = std::io::stdout().flush();
}

/// The `data:` line: the source, the samples (`counts`: all, train,
/// validation, test), the features and the classes or target values.
fn data_line(
    source: &str,
    [all, train, val, test]: [usize; 4],
    n_in: usize,
    classes: Option<usize>,
    n_out: usize,
) -> String {
    let test = match test {
        0 => String::new(),
        t => format!(", {t} test"),
    };
    let targets = match classes {
        Some(c) => format!("{c} classes"),
        None => format!("{n_out} target value(s)"),
    };
    format!(
        "data: {source}: {all} samples ({train} train, {val} validation{test}), {n_in} features, \
         {targets}"
    )
}

/// The test data, if any, prepared as the training data and checked to
/// have its `n_in` features.
fn prepare_test(
    test: Option<Data>,
    n_out: usize,
    loss: Loss,
    n_in: usize,
    path: Option<&Path>,
) -> Result<Option<Prepared>, CliError> {
    let test = test.map(|d| prepare(d, n_out, loss)).transpose()?;
    if let Some(t) = &test
        && t.x.ncols() != n_in
    {
        return Err(CliError(format!(
            "{}: the test data has {} features, the training data {n_in}",
            path.map_or("Fashion-MNIST".into(), |p| p.display().to_string()),
            t.x.ncols()
        )));
    }
    Ok(test)
}

/// The hidden layers for these arguments: widths, activation and dropout
/// given or the recipe's. Without --dropout the recipe's rates apply, layer
/// by layer when --layers keeps the recipe's number of layers, else its
/// first layer's rate for every layer; but not to full-batch L-BFGS, which
/// refuses dropout.
fn hidden_layers(a: &TrainArgs, recipe: &Recipe) -> Result<(Vec<Dense>, Activation), CliError> {
    let activation = a.activation.unwrap_or(
        recipe
            .hidden
            .first()
            .map_or(Activation::Relu, |d| d.activation),
    );
    let widths = a
        .layers
        .clone()
        .unwrap_or_else(|| Layers(recipe.hidden.iter().map(|d| d.units).collect()));
    let n = widths.0.len();
    let rates = match &a.dropout {
        Some(d) => d.per_layer(n).map_err(CliError)?,
        None if a.optimizer.as_deref() == Some("lbfgs") => vec![0.0; n],
        None if recipe.hidden.len() == n => recipe.hidden.iter().map(|d| d.dropout).collect(),
        None => vec![recipe.hidden.first().map_or(0.0, |d| d.dropout); n],
    };
    let hidden = widths
        .dense(activation)
        .into_iter()
        .zip(rates)
        .map(|(d, p)| d.dropout(p))
        .collect();
    Ok((hidden, activation))
}

/// The network for these arguments (hidden layers as [`hidden_layers`],
/// the head for the targets), unbuilt, with its hidden activation and its
/// layer sizes n₀…n_L.
fn network(
    a: &TrainArgs,
    recipe: &Recipe,
    n_in: usize,
    (n_out, loss): (usize, Loss),
    seed: u64,
) -> Result<(NetworkBuilder<f32>, Activation, Vec<usize>), CliError> {
    let (hidden, activation) = hidden_layers(a, recipe)?;
    let builder = Network::<f32>::builder(n_in)
        .layers(&hidden)
        .output(n_out, loss)
        .seed(seed);
    let sizes = std::iter::once(n_in)
        .chain(hidden.iter().map(|d| d.units))
        .chain([n_out])
        .collect();
    Ok((builder, activation, sizes))
}

/// The training data, the test data if any, and where they came from.
fn load(a: &TrainArgs) -> Result<(Data, Option<Data>, String), CliError> {
    Ok(match &a.train {
        None => {
            if a.test.is_some() || a.train_targets.is_some() {
                return Err(CliError(
                    "--test and --train-targets need --train (without it, Fashion-MNIST is used)"
                        .into(),
                ));
            }
            let dir = data::fashion_mnist_dir(&a.data);
            let train = data::fashion_mnist(&dir, Split::Train)?;
            let test = data::fashion_mnist(&dir, Split::Test)?;
            (
                train,
                Some(test),
                format!("Fashion-MNIST ({})", dir.display()),
            )
        }
        Some(path) => {
            let spec = TargetSpec {
                task: a.task,
                classes: None,
                default_column: TargetColumn::Auto,
            };
            let train = data::load(
                path,
                a.train_targets.as_deref(),
                &a.data,
                &spec,
                "--train-targets",
            )?;
            let test = match &a.test {
                None => None,
                Some(tp) => {
                    let names = train.y.class_names();
                    let spec = TargetSpec {
                        task: if names.is_some() {
                            crate::args::Task::Classify
                        } else if matches!(train.y, Targets::Values(_)) {
                            crate::args::Task::Regress
                        } else {
                            a.task
                        },
                        classes: names,
                        default_column: train
                            .target_name
                            .clone()
                            .map_or(TargetColumn::Auto, TargetColumn::Name),
                    };
                    let d = data::load(
                        tp,
                        a.test_targets.as_deref(),
                        &a.data,
                        &spec,
                        "--test-targets",
                    )?;
                    let reference = format!("the training file {}", path.display());
                    let names = train.feature_names.as_deref();
                    Some(data::align(
                        d,
                        tp,
                        &reference,
                        names,
                        train.x.ncols(),
                        None,
                    )?)
                }
            };
            (train, test, path.display().to_string())
        }
    })
}

/// The training rows and, for a fraction above 0, a stratified hold-out.
fn holdout(
    all: Prepared,
    fraction: f64,
    seed: u64,
) -> Result<(Prepared, Option<Prepared>), CliError> {
    if fraction <= 0.0 {
        return Ok((all, None));
    }
    // Split in place: the training rows stay in their buffer, only the
    // hold-out is copied out.
    let classify = all.labels.is_some();
    let all = OwnedDataset {
        x: all.x,
        y: all.y,
        sample_weight: None,
    };
    let (t, v) = all.split_holdout(fraction, seed)?;
    let part = |d: OwnedDataset<f32>| Prepared {
        labels: labels_of(&d.y, classify),
        x: d.x,
        y: d.y,
    };
    Ok((part(t), Some(part(v))))
}

/// How the setup line names a scaler's steps.
fn scaling_text(s: &Scaler) -> String {
    let mut t = s.scaling().to_string();
    if s.standardizes_samples() {
        t += " after standardizing each sample";
    }
    if let Some(p) = s.power() {
        t += &format!(" of x^{p}");
    }
    t
}

/// The scaling steps asked for: the per-feature map, whether samples are
/// standardized first, and the power raised to before that.
struct ScalingChoice {
    scaling: Option<Scaling>,
    samples: bool,
    power: Option<f64>,
}

/// The flags' scaling steps, else the recipe's (whose sample
/// standardization, as its augmentation, is for images, and whose power is
/// for pixel intensities: images with no negative values).
fn scaling_of(
    a: &TrainArgs,
    recipe: &Recipe,
    (images, intensities): (bool, bool),
) -> ScalingChoice {
    let scaling = match a.scaling {
        None => recipe.scaling,
        Some(name) => name.scaling(),
    };
    let samples = a
        .standardize_samples
        .unwrap_or(recipe.standardize_samples && images);
    let power = a.input_power.or(recipe.input_power.filter(|_| intensities));
    ScalingChoice {
        scaling,
        samples,
        power,
    }
}

/// Fits the scaling steps on the training rows and applies them to every
/// set.
fn scale<'a>(
    choice: ScalingChoice,
    train: &mut Prepared,
    others: impl Iterator<Item = &'a mut Prepared>,
) -> Result<Option<Scaler>, CliError> {
    let Some(s) = choice.scaling else {
        let before = [
            (
                choice.samples,
                "--standardize-samples",
                "--standardize-samples false",
            ),
            (
                choice.power.is_some_and(|p| p != 1.0),
                "--input-power",
                "--input-power 1",
            ),
        ];
        if let Some((_, flag, off)) = before.into_iter().find(|b| b.0) {
            return Err(CliError(format!(
                "{flag} comes before the per-feature map of --scaling and is saved with it: \
                 give --scaling standard or min-max, or {off}"
            )));
        }
        return Ok(None);
    };
    let mut b = Scaler::builder(s).standardize_samples(choice.samples);
    if let Some(p) = choice.power {
        if !(p.is_finite() && p > 0.0) {
            return Err(CliError(format!(
                "--input-power {p}: the power must be finite and > 0 (1 for none)"
            )));
        }
        b = b.power(p);
    }
    let sc = b.fit(train.x.view())?;
    sc.transform_in_place(train.x.view_mut())?;
    for p in others {
        sc.transform_in_place(p.x.view_mut())?;
    }
    Ok(Some(sc))
}

/// Trains the network (the best of the restarts, each reported, when
/// there are several); returns it, its history and the epochs run in all.
fn fit(
    trainer: &Trainer,
    builder: &NetworkBuilder<f32>,
    probe: Network<f32>,
    train: &Prepared,
    val_set: Option<Dataset<'_, f32>>,
    (saver, resume): (Option<Checkpoints>, Option<&Path>),
) -> Result<(Network<f32>, History, usize), CliError> {
    Ok(if trainer.restarts > 1 {
        let (net, report) = trainer.fit_restarts(builder, train.dataset(), val_set)?;
        let mut total = 0;
        for (k, r) in report.runs.iter().enumerate() {
            match &r.outcome {
                _ if !cluster::is_root() => {}
                Ok(h) => {
                    total += h.epochs.len();
                    println!(
                        "restart {k} (seed {}): {} epochs, score {:.6}{}",
                        r.seed,
                        h.epochs.len(),
                        h.score,
                        if k == report.best { "  <- kept" } else { "" }
                    );
                }
                Err(e) => println!("restart {k} (seed {}): failed: {e}", r.seed),
            }
        }
        let h = report.runs[report.best]
            .outcome
            .clone()
            .map_err(CliError::from)?;
        (net, h, total)
    } else {
        let mut net = probe;
        let mut fault = cluster::Fault::from_env();
        let mut saver = saver;
        let mut callbacks: Vec<&mut dyn Callback<f32>> = (fault.iter_mut())
            .map(|f| f as &mut dyn Callback<f32>)
            .chain(saver.iter_mut().map(|s| s as &mut dyn Callback<f32>))
            .collect();
        let h = match resume {
            Some(p) => trainer.resume(&mut net, p, train.dataset(), val_set, &mut callbacks)?,
            None => trainer.fit_with(&mut net, train.dataset(), val_set, &mut callbacks)?,
        };
        fault.iter().try_for_each(cluster::Fault::outcome)?;
        let n = h.epochs.len();
        (net, h, n)
    })
}

/// `--checkpoint-every`, `--checkpoint` and `--resume`: the callback that
/// saves checkpoints, and the checkpoint to go on from.
fn checkpoints<'a>(
    a: &'a TrainArgs,
    trainer: &Trainer,
) -> Result<(Option<Checkpoints>, Option<&'a Path>), CliError> {
    let used = a.checkpoint_every.is_some() || a.resume.is_some();
    if a.checkpoint.is_some() && a.checkpoint_every.is_none() {
        return Err(CliError(
            "--checkpoint names where --checkpoint-every N saves; add --checkpoint-every".into(),
        ));
    }
    if used && trainer.restarts > 1 {
        return Err(CliError(
            "--checkpoint-every and --resume cover a single run; drop --restarts".into(),
        ));
    }
    if used && matches!(trainer.solver, Some(Solver::Lbfgs(_))) {
        return Err(CliError(
            "--optimizer lbfgs runs cannot be checkpointed or resumed (full-batch L-BFGS keeps \
             no resumable state); use a mini-batch optimizer"
                .into(),
        ));
    }
    let saver = match a.checkpoint_every {
        Some(every) => {
            let path = (a.checkpoint.clone()).unwrap_or_else(|| a.output.with_extension("ckpt"));
            // Written every N epochs: a regular file or a new path in a
            // writable directory, checked before training as every output.
            let named = outputs::Named {
                flag: "--checkpoint",
                path: &path,
            };
            let target = outputs::check(&[], &[named])?.remove(0);
            Some(Checkpoints::new(target, every)?)
        }
        None => None,
    };
    Ok((saver, a.resume.as_deref()))
}

/// The training time and the scores of every set.
fn report_fit(
    net: &Network<f32>,
    history: &History,
    sets: &[(&'static str, Option<&Prepared>)],
    loss: Loss,
    total_epochs: usize,
    seconds: f64,
) -> Result<(), CliError> {
    let m = sets[0].1.map_or(0, |t| t.x.nrows());
    let rate = (total_epochs * m) as f64 / seconds.max(1e-9);
    let mut rows = Vec::new();
    for &(name, set) in sets {
        if let Some(p) = set {
            rows.push((name, p.score(net)?));
        }
    }
    let ending = match (history.stopped_early, history.best_epoch) {
        (true, Some(b)) => format!(", stopped early; weights of epoch {b} (from 0)"),
        (true, None) => ", stopped early".to_string(),
        (false, Some(b)) => format!("; weights of epoch {b} (from 0)"),
        (false, None) => String::new(),
    };
    println!(
        "trained {} epoch(s){ending} in {seconds:.1} s ({rate:.0} samples/s)",
        history.epochs.len()
    );
    print!("{}", report::table(&rows, loss));
    Ok(())
}

/// The trained network with what it needs on raw data: the scaler, the
/// class names and the training file's column names.
fn model(
    net: Network<f32>,
    scaler: Option<Scaler>,
    class_names: Option<Vec<String>>,
    (features, target): (Option<Vec<String>>, Option<String>),
) -> Result<SavedModel<f32>, CliError> {
    let mut model = SavedModel::new(net);
    if let Some(s) = scaler {
        model = model.with_scaler(s)?;
    }
    if let Some(c) = class_names {
        model = model.with_class_labels(c)?;
    }
    if let Some(f) = features {
        model = model.with_feature_names(f)?;
    }
    if let Some(t) = target {
        model = model.with_target_column(t);
    }
    Ok(model)
}

/// Writes the history, the learning curves and the ONNX file (if asked),
/// then the model, as one set ([`outputs::Staged`]): each to a temporary
/// file first, renamed into place only when all are written, the model
/// last. `targets` are the checked paths of [`check_outputs`].
fn save(
    targets: &[PathBuf],
    model: &SavedModel<f32>,
    history: &History,
    loss: Loss,
) -> Result<(), CliError> {
    let (model_path, hist_path, svg_path) = (&targets[0], &targets[1], &targets[2]);
    let mut staged = outputs::Staged::default();
    write_history(staged.add(hist_path)?, history)?;
    crate::plot::learning_curves(
        staged.add(svg_path)?,
        history,
        loss,
        model.class_labels.is_some(),
    )?;
    if let Some(onnx) = targets.get(3) {
        backprop::io::export_onnx(staged.add(onnx)?, model)?;
    }
    model.save(staged.add(model_path)?)?;
    staged.commit()?;
    let wrote: Vec<String> = targets.iter().map(|p| p.display().to_string()).collect();
    println!("wrote {}", wrote.join(", "));
    Ok(())
}

/// The history file's header. `train_loss_incl_l2` is the mean objective
/// over the epoch's batches with the L2 term (λ/2m)·‖W‖² included, as
/// [`backprop::EpochRecord::train_loss`]; `val_loss` is the data loss alone.
pub const HISTORY_HEADER: &str =
    "epoch,train_loss_incl_l2,val_loss,val_metric,learning_rate,seconds";

/// One line per epoch: epoch (from 0, as [`backprop::EpochRecord::epoch`]),
/// training objective (L2 included), validation loss and metric (empty
/// without a validation set), learning rate, seconds.
fn write_history(path: &Path, h: &History) -> Result<(), CliError> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut text = format!("{HISTORY_HEADER}\n");
    for r in &h.epochs {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            opt(r.val_loss),
            opt(r.val_metric),
            r.learning_rate,
            r.seconds
        ));
    }
    backprop::io::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_follow_the_targets() {
        let classes = |k: usize| Targets::Classes {
            labels: vec![0],
            names: (0..k).map(|c| c.to_string()).collect(),
        };
        assert_eq!(
            head(&classes(2), None, "x").unwrap(),
            (1, Loss::BinaryCrossEntropy)
        );
        assert_eq!(
            head(&classes(3), None, "x").unwrap(),
            (3, Loss::CategoricalCrossEntropy)
        );
        assert!(head(&classes(3), Some(Loss::BinaryCrossEntropy), "x").is_err());
        assert!(head(&classes(1), None, "x").is_err());
        let values = Targets::Values(Array2::zeros((4, 2)));
        assert_eq!(head(&values, None, "x").unwrap(), (2, Loss::SquaredError));
    }

    #[test]
    fn siblings_replace_the_extension() {
        assert_eq!(
            sibling(Path::new("out/model.safetensors"), "history.csv"),
            Path::new("out/model.history.csv")
        );
        assert_eq!(
            sibling(Path::new("model"), "curves.svg"),
            Path::new("model.curves.svg")
        );
    }
}
