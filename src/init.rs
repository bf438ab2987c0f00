//! Weight initialization schemes, named as in the lecture, drawn from a seeded
//! ChaCha8 stream.
//!
//! Every value is drawn in f64 and rounded to the network's scalar type, so an
//! f32 network and an f64 network built with the same seed hold the same
//! weights up to rounding, and the same seed gives the same weights bit for
//! bit on every platform. Layers are filled in order ℓ = 1…L, each W⁽ˡ⁾ row by
//! row, then b⁽ˡ⁾.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::{Activation, Loss, Scalar};

/// How a weight matrix W⁽ˡ⁾ (n_ℓ × n_ℓ₋₁) is initialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Init {
    /// Gaussian N(0, σ²) with σ² = 1/n_ℓ₋₁.
    Gaussian,
    /// Uniform on [−ε, ε] with ε = √(1/n_ℓ₋₁).
    Uniform,
    /// Uniform on [−ε, ε] with ε = √(6/(n_ℓ₋₁ + n_ℓ)): the lecture's choice for
    /// tanh (Glorot and Bengio).
    Glorot,
    /// Uniform on [−ε, ε] with ε = 4·√(6/(n_ℓ₋₁ + n_ℓ)): the lecture's choice
    /// for the logistic activation.
    GlorotLogistic,
    /// Gaussian N(0, σ²) with σ² = 2/n_ℓ₋₁, for ReLU (He et al.).
    He,
    /// All zeros. Allowed only for the output layer (the lecture: output
    /// weights may start at zero; hidden weights must differ to break the
    /// symmetry between hidden units).
    Zeros,
}

/// How the biases b⁽ˡ⁾ are initialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BiasInit {
    /// b = 0 (the default).
    #[default]
    Zeros,
    /// b ~ N(0, 1).
    Gaussian,
}

impl Init {
    /// The default scheme for a hidden layer with activation `g`:
    /// ReLU → [`He`](Init::He), tanh → [`Glorot`](Init::Glorot), logistic →
    /// [`GlorotLogistic`](Init::GlorotLogistic), identity →
    /// [`Gaussian`](Init::Gaussian).
    pub fn default_for(g: Activation) -> Self {
        match g {
            Activation::Relu => Self::He,
            Activation::Tanh => Self::Glorot,
            Activation::Logistic => Self::GlorotLogistic,
            Activation::Identity => Self::Gaussian,
        }
    }

    /// The default scheme for the output layer: [`Glorot`](Init::Glorot) for
    /// every head (its logits start with unit-order variance whatever the
    /// loss).
    pub fn default_for_output(_loss: Loss) -> Self {
        Self::Glorot
    }

    /// Lower-case name, as accepted by `FromStr`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gaussian => "gaussian",
            Self::Uniform => "uniform",
            Self::Glorot => "glorot",
            Self::GlorotLogistic => "glorot-logistic",
            Self::He => "he",
            Self::Zeros => "zeros",
        }
    }

    /// Fills `w` (row-major n_out × n_in) from `rng`.
    pub(crate) fn fill<S: Scalar>(
        self,
        w: &mut [S],
        n_in: usize,
        n_out: usize,
        rng: &mut ChaCha8Rng,
    ) {
        let (fan_in, fan_sum) = (n_in as f64, (n_in + n_out) as f64);
        match self {
            Self::Gaussian => fill_normal(w, (1.0 / fan_in).sqrt(), rng),
            Self::He => fill_normal(w, (2.0 / fan_in).sqrt(), rng),
            Self::Uniform => fill_uniform(w, (1.0 / fan_in).sqrt(), rng),
            Self::Glorot => fill_uniform(w, (6.0 / fan_sum).sqrt(), rng),
            Self::GlorotLogistic => fill_uniform(w, 4.0 * (6.0 / fan_sum).sqrt(), rng),
            Self::Zeros => w.fill(S::zero()),
        }
    }
}

impl BiasInit {
    pub(crate) fn fill<S: Scalar>(self, b: &mut [S], rng: &mut ChaCha8Rng) {
        match self {
            Self::Zeros => b.fill(S::zero()),
            Self::Gaussian => fill_normal(b, 1.0, rng),
        }
    }
}

impl std::str::FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "gaussian" | "normal" | "lecun" => Ok(Self::Gaussian),
            "uniform" => Ok(Self::Uniform),
            "glorot" | "xavier" => Ok(Self::Glorot),
            "glorot-logistic" => Ok(Self::GlorotLogistic),
            "he" | "kaiming" => Ok(Self::He),
            "zeros" => Ok(Self::Zeros),
            _ => Err(format!(
                "unknown init `{s}`: expected gaussian, uniform, glorot, glorot-logistic, he or zeros"
            )),
        }
    }
}

/// The seeded stream every initialization draws from.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn fill_normal<S: Scalar>(w: &mut [S], std: f64, rng: &mut ChaCha8Rng) {
    let dist = Normal::new(0.0, std).expect("standard deviation is finite and positive");
    w.iter_mut().for_each(|v| *v = S::cast(dist.sample(rng)));
}

fn fill_uniform<S: Scalar>(w: &mut [S], eps: f64, rng: &mut ChaCha8Rng) {
    let dist = Uniform::new_inclusive(-eps, eps).expect("bound is finite and positive");
    w.iter_mut().for_each(|v| *v = S::cast(dist.sample(rng)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample moments of each scheme match the lecture's variances within
    /// 4 standard errors (n = 40 000 draws).
    #[test]
    fn schemes_have_the_lecture_variances() {
        let (n_in, n_out) = (200usize, 200usize);
        let n = n_in * n_out;
        let glorot_eps2 = 6.0 / (n_in + n_out) as f64;
        for (scheme, var) in [
            (Init::Gaussian, 1.0 / n_in as f64),
            (Init::He, 2.0 / n_in as f64),
            (Init::Uniform, 1.0 / n_in as f64 / 3.0),
            (Init::Glorot, glorot_eps2 / 3.0),
            (Init::GlorotLogistic, 16.0 * glorot_eps2 / 3.0),
        ] {
            let mut w = vec![0.0f64; n];
            scheme.fill(&mut w, n_in, n_out, &mut rng(7));
            let mean = w.iter().sum::<f64>() / n as f64;
            let v = w.iter().map(|x| x * x).sum::<f64>() / n as f64;
            // Var of the sample variance ≈ 2σ⁴/n (Gaussian), smaller for uniform.
            let se = var * (2.0 / n as f64).sqrt();
            assert!((v - var).abs() < 4.0 * se, "{scheme:?}: {v} vs {var}");
            assert!(
                mean.abs() < 4.0 * (var / n as f64).sqrt(),
                "{scheme:?} mean {mean}"
            );
        }
    }

    #[test]
    fn uniform_bounds_hold() {
        let mut w = vec![0.0f32; 10_000];
        Init::Glorot.fill(&mut w, 30, 20, &mut rng(1));
        let eps = (6.0f32 / 50.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= eps));
    }
}
