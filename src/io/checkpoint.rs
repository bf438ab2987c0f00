//! The checkpoint file: everything a mini-batch run needs to go on from the
//! end of an epoch (see [`Trainer::resume`](crate::Trainer::resume)), in a
//! safetensors container so that the hostile-file checks of
//! `io/safetensors.rs` guard it too.
//!
//! # File layout
//! F64 tensors (an f32 network's parameters widen to f64 and narrow back
//! exactly):
//!
//! | tensor | contents |
//! |---|---|
//! | `params` | θ, the network's flat parameters |
//! | `optimizer.<name>` | each non-empty vector of the optimizer's state |
//! | `early_stopping.best_params` | the best parameters so far, when early stopping restores them |
//!
//! and `__metadata__` strings: `format` = `backprop-checkpoint`,
//! `format_version` = `1`, `run` (a JSON object of the settings the run
//! must share with the one that resumes it: layer sizes, activations, loss,
//! solver, data rows, seed, ...) and `state` (JSON: epochs done, samples
//! seen, the schedule's η and plateau window, the shuffling, dropout-mask
//! and (when set) augmentation streams' word positions, the optimizer's counters, the early-stopping state and the
//! history). Floats in the JSON are stored as their IEEE 754 bit patterns
//! (`f64::to_bits`), so every value comes back exactly, NaN included.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FilePosition;
use super::safetensors::{self, Reader};
use crate::train::EpochRecord;
use crate::{OptimizerState, Result};

/// Metadata `format`.
const FORMAT_NAME: &str = "backprop-checkpoint";
/// Metadata `format_version`.
const FORMAT_VERSION: &str = "1";
/// Tensor of the parameters.
const PARAMS: &str = "params";
/// Prefix of the optimizer's vectors.
const OPTIMIZER: &str = "optimizer.";
/// Tensor of early stopping's best parameters.
const BEST: &str = "early_stopping.best_params";

/// Early stopping's state between epochs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EarlyState {
    /// The best epoch and its monitored value.
    pub(crate) best: Option<(usize, f64)>,
    /// Epochs since the best one.
    pub(crate) bad_epochs: usize,
    /// The parameters of the best epoch, when they are restored at the end.
    pub(crate) best_params: Option<Vec<f64>>,
}

/// A run's state at the end of an epoch, as saved and loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checkpoint {
    /// The settings the resuming run must share, by name, as text.
    pub(crate) run: BTreeMap<String, String>,
    /// Epochs completed.
    pub(crate) epochs_done: usize,
    /// Training samples visited so far (the inverse-scaling schedule's t).
    pub(crate) samples_seen: u64,
    /// θ, widened to f64.
    pub(crate) params: Vec<f64>,
    /// The optimizer's state.
    pub(crate) optimizer: OptimizerState,
    /// The schedule's current η.
    pub(crate) eta: f64,
    /// The reduce-on-plateau window of recent losses.
    pub(crate) recent: Vec<f64>,
    /// Word position of the shuffling stream (ChaCha8).
    pub(crate) stream_position: u128,
    /// Word position of the dropout-mask stream (ChaCha8).
    pub(crate) mask_position: u128,
    /// Word position of the augmentation stream (ChaCha8; 0 without one).
    pub(crate) augment_position: u128,
    /// Early stopping's state, when the run stops early.
    pub(crate) early: Option<EarlyState>,
    /// The records of the epochs done.
    pub(crate) history: Vec<EpochRecord>,
}

/// The `state` metadata: everything but the vectors.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    epochs_done: usize,
    samples_seen: u64,
    eta: u64,
    recent: Vec<u64>,
    stream_position: String,
    mask_position: String,
    /// Absent in checkpoints of runs without augmentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    augment_position: Option<String>,
    optimizer: String,
    counters: Vec<(String, u64)>,
    /// Every vector of the optimizer's state, with its length (empty ones
    /// have no tensor).
    vectors: Vec<(String, usize)>,
    early: Option<EarlyMeta>,
    history: Vec<Record>,
}

/// An [`EpochRecord`]: (epoch, train loss, val loss, val metric, η,
/// seconds), floats as bits.
type Record = (usize, u64, Option<u64>, Option<u64>, u64, u64);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EarlyMeta {
    best: Option<(usize, u64)>,
    bad_epochs: usize,
    has_best_params: bool,
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically (a crash leaves the
    /// previous checkpoint whole).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let n = self.params.len();
        let mut tensors = vec![(PARAMS.to_string(), vec![n])];
        let mut data = self.params.clone();
        for (name, v) in self.optimizer.vectors.iter().filter(|v| !v.1.is_empty()) {
            tensors.push((format!("{OPTIMIZER}{name}"), vec![v.len()]));
            data.extend_from_slice(v);
        }
        let best = self.early.as_ref().and_then(|e| e.best_params.as_ref());
        if let Some(bp) = best {
            tensors.push((BEST.to_string(), vec![bp.len()]));
            data.extend_from_slice(bp);
        }
        let mut meta = Map::new();
        let mut put = |k: &str, v: String| meta.insert(k.into(), Value::String(v));
        put("format", FORMAT_NAME.into());
        put("format_version", FORMAT_VERSION.into());
        put("run", serde_json::to_string(&self.run).expect("strings"));
        put(
            "state",
            serde_json::to_string(&self.state()).expect("plain data"),
        );
        safetensors::write::<f64>(path, &tensors, &data, meta)
    }

    fn state(&self) -> State {
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        State {
            epochs_done: self.epochs_done,
            samples_seen: self.samples_seen,
            eta: self.eta.to_bits(),
            recent: self.recent.iter().map(|v| v.to_bits()).collect(),
            stream_position: self.stream_position.to_string(),
            mask_position: self.mask_position.to_string(),
            augment_position: (self.augment_position != 0)
                .then(|| self.augment_position.to_string()),
            optimizer: self.optimizer.optimizer.clone(),
            counters: self.optimizer.counters.clone(),
            vectors: (self.optimizer.vectors.iter())
                .map(|(name, v)| (name.clone(), v.len()))
                .collect(),
            early: self.early.as_ref().map(|e| EarlyMeta {
                best: e.best.map(|(epoch, v)| (epoch, v.to_bits())),
                bad_epochs: e.bad_epochs,
                has_best_params: e.best_params.is_some(),
            }),
            history: (self.history.iter())
                .map(|r| {
                    let (t, l, s) = (r.train_loss, r.learning_rate, r.seconds);
                    let (vl, vm) = (bits(r.val_loss), bits(r.val_metric));
                    (r.epoch, t.to_bits(), vl, vm, l.to_bits(), s.to_bits())
                })
                .collect(),
        }
    }

    /// Reads a checkpoint written by [`save`](Self::save).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Malformed`] for
    /// anything but a checkpoint of this format (a model file, a truncated
    /// or corrupt file, tensors that disagree with the metadata).
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let mut file = Reader::open(path)?;
        let meta = file.metadata();
        let bad = |reason: String| file.bad(FilePosition::Byte(8), reason);
        if meta.get("format").map(String::as_str) != Some(FORMAT_NAME) {
            return Err(bad(format!(
                "not a checkpoint (metadata `format` is not `{FORMAT_NAME}`; a model file?)"
            )));
        }
        if meta.get("format_version").map(String::as_str) != Some(FORMAT_VERSION) {
            return Err(bad(format!(
                "checkpoint format version {:?} is not {FORMAT_VERSION}",
                meta.get("format_version")
            )));
        }
        let json = |key: &str| {
            meta.get(key)
                .ok_or_else(|| bad(format!("no `{key}` metadata")))
        };
        let run: BTreeMap<String, String> =
            serde_json::from_str(json("run")?).map_err(|e| bad(format!("`run` metadata: {e}")))?;
        let state: State = serde_json::from_str(json("state")?)
            .map_err(|e| bad(format!("`state` metadata: {e}")))?;
        let vectors = read_vectors(&mut file, &state)?;
        from_parts(&file, run, state, vectors)
    }
}

/// Reads every tensor, checked against the names and lengths the `state`
/// metadata lists.
fn read_vectors(file: &mut Reader, state: &State) -> Result<BTreeMap<String, Vec<f64>>> {
    let mut expected: Vec<String> = vec![PARAMS.into()];
    for (name, len) in &state.vectors {
        if *len > 0 {
            expected.push(format!("{OPTIMIZER}{name}"));
        }
    }
    if state.early.as_ref().is_some_and(|e| e.has_best_params) {
        expected.push(BEST.into());
    }
    let mut found: Vec<String> = file.entries().iter().map(|e| e.name.clone()).collect();
    found.sort();
    let mut want = expected.clone();
    want.sort();
    if found != want {
        return Err(file.bad(
            FilePosition::Byte(8),
            format!("the checkpoint should hold the tensors {want:?}, it holds {found:?}"),
        ));
    }
    let mut dest = Vec::with_capacity(file.entries().len());
    let mut at = 0;
    for e in file.entries() {
        if e.shape.len() != 1 {
            return Err(file.bad(
                FilePosition::Tensor(e.name.clone()),
                format!("shape {:?} is not a vector", e.shape),
            ));
        }
        dest.push(at);
        at += e.shape[0];
    }
    // The tensors tile the file, so `at` is bounded by its length.
    let mut flat = vec![0.0f64; at];
    file.read_into(&dest, &mut flat)?;
    let mut out = BTreeMap::new();
    for (e, &start) in file.entries().iter().zip(&dest) {
        out.insert(e.name.clone(), flat[start..start + e.shape[0]].to_vec());
    }
    Ok(out)
}

/// The checkpoint from its metadata and tensors, their lengths checked.
fn from_parts(
    file: &Reader,
    run: BTreeMap<String, String>,
    state: State,
    mut vectors: BTreeMap<String, Vec<f64>>,
) -> Result<Checkpoint> {
    let bad = |reason: String| file.bad(FilePosition::Byte(8), reason);
    let params = vectors.remove(PARAMS).unwrap_or_default();
    let n = params.len();
    let mut optimizer = OptimizerState::new(&state.optimizer);
    optimizer.counters = state.counters;
    for (name, len) in state.vectors {
        let v = vectors
            .remove(&format!("{OPTIMIZER}{name}"))
            .unwrap_or_default();
        if v.len() != len || (len != 0 && len != n) {
            return Err(bad(format!(
                "optimizer vector `{name}` holds {} values, the metadata says {len} and the \
                 network has {n} parameters",
                v.len()
            )));
        }
        optimizer.vectors.push((name, v));
    }
    let best_params = vectors.remove(BEST);
    if best_params.as_ref().is_some_and(|b| b.len() != n) {
        return Err(bad(format!("`{BEST}` does not hold {n} values")));
    }
    let stream_position = (state.stream_position.parse())
        .map_err(|e| bad(format!("stream position {:?}: {e}", state.stream_position)))?;
    let mask_position = (state.mask_position.parse()).map_err(|e| {
        bad(format!(
            "mask stream position {:?}: {e}",
            state.mask_position
        ))
    })?;
    let augment_position = match &state.augment_position {
        None => 0,
        Some(p) => {
            (p.parse()).map_err(|e| bad(format!("augmentation stream position {p:?}: {e}")))?
        }
    };
    let float = f64::from_bits;
    Ok(Checkpoint {
        run,
        epochs_done: state.epochs_done,
        samples_seen: state.samples_seen,
        params,
        optimizer,
        eta: float(state.eta),
        recent: state.recent.into_iter().map(float).collect(),
        stream_position,
        mask_position,
        augment_position,
        early: state.early.map(|e| EarlyState {
            best: e.best.map(|(epoch, v)| (epoch, float(v))),
            bad_epochs: e.bad_epochs,
            best_params,
        }),
        history: (state.history.into_iter())
            .map(|(epoch, t, vl, vm, l, s)| EpochRecord {
                epoch,
                train_loss: float(t),
                val_loss: vl.map(float),
                val_metric: vm.map(float),
                learning_rate: float(l),
                seconds: float(s),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let mut run = BTreeMap::new();
        run.insert("sizes".to_string(), "[2, 1]".to_string());
        Checkpoint {
            run,
            epochs_done: 2,
            samples_seen: 20,
            params: vec![0.5, -1.25, f64::MIN_POSITIVE],
            optimizer: OptimizerState::new("adam")
                .with_counter("t", 6)
                .with_vector("m", &[1.0, 2.0, 3.0])
                .with_vector("v", &[]),
            eta: 0.1 + 0.2,
            recent: vec![f64::NAN, 1.5],
            stream_position: u128::MAX - 3,
            mask_position: 1 << 70,
            augment_position: (1 << 90) + 5,
            early: Some(EarlyState {
                best: Some((1, 0.25)),
                bad_epochs: 1,
                best_params: Some(vec![3.0, 2.0, 1.0]),
            }),
            history: vec![EpochRecord {
                epoch: 0,
                train_loss: 1.0 / 3.0,
                val_loss: Some(0.7),
                val_metric: None,
                learning_rate: 1e-3,
                seconds: 0.01,
            }],
        }
    }

    #[test]
    fn round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.ckpt");
        let c = sample();
        c.save(&p).unwrap();
        let back = Checkpoint::load(&p).unwrap();
        // NaN != NaN: compare the plateau window by bits.
        assert_eq!(back.recent[0].to_bits(), c.recent[0].to_bits());
        let (mut a, mut b) = (back, c);
        a.recent.clear();
        b.recent.clear();
        assert_eq!(a, b);
        // Without augmentation the position is not written, and reads as 0.
        let c = Checkpoint {
            augment_position: 0,
            ..sample()
        };
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap().augment_position, 0);
    }

    #[test]
    fn a_model_file_is_not_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let net = crate::Network::<f32>::builder(2)
            .output(1, crate::Loss::SquaredError)
            .build()
            .unwrap();
        crate::io::SavedModel::new(net).save(&p).unwrap();
        let e = Checkpoint::load(&p).unwrap_err();
        assert!(e.to_string().contains("not a checkpoint"), "{e}");
    }
}
