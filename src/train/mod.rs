//! The training loop: epochs of a [`Solver`](crate::Solver) over a data set, with a
//! learning-rate schedule, validation, callbacks and restarts.
//!
//! One epoch, as the lecture describes it:
//!
//! 1. the parameters move: mini-batch gradient descent with a step-wise
//!    optimizer at the η the [`Schedule`](crate::Schedule) gives, or one
//!    full-batch L-BFGS iteration ([`LbfgsConfig`](crate::LbfgsConfig));
//! 2. the validation loss and metric are computed and recorded with the
//!    training loss, η and the epoch's wall time;
//! 3. the callbacks run and may end training.
//!
//! Everything optional is a [`Callback`] called at named points: early
//! stopping, the divergence guard, the progress bar and the user's own.
//! Data is checked once, here, before the first epoch; the loop then takes
//! gradients without re-checking every batch.
//!
//! # What the recorded losses are
//! `train_loss` is the objective actually minimized, averaged over the
//! epoch's batches in proportion to their rows: (1/m)·Σ_b m_b·J_b, L2 term
//! included (scikit-learn's `loss_curve_`). It is computed on the fly, so it
//! mixes parameters from the whole epoch. `val_loss` is the data term alone,
//! (1/m_val)·Σᵢ J⁽ⁱ⁾ (weighted if validation weights are given), at the
//! parameters at the end of the epoch; it carries no L2 term, so it compares
//! across values of λ.
//!
//! # Divergence
//! A non-finite loss, gradient or parameter stops training with
//! [`Error::Diverged`] naming the epoch, the batch and the first layer
//! holding a non-finite value. The network is then put back to its
//! parameters from the start of that epoch: finite, and the last state known
//! to be good.

mod callbacks;
mod checkpoint;
mod history;
mod progress;
mod stepper;
mod trainer;
mod validation;

use std::time::Instant;

pub use callbacks::{Callback, Control, EarlyStopping, Monitor};
pub use checkpoint::{Checkpoints, RunState};
pub use history::{EpochRecord, History, Restarts, RunReport};
pub use trainer::{MIN_VALIDATION_SAMPLES, Trainer};

use callbacks::{Callbacks, DivergenceGuard, EarlyStopper};
use checkpoint::Resume;
use progress::Progress;
use stepper::{Step, Stepper};
use validation::ValEval;

use crate::data::Dataset;
use crate::{Error, Network, Result, Scalar};

/// The epochs of one run, after every check: `stepper` moves the
/// parameters, `callbacks` (the user's) run with the library's own;
/// `resume` says where the run starts (from a checkpoint, or epoch 0).
fn epochs<S: Scalar>(
    t: &Trainer,
    net: &mut Network<S>,
    mut stepper: Stepper<'_, S>,
    monitor: Monitor,
    (train, val): (Dataset<'_, S>, Option<Dataset<'_, S>>),
    user: &mut [&mut dyn Callback<S>],
    resume: Resume<'_>,
) -> Result<History> {
    let lambda = S::cast(t.lambda);
    let mut val = val.map(|v| (ValEval::new(net, &v), v));
    let mut guard = DivergenceGuard::new(net);
    let mut progress = Progress::new(t.progress, t.epochs, stepper.steps_per_epoch(), train.len());
    let mut early = t.early_stopping.map(|es| EarlyStopper::new(es, net));
    let mut callbacks = Callbacks::new(&mut guard, &mut progress, user, early.as_mut());
    let mut history = History::new(monitor, t.epochs);
    let start = resume.restore(net, &mut stepper, callbacks.early_mut(), &mut history)?;
    callbacks.train_begin(net);
    for epoch in start..t.epochs {
        let started = Instant::now();
        callbacks.epoch_begin(epoch, net);
        let step = stepper.epoch(net, &train, lambda, epoch, &mut |b| {
            callbacks.batch_end(epoch, b)
        });
        let (train_loss, learning_rate) = match step {
            Ok(Step::Moved(loss, eta)) => (loss, eta),
            Ok(Step::Stalled) => {
                history.stopped_early = true;
                break;
            }
            Err(e) => {
                callbacks.error(net, &e);
                return Err(e);
            }
        };
        let (val_loss, val_metric) = match &mut val {
            Some((e, v)) => {
                let (l, m) = e.evaluate(net, v)?;
                let [l, m] = agree(t, [l, m])?;
                (Some(l), Some(m))
            }
            None => (None, None),
        };
        let record = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            val_metric,
            learning_rate,
            seconds: started.elapsed().as_secs_f64(),
        };
        history.epochs.push(record);
        log::debug!(
            "epoch {epoch}: train loss {train_loss:.6e}, val loss {val_loss:?}, \
             val metric {val_metric:?}, lr {learning_rate:.3e}"
        );
        // The schedule counts the last epoch too, for a run that continues.
        stepper.end_epoch(&record);
        if callbacks.epoch_end(&record, net) == Control::Stop {
            history.stopped_early = epoch + 1 < t.epochs;
            break;
        }
        callbacks.checkpoint(net, &stepper, &history, &resume.key)?;
    }
    history.score = history.last().map_or(f64::NAN, |r| monitor.read(r));
    callbacks.train_end(net, &mut history);
    Ok(history)
}

/// Rank 0's `values` on every rank of a distributed run, so that every
/// decision taken from them is the same everywhere; `values` alone
/// otherwise.
fn agree<const N: usize>(t: &Trainer, mut values: [f64; N]) -> Result<[f64; N]> {
    if let Some(comm) = &t.distributed {
        comm.broadcast(&mut values)?;
    }
    Ok(values)
}

/// Checks a whole data set against the network once, before training.
pub(crate) fn check_data<S: Scalar>(
    net: &Network<S>,
    d: &Dataset<'_, S>,
    what: &'static str,
) -> Result<()> {
    d.check(what)?;
    if d.x.ncols() != net.n_inputs() {
        return Err(Error::InputWidth {
            got: d.x.ncols(),
            expected: net.n_inputs(),
        });
    }
    crate::check::finite("input", d.x)?;
    net.loss().validate(&d.y, net.n_outputs())
}
