//! The validation loss and metric at the end of each epoch.

use ndarray::{Array2, s};

use crate::data::Dataset;
use crate::network::class_of;
use crate::{Loss, Network, Result, Scalar, Targets};

/// Rows per chunk when evaluating the validation set.
const VAL_CHUNK: usize = 1024;

/// Buffers for the validation loss and metric, allocated once.
pub(crate) struct ValEval<S: Scalar> {
    ws: crate::Workspace<S>,
    out: Array2<S>,
    classes: Vec<usize>,
}

impl<S: Scalar> ValEval<S> {
    pub(crate) fn new(net: &Network<S>, v: &Dataset<'_, S>) -> Self {
        ValEval {
            ws: net.inference_workspace(v.len().clamp(1, VAL_CHUNK)),
            out: Array2::zeros((v.len(), net.n_outputs())),
            classes: vec![0; v.len()],
        }
    }

    /// (data loss, metric) on `v`. Allocates nothing.
    pub(crate) fn evaluate(&mut self, net: &Network<S>, v: &Dataset<'_, S>) -> Result<(f64, f64)> {
        let m = v.len();
        let mut loss = 0.0f64;
        let mut total_w = 0.0f64;
        let mut start = 0;
        while start < m {
            let end = (start + VAL_CHUNK).min(m);
            let x = v.x.slice(s![start..end, ..]);
            let y = match &v.y {
                Targets::Dense(y) => Targets::Dense(y.slice(s![start..end, ..])),
                Targets::Classes(c) => Targets::Classes(&c[start..end]),
            };
            match v.sample_weight {
                None => {
                    let j = net.cost(&mut self.ws, x, y, S::zero())?.wide();
                    loss += j * (end - start) as f64;
                    total_w += (end - start) as f64;
                }
                Some(w) => {
                    let w = &w[start..end];
                    let sw: f64 = w.iter().map(|v| v.wide()).sum();
                    if sw > 0.0 {
                        let j = net.cost_weighted(&mut self.ws, x, y, w, S::zero())?.wide();
                        loss += j * sw;
                        total_w += sw;
                    }
                }
            }
            start = end;
        }
        let loss = loss / total_w;
        let metric = match (net.loss(), v.y) {
            (_, Targets::Classes(c)) => {
                net.predict_classes_into(&mut self.ws, v.x, &mut self.classes)?;
                crate::metrics::accuracy_weighted(&self.classes, c, v.sample_weight)?
            }
            (Loss::SquaredError, Targets::Dense(y)) => {
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                crate::metrics::r2_score(self.out.view(), y, v.sample_weight)?
            }
            (Loss::CategoricalCrossEntropy, Targets::Dense(y)) => {
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                let w = v.sample_weight;
                let hit =
                    |i: usize| f64::from(u8::from(class_of(self.out.row(i)) == class_of(y.row(i))));
                crate::metrics::weighted_mean(m, w, hit)
            }
            (Loss::BinaryCrossEntropy, Targets::Dense(y)) => {
                // Subset accuracy: every label of the sample right.
                net.predict_into(&mut self.ws, v.x, self.out.view_mut())?;
                let half = S::cast(0.5);
                let hit = |i: usize| {
                    let all = self
                        .out
                        .row(i)
                        .iter()
                        .zip(y.row(i))
                        .all(|(&p, &t)| (p >= half) == (t >= half));
                    f64::from(u8::from(all))
                };
                crate::metrics::weighted_mean(m, v.sample_weight, hit)
            }
        };
        Ok((loss, metric))
    }
}
