//! Learning-rate schedules: η for each epoch from the initial η₀.
//!
//! The training loop asks for η once per epoch, before the epoch starts; e
//! counts completed epochs (0 for the first one), t counts training samples
//! seen so far.
//!
//! | schedule | η for epoch e |
//! |---|---|
//! | [`Schedule::Constant`] | η₀ |
//! | [`Schedule::Step`] | η₀·γ^⌊e/s⌋ |
//! | [`Schedule::Exponential`] | η₀·γᵉ |
//! | [`Schedule::Cosine`] | η_min + ½(η₀ − η_min)(1 + cos(π·min(e, T)/T)) |
//! | [`Schedule::InvScaling`] | η₀/(t + 1)^p (scikit-learn's `invscaling`, t in samples) |
//! | [`Schedule::ReduceOnPlateau`] | η·f when the loss has not improved on the loss of `patience` epochs ago |
//!
//! Reduce-on-plateau compares the latest monitored loss with the one
//! `patience` epochs earlier, not with the best loss ever seen: a run that
//! is still improving steadily is never cut because of one lucky early epoch
//! (the failure mode of scikit-learn issue 15596). After a cut, the window
//! restarts so the new η gets `patience` epochs to prove itself.

use std::collections::VecDeque;

use crate::{Result, check};

/// How η changes from epoch to epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Schedule {
    /// η = η₀ throughout (the default).
    #[default]
    Constant,
    /// Multiply η by `gamma` every `step_size` epochs.
    Step {
        /// Epochs between cuts (≥ 1).
        step_size: usize,
        /// Factor in (0, 1].
        gamma: f64,
    },
    /// Multiply η by `gamma` every epoch.
    Exponential {
        /// Factor in (0, 1].
        gamma: f64,
    },
    /// Cosine annealing from η₀ to `eta_min` over `t_max` epochs, then flat.
    Cosine {
        /// Epochs of the half cosine (≥ 1).
        t_max: usize,
        /// Final learning rate, ≥ 0 and below η₀.
        eta_min: f64,
    },
    /// η₀/(t + 1)^`power_t`, t = samples seen (scikit-learn's default
    /// power_t is 0.5).
    InvScaling {
        /// Exponent, finite and ≥ 0.
        power_t: f64,
    },
    /// Multiply η by `factor` when the monitored loss (validation loss when
    /// there is a validation set, else training loss) has not fallen below
    /// (1 − `threshold`) times its value `patience` epochs earlier.
    ReduceOnPlateau {
        /// Factor in (0, 1).
        factor: f64,
        /// Window in epochs (≥ 1).
        patience: usize,
        /// Relative improvement that counts as progress, ≥ 0.
        threshold: f64,
        /// η is never cut below this (≥ 0).
        min_lr: f64,
    },
}

impl Schedule {
    /// Reduce-on-plateau with factor 0.1, patience 10, threshold 10⁻⁴ and
    /// min_lr 0 (PyTorch's `ReduceLROnPlateau` defaults).
    pub fn reduce_on_plateau() -> Self {
        Schedule::ReduceOnPlateau {
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            min_lr: 0.0,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`](crate::Error::InvalidHyperparameter)
    /// naming the field out of range.
    pub fn validate(&self, eta0: f64) -> Result<()> {
        check::learning_rate(eta0)?;
        let zero = check::at_least_one;
        // γ = 1 keeps η constant, which is allowed.
        let gamma = |v: f64| check::require(v > 0.0 && v <= 1.0, "gamma", v, "must lie in (0, 1]");
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step {
                step_size,
                gamma: g,
            } => {
                zero("step_size", step_size)?;
                gamma(g)
            }
            Schedule::Exponential { gamma: g } => gamma(g),
            Schedule::Cosine { t_max, eta_min } => {
                zero("t_max", t_max)?;
                check::non_negative("eta_min", eta_min)?;
                check::require(
                    eta_min < eta0,
                    "eta_min",
                    eta_min,
                    "must be below the initial learning rate",
                )
            }
            Schedule::InvScaling { power_t } => check::non_negative("power_t", power_t),
            Schedule::ReduceOnPlateau {
                factor: f,
                patience,
                threshold,
                min_lr,
            } => {
                check::open_unit_interval("factor", f)?;
                zero("patience", patience)?;
                check::non_negative("threshold", threshold)?;
                check::non_negative("min_lr", min_lr)
            }
        }
    }
}

/// Where a learning-rate schedule stands between fits, so that a later fit
/// continues it instead of starting again at η₀: epochs and samples seen
/// so far, η for the next epoch and reduce-on-plateau's window.
///
/// [`Trainer::fit_continuing`](crate::Trainer::fit_continuing) starts from
/// it and leaves it where its run ended; the estimators keep one across
/// `partial_fit` calls and warm starts. [`default`](Default::default) is
/// the start of a schedule (η = η₀).
///
/// ```
/// use backprop::{Loss, Network, Schedule, SchedulePosition, Sgd, SgdConfig, Trainer};
/// use backprop::data::Dataset;
/// use ndarray::array;
/// let x = array![[0.0f64], [1.0], [2.0], [3.0]];
/// let y = array![[0.0f64], [1.0], [2.0], [3.0]];
/// let mut net = Network::<f64>::builder(1).output(1, Loss::SquaredError).build()?;
/// let mut sgd = Sgd::new(SgdConfig::default())?;
/// let t = Trainer::new().epochs(1).schedule(Schedule::InvScaling { power_t: 0.25 });
/// let mut at = SchedulePosition::default();
/// let mut etas = Vec::new();
/// for _ in 0..3 {
///     let h = t.fit_continuing(&mut net, &mut sgd, &mut at, Dataset::new(x.view(), &y), None, &mut [])?;
///     etas.push(h.epochs[0].learning_rate);
/// }
/// // η₀/(t + 1)^0.25 with t = 0, 4, 8 samples seen: 10⁻³, 10⁻³/5^¼, 10⁻³/9^¼.
/// assert_eq!(etas[0], 1e-3);
/// assert!((etas[1] - 1e-3 / 5f64.powf(0.25)).abs() < 1e-15);
/// assert!((etas[2] - 1e-3 / 9f64.powf(0.25)).abs() < 1e-15);
/// assert_eq!((at.epochs_done, at.samples_seen), (3, 12));
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedulePosition {
    /// Epochs completed so far.
    pub epochs_done: usize,
    /// Training samples visited so far (scikit-learn's `t_`).
    pub samples_seen: u64,
    /// η for the next epoch; `None` before the first (η₀).
    pub eta: Option<f64>,
    /// Reduce-on-plateau's window of recent losses.
    pub(crate) recent: Vec<f64>,
}

/// A [`Schedule`] with its state (the recent losses for reduce-on-plateau),
/// allocated once.
#[derive(Debug, Clone)]
pub(crate) struct Scheduler {
    schedule: Schedule,
    eta0: f64,
    eta: f64,
    recent: VecDeque<f64>,
}

impl Scheduler {
    /// A scheduler starting at η₀.
    ///
    /// # Errors
    /// As [`Schedule::validate`].
    pub(crate) fn new(schedule: Schedule, eta0: f64) -> Result<Self> {
        schedule.validate(eta0)?;
        let window = match schedule {
            Schedule::ReduceOnPlateau { patience, .. } => patience + 1,
            _ => 0,
        };
        Ok(Scheduler {
            schedule,
            eta0,
            eta: eta0,
            recent: VecDeque::with_capacity(window),
        })
    }

    /// η for the current epoch.
    pub(crate) fn learning_rate(&self) -> f64 {
        self.eta
    }

    /// Called after an epoch: `epochs_done` epochs completed, `samples_seen`
    /// training samples visited in total, `loss` the monitored loss of the
    /// epoch just finished. Returns η for the next epoch.
    pub(crate) fn advance(&mut self, epochs_done: usize, samples_seen: u64, loss: f64) -> f64 {
        let e = epochs_done as f64;
        self.eta = match self.schedule {
            Schedule::Constant => self.eta0,
            Schedule::Step { step_size, gamma } => {
                self.eta0 * gamma.powi((epochs_done / step_size).min(i32::MAX as usize) as i32)
            }
            Schedule::Exponential { gamma } => self.eta0 * gamma.powf(e),
            Schedule::Cosine { t_max, eta_min } => {
                let frac = e.min(t_max as f64) / t_max as f64;
                eta_min + 0.5 * (self.eta0 - eta_min) * (1.0 + (std::f64::consts::PI * frac).cos())
            }
            Schedule::InvScaling { power_t } => {
                self.eta0 / (samples_seen as f64 + 1.0).powf(power_t)
            }
            Schedule::ReduceOnPlateau {
                factor,
                patience,
                threshold,
                min_lr,
            } => {
                if self.recent.len() == patience + 1 {
                    self.recent.pop_front();
                }
                self.recent.push_back(loss);
                let mut eta = self.eta;
                if self.recent.len() == patience + 1 {
                    let then = self.recent[0];
                    let improved = loss < then - threshold * then.abs();
                    if !improved {
                        eta = (eta * factor).max(min_lr);
                        self.recent.clear();
                        log::info!(
                            "reduce-on-plateau: loss {loss:.6e} did not improve on {then:.6e} \
                             from {patience} epochs ago; learning rate -> {eta:.3e}"
                        );
                    }
                }
                eta
            }
        };
        // Rates that underflow to 0 would be rejected by optimizers.
        self.eta = self.eta.max(f64::MIN_POSITIVE);
        self.eta
    }
}

/// The schedule's position, for checkpoints: η and the plateau window.
impl Scheduler {
    pub(crate) fn position(&self) -> (f64, Vec<f64>) {
        (self.eta, self.recent.iter().copied().collect())
    }

    pub(crate) fn set_position(&mut self, eta: f64, recent: &[f64]) {
        self.eta = eta;
        self.recent.clear();
        self.recent.extend(recent);
    }
}

/// The schedule's position between fits ([`SchedulePosition`]).
impl Scheduler {
    /// Starts from `at` (η₀ when it has no η yet).
    pub(crate) fn continue_from(&mut self, at: &SchedulePosition) {
        let eta = at.eta.unwrap_or(self.eta0);
        self.set_position(eta, &at.recent);
    }

    /// Writes the position after `epochs_done` epochs and `samples_seen`
    /// samples into `at`.
    pub(crate) fn save_to(&self, at: &mut SchedulePosition, epochs_done: usize, samples_seen: u64) {
        at.epochs_done = epochs_done;
        at.samples_seen = samples_seen;
        at.eta = Some(self.eta);
        at.recent.clear();
        at.recent.extend(&self.recent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn step_halves_every_step_size_epochs() {
        let mut s = Scheduler::new(
            Schedule::Step {
                step_size: 2,
                gamma: 0.5,
            },
            0.1,
        )
        .unwrap();
        assert_eq!(s.learning_rate(), 0.1);
        assert_eq!(s.advance(1, 0, 1.0), 0.1); // after epoch 0
        assert_eq!(s.advance(2, 0, 1.0), 0.05); // after epoch 1
    }

    #[test]
    fn cosine_reaches_eta_min_and_stays() {
        let mut s = Scheduler::new(
            Schedule::Cosine {
                t_max: 4,
                eta_min: 0.0,
            },
            1.0,
        )
        .unwrap();
        let etas: Vec<f64> = (1..=6).map(|e| s.advance(e, 0, 0.0)).collect();
        assert!((etas[1] - 0.5).abs() < 1e-12, "{etas:?}");
        assert!(etas[3] < 1e-300 && etas[5] < 1e-300, "{etas:?}");
    }

    #[test]
    fn invscaling_matches_scikit_learn() {
        let mut s = Scheduler::new(Schedule::InvScaling { power_t: 0.5 }, 0.1).unwrap();
        assert!((s.advance(1, 99, 0.0) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn plateau_compares_with_recent_progress_not_the_best() {
        let sched = Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 2,
            threshold: 0.0,
            min_lr: 0.0,
        };
        let mut s = Scheduler::new(sched, 1.0).unwrap();
        // A lucky early epoch (0.1) and then steady progress from 1.0 down:
        // "best ever" would cut; comparing with 2 epochs ago does not.
        for (e, loss) in [0.1, 1.0, 0.9, 0.8, 0.7].into_iter().enumerate() {
            let eta = s.advance(e + 1, 0, loss);
            if e < 2 {
                assert_eq!(eta, 1.0);
            }
            if e == 2 {
                // 0.9 > 0.1 from two epochs ago: no progress -> cut.
                assert_eq!(eta, 0.5);
            }
            if e > 2 {
                assert_eq!(eta, 0.5, "steady progress must not be cut");
            }
        }
        // Two flat epochs after the window refills -> cut again.
        s.advance(6, 0, 0.7);
        assert_eq!(s.advance(7, 0, 0.7), 0.25);
    }

    #[test]
    fn validation_names_the_field() {
        let e = Scheduler::new(
            Schedule::Step {
                step_size: 0,
                gamma: 0.5,
            },
            0.1,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidHyperparameter {
                name: "step_size",
                ..
            }
        ));
        assert!(Scheduler::new(Schedule::Exponential { gamma: 1.5 }, 0.1).is_err());
        assert!(Scheduler::new(Schedule::reduce_on_plateau(), -1.0).is_err());
    }
}
