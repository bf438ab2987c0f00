//! Full-batch L-BFGS (Nocedal and Wright, algorithms 7.4 and 7.5): the
//! quasi-Newton method scikit-learn recommends for small data sets.

use serde::{Deserialize, Serialize};

use super::{Optimizer, SolverConfig};
use crate::{Error, Network, Result, Scalar, check};

/// Settings of full-batch L-BFGS (Nocedal and Wright, algorithms 7.4 and
/// 7.5), the quasi-Newton method scikit-learn recommends for small data sets.
///
/// Each epoch is one iteration over the whole training set: the direction
/// d = −H·∇J is built from the last `memory` pairs (s, y) = (Δθ, Δ∇J) by the
/// two-loop recursion, scaled by γ = sᵀy/yᵀy, and the step is the largest
/// t ∈ {t₀, t₀/2, t₀/4, …} that satisfies the Armijo condition
/// J(θ + t·d) ≤ J(θ) + c₁·t·∇Jᵀd (c₁ = 10⁻⁴); the history records t as the
/// epoch's learning rate. Trial points with a non-finite J count as
/// failures, so the line search itself guards against divergence. Pairs with
/// sᵀy ≤ 0 are skipped to keep H positive definite. Training ends early when
/// no step decreases J, or the last one decreased it by less than scipy's
/// tolerance. State is allocated once: 2·memory + 4 vectors of N.
///
/// There are no mini-batches, so a [`Trainer`](crate::Trainer) running
/// L-BFGS rejects a batch size, a learning rate, a schedule and gradient
/// clipping.
///
/// ```
/// use backprop::{LbfgsConfig, Trainer};
/// let t = Trainer::new().solver(LbfgsConfig { memory: 5, ..LbfgsConfig::default() });
/// assert!(t.validate().is_ok());
/// assert!(t.clone().batch_size(32).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LbfgsConfig {
    /// Number of (s, y) pairs kept, ≥ 1. Default 10 (scipy's).
    pub memory: usize,
    /// Cap on the evaluations of J and ∇J (scikit-learn's `max_fun`, ≥ 1):
    /// training ends, as at a minimum ([`History::stopped_early`](crate::History)
    /// set, no error), before the first iteration that would start with
    /// `max_fun` or more evaluations done. An iteration's line search is
    /// never cut, so the total can pass the cap by one iteration's
    /// evaluations (at most 41). Default `None`: no cap (the epochs bound
    /// the iterations).
    pub max_fun: Option<usize>,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            memory: 10,
            max_fun: None,
        }
    }
}

impl SolverConfig for LbfgsConfig {
    const NAME: &'static str = "lbfgs";
    const SUMMARY: &'static str = "full-batch L-BFGS (--memory); no batch size, learning rate, schedule or clipping";

    fn validate(&self) -> Result<()> {
        check::at_least_one("memory", self.memory)?;
        if let Some(n) = self.max_fun {
            check::at_least_one("max_fun", n)?;
        }
        Ok(())
    }

    fn optimizer<S: Scalar>(&self) -> Result<Box<dyn Optimizer<S>>> {
        Err(Error::InvalidHyperparameter {
            name: "solver",
            value: Self::NAME.into(),
            reason: "L-BFGS works on the full batch and has no step-wise optimizer; \
                     train with Trainer::fit or fit_restarts (partial_fit and fit_with \
                     need a step-wise solver)",
        })
    }
}

/// Armijo sufficient-decrease constant.
const C1: f64 = 1e-4;
/// Halvings of the step before giving up.
const MAX_BACKTRACKS: usize = 40;
/// Stop when an iteration lowers J by less than this, relative to
/// max(|J|, 1): scipy's `factr = 1e7` times f64 epsilon, the criterion
/// scikit-learn's L-BFGS solver inherits.
const FTOL: f64 = 1e7 * f64::EPSILON;

/// What one iteration did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    /// Moved by step t; J is the new cost.
    Moved { step: f64, cost: f64 },
    /// No step along d decreased J, or the last one decreased it by less
    /// than the tolerance: a (numerical) minimum.
    Stalled,
}

/// L-BFGS state for a network of N parameters.
pub(crate) struct LbfgsState {
    memory: usize,
    s: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    rho: Vec<f64>,
    alpha: Vec<f64>,
    len: usize,
    head: usize,
    d: Vec<f64>,
    theta0: Vec<f64>,
    g0: Vec<f64>,
    g: Vec<f64>,
    cost: f64,
    started: bool,
    converged: bool,
}

impl LbfgsState {
    pub(crate) fn new(n: usize, memory: usize) -> Self {
        LbfgsState {
            memory,
            s: vec![vec![0.0; n]; memory],
            y: vec![vec![0.0; n]; memory],
            rho: vec![0.0; memory],
            alpha: vec![0.0; memory],
            len: 0,
            head: 0,
            d: vec![0.0; n],
            theta0: vec![0.0; n],
            g0: vec![0.0; n],
            g: vec![0.0; n],
            cost: f64::NAN,
            started: false,
            converged: false,
        }
    }

    /// One iteration. `eval(net, grad)` returns J at the network's current
    /// parameters and writes ∇J into `grad`. Returns the initial cost's
    /// non-finiteness to the caller as `Ok(None)`.
    pub(crate) fn iterate<S: Scalar>(
        &mut self,
        net: &mut Network<S>,
        mut eval: impl FnMut(&Network<S>, &mut [f64]) -> Result<f64>,
    ) -> Result<Option<Outcome>> {
        if !self.started {
            self.cost = eval(net, &mut self.g)?;
            self.started = true;
        }
        if !self.cost.is_finite() || self.g.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        if self.converged {
            return Ok(Some(Outcome::Stalled));
        }
        self.direction();
        let mut slope = dot(&self.g, &self.d);
        if slope >= 0.0 {
            // Not a descent direction (curvature information gone stale).
            self.len = 0;
            self.d.iter_mut().zip(&self.g).for_each(|(d, g)| *d = -g);
            slope = -dot(&self.g, &self.g);
        }
        if slope == 0.0 {
            return Ok(Some(Outcome::Stalled));
        }
        for (t0, w) in self.theta0.iter_mut().zip(net.params()) {
            *t0 = w.wide();
        }
        self.g0.copy_from_slice(&self.g);
        // First iteration: a step of length 1 along −∇J/‖∇J‖ (no curvature
        // estimate yet); afterwards the unit quasi-Newton step.
        let mut t = if self.len == 0 {
            1.0f64.min(1.0 / slope.abs().sqrt())
        } else {
            1.0
        };
        for _ in 0..MAX_BACKTRACKS {
            for ((w, &t0), &d) in net.params_mut().iter_mut().zip(&self.theta0).zip(&self.d) {
                *w = S::cast(t0 + t * d);
            }
            let f = eval(net, &mut self.g)?;
            if f.is_finite()
                && f <= self.cost + C1 * t * slope
                && self.g.iter().all(|v| v.is_finite())
            {
                self.remember(net);
                self.converged = (self.cost - f) <= FTOL * self.cost.abs().max(f.abs()).max(1.0);
                self.cost = f;
                return Ok(Some(Outcome::Moved { step: t, cost: f }));
            }
            t *= 0.5;
        }
        // Put θ and ∇J back as they were.
        for (w, &t0) in net.params_mut().iter_mut().zip(&self.theta0) {
            *w = S::cast(t0);
        }
        self.g.copy_from_slice(&self.g0);
        Ok(Some(Outcome::Stalled))
    }

    /// Stores (s, y) = (θ − θ₀, ∇J − ∇J₀) when sᵀy > 0.
    fn remember<S: Scalar>(&mut self, net: &Network<S>) {
        let k = self.head;
        for ((s, w), t0) in self.s[k].iter_mut().zip(net.params()).zip(&self.theta0) {
            *s = w.wide() - t0;
        }
        for ((y, g), g0) in self.y[k].iter_mut().zip(&self.g).zip(&self.g0) {
            *y = g - g0;
        }
        let sy = dot(&self.s[k], &self.y[k]);
        if sy > f64::EPSILON * dot(&self.y[k], &self.y[k]) && sy > 0.0 {
            self.rho[k] = 1.0 / sy;
            self.head = (k + 1) % self.memory;
            self.len = (self.len + 1).min(self.memory);
        }
    }

    /// d = −H·g by the two-loop recursion.
    fn direction(&mut self) {
        self.d.iter_mut().zip(&self.g).for_each(|(d, g)| *d = -g);
        let m = self.memory;
        let idx = |i: usize| (self.head + m - 1 - i) % m; // i = 0 is the newest
        for i in 0..self.len {
            let k = idx(i);
            let a = self.rho[k] * dot(&self.s[k], &self.d);
            self.alpha[k] = a;
            self.d
                .iter_mut()
                .zip(&self.y[k])
                .for_each(|(d, y)| *d -= a * y);
        }
        if self.len > 0 {
            let k = idx(0);
            let gamma = 1.0 / (self.rho[k] * dot(&self.y[k], &self.y[k]));
            self.d.iter_mut().for_each(|d| *d *= gamma);
        }
        for i in (0..self.len).rev() {
            let k = idx(i);
            let b = self.rho[k] * dot(&self.y[k], &self.d);
            let a = self.alpha[k];
            self.d
                .iter_mut()
                .zip(&self.s[k])
                .for_each(|(d, s)| *d += (a - b) * s);
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
