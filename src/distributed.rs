//! Synchronous data-parallel training: the lecture's mini-batch gradient
//! descent on N processes ("ranks") that hold the same parameters.
//!
//! A [`Trainer`](crate::Trainer) given a [`Distributed`] handle trains as
//! one process would with the same global batch size B and seed:
//!
//! 1. before the first epoch, rank 0's parameters are broadcast, so every
//!    rank starts from the same θ;
//! 2. every rank draws the same seeded permutation and cuts the same global
//!    batches; rank r of R takes rows ⌊m_b·r/R⌋ .. ⌊m_b·(r+1)/R⌋ of each
//!    batch of m_b rows (its disjoint shard);
//! 3. each rank computes the data gradient g_r of its shard (no L2 term),
//!    weighted by s_r/s, where s_r is the shard's weight (its rows, or its
//!    Σwᵢ with sample weights) and s the whole batch's: Σ_r (s_r/s)·g_r is
//!    then the global batch's gradient exactly, ragged last batch included;
//! 4. one in-place all-reduce (sum) over the flat gradient vector; every rank
//!    adds the L2 term (λ/m_b)·W once, and takes the same optimizer step;
//! 5. the epoch's training loss is summed across ranks once per epoch, and
//!    the validation loss and metric are rank 0's, broadcast, so early
//!    stopping, schedules, restarts and the divergence guard decide
//!    identically on every rank.
//!
//! Every rank runs the same number of collective operations in the same
//! order: every decision that ends an epoch or a run depends only on values
//! that are equal on all ranks. A rank whose shard gives a non-finite cost
//! poisons its gradient with a NaN, so that every rank sees the divergence
//! at the same batch.
//!
//! Results match one process to rounding, not bitwise: the gradient is the
//! same sum, taken in a different order (per-shard GEMMs, then the
//! all-reduce's own order). With dropout or image augmentation
//! ([`Trainer::augment`](crate::Trainer::augment)) they do not match it at
//! all draw for draw: each rank draws the masks and the moves of its own
//! rows from a stream seeded with its rank mixed in.
//!
//! The [`Communicator`] trait is what the loop needs from a message-passing
//! library; the feature `mpi` provides it over MPI (`backprop::mpi`,
//! through `MpiSession::distributed`).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::data::Dataset;
use crate::scalar::SliceMut;
use crate::{Error, Network, Result, Scalar, Targets};

/// The collective operations of synchronous data parallelism. Every rank
/// must call them in the same order with buffers of the same length.
///
/// # Errors
/// An implementation returns an error it cannot recover from; the caller
/// must then end every rank (MPI: `MPI_Abort`), since the others wait in
/// the next collective.
pub trait Communicator: Send + Sync {
    /// This process's index in 0..[`size`](Self::size).
    fn rank(&self) -> usize;

    /// The number of processes R (≥ 1).
    fn size(&self) -> usize;

    /// Replaces `buf` on every rank by the element-wise sum over all ranks.
    fn all_reduce_sum(&self, buf: SliceMut<'_>) -> Result<()>;

    /// Replaces `buf` on every rank by rank `root`'s.
    fn broadcast(&self, buf: SliceMut<'_>, root: usize) -> Result<()>;
}

/// A shared handle on a [`Communicator`]: what
/// [`Trainer::distributed`](crate::Trainer::distributed) holds.
#[derive(Clone)]
pub struct Distributed(Arc<dyn Communicator>);

impl Distributed {
    /// Wraps `comm`.
    pub fn new(comm: impl Communicator + 'static) -> Self {
        Distributed(Arc::new(comm))
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.0.rank()
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// The communicator.
    pub fn communicator(&self) -> &dyn Communicator {
        &*self.0
    }

    /// Sums `buf` over the ranks, in place.
    ///
    /// # Errors
    /// As the communicator.
    pub fn sum<S: Scalar>(&self, buf: &mut [S]) -> Result<()> {
        self.0.all_reduce_sum(S::slice_mut(buf))
    }

    /// Sums one number over the ranks.
    ///
    /// # Errors
    /// As the communicator.
    pub fn sum_one(&self, v: f64) -> Result<f64> {
        let mut buf = [v];
        self.sum(&mut buf)?;
        Ok(buf[0])
    }

    /// Replaces `buf` by rank 0's.
    ///
    /// # Errors
    /// As the communicator.
    pub fn broadcast<S: Scalar>(&self, buf: &mut [S]) -> Result<()> {
        self.0.broadcast(S::slice_mut(buf), 0)
    }
}

impl fmt::Debug for Distributed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Distributed(rank {} of {})", self.rank(), self.size())
    }
}

impl PartialEq for Distributed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Rank `rank`'s part of `n` rows split among `size` ranks: rows
/// ⌊n·r/R⌋ .. ⌊n·(r+1)/R⌋ (empty when n < R for some ranks).
pub(crate) fn shard(n: usize, rank: usize, size: usize) -> Range<usize> {
    (n * rank / size)..(n * (rank + 1) / size)
}

/// Σwᵢ over `rows` of `d` (their count without weights), in index order.
pub(crate) fn weight_of<S: Scalar>(d: &Dataset<'_, S>, rows: Range<usize>) -> f64 {
    match d.sample_weight {
        Some(w) => w[rows].iter().fold(0.0, |acc, v| acc + v.wide()),
        None => rows.len() as f64,
    }
}

/// Rows `r` of `d`, borrowed.
pub(crate) fn rows_of<'a, S: Scalar>(d: &Dataset<'a, S>, r: Range<usize>) -> Dataset<'a, S> {
    let y = match d.y {
        Targets::Dense(y) => Targets::Dense(y.slice_move(ndarray::s![r.clone(), ..])),
        Targets::Classes(c) => Targets::Classes(&c[r.clone()]),
    };
    Dataset {
        x: d.x.slice_move(ndarray::s![r.clone(), ..]),
        y,
        sample_weight: d.sample_weight.map(|w| &w[r]),
    }
}

/// The error every rank returns when a batch's weights sum to 0, as one
/// process would (`check::positive_weight_scale`).
pub(crate) fn zero_weight(sum: f64) -> Error {
    Error::InvalidSampleWeight {
        index: 0,
        value: sum,
        reason: "the sample weights sum to 0 (the value shown is the sum); \
                 at least one sample needs a positive weight",
    }
}

/// Adds the L2 gradient (λ/m)·W to the weight blocks of `grad`, and returns
/// the L2 cost (λ/2m)·ΣW², as one process computes them for a batch of `m`
/// rows.
pub(crate) fn add_l2<S: Scalar>(net: &Network<S>, grad: &mut [S], lambda: S, m: usize) -> f64 {
    if lambda <= S::zero() {
        return 0.0;
    }
    let decay = lambda * (S::one() / S::cast(m as f64));
    for l in 0..net.depth() {
        let range = net.layout().weight_range(l);
        for (g, &w) in grad[range.clone()].iter_mut().zip(&net.params()[range]) {
            *g = *g + decay * w;
        }
    }
    lambda.wide() / (2.0 * m as f64) * net.sum_squared_weights()
}

/// Makes every rank start from rank 0's parameters, and checks that every
/// rank holds the same data set (its size, width and a checksum): ranks that
/// read different files would otherwise train on mismatched shards.
///
/// # Errors
/// [`Error::Distributed`] when this rank's data differs from rank 0's;
/// communicator errors.
pub(crate) fn start<S: Scalar>(
    comm: &Distributed,
    net: &mut Network<S>,
    train: &Dataset<'_, S>,
) -> Result<()> {
    comm.broadcast(net.params_mut())?;
    let mine = fingerprint(train);
    let mut root = mine;
    comm.broadcast(&mut root)?;
    if mine != root {
        return Err(Error::Distributed {
            rank: comm.rank(),
            reason: format!(
                "this rank's training set (rows, columns, checksums {mine:?}) differs from \
                 rank 0's ({root:?}); every rank must read the same data"
            ),
        });
    }
    Ok(())
}

/// Rows, columns, Σx, Σy and Σw of a data set.
fn fingerprint<S: Scalar>(d: &Dataset<'_, S>) -> [f64; 5] {
    let sum_x = d.x.iter().fold(0.0, |acc, v| acc + v.wide());
    let sum_y = match d.y {
        Targets::Dense(y) => y.iter().fold(0.0, |acc, v| acc + v.wide()),
        Targets::Classes(c) => c.iter().fold(0.0, |acc, &v| acc + v as f64),
    };
    [
        d.len() as f64,
        d.x.ncols() as f64,
        sum_x,
        sum_y,
        weight_of(d, 0..d.len()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_rows_once() {
        for n in [0, 1, 3, 7, 200] {
            for size in 1..6 {
                let mut next = 0;
                for r in 0..size {
                    let s = shard(n, r, size);
                    assert_eq!(s.start, next);
                    next = s.end;
                }
                assert_eq!(next, n);
            }
        }
    }
}
