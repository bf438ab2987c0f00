//! Callbacks: code the training loop calls at named points of a run
//! (train begin, epoch begin, batch end, epoch end, train end, error).
//!
//! Everything optional about a run is one: early stopping
//! ([`EarlyStopping`]), the guard that puts back the last good parameters
//! after a divergence, and the progress bar are callbacks of the library,
//! called exactly as the user's own.

use crate::io::checkpoint::EarlyState;
use crate::{Error, Network, Scalar};

use super::{EpochRecord, History, RunState};

/// What a callback asks the loop to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// End training after this epoch (early-stopping restoration still
    /// applies).
    Stop,
}

/// Code run at the named points of a training run. Only
/// [`on_epoch_end`](Self::on_epoch_end) must be written; the other points
/// do nothing unless overridden.
///
/// Closures `FnMut(&EpochRecord, &Network<S>) -> Control` are callbacks:
///
/// ```
/// use backprop::{Activation, Control, EpochRecord, Loss, Network, Trainer};
/// use backprop::data::Dataset;
/// use ndarray::array;
///
/// let x = array![[0.0f32], [1.0]];
/// let y = array![[0.0f32], [1.0]];
/// let mut net = Network::<f32>::builder(1).output(1, Loss::SquaredError).build()?;
/// let mut stop_below = |r: &EpochRecord, _: &Network<f32>| {
///     if r.train_loss < 0.1 { Control::Stop } else { Control::Continue }
/// };
/// let h = Trainer::new()
///     .learning_rate(0.1)
///     .epochs(1000)
///     .fit_with(&mut net, Dataset::new(x.view(), &y), None, &mut [&mut stop_below])?;
/// assert!(h.stopped_early && h.last().unwrap().train_loss < 0.1);
/// # Ok::<(), backprop::Error>(())
/// ```
pub trait Callback<S: Scalar>: Send {
    /// Before the first epoch, with the starting parameters.
    fn on_train_begin(&mut self, net: &Network<S>) {
        let _ = net;
    }

    /// Before each epoch (0-based), with the parameters it starts from.
    fn on_epoch_begin(&mut self, epoch: usize, net: &Network<S>) {
        let _ = (epoch, net);
    }

    /// After each optimizer step of an epoch (one per epoch for L-BFGS).
    fn on_batch_end(&mut self, epoch: usize, batch: usize) {
        let _ = (epoch, batch);
    }

    /// After each epoch, with its record; returns whether to go on.
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control;

    /// After the last epoch, before the history is returned: may put other
    /// parameters in the network (early stopping restores the best ones)
    /// and amend the history.
    fn on_train_end(&mut self, net: &mut Network<S>, history: &mut History) {
        let _ = (net, history);
    }

    /// When an epoch ends in `error`, before it is returned: may put other
    /// parameters in the network (the divergence guard restores the last
    /// good ones).
    fn on_error(&mut self, net: &mut Network<S>, error: &Error) {
        let _ = (net, error);
    }

    /// After an epoch that training goes on from (its record is in the
    /// history, the schedule has moved), with the run's whole state:
    /// [`Checkpoints`](super::Checkpoints) saves it every N epochs.
    ///
    /// # Errors
    /// An error ends training and is returned by the fit.
    fn on_checkpoint(&mut self, run: &RunState<'_, S>) -> crate::Result<()> {
        let _ = run;
        Ok(())
    }
}

impl<S: Scalar, F: FnMut(&EpochRecord, &Network<S>) -> Control + Send> Callback<S> for F {
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control {
        self(record, net)
    }
}

/// The quantity early stopping and restarts watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Monitor {
    /// Validation loss (lower is better). The default.
    #[default]
    ValLoss,
    /// Validation metric: accuracy for classification, R² for regression
    /// (higher is better).
    ValMetric,
    /// Training loss (lower is better); needs no validation set.
    TrainLoss,
}

impl Monitor {
    fn higher_is_better(self) -> bool {
        self == Monitor::ValMetric
    }

    /// True for the monitors that read the validation set.
    pub fn needs_validation(self) -> bool {
        self != Monitor::TrainLoss
    }

    pub(crate) fn read(self, r: &EpochRecord) -> f64 {
        match self {
            Monitor::ValLoss => r.val_loss.unwrap_or(f64::NAN),
            Monitor::ValMetric => r.val_metric.unwrap_or(f64::NAN),
            Monitor::TrainLoss => r.train_loss,
        }
    }

    /// True when `new` beats `best` by more than `min_delta`.
    pub(crate) fn improves(self, new: f64, best: f64, min_delta: f64) -> bool {
        if self.higher_is_better() {
            new > best + min_delta
        } else {
            new < best - min_delta
        }
    }
}

/// Stop when the monitored quantity has not improved by more than
/// `min_delta` for `patience` consecutive epochs (Keras's `EarlyStopping`).
///
/// `min_delta` governs only that count: the best epoch, whose parameters
/// are restored, is the best seen by any margin (as scikit-learn keeps its
/// best validation score). With `min_delta` = 10⁻⁴, `patience` = 11,
/// [`Monitor::TrainLoss`] and no restoring, this is scikit-learn's
/// `tol`/`n_iter_no_change` rule for stopping (it stops once 10 epochs in
/// a row have failed, i.e. at the 11th).
///
/// ```
/// use backprop::{EarlyStopping, Monitor, Trainer};
/// let t = Trainer::new()
///     .validation_fraction(0.1)
///     .early_stopping(EarlyStopping { monitor: Monitor::ValMetric, ..EarlyStopping::default() });
/// assert!(t.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// What to watch. Default [`Monitor::ValLoss`].
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (≥ 1). Default 10
    /// (scikit-learn's `n_iter_no_change`).
    pub patience: usize,
    /// Smallest change that counts as an improvement (≥ 0). Default 0.
    pub min_delta: f64,
    /// Put back the parameters of the best epoch when training ends.
    /// Default true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            monitor: Monitor::ValLoss,
            patience: 10,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// Early stopping during a run: the best epoch so far, the epochs since,
/// and a copy of the best parameters.
pub(crate) struct EarlyStopper<S> {
    config: EarlyStopping,
    best: Option<(usize, f64)>,
    bad_epochs: usize,
    best_params: Option<Vec<S>>,
}

impl<S: Scalar> EarlyStopper<S> {
    /// Allocates the copy of the best parameters (when it restores them).
    pub(crate) fn new(config: EarlyStopping, net: &Network<S>) -> Self {
        EarlyStopper {
            config,
            best: None,
            bad_epochs: 0,
            best_params: config.restore_best.then(|| net.params().to_vec()),
        }
    }
}

impl<S: Scalar> Callback<S> for EarlyStopper<S> {
    fn on_epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control {
        let monitor = self.config.monitor;
        let value = monitor.read(record);
        // Progress by more than min_delta resets the count; the best epoch
        // moves on any gain, so a run never restores a worse epoch than it saw.
        let (best, progressed) = match self.best {
            None => (value.is_finite(), value.is_finite()),
            Some((_, b)) => (
                monitor.improves(value, b, 0.0),
                monitor.improves(value, b, self.config.min_delta),
            ),
        };
        if best {
            self.best = Some((record.epoch, value));
            if let Some(bp) = &mut self.best_params {
                bp.copy_from_slice(net.params());
            }
        }
        if progressed {
            self.bad_epochs = 0;
            return Control::Continue;
        }
        self.bad_epochs += 1;
        if self.bad_epochs < self.config.patience {
            return Control::Continue;
        }
        log::info!(
            "early stopping at epoch {}: no improvement of {monitor:?} for {} epochs",
            record.epoch,
            self.bad_epochs
        );
        Control::Stop
    }

    fn on_train_end(&mut self, net: &mut Network<S>, history: &mut History) {
        if let (Some(bp), Some((epoch, value))) = (&self.best_params, self.best) {
            net.params_mut().copy_from_slice(bp);
            history.best_epoch = Some(epoch);
            history.score = value;
        }
    }
}

/// Puts back the parameters from the start of the epoch when training
/// diverges ([`Error::Diverged`]): finite, and the last state known to be
/// good.
pub(crate) struct DivergenceGuard<S> {
    epoch_start: Vec<S>,
}

impl<S: Scalar> DivergenceGuard<S> {
    /// Allocates the copy of the parameters.
    pub(crate) fn new(net: &Network<S>) -> Self {
        DivergenceGuard {
            epoch_start: net.params().to_vec(),
        }
    }
}

impl<S: Scalar> Callback<S> for DivergenceGuard<S> {
    fn on_epoch_begin(&mut self, _epoch: usize, net: &Network<S>) {
        self.epoch_start.copy_from_slice(net.params());
    }

    fn on_epoch_end(&mut self, _record: &EpochRecord, _net: &Network<S>) -> Control {
        Control::Continue
    }

    fn on_error(&mut self, net: &mut Network<S>, error: &Error) {
        if let Error::Diverged { epoch, batch, .. } = error {
            log::warn!("training diverged at epoch {epoch}, batch {batch}: {error}");
            net.params_mut().copy_from_slice(&self.epoch_start);
        }
    }
}

/// The callbacks of one run, in the order they are called: the divergence
/// guard, the progress bar, the user's, early stopping (kept apart, so that
/// a checkpoint can read its state).
pub(crate) struct Callbacks<'a, S: Scalar> {
    all: Vec<&'a mut dyn Callback<S>>,
    early: Option<&'a mut EarlyStopper<S>>,
}

impl<'a, S: Scalar> Callbacks<'a, S> {
    pub(crate) fn new(
        guard: &'a mut DivergenceGuard<S>,
        progress: &'a mut dyn Callback<S>,
        user: &'a mut [&mut dyn Callback<S>],
        early: Option<&'a mut EarlyStopper<S>>,
    ) -> Self {
        let mut all: Vec<&'a mut dyn Callback<S>> = Vec::with_capacity(user.len() + 2);
        all.push(guard);
        all.push(progress);
        for cb in user.iter_mut() {
            all.push(&mut **cb);
        }
        Callbacks { all, early }
    }

    /// Every callback, in calling order.
    fn each(&mut self) -> impl Iterator<Item = &mut (dyn Callback<S> + 'a)> {
        let early = (self.early.as_deref_mut()).map(|e| e as &mut (dyn Callback<S> + 'a));
        self.all.iter_mut().map(|cb| &mut **cb).chain(early)
    }

    /// The early stopper, when the run has one (to restore its state).
    pub(crate) fn early_mut(&mut self) -> Option<&mut EarlyStopper<S>> {
        self.early.as_deref_mut()
    }

    pub(crate) fn train_begin(&mut self, net: &Network<S>) {
        self.each().for_each(|cb| cb.on_train_begin(net));
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize, net: &Network<S>) {
        self.each().for_each(|cb| cb.on_epoch_begin(epoch, net));
    }

    pub(crate) fn batch_end(&mut self, epoch: usize, batch: usize) {
        self.each().for_each(|cb| cb.on_batch_end(epoch, batch));
    }

    /// Every callback sees the record; training stops if any asks.
    pub(crate) fn epoch_end(&mut self, record: &EpochRecord, net: &Network<S>) -> Control {
        let mut control = Control::Continue;
        for cb in self.each() {
            if cb.on_epoch_end(record, net) == Control::Stop {
                control = Control::Stop;
            }
        }
        control
    }

    pub(crate) fn train_end(&mut self, net: &mut Network<S>, history: &mut History) {
        self.each().for_each(|cb| cb.on_train_end(net, history));
    }

    pub(crate) fn error(&mut self, net: &mut Network<S>, error: &Error) {
        self.each().for_each(|cb| cb.on_error(net, error));
    }

    /// Every callback but early stopping (whose state the run holds) sees
    /// the run's state; the first error ends training.
    pub(crate) fn checkpoint(
        &mut self,
        net: &Network<S>,
        stepper: &super::stepper::Stepper<'_, S>,
        history: &History,
        key: &std::collections::BTreeMap<String, String>,
    ) -> crate::Result<()> {
        let run = RunState {
            net,
            stepper,
            early: self.early.as_deref(),
            history,
            key,
        };
        self.all
            .iter_mut()
            .try_for_each(|cb| cb.on_checkpoint(&run))
    }
}

/// Early stopping's state, for checkpoints.
impl<S: Scalar> EarlyStopper<S> {
    pub(crate) fn export(&self) -> EarlyState {
        EarlyState {
            best: self.best,
            bad_epochs: self.bad_epochs,
            best_params: (self.best_params.as_ref()).map(|p| p.iter().map(|v| v.wide()).collect()),
        }
    }

    /// Puts back an exported state; its vector was checked to hold as many
    /// values as the network has parameters.
    pub(crate) fn restore(&mut self, state: &EarlyState) {
        self.best = state.best;
        self.bad_epochs = state.bad_epochs;
        if let (Some(mine), Some(saved)) = (&mut self.best_params, &state.best_params) {
            mine.iter_mut()
                .zip(saved)
                .for_each(|(m, &s)| *m = S::cast(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With min_delta > 0 the best epoch still moves on smaller gains: the
    /// metric goes 0.50, 0.70, 0.705 (+0.005 < min_delta), 0.52, 0.51;
    /// patience 3 stops after the third epoch without a gain above
    /// min_delta, and the parameters of epoch 2 (0.705) come back, not
    /// those of epoch 1 (0.70, the last gain above min_delta).
    #[test]
    fn min_delta_governs_patience_not_the_best_epoch() {
        let mut net = Network::<f64>::builder(1)
            .output(1, crate::Loss::SquaredError)
            .build()
            .unwrap();
        let es = EarlyStopping {
            monitor: Monitor::ValMetric,
            patience: 3,
            min_delta: 0.01,
            restore_best: true,
        };
        let mut stopper = EarlyStopper::new(es, &net);
        let mut control = Vec::new();
        for (epoch, r2) in [0.50, 0.70, 0.705, 0.52, 0.51].into_iter().enumerate() {
            // Epoch e leaves the weight at e.
            net.params_mut()[0] = epoch as f64;
            let record = EpochRecord {
                epoch,
                train_loss: 1.0,
                val_loss: Some(1.0),
                val_metric: Some(r2),
                learning_rate: 1e-3,
                seconds: 0.0,
            };
            control.push(stopper.on_epoch_end(&record, &net));
        }
        use Control::{Continue, Stop};
        assert_eq!(control, [Continue, Continue, Continue, Continue, Stop]);
        let mut history = History::new(Monitor::ValMetric, 5);
        stopper.on_train_end(&mut net, &mut history);
        assert_eq!(history.best_epoch, Some(2));
        assert_eq!(history.score, 0.705);
        assert_eq!(net.params()[0], 2.0);
    }

    #[test]
    fn monitor_directions() {
        assert!(Monitor::ValLoss.improves(0.9, 1.0, 0.05));
        assert!(!Monitor::ValLoss.improves(0.96, 1.0, 0.05));
        assert!(Monitor::ValMetric.improves(0.9, 0.8, 0.0));
        assert!(!Monitor::ValMetric.improves(0.8, 0.8, 0.0));
    }
}
