//! What training records: one [`EpochRecord`] per epoch, the run's
//! [`History`], and the reports of [`Trainer::fit_restarts`](crate::Trainer::fit_restarts).

use crate::Error;

use super::Monitor;

/// One epoch of training, as recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    /// The epoch, counted from 0 (as everywhere in the crate and the CLI:
    /// [`History::best_epoch`], [`Error::Diverged`], the progress line and
    /// the `epoch` column of `backprop train`'s history CSV).
    pub epoch: usize,
    /// Mean objective over the epoch's batches, L2 term (λ/2m)·‖W‖²
    /// included (the history CSV's `train_loss_incl_l2` column); compare
    /// `val_loss`, which is the data loss alone.
    pub train_loss: f64,
    /// Data loss on the validation set at the end of the epoch.
    pub val_loss: Option<f64>,
    /// Validation accuracy (classification) or R² (regression).
    pub val_metric: Option<f64>,
    /// η used during the epoch (for L-BFGS, the accepted step length).
    pub learning_rate: f64,
    /// Wall time of the epoch, validation included, in seconds.
    pub seconds: f64,
}

/// Everything recorded during one training run.
///
/// ```
/// use backprop::{Activation, Loss, Monitor, Network, Trainer};
/// use backprop::data::Dataset;
/// use ndarray::array;
///
/// let x = array![[0.0f32], [1.0]];
/// let y = array![[0.0f32], [1.0]];
/// let mut net = Network::<f32>::builder(1).output(1, Loss::SquaredError).build()?;
/// let h = Trainer::new().epochs(3).fit(&mut net, Dataset::new(x.view(), &y), None)?;
/// assert_eq!(h.epochs.len(), 3);
/// assert_eq!(h.monitor, Monitor::TrainLoss); // no validation set
/// assert_eq!(h.score, h.last().unwrap().train_loss);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose parameters the network holds when early stopping
    /// restored the best weights; `None` otherwise.
    pub best_epoch: Option<usize>,
    /// True when early stopping, a callback or a stalled L-BFGS search
    /// ended training before the last epoch.
    pub stopped_early: bool,
    /// What was monitored (the early-stopping monitor, else the validation
    /// loss when there is a validation set, else the training loss).
    pub monitor: Monitor,
    /// Its value for the parameters returned.
    pub score: f64,
}

impl History {
    /// An empty history with room for `epochs` records, so that recording
    /// allocates nothing.
    pub(crate) fn new(monitor: Monitor, epochs: usize) -> Self {
        History {
            epochs: Vec::with_capacity(epochs),
            best_epoch: None,
            stopped_early: false,
            monitor,
            score: f64::NAN,
        }
    }

    /// The last record, if any epoch ran.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Training losses, one per epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|r| r.train_loss).collect()
    }
}

/// One run among restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Seed of the network's initialization (and, derived, of its
    /// mini-batch stream).
    pub seed: u64,
    /// The run's history, or the error that ended it.
    pub outcome: std::result::Result<History, Error>,
}

/// All runs of [`Trainer::fit_restarts`](crate::Trainer::fit_restarts) and
/// which one was kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Restarts {
    /// Every run, in order.
    pub runs: Vec<RunReport>,
    /// Index of the run whose network was returned.
    pub best: usize,
}
