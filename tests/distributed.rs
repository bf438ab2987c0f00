//! Data-parallel training (`Trainer::distributed`) without MPI: R threads
//! play the ranks over an in-process communicator, and the result is
//! compared with one process training on the same global batches.
//!
//! Tolerance: the ranks' gradient is the same sum as one process's, taken
//! in another order (per-shard GEMMs weighted by their share, then the sum
//! over ranks), so every step differs by rounding only. In f64 a step's
//! gradient differs by ~1e-16 relative; after the few dozen steps here the
//! parameters agree to far better than `TOL` = 1e-9 (relative to max(1, |θ|)).

use std::sync::{Arc, Barrier, Mutex};

use backprop::ImageAugment;
use backprop::distributed::{Communicator, Distributed};
use backprop::scalar::SliceMut;
use backprop::{
    Activation, AdamConfig, Dataset, LbfgsConfig, Loss, Network, Result, SgdConfig, Trainer,
};
use ndarray::Array2;

const TOL: f64 = 1e-9;

/// R ranks as threads: each contribution is posted in its slot, and every
/// rank sums the slots in rank order, so all ranks get the same bits.
struct Threads {
    rank: usize,
    size: usize,
    shared: Arc<(Barrier, Mutex<Vec<Vec<f64>>>)>,
}

impl Threads {
    fn exchange(&self, buf: SliceMut<'_>, combine: impl Fn(&[Vec<f64>], usize) -> f64) {
        let (barrier, slots) = &*self.shared;
        let mine: Vec<f64> = match &buf {
            SliceMut::F32(b) => b.iter().map(|&v| f64::from(v)).collect(),
            SliceMut::F64(b) => b.to_vec(),
            _ => unreachable!(),
        };
        slots.lock().unwrap()[self.rank] = mine;
        barrier.wait();
        {
            let s = slots.lock().unwrap();
            match buf {
                SliceMut::F32(b) => b
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = combine(&s, i) as f32),
                SliceMut::F64(b) => b
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = combine(&s, i)),
                _ => unreachable!(),
            }
        }
        barrier.wait();
    }
}

impl Communicator for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum(&self, buf: SliceMut<'_>) -> Result<()> {
        self.exchange(buf, |s, i| s.iter().map(|v| v[i]).sum());
        Ok(())
    }
    fn broadcast(&self, buf: SliceMut<'_>, root: usize) -> Result<()> {
        self.exchange(buf, |s, i| s[root][i]);
        Ok(())
    }
}

/// 3 noisy classes in 4-D, 103 rows (ragged batches), weights in (0, 2].
fn data() -> (Array2<f64>, Vec<usize>, Vec<f64>) {
    let m = 103;
    let x = Array2::from_shape_fn((m, 4), |(i, j)| {
        ((i * 7 + j * 13) as f64 * 0.37).sin() + (i % 3) as f64 * (j as f64 - 1.5)
    });
    let y = (0..m).map(|i| i % 3).collect();
    let w = (0..m).map(|i| 0.25 + (i % 7) as f64 * 0.25).collect();
    (x, y, w)
}

fn network(seed: u64) -> Network<f64> {
    Network::builder(4)
        .hidden(6, Activation::Tanh)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(seed)
        .build()
        .unwrap()
}

/// Trains on `ranks` threads; returns every rank's parameters and training
/// losses.
fn run(trainer: &Trainer, ranks: usize, weighted: bool) -> Vec<(Vec<f64>, Vec<f64>)> {
    let (x, y, w) = data();
    let shared = Arc::new((Barrier::new(ranks), Mutex::new(vec![Vec::new(); ranks])));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..ranks)
            .map(|rank| {
                let (x, y, w, shared) = (&x, &y, &w, Arc::clone(&shared));
                let mut t = trainer.clone();
                if ranks > 1 {
                    t = t.distributed(Distributed::new(Threads {
                        rank,
                        size: ranks,
                        shared,
                    }));
                }
                s.spawn(move || {
                    // Ranks other than 0 start elsewhere: the broadcast fixes it.
                    let mut net = network(1 + rank as u64);
                    let mut d = Dataset::new(x.view(), y.as_slice());
                    if weighted {
                        d = d.with_sample_weight(w);
                    }
                    let h = t.fit(&mut net, d, None).unwrap();
                    let losses = h.epochs.iter().map(|r| r.train_loss).collect();
                    (net.params().to_vec(), losses)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= TOL * x.abs().max(1.0),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn check(trainer: Trainer, weighted: bool) {
    backprop::parallel::set_num_threads(1).unwrap();
    let one = run(&trainer, 1, weighted).remove(0);
    for ranks in [2, 3, 4] {
        let runs = run(&trainer, ranks, weighted);
        for (r, (params, losses)) in runs.iter().enumerate() {
            // Bitwise the same on every rank.
            assert_eq!(params, &runs[0].0, "rank {r} of {ranks}");
            assert_eq!(losses, &runs[0].1, "rank {r} of {ranks}");
        }
        assert_close(&runs[0].0, &one.0, &format!("params, {ranks} ranks"));
        assert_close(&runs[0].1, &one.1, &format!("train loss, {ranks} ranks"));
        assert_ne!(one.0, network(1).params(), "training moved the parameters");
    }
}

#[test]
fn mini_batches_with_l2_and_a_ragged_last_batch_match_one_process() {
    let t = Trainer::new()
        .solver(AdamConfig::default())
        .learning_rate(0.01)
        .batch_size(20)
        .lambda(1e-3)
        .epochs(6)
        .seed(5);
    check(t, false);
}

#[test]
fn sample_weights_match_one_process() {
    let t = Trainer::new()
        .solver(SgdConfig::default())
        .learning_rate(0.1)
        .batch_size(16)
        .lambda(1e-2)
        .epochs(5)
        .seed(2);
    check(t, true);
}

#[test]
fn batches_smaller_than_the_ranks_match_one_process() {
    // Batches of 3 rows on 4 ranks: some ranks hold no row of a batch.
    let t = Trainer::new().batch_size(3).epochs(2).seed(9);
    check(t, true);
}

#[test]
fn full_batch_lbfgs_matches_one_process() {
    let t = Trainer::new()
        .solver(LbfgsConfig::default())
        .lambda(1e-3)
        .epochs(8);
    check(t, true);
}

#[test]
fn validation_and_early_stopping_decide_alike() {
    let t = Trainer::new()
        .batch_size(25)
        .epochs(10)
        .validation_fraction(0.2)
        .early_stopping(backprop::EarlyStopping::default())
        .seed(4);
    check(t, false);
}

#[test]
fn augmented_runs_keep_every_rank_in_step() {
    // Each rank draws the moves of its own rows from its own stream (the
    // rank mixed into the seed, as for dropout masks), so the run is not the
    // one-process run draw for draw; the summed gradient still keeps every
    // rank's parameters equal.
    backprop::parallel::set_num_threads(1).unwrap();
    let t = Trainer::new()
        .batch_size(20)
        .epochs(3)
        .augment(ImageAugment::new(2, 2).max_shift(1).hflip(true))
        .seed(2);
    for ranks in [2, 3] {
        let runs = run(&t, ranks, false);
        for (r, (params, losses)) in runs.iter().enumerate() {
            assert_eq!(params, &runs[0].0, "rank {r} of {ranks}");
            assert_eq!(losses, &runs[0].1, "rank {r} of {ranks}");
        }
        assert_ne!(
            runs[0].0,
            network(1).params(),
            "training moved the parameters"
        );
    }
}
