//! Checkpoints: a mini-batch run's whole state at the end of an epoch, and
//! the callback that saves it every N epochs.
//!
//! What is saved: θ, the optimizer's state ([`Optimizer::state`]), the
//! schedule's η and plateau window, the samples seen, the position of the
//! shuffling stream, early stopping's best epoch and parameters, the
//! history, and the settings the resuming run must share. What is not: the
//! data (the resuming run is given the same data, and its size is checked)
//! and the workspaces (rebuilt, they carry nothing between steps).
//!
//! # The guarantee
//! [`Trainer::resume`](super::Trainer::resume) from a checkpoint written
//! after epoch k, with the same settings, data and thread count, gives the
//! same parameters, bit for bit, and the same history (but for the wall
//! times) as the uninterrupted run. Checkpoints are written atomically, so
//! a run killed at any moment loses at most the epochs since the last one.
//!
//! [`Optimizer::state`]: crate::Optimizer::state

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::io::checkpoint::Checkpoint;
use crate::{Error, Network, Result, Scalar};

use super::callbacks::EarlyStopper;
use super::stepper::Stepper;
use super::{Callback, Control, EpochRecord, History, Trainer};

/// A run's state after an epoch, as [`Callback::on_checkpoint`] sees it:
/// [`save`](Self::save) writes it to a checkpoint file.
pub struct RunState<'a, S: Scalar> {
    pub(super) net: &'a Network<S>,
    pub(super) stepper: &'a Stepper<'a, S>,
    pub(super) early: Option<&'a EarlyStopper<S>>,
    pub(super) history: &'a History,
    pub(super) key: &'a BTreeMap<String, String>,
}

impl<S: Scalar> RunState<'_, S> {
    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.history.epochs.len()
    }

    /// The network as it stands.
    pub fn network(&self) -> &Network<S> {
        self.net
    }

    /// Writes the state to `path` atomically (a crash mid-write leaves the
    /// previous file whole).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for an L-BFGS run or an optimizer whose state
    /// cannot be saved ([`Optimizer::state`](crate::Optimizer::state));
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (optimizer, (eta, recent), streams, samples_seen) = self.stepper.position()?;
        let [stream_position, mask_position, augment_position] = streams;
        Checkpoint {
            run: self.key.clone(),
            epochs_done: self.epochs_done(),
            samples_seen,
            params: self.net.params().iter().map(|v| v.wide()).collect(),
            optimizer,
            eta,
            recent,
            stream_position,
            mask_position,
            augment_position,
            early: self.early.map(EarlyStopper::export),
            history: self.history.epochs.clone(),
        }
        .save(path.as_ref())
    }
}

/// Saves the run to one checkpoint file every `every` epochs (replacing
/// the previous one atomically), for
/// [`Trainer::resume`](super::Trainer::resume).
///
/// ```
/// use backprop::train::Checkpoints;
/// use backprop::{Activation, Loss, Network, Trainer};
/// use backprop::data::Dataset;
/// use ndarray::array;
/// # let dir = tempfile::tempdir()?;
/// let x = array![[0.0f32], [1.0], [2.0], [3.0]];
/// let y = array![[0.0f32], [1.0], [2.0], [3.0]];
/// let build = || Network::<f32>::builder(1).hidden(3, Activation::Tanh)
///     .output(1, Loss::SquaredError).seed(1).build();
/// let t = Trainer::new().epochs(4).batch_size(2).learning_rate(0.05);
/// let ckpt = dir.path().join("run.ckpt");
///
/// // Two epochs, checkpointed ...
/// let mut half = build()?;
/// t.clone().epochs(2).fit_with(&mut half, Dataset::new(x.view(), &y), None,
///     &mut [&mut Checkpoints::new(&ckpt, 1)?])?;
/// // ... resumed for the other two, equal the four-epoch run bit for bit.
/// let mut resumed = build()?;
/// t.resume(&mut resumed, &ckpt, Dataset::new(x.view(), &y), None, &mut [])?;
/// let mut straight = build()?;
/// t.fit(&mut straight, Dataset::new(x.view(), &y), None)?;
/// assert_eq!(resumed.params(), straight.params());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Checkpoints {
    path: PathBuf,
    every: usize,
}

impl Checkpoints {
    /// Saves to `path` after every `every`-th epoch (counted from the start
    /// of the first run, so resumed runs keep the same cadence).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] when `every` is 0.
    pub fn new(path: impl Into<PathBuf>, every: usize) -> Result<Self> {
        crate::check::at_least_one("checkpoint_every", every)?;
        Ok(Checkpoints {
            path: path.into(),
            every,
        })
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl<S: Scalar> Callback<S> for Checkpoints {
    fn on_epoch_end(&mut self, _record: &EpochRecord, _net: &Network<S>) -> Control {
        Control::Continue
    }

    fn on_checkpoint(&mut self, run: &RunState<'_, S>) -> Result<()> {
        if run.epochs_done() % self.every == 0 {
            run.save(&self.path)?;
            log::info!(
                "checkpoint after epoch {}: {}",
                run.epochs_done(),
                self.path.display()
            );
        }
        Ok(())
    }
}

/// The settings a resuming run must share with the checkpointed one, by
/// name: the network's shape and head, the solver and every mini-batch
/// setting, the seed and the sizes of the data. (The number of epochs may
/// differ: a run can be extended.)
pub(super) fn run_key<S: Scalar>(
    t: &Trainer,
    net: &Network<S>,
    train_rows: usize,
    val_rows: Option<usize>,
) -> BTreeMap<String, String> {
    let acts: Vec<&str> = net.activations().iter().map(|a| a.name()).collect();
    let solver = t.solver.unwrap_or_default();
    let entries = [
        ("scalar type", S::NAME.to_string()),
        ("layer sizes", format!("{:?}", net.sizes())),
        ("hidden activations", format!("{acts:?}")),
        ("loss", net.loss().name().to_string()),
        (
            "solver",
            serde_json::to_string(&solver).expect("plain data"),
        ),
        ("training rows", train_rows.to_string()),
        ("validation rows", format!("{val_rows:?}")),
        ("batch size", format!("{:?}", t.batch_size)),
        ("learning rate", format!("{:?}", t.learning_rate)),
        ("schedule", format!("{:?}", t.schedule)),
        ("lambda", format!("{:?}", t.lambda)),
        ("clip norm", format!("{:?}", t.clip_norm)),
        ("early stopping", format!("{:?}", t.early_stopping)),
        ("seed", t.seed.to_string()),
        ("shuffle", t.shuffle.to_string()),
    ];
    // Recorded only when set, so checkpoints of runs without augmentation
    // written before it existed still resume.
    let augment = t.augment.as_ref().map(|a| ("augment", format!("{a:?}")));
    entries
        .into_iter()
        .chain(augment)
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Checks that `c` was written by a run with the settings `key`, and that
/// epochs remain.
///
/// # Errors
/// [`Error::ModelMismatch`] naming `path`, the first setting that differs
/// and both values, or saying that the run is already complete.
pub(super) fn check_resumable(
    path: &Path,
    c: &Checkpoint,
    key: &BTreeMap<String, String>,
    epochs: usize,
) -> Result<()> {
    let mismatch = |reason: String| Error::ModelMismatch {
        path: path.to_path_buf(),
        reason,
    };
    for (name, want) in key {
        match c.run.get(name) {
            Some(had) if had == want => {}
            had => {
                return Err(mismatch(format!(
                    "the checkpoint was written by a run with {name} {}, this run has {want}; \
                     resume with the settings and data of the checkpointed run",
                    had.map_or("(not recorded)", String::as_str)
                )));
            }
        }
    }
    // A setting recorded only when set (augmentation) that this run lacks.
    if let Some((name, had)) = c.run.iter().find(|(name, _)| !key.contains_key(*name)) {
        return Err(mismatch(format!(
            "the checkpoint was written by a run with {name} {had}, this run has none; \
             resume with the settings and data of the checkpointed run"
        )));
    }
    if c.epochs_done >= epochs {
        return Err(mismatch(format!(
            "the checkpoint has already done {} epoch(s) of the {epochs} asked; set more \
             epochs to train further",
            c.epochs_done
        )));
    }
    if c.history.len() != c.epochs_done {
        return Err(mismatch(format!(
            "the checkpoint records {} epoch(s) of history for {} done",
            c.history.len(),
            c.epochs_done
        )));
    }
    Ok(())
}

/// Where a run starts: from a checkpoint, or from epoch 0; and the settings
/// key its own checkpoints record.
pub(super) struct Resume<'c> {
    pub(super) key: BTreeMap<String, String>,
    pub(super) from: Option<&'c Checkpoint>,
}

impl Resume<'_> {
    /// Puts the checkpoint's state (if any) into the run: θ, the stepping,
    /// early stopping and the history. Returns the epoch to start from.
    ///
    /// # Errors
    /// As [`Stepper::restore`]; [`Error::ParameterCount`] for a checkpoint
    /// of another network size.
    pub(super) fn restore<S: Scalar>(
        &self,
        net: &mut Network<S>,
        stepper: &mut Stepper<'_, S>,
        early: Option<&mut EarlyStopper<S>>,
        history: &mut History,
    ) -> Result<usize> {
        let Some(c) = self.from else {
            return Ok(0);
        };
        if c.params.len() != net.n_params() {
            return Err(Error::ParameterCount {
                got: c.params.len(),
                expected: net.n_params(),
            });
        }
        (net.params_mut().iter_mut())
            .zip(&c.params)
            .for_each(|(w, &v)| *w = S::cast(v));
        stepper.restore(c)?;
        if let (Some(e), Some(state)) = (early, &c.early) {
            e.restore(state);
        }
        history.epochs.extend_from_slice(&c.history);
        Ok(c.epochs_done)
    }
}
