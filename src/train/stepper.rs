//! The two ways an epoch moves the parameters: mini-batches with a
//! step-wise [`Optimizer`], or one full-batch L-BFGS iteration.
//!
//! The mode follows the [`Solver`]; the settings only one mode can use are
//! checked against it once ([`check_settings`]), so an L-BFGS run never
//! carries a batch size, learning rate, schedule or clipping it would
//! ignore.
//!
//! # One mini-batch epoch
//! η comes from the [`Schedule`](crate::Schedule); a fresh seeded
//! permutation of the m samples is cut into ⌈m/B⌉ batches; for each batch:
//! J and ∂J/∂θ by backpropagation, a check that both are finite, optional
//! clipping of ‖∇J‖₂, one optimizer step at η, the optional max-norm
//! constraint on each unit's incoming weights, a check that θ is finite.

use crate::data::{Batcher, Dataset};
use crate::distributed::{self, Distributed};
use crate::io::checkpoint::Checkpoint;
use crate::optim::{LbfgsState, Optimizer, OptimizerState, Outcome};
use crate::schedule::{SchedulePosition, Scheduler};
use crate::{Error, Layout, Network, Result, Scalar, Schedule, Solver, Workspace, check, simd};

use super::{EpochRecord, Trainer};

/// Batch size when none is set: min(200, m), scikit-learn's `"auto"`.
pub(crate) const DEFAULT_BATCH_SIZE: usize = 200;
/// Initial learning rate η₀ when none is set (scikit-learn's and Keras's).
pub(crate) const DEFAULT_LEARNING_RATE: f64 = 1e-3;

/// Checks the settings that depend on the mode: for a step-wise solver the
/// batch size, η₀, the schedule and clipping; for L-BFGS, that none of
/// them is set.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] naming the setting.
pub(crate) fn check_settings(t: &Trainer) -> Result<()> {
    if let Some(Solver::Lbfgs(_)) = t.solver {
        let unused = |name: &'static str, value: String| Error::InvalidHyperparameter {
            name,
            value,
            reason: "L-BFGS works on the full batch: it takes no batch size, learning rate, \
                     schedule or clipping; leave the setting unset or choose a step-wise solver",
        };
        if let Some(b) = t.batch_size {
            return Err(unused("batch_size", b.to_string()));
        }
        if let Some(lr) = t.learning_rate {
            return Err(unused("learning_rate", lr.to_string()));
        }
        if t.schedule != Schedule::Constant {
            return Err(unused("schedule", format!("{:?}", t.schedule)));
        }
        if let Some(c) = t.clip_norm {
            return Err(unused("clip_norm", c.to_string()));
        }
        if let Some(a) = &t.augment {
            return Err(Error::InvalidHyperparameter {
                name: "augment",
                value: format!("{a:?}"),
                reason: "augmentation draws new rows for every mini-batch, and L-BFGS works \
                         on one fixed full batch; use a step-wise solver to augment",
            });
        }
        if let Some(c) = t.max_norm {
            return Err(Error::InvalidHyperparameter {
                name: "max_norm",
                value: c.to_string(),
                reason: "L-BFGS's line search and curvature pairs assume unconstrained \
                         steps; use a step-wise solver for a max-norm constraint",
            });
        }
        return Ok(());
    }
    if let Some(b) = t.batch_size {
        check::at_least_one("batch_size", b)?;
    }
    let eta0 = t.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE);
    check::learning_rate(eta0)?;
    t.schedule.validate(eta0)?;
    if let Some(c) = t.clip_norm {
        check::positive("clip_norm", c)?;
    }
    Ok(())
}

/// Where a mini-batch run's optimizer comes from.
pub(crate) enum OptimizerSource<'o, S: Scalar> {
    /// Built fresh from the trainer's solver.
    Solver,
    /// The caller's, with its state.
    Given(&'o mut dyn Optimizer<S>),
    /// The caller's, with its state, continuing the schedule from where a
    /// previous run left it (and leaving it where this run ends).
    Continuing(&'o mut dyn Optimizer<S>, &'o mut SchedulePosition),
    /// Built fresh from the trainer's solver, then given the state saved in
    /// a checkpoint (the run resumes from it).
    Checkpoint(&'o Checkpoint),
}

/// What one epoch did.
pub(crate) enum Step {
    /// The parameters moved: the epoch's mean training objective and its η
    /// (for L-BFGS, the step length).
    Moved(f64, f64),
    /// L-BFGS found no step that lowers J: a (numerical) minimum.
    Stalled,
}

/// The state of one run's stepping, allocated before the first epoch.
// One per run, made once and never moved in the loop: the size gap between
// the modes costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Stepper<'o, S: Scalar> {
    MiniBatch(MiniBatch<'o, S>),
    FullBatch(FullBatch<S>),
}

impl<'o, S: Scalar> Stepper<'o, S> {
    /// The stepper for `t` (validated, [`check_settings`] included) on
    /// `train` (checked, non-empty), shuffling with a stream derived from
    /// `seed`.
    ///
    /// # Errors
    /// As [`Solver::optimizer`].
    pub(crate) fn new(
        t: &Trainer,
        source: OptimizerSource<'o, S>,
        net: &Network<S>,
        train: &Dataset<'_, S>,
        seed: u64,
    ) -> Result<Self> {
        let mut position = None;
        let optimizer: Box<dyn Optimizer<S> + 'o> = match (source, t.solver.unwrap_or_default()) {
            (OptimizerSource::Given(opt), _) => Box::new(opt),
            (OptimizerSource::Continuing(opt, at), _) => {
                position = Some(at);
                Box::new(opt)
            }
            (OptimizerSource::Checkpoint(_), Solver::Lbfgs(_)) => return Err(lbfgs_refused()),
            (OptimizerSource::Solver, Solver::Lbfgs(c)) => {
                if let Some(&p) = net.dropout().iter().find(|&&p| p > 0.0) {
                    return Err(Error::InvalidHyperparameter {
                        name: "dropout",
                        value: p.to_string(),
                        reason: "dropout makes every full-batch cost a different random \
                                 network, which L-BFGS's line search cannot follow; use a \
                                 step-wise solver or no dropout",
                    });
                }
                let mut ws = net.workspace(train.len());
                ws.set_label_smoothing(t.label_smoothing)?;
                return Ok(Stepper::FullBatch(FullBatch {
                    state: LbfgsState::new(net.n_params(), c.memory),
                    ws,
                    comm: t.distributed.clone(),
                    evaluations: 0,
                    max_fun: c.max_fun,
                }));
            }
            (_, solver) => solver.optimizer()?,
        };
        let batch = t.batch_size.unwrap_or(DEFAULT_BATCH_SIZE).min(train.len());
        let eta0 = t.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE);
        let mut ws = net.workspace(batch);
        ws.set_label_smoothing(t.label_smoothing)?;
        // The mask stream, decorrelated from the shuffle stream and, in
        // data-parallel training, from the other ranks' streams (each rank
        // draws the masks of its own rows, so a run on R ranks is not the
        // one-process run bit for bit when dropout is on).
        let rank = t.distributed.as_ref().map_or(0, |d| d.rank() as u64);
        ws.seed_dropout(shuffle_seed(shuffle_seed(seed) ^ rank));
        let mut batcher = Batcher::new(train, batch, shuffle_seed(seed))?;
        if let Some(a) = &t.augment {
            // Its own stream, rank mixed in as for the masks: each rank
            // draws the moves of its own rows.
            batcher.set_augment(a, shuffle_seed(shuffle_seed(seed).rotate_left(32) ^ rank));
        }
        let mut scheduler = Scheduler::new(t.schedule, eta0)?;
        if let Some(at) = &position {
            scheduler.continue_from(at);
        }
        Ok(Stepper::MiniBatch(MiniBatch {
            optimizer,
            batcher,
            scheduler,
            ws,
            clip_norm: t.clip_norm,
            max_norm: t.max_norm,
            shuffle: t.shuffle,
            samples: train.len(),
            epochs_before: position.as_ref().map_or(0, |at| at.epochs_done),
            samples_seen: position.as_ref().map_or(0, |at| at.samples_seen),
            position,
            comm: t.distributed.clone(),
        }))
    }

    /// Optimizer steps per epoch.
    pub(crate) fn steps_per_epoch(&self) -> usize {
        match self {
            Stepper::MiniBatch(s) => s.batcher.n_batches(),
            Stepper::FullBatch(_) => 1,
        }
    }

    /// One epoch over `train`; `on_step(b)` after each step b.
    ///
    /// # Errors
    /// [`Error::Diverged`] naming `epoch`, the batch and the first layer
    /// holding a non-finite value; optimizer errors.
    pub(crate) fn epoch(
        &mut self,
        net: &mut Network<S>,
        train: &Dataset<'_, S>,
        lambda: S,
        epoch: usize,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<Step> {
        match self {
            Stepper::MiniBatch(s) => s.epoch(net, train, lambda, epoch, on_step),
            Stepper::FullBatch(s) => s.epoch(net, train, lambda, epoch, on_step),
        }
    }

    /// After an epoch the run goes on from: the schedule moves η.
    pub(crate) fn end_epoch(&mut self, record: &EpochRecord) {
        if let Stepper::MiniBatch(s) = self {
            s.samples_seen += s.samples as u64;
            let plateau_loss = record.val_loss.unwrap_or(record.train_loss);
            let done = s.epochs_before + record.epoch + 1;
            s.scheduler.advance(done, s.samples_seen, plateau_loss);
            if let Some(at) = &mut s.position {
                s.scheduler.save_to(at, done, s.samples_seen);
            }
        }
    }
}

/// Mini-batch stepping: the optimizer, the batches, the schedule.
pub(crate) struct MiniBatch<'o, S: Scalar> {
    optimizer: Box<dyn Optimizer<S> + 'o>,
    batcher: Batcher<S>,
    scheduler: Scheduler,
    ws: Workspace<S>,
    clip_norm: Option<f64>,
    max_norm: Option<f64>,
    shuffle: bool,
    /// Training samples m.
    samples: usize,
    /// Epochs done by earlier runs whose schedule this run continues.
    epochs_before: usize,
    samples_seen: u64,
    /// Where to leave the schedule's position after each epoch, when the
    /// run continues one.
    position: Option<&'o mut SchedulePosition>,
    /// Set for a data-parallel run: each batch's gradient is this rank's
    /// shard's, summed over the ranks.
    comm: Option<Distributed>,
}

impl<S: Scalar> MiniBatch<'_, S> {
    fn epoch(
        &mut self,
        net: &mut Network<S>,
        train: &Dataset<'_, S>,
        lambda: S,
        epoch: usize,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<Step> {
        let eta = self.scheduler.learning_rate();
        if self.shuffle {
            self.batcher.shuffle();
        }
        let mut loss_sum = 0.0f64;
        for b in 0..self.batcher.n_batches() {
            let rows = self.batcher.batch(b).len();
            let cost = self.gradient(net, train, b, lambda)?;
            let diverged = |layer, what| Error::Diverged {
                epoch,
                batch: b,
                layer,
                what,
            };
            // ‖∇J‖ only when clipping needs it: finiteness alone is a
            // cheaper pass.
            let norm = self.clip_norm.map(|_| self.ws.gradient().norm());
            let finite = match norm {
                Some(n) => n.is_finite(),
                None => simd::all_finite(self.ws.gradient().as_slice()),
            };
            if !finite {
                let layer = blamed_layer(net, self.ws.gradient().as_slice());
                return Err(diverged(layer, "gradient"));
            }
            if !cost.is_finite() {
                return Err(diverged(net.depth() - 1, "loss"));
            }
            if let (Some(c), Some(norm)) = (self.clip_norm, norm)
                && norm > c
            {
                let f = S::cast(c / norm);
                let g = self.ws.gradient_mut().as_mut_slice();
                g.iter_mut().for_each(|g| *g = *g * f);
            }
            // The max-norm rescaling (by a factor ≤ 1) keeps θ finite.
            let finite = self.optimizer.step_finite(net, self.ws.gradient(), eta)?;
            if let Some(c) = self.max_norm {
                net.apply_max_norm(c);
            }
            if !finite {
                let layer = first_non_finite_layer(net.layout(), net.params());
                return Err(diverged(layer.unwrap_or(net.depth() - 1), "parameters"));
            }
            loss_sum += cost.wide() * rows as f64;
            on_step(b);
        }
        if let Some(comm) = &self.comm {
            loss_sum = comm.sum_one(loss_sum)?;
        }
        Ok(Step::Moved(loss_sum / self.samples as f64, eta))
    }

    /// ∂J/∂θ of batch `b` into the workspace, and the batch's J: computed
    /// here, or, in a data-parallel run, from this rank's shard and summed
    /// over the ranks (J then is this rank's share of the batch's J; the
    /// shares sum to it at the end of the epoch).
    fn gradient(
        &mut self,
        net: &Network<S>,
        train: &Dataset<'_, S>,
        b: usize,
        lambda: S,
    ) -> Result<S> {
        let Some(comm) = &self.comm else {
            let (xb, yb, wb) = self.batcher.gather(train, b);
            return net.gradient_unchecked(&mut self.ws, xb, &yb, wb, lambda);
        };
        let m = self.batcher.batch(b).len();
        let total = self.batcher.batch_weight(train, b);
        if total <= 0.0 {
            return Err(distributed::zero_weight(total));
        }
        let part = distributed::shard(m, comm.rank(), comm.size());
        let (xb, yb, wb) = self.batcher.gather_part(train, b, part);
        let mine = wb.map_or(xb.nrows() as f64, |w| {
            w.iter().fold(0.0, |acc, v| acc + v.wide())
        });
        let mut cost = 0.0;
        if mine > 0.0 {
            let j = net.gradient_unchecked(&mut self.ws, xb, &yb, wb, S::zero())?;
            let share = mine / total;
            cost = j.wide() * share;
            let f = S::cast(share);
            let g = self.ws.gradient_mut().as_mut_slice();
            g.iter_mut().for_each(|g| *g = *g * f);
            if !cost.is_finite() {
                // Every rank must see the divergence at this batch.
                g[0] = S::nan();
            }
        } else {
            self.ws.gradient_mut().as_mut_slice().fill(S::zero());
        }
        let g = self.ws.gradient_mut().as_mut_slice();
        comm.sum(g)?;
        let l2 = distributed::add_l2(net, g, lambda, m);
        // The L2 cost is counted on rank 0 only (the shares then sum to J),
        // but seen by all when it is not finite.
        let l2 = if comm.rank() == 0 || !l2.is_finite() {
            l2
        } else {
            0.0
        };
        Ok(S::cast(cost + l2))
    }
}

/// Full-batch L-BFGS: its memory and a workspace for all m rows.
pub(crate) struct FullBatch<S: Scalar> {
    state: LbfgsState,
    ws: Workspace<S>,
    /// Set for a data-parallel run (see [`MiniBatch`]).
    comm: Option<Distributed>,
    /// Evaluations of J and ∇J so far.
    evaluations: usize,
    /// Stop before an iteration once this many evaluations are done.
    max_fun: Option<usize>,
}

impl<S: Scalar> FullBatch<S> {
    fn epoch(
        &mut self,
        net: &mut Network<S>,
        train: &Dataset<'_, S>,
        lambda: S,
        epoch: usize,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<Step> {
        if let Some(cap) = self.max_fun.filter(|&cap| self.evaluations >= cap) {
            log::info!(
                "L-BFGS: {} function evaluations reached max_fun = {cap} at epoch {epoch}; stopping",
                self.evaluations
            );
            return Ok(Step::Stalled);
        }
        let ws = &mut self.ws;
        let comm = self.comm.as_ref();
        let evaluations = &mut self.evaluations;
        let outcome = self.state.iterate(net, |n, g| {
            *evaluations += 1;
            match comm {
                None => {
                    let j =
                        n.gradient_unchecked(ws, train.x, &train.y, train.sample_weight, lambda)?;
                    for (gi, v) in g.iter_mut().zip(ws.gradient().as_slice()) {
                        *gi = v.wide();
                    }
                    Ok(j.wide())
                }
                Some(comm) => full_batch_gradient(comm, n, ws, train, lambda, g),
            }
        })?;
        match outcome {
            Some(Outcome::Moved { step, cost }) => {
                on_step(0);
                Ok(Step::Moved(cost, step))
            }
            Some(Outcome::Stalled) => {
                log::info!(
                    "L-BFGS: no decrease along the search direction at epoch {epoch}; stopping"
                );
                Ok(Step::Stalled)
            }
            None => Err(Error::Diverged {
                epoch,
                batch: 0,
                layer: blamed_layer(net, ws.gradient().as_slice()),
                what: "loss",
            }),
        }
    }
}

/// ∂J/∂θ of the whole training set into `g` and J, in a data-parallel
/// run: this rank's contiguous shard, weighted by its share of Σwᵢ, summed
/// over the ranks (two all-reduces: g, then J), plus the L2 term.
fn full_batch_gradient<S: Scalar>(
    comm: &Distributed,
    net: &Network<S>,
    ws: &mut Workspace<S>,
    train: &Dataset<'_, S>,
    lambda: S,
    g: &mut [f64],
) -> Result<f64> {
    let m = train.len();
    let total = distributed::weight_of(train, 0..m);
    if total <= 0.0 {
        return Err(distributed::zero_weight(total));
    }
    let part = distributed::shard(m, comm.rank(), comm.size());
    let mine = distributed::weight_of(train, part.clone());
    let mut j = 0.0;
    if mine > 0.0 {
        let d = distributed::rows_of(train, part);
        let share = mine / total;
        j = net
            .gradient_unchecked(ws, d.x, &d.y, d.sample_weight, S::zero())?
            .wide()
            * share;
        for (gi, v) in g.iter_mut().zip(ws.gradient().as_slice()) {
            *gi = v.wide() * share;
        }
    } else {
        g.fill(0.0);
    }
    comm.sum(g)?;
    let j = comm.sum_one(j)?;
    let decay = lambda.wide() / m as f64;
    for l in 0..net.depth() {
        let range = net.layout().weight_range(l);
        for (gi, &w) in g[range.clone()].iter_mut().zip(&net.params()[range]) {
            *gi += decay * w.wide();
        }
    }
    Ok(j + decay / 2.0 * net.sum_squared_weights())
}

/// The shuffle stream's seed, decorrelated from the initialization stream
/// that uses the same user seed (SplitMix64 finalizer).
fn shuffle_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The layer a non-finite gradient is reported at: the first whose
/// gradient holds a NaN or infinity, else the output layer.
fn blamed_layer<S: Scalar>(net: &Network<S>, gradient: &[S]) -> usize {
    first_non_finite_layer(net.layout(), gradient).unwrap_or(net.depth() - 1)
}

/// The first layer whose weights or biases hold a NaN or infinity.
fn first_non_finite_layer<S: Scalar>(layout: &Layout, flat: &[S]) -> Option<usize> {
    if simd::all_finite(flat) {
        return None;
    }
    (0..layout.depth()).find(|&l| {
        flat[layout.weight_range(l)]
            .iter()
            .chain(&flat[layout.bias_range(l)])
            .any(|v| !v.is_finite())
    })
}

/// What a checkpoint saves of the stepping: the optimizer's state, the
/// schedule's position (η, plateau window), the positions of the shuffling,
/// dropout-mask and augmentation streams, and the samples seen.
pub(crate) type Position = (OptimizerState, (f64, Vec<f64>), [u128; 3], u64);

impl<S: Scalar> Stepper<'_, S> {
    /// The stepping's state after an epoch.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for L-BFGS, and from [`Optimizer::state`].
    pub(crate) fn position(&self) -> Result<Position> {
        match self {
            Stepper::MiniBatch(s) => Ok((
                s.optimizer.state()?,
                s.scheduler.position(),
                [
                    s.batcher.stream_position(),
                    s.ws.dropout_stream_position(),
                    s.batcher.augment_stream_position(),
                ],
                s.samples_seen,
            )),
            Stepper::FullBatch(_) => Err(lbfgs_refused()),
        }
    }

    /// Puts back the state a checkpoint saved.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for L-BFGS, and from [`Optimizer::set_state`].
    pub(crate) fn restore(&mut self, c: &Checkpoint) -> Result<()> {
        match self {
            Stepper::MiniBatch(s) => {
                s.optimizer.set_state(&c.optimizer)?;
                s.scheduler.set_position(c.eta, &c.recent);
                s.batcher.set_stream_position(c.stream_position);
                s.ws.set_dropout_stream_position(c.mask_position);
                s.batcher.set_augment_stream_position(c.augment_position);
                s.samples_seen = c.samples_seen;
                Ok(())
            }
            Stepper::FullBatch(_) => Err(lbfgs_refused()),
        }
    }
}

/// L-BFGS runs are not checkpointed: each epoch is one iteration, and its
/// curvature pairs would make a checkpoint as large as `memory` networks.
pub(crate) fn lbfgs_refused() -> Error {
    Error::Checkpoint {
        what: "an L-BFGS run".into(),
        reason: "full-batch L-BFGS keeps no resumable state; checkpoint a mini-batch solver \
                 (sgd, adam, adamw, rmsprop) instead"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_seed_differs_from_seed() {
        assert_ne!(shuffle_seed(0), 0);
        assert_ne!(shuffle_seed(1), shuffle_seed(0));
    }
}
