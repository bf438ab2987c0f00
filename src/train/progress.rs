//! The optional terminal progress bar, as a callback; a no-op unless
//! switched on (and compiled in with the `progress` feature).

use crate::{Network, Scalar};

use super::{Callback, Control, EpochRecord, History};

/// A bar of batches over the whole run, with the last epoch's training loss
/// and speed.
pub(crate) struct Progress {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
    /// Training samples per epoch, for the samples/s figure.
    #[cfg_attr(not(feature = "progress"), allow(dead_code))]
    samples: usize,
}

impl Progress {
    /// A bar of `epochs`·`batches` steps when `on`.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn new(on: bool, epochs: usize, batches: usize, samples: usize) -> Self {
        #[cfg(feature = "progress")]
        {
            let bar = on.then(|| {
                let bar = indicatif::ProgressBar::new((epochs * batches) as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} batch {pos}/{len} [{elapsed_precise}] {msg}",
                    )
                    .expect("static template"),
                );
                bar
            });
            Progress { bar, samples }
        }
        #[cfg(not(feature = "progress"))]
        Progress { samples }
    }
}

impl<S: Scalar> Callback<S> for Progress {
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn on_epoch_end(&mut self, r: &EpochRecord, _net: &Network<S>) -> Control {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            let rate = self.samples as f64 / r.seconds.max(1e-12);
            bar.set_message(format!(
                "epoch {} loss {:.4e} {:.0} samples/s",
                r.epoch, r.train_loss, rate
            ));
        }
        Control::Continue
    }

    fn on_train_end(&mut self, _net: &mut Network<S>, _history: &mut History) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
