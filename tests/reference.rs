//! The GEMM path against a naive per-sample implementation written straight
//! from the lecture's scalar formulas (column-per-sample, triple loops, f64):
//! z_k = Σ_j w_kj a_j + b_k, δᴸ = a − y, δ_j = (Σ_k δ_k w_kj) g′(z_j),
//! ∂J/∂w_kj = (1/m) Σ_i δ_k a_j + (λ/m) w_kj, ∂J/∂b_k = (1/m) Σ_i δ_k.

mod common;

use backprop::{Activation, BiasInit, Loss, Network};
use ndarray::{Array2, ArrayView2};

/// Both sides compute the same sums in a different order; f64 rounding
/// differences stay at a few ulps of the largest term, far below this.
const F64_TOL: f64 = 1e-12;
/// f32 GEMM against the f64 reference: ~1e-7 relative per operation,
/// accumulated over sums of up to ~40 terms and three layers.
const F32_TOL: f64 = 1e-4;

struct Reference {
    cost: f64,
    grad: Vec<f64>,
    outputs: Array2<f64>,
}

fn naive(
    net: &Network<f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    lambda: f64,
) -> Reference {
    let depth = net.depth();
    let m = x.nrows();
    let mut grad = vec![0.0; net.n_params()];
    let mut cost = 0.0;
    let mut outputs = Array2::zeros((m, net.n_outputs()));
    for i in 0..m {
        // Forward, one sample: a[l] for l = 0..=L.
        let mut a: Vec<Vec<f64>> = vec![x.row(i).to_vec()];
        for l in 0..depth {
            let w = net.weights(l);
            let b = net.biases(l);
            let mut z = vec![0.0; w.nrows()];
            for k in 0..w.nrows() {
                z[k] = b[k];
                for j in 0..w.ncols() {
                    z[k] += w[[k, j]] * a[l][j];
                }
            }
            let out = if l + 1 < depth {
                z.iter().map(|&v| net.activations()[l].apply(v)).collect()
            } else {
                match net.loss() {
                    Loss::SquaredError => z,
                    Loss::BinaryCrossEntropy => {
                        z.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect()
                    }
                    Loss::CategoricalCrossEntropy => {
                        let s: f64 = z.iter().map(|v| v.exp()).sum();
                        z.iter().map(|v| v.exp() / s).collect()
                    }
                }
            };
            a.push(out);
        }
        let al = &a[depth];
        for k in 0..al.len() {
            outputs[[i, k]] = al[k];
            let yk = y[[i, k]];
            cost += match net.loss() {
                Loss::SquaredError => 0.5 * (al[k] - yk).powi(2),
                Loss::BinaryCrossEntropy => -(yk * al[k].ln() + (1.0 - yk) * (1.0 - al[k]).ln()),
                Loss::CategoricalCrossEntropy => -yk * al[k].ln(),
            };
        }
        // Backward, one sample.
        let mut delta: Vec<f64> = (0..al.len()).map(|k| al[k] - y[[i, k]]).collect();
        for l in (0..depth).rev() {
            let w = net.weights(l);
            let wr = net.layout().weight_range(l);
            let br = net.layout().bias_range(l);
            for k in 0..w.nrows() {
                for j in 0..w.ncols() {
                    grad[wr.start + k * w.ncols() + j] += delta[k] * a[l][j] / m as f64;
                }
                grad[br.start + k] += delta[k] / m as f64;
            }
            if l > 0 {
                let g = net.activations()[l - 1];
                delta = (0..w.ncols())
                    .map(|j| {
                        let s: f64 = (0..w.nrows()).map(|k| delta[k] * w[[k, j]]).sum();
                        s * g.derivative_from_output(a[l][j])
                    })
                    .collect();
            }
        }
    }
    let mut sq = 0.0;
    for l in 0..depth {
        for (idx, &w) in net.layout().weight_range(l).zip(net.weights(l).iter()) {
            grad[idx] += lambda / m as f64 * w;
            sq += w * w;
        }
    }
    Reference {
        cost: cost / m as f64 + lambda / (2.0 * m as f64) * sq,
        grad,
        outputs,
    }
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(1e-30f64, |s, v| s.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0, |e, (x, y)| e.max((x - y).abs() / scale))
}

fn network(loss: Loss, seed: u64) -> Network<f64> {
    Network::<f64>::builder(19)
        .hidden(23, Activation::Relu)
        .hidden(8, Activation::Tanh)
        .hidden(5, Activation::Logistic)
        .output(6, loss)
        .bias_init(BiasInit::Gaussian)
        .seed(seed)
        .build()
        .unwrap()
}

#[test]
fn gemm_path_matches_naive_loops_in_f64() {
    for (seed, loss) in Loss::ALL.into_iter().enumerate() {
        let net = network(loss, seed as u64);
        let x = common::uniform(37, 19, -1.0, 1.0, 1);
        let y = common::dense_targets(loss, 37, 6, 2);
        let lambda = 0.4;
        let r = naive(&net, x.view(), y.view(), lambda);
        let mut ws = net.workspace(40);
        let j = net.compute_gradient(&mut ws, x.view(), &y, lambda).unwrap();
        assert!(
            (j - r.cost).abs() <= F64_TOL * r.cost.abs(),
            "{loss}: {j} vs {}",
            r.cost
        );
        let e = max_rel(ws.gradient().as_slice(), &r.grad);
        assert!(e < F64_TOL, "{loss}: gradient error {e}");
        let out = net.predict(x.view()).unwrap();
        let e = max_rel(out.as_slice().unwrap(), r.outputs.as_slice().unwrap());
        assert!(e < F64_TOL, "{loss}: output error {e}");
    }
}

#[test]
fn f32_network_matches_the_f64_reference() {
    let loss = Loss::CategoricalCrossEntropy;
    let net64 = network(loss, 11);
    let net32 = Network::<f32>::from_params(
        net64.sizes(),
        net64.activations(),
        loss,
        net64.params().iter().map(|&v| v as f32).collect(),
    )
    .unwrap();
    // Round the data to f32 first so both see the same numbers.
    let x = common::uniform(29, 19, -1.0, 1.0, 5).mapv(|v| v as f32);
    let y = common::dense_targets(loss, 29, 6, 6).mapv(|v| v as f32);
    let net64 = Network::<f64>::from_params(
        net64.sizes(),
        net64.activations(),
        loss,
        net32.params().iter().map(|&v| v as f64).collect(),
    )
    .unwrap();
    let r = naive(
        &net64,
        x.mapv(f64::from).view(),
        y.mapv(f64::from).view(),
        0.1,
    );
    let mut ws = net32.workspace(29);
    let j = net32.compute_gradient(&mut ws, x.view(), &y, 0.1).unwrap() as f64;
    assert!((j - r.cost).abs() < F32_TOL * r.cost);
    let g: Vec<f64> = ws.gradient().as_slice().iter().map(|&v| v as f64).collect();
    assert!(max_rel(&g, &r.grad) < F32_TOL);
}

#[test]
fn column_major_and_strided_inputs_match_row_major() {
    let net = network(Loss::SquaredError, 3);
    let x = common::uniform(12, 19, -1.0, 1.0, 8);
    let y = common::dense_targets(Loss::SquaredError, 12, 6, 9);
    let mut ws = net.workspace(12);
    let j = net.compute_gradient(&mut ws, x.view(), &y, 0.0).unwrap();
    let g = ws.gradient().as_slice().to_vec();
    // Fortran order: rows are strided, columns contiguous (BLAS `Trans`).
    let xf = x.t().as_standard_layout().to_owned();
    let xf = xf.t();
    assert_eq!(xf.strides()[0], 1);
    let jf = net.compute_gradient(&mut ws, xf, &y, 0.0).unwrap();
    assert!((j - jf).abs() < F64_TOL);
    assert!(max_rel(ws.gradient().as_slice(), &g) < F64_TOL);
    // Every other column of a wider matrix: no unit stride at all.
    let wide = Array2::from_shape_fn(
        (12, 38),
        |(i, c)| if c % 2 == 0 { x[[i, c / 2]] } else { f64::NAN },
    );
    let xs = wide.slice(ndarray::s![.., ..;2]);
    let js = net.compute_gradient(&mut ws, xs, &y, 0.0).unwrap();
    assert!((j - js).abs() < F64_TOL);
    assert!(max_rel(ws.gradient().as_slice(), &g) < F64_TOL);
}
