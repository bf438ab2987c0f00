//! The spec of a hidden layer: what [`NetworkBuilder`](crate::NetworkBuilder)
//! turns into one weight matrix, one bias vector and an activation.
//!
//! A [`Dense`] layer computes A⁽ˡ⁾ = g(W⁽ˡ⁾·A⁽ˡ⁻¹⁾ + b⁽ˡ⁾) with
//! `units` = n_ℓ rows in W⁽ˡ⁾. The output layer is not a `Dense`: its
//! activation is fixed by the loss ([`NetworkBuilder::output`](crate::NetworkBuilder::output)).

use crate::{Activation, Init};

/// A fully connected hidden layer: `units` neurons and their activation g,
/// plus per-layer options, each with a documented default.
///
/// ```
/// use backprop::{Activation, Dense, Init, Loss, Network};
/// let net = Network::<f32>::builder(4)
///     .layers(&[
///         Dense::new(8, Activation::Relu),
///         Dense::new(6, Activation::Tanh).init(Init::Uniform),
///     ])
///     .output(3, Loss::CategoricalCrossEntropy)
///     .build()?;
/// assert_eq!(net.sizes(), &[4, 8, 6, 3]);
/// assert_eq!(net.activations(), &[Activation::Relu, Activation::Tanh]);
/// # Ok::<(), backprop::Error>(())
/// ```
///
/// The fields are public to read; a `Dense` is made with [`Dense::new`] and
/// the setters (the struct is `#[non_exhaustive]`, so adding an option does
/// not break code that builds layers). It is `Clone` but not `Copy` or `Eq`,
/// so that an option holding a float or a heap value can join later.
///
/// # Adding a layer option
/// Say the option is `dropout: f64`. The places it touches:
/// 1. Here: the field (with its default in [`Dense::new`]) and a setter whose
///    doc states that default.
/// 2. [`NetworkBuilder::build`](crate::NetworkBuilder::build): validate it
///    (an [`Error::InvalidHyperparameter`](crate::Error::InvalidHyperparameter)
///    naming the option) in the one loop over the specs, and hand it to the
///    [`Network`](crate::Network) if the passes need it (stored per hidden
///    layer beside `activations`).
/// 3. The forward/backward passes in `network.rs`, only if the option changes
///    what they compute.
/// 4. The model file (`io/model.rs`), only if the option changes
///    inference (dropout does not: it is the identity at prediction time):
///    a new metadata key, read as the old behaviour when missing so files
///    written before the option still load; and the ONNX export likewise.
/// 5. The command line (`src/bin/backprop/args.rs`, where `--layers` and
///    `--activation` become a list of `Dense`), if users should reach it
///    there.
///
/// The estimators, the recipes and every builder call take `Dense` values
/// as they are, so none of them changes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Dense {
    /// Number of units n_ℓ (the rows of W⁽ˡ⁾). Must be at least 1; checked
    /// by [`NetworkBuilder::build`](crate::NetworkBuilder::build).
    pub units: usize,
    /// The activation g.
    pub activation: Activation,
    /// Initialization of this layer's W⁽ˡ⁾, overriding the network's
    /// [`NetworkBuilder::init`](crate::NetworkBuilder::init). `None` (the
    /// default): the network's setting, else [`Init::default_for`] the
    /// activation.
    pub init: Option<Init>,
    /// Dropout probability p ∈ [0, 1) of this layer's units during training
    /// (inverted dropout: each unit's output is zeroed with probability p
    /// and the kept ones scaled by 1/(1 − p), so that inference, which
    /// drops nothing, sees the same expected activation). Default 0: none.
    /// Checked by [`NetworkBuilder::build`](crate::NetworkBuilder::build).
    pub dropout: f64,
}

impl Dense {
    /// A layer of `units` neurons with activation `g`, every option at its
    /// default.
    pub fn new(units: usize, g: Activation) -> Self {
        Dense {
            units,
            activation: g,
            init: None,
            dropout: 0.0,
        }
    }

    /// Initializes this layer's weights with `scheme`, whatever the network's
    /// default. Default: unset (see [`init`](Self#structfield.init)).
    /// [`Init::Zeros`] is refused by
    /// [`build`](crate::NetworkBuilder::build), as for every hidden layer.
    pub fn init(mut self, scheme: Init) -> Self {
        self.init = Some(scheme);
        self
    }

    /// Drops each unit of this layer with probability `p` in training
    /// passes (see [`dropout`](Self#structfield.dropout)). Default 0.
    /// A `p` outside [0, 1) is refused by
    /// [`build`](crate::NetworkBuilder::build).
    ///
    /// ```
    /// use backprop::{Activation, Dense, Loss, Network};
    /// let net = Network::<f32>::builder(4)
    ///     .layer(Dense::new(8, Activation::Relu).dropout(0.2))
    ///     .output(3, Loss::CategoricalCrossEntropy)
    ///     .build()?;
    /// assert_eq!(net.dropout(), &[0.2]);
    /// // Inference drops nothing.
    /// let x = ndarray::Array2::<f32>::ones((2, 4));
    /// assert_eq!(net.predict(x.view())?, net.predict(x.view())?);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// The scheme that initializes this layer's weights when the network's
    /// default is `network_default`: this layer's own, then the network's,
    /// then [`Init::default_for`] the activation.
    pub(crate) fn init_scheme(&self, network_default: Option<Init>) -> Init {
        self.init
            .or(network_default)
            .unwrap_or(Init::default_for(self.activation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Loss, Network};

    fn builder() -> crate::NetworkBuilder<f64> {
        Network::<f64>::builder(5)
            .output(2, Loss::SquaredError)
            .seed(9)
    }

    #[test]
    fn hidden_layer_and_layers_build_the_same_network() {
        let a = builder()
            .hidden(4, Activation::Tanh)
            .hidden(3, Activation::Relu)
            .build()
            .unwrap();
        let b = builder()
            .layer(Dense::new(4, Activation::Tanh))
            .layer(Dense::new(3, Activation::Relu))
            .build()
            .unwrap();
        let c = builder()
            .layers(&[Dense::new(4, Activation::Tanh)])
            .layers(&[Dense::new(3, Activation::Relu)])
            .build()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn a_layer_init_applies_to_that_layer_only() {
        let specs = [
            Dense::new(4, Activation::Tanh),
            Dense::new(3, Activation::Tanh).init(Init::Zeros),
        ];
        // Zeros is refused for a hidden layer whoever asks for it.
        let e = builder().layers(&specs).build().unwrap_err();
        assert!(
            matches!(e, Error::InvalidHyperparameter { name: "init", .. }),
            "{e}"
        );
        // Layer 1 Gaussian, layer 0 from the network's Uniform: layer 0 is
        // drawn first, so it matches a network-wide Uniform bit for bit;
        // layer 1 is not uniform on [−ε, ε], ε = √(1/4).
        let mixed = builder()
            .layers(&[
                Dense::new(4, Activation::Tanh),
                Dense::new(3, Activation::Tanh).init(Init::Gaussian),
            ])
            .init(Init::Uniform)
            .build()
            .unwrap();
        let uniform = builder()
            .hidden(4, Activation::Tanh)
            .hidden(3, Activation::Tanh)
            .init(Init::Uniform)
            .build()
            .unwrap();
        assert_eq!(mixed.weights(0), uniform.weights(0));
        assert_ne!(mixed.weights(1), uniform.weights(1));
        // 12 draws of N(0, ¼): P(all within ±½ = 1σ) = 0.68¹² < 1%; this
        // seed has draws beyond it.
        assert!(mixed.weights(1).iter().any(|w| w.abs() > 0.5));
        assert!(uniform.weights(1).iter().all(|w| w.abs() <= 0.5));
    }

    #[test]
    fn own_init_overrides_the_network_default() {
        let d = Dense::new(3, Activation::Relu);
        assert_eq!(d.init_scheme(None), Init::He);
        assert_eq!(d.init_scheme(Some(Init::Uniform)), Init::Uniform);
        let d = d.init(Init::Glorot);
        assert_eq!(d.init_scheme(Some(Init::Uniform)), Init::Glorot);
    }
}
