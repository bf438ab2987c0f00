//! One test per error a user can trigger through the core API.

use backprop::{Activation, Error, GradCheck, Init, Loss, Network, Optimizer, Sgd, Targets};
use ndarray::{Array2, array};

fn net(loss: Loss, k: usize) -> Network<f64> {
    Network::<f64>::builder(3)
        .hidden(4, Activation::Tanh)
        .output(k, loss)
        .build()
        .unwrap()
}

fn x(m: usize) -> Array2<f64> {
    Array2::from_elem((m, 3), 0.5)
}

#[test]
fn no_output_layer() {
    let e = Network::<f32>::builder(3)
        .hidden(4, Activation::Relu)
        .build()
        .unwrap_err();
    assert_eq!(e, Error::NoLayers);
}

#[test]
fn zero_size_layers() {
    let e = Network::<f32>::builder(3)
        .hidden(0, Activation::Relu)
        .output(2, Loss::SquaredError)
        .build()
        .unwrap_err();
    assert_eq!(e, Error::ZeroSizeLayer { layer: 1 });
    let e = Network::<f32>::builder(0)
        .output(2, Loss::SquaredError)
        .build()
        .unwrap_err();
    assert_eq!(e, Error::ZeroSizeLayer { layer: 0 });
    let e = Network::<f32>::builder(3)
        .output(0, Loss::SquaredError)
        .build()
        .unwrap_err();
    assert_eq!(e, Error::ZeroSizeLayer { layer: 1 });
}

#[test]
fn zero_init_for_hidden_weights() {
    let e = Network::<f32>::builder(3)
        .hidden(4, Activation::Relu)
        .output(2, Loss::SquaredError)
        .init(Init::Zeros)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidHyperparameter { name: "init", .. }),
        "{e}"
    );
    // Allowed for the output layer.
    let n = Network::<f32>::builder(3)
        .hidden(4, Activation::Relu)
        .output(2, Loss::SquaredError)
        .output_init(Init::Zeros)
        .build()
        .unwrap();
    assert!(n.weights(1).iter().all(|&w| w == 0.0));
}

#[test]
fn wrong_input_width_says_both_numbers() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(
            &mut ws,
            Array2::zeros((2, 4)).view(),
            &Array2::zeros((2, 2)),
            0.0,
        )
        .unwrap_err();
    assert_eq!(
        e,
        Error::InputWidth {
            got: 4,
            expected: 3
        }
    );
    assert_eq!(e.to_string(), "input has 4 features, network expects 3");
    assert!(n.predict(Array2::zeros((2, 2)).view()).is_err());
}

#[test]
fn wrong_target_width() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(2).view(), &Array2::zeros((2, 3)), 0.0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::TargetWidth {
            got: 3,
            expected: 2
        }
    );
}

#[test]
fn sample_count_mismatch() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(3).view(), &Array2::zeros((2, 2)), 0.0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::SampleCount {
            inputs: 3,
            targets: 2
        }
    );
}

#[test]
fn empty_batch() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(0).view(), &Array2::zeros((0, 2)), 0.0)
        .unwrap_err();
    assert_eq!(e, Error::Empty { what: "batch" });
}

#[test]
fn nan_and_inf_in_inputs_and_targets() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let mut bad = x(2);
    bad[[1, 2]] = f64::NAN;
    let e = n
        .compute_gradient(&mut ws, bad.view(), &Array2::zeros((2, 2)), 0.0)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "input",
                row: 1,
                col: 2,
                ..
            }
        ),
        "{e}"
    );
    bad[[1, 2]] = f64::INFINITY;
    assert!(n.predict(bad.view()).is_err());
    let mut y = Array2::zeros((2, 2));
    y[[0, 1]] = f64::NEG_INFINITY;
    let e = n
        .compute_gradient(&mut ws, x(2).view(), &y, 0.0)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                what: "targets",
                row: 0,
                col: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn labels_out_of_range() {
    let n = net(Loss::CategoricalCrossEntropy, 3);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(2).view(), Targets::Classes(&[0, 3]), 0.0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::LabelOutOfRange {
            label: 3,
            index: 1,
            n_classes: 3
        }
    );
    let n = net(Loss::BinaryCrossEntropy, 1);
    let e = n
        .compute_gradient(&mut ws_for(&n), x(2).view(), Targets::Classes(&[2, 0]), 0.0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::LabelOutOfRange {
            label: 2,
            index: 0,
            n_classes: 2
        }
    );
}

fn ws_for(n: &Network<f64>) -> backprop::Workspace<f64> {
    n.workspace(4)
}

#[test]
fn labels_with_a_regression_head() {
    let n = net(Loss::SquaredError, 2);
    let e = n
        .compute_gradient(&mut ws_for(&n), x(2).view(), Targets::Classes(&[0, 1]), 0.0)
        .unwrap_err();
    assert!(matches!(e, Error::LabelsUnsupported { .. }), "{e}");
}

#[test]
fn targets_outside_what_the_loss_accepts() {
    let n = net(Loss::BinaryCrossEntropy, 2);
    let e = n
        .compute_gradient(&mut ws_for(&n), x(1).view(), &array![[0.5, 1.5]], 0.0)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidTarget { row: 0, col: 1, .. }),
        "{e}"
    );
    let n = net(Loss::CategoricalCrossEntropy, 2);
    let e = n
        .compute_gradient(&mut ws_for(&n), x(1).view(), &array![[0.5, 0.6]], 0.0)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTarget { row: 0, .. }), "{e}");
}

#[test]
fn batch_larger_than_the_workspace() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(5).view(), &Array2::zeros((5, 2)), 0.0)
        .unwrap_err();
    assert_eq!(
        e,
        Error::BatchTooLarge {
            batch: 5,
            capacity: 4
        }
    );
    assert!(e.to_string().contains("network.workspace(5)"));
    // Prediction is chunked, so any batch works with a small workspace.
    let mut out = Array2::zeros((5, 2));
    n.predict_into(&mut ws, x(5).view(), out.view_mut())
        .unwrap();
}

#[test]
fn workspace_of_another_network() {
    let a = net(Loss::SquaredError, 2);
    let b = net(Loss::SquaredError, 3);
    let e = a
        .compute_gradient(
            &mut b.workspace(4),
            x(2).view(),
            &Array2::zeros((2, 2)),
            0.0,
        )
        .unwrap_err();
    assert!(matches!(e, Error::WorkspaceMismatch { .. }), "{e}");
    let ws = b.workspace(4);
    let e = Sgd::default()
        .step(&mut a.clone(), ws.gradient(), 0.1)
        .unwrap_err();
    assert!(matches!(e, Error::WorkspaceMismatch { .. }), "{e}");
}

#[test]
fn gradient_in_an_inference_workspace() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.inference_workspace(4);
    let e = n
        .compute_gradient(&mut ws, x(2).view(), &Array2::zeros((2, 2)), 0.0)
        .unwrap_err();
    assert_eq!(e, Error::InferenceWorkspace);
    // Cost needs no gradient buffers.
    n.cost(&mut ws, x(2).view(), &Array2::zeros((2, 2)), 0.0)
        .unwrap();
}

#[test]
fn wrong_output_buffer() {
    let n = net(Loss::SquaredError, 2);
    let mut ws = n.inference_workspace(4);
    let mut out = Array2::zeros((2, 3));
    let e = n
        .predict_into(&mut ws, x(2).view(), out.view_mut())
        .unwrap_err();
    assert_eq!(
        e,
        Error::OutputShape {
            got: vec![2, 3],
            expected: vec![2, 2]
        }
    );
    let e = n
        .predict_classes_into(&mut ws, x(2).view(), &mut [0; 3])
        .unwrap_err();
    assert!(matches!(e, Error::OutputShape { .. }));
}

#[test]
fn invalid_hyperparameters() {
    let n = net(Loss::SquaredError, 2);
    let ws = n.workspace(4);
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Sgd::default().step(&mut n.clone(), ws.gradient(), lr),
            Err(Error::InvalidHyperparameter {
                name: "learning_rate",
                ..
            })
        ));
    }
    for lambda in [-0.1, f64::NAN] {
        let e = n
            .compute_gradient(&mut ws_for(&n), x(2).view(), &Array2::zeros((2, 2)), lambda)
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidHyperparameter { name: "lambda", .. }),
            "{e}"
        );
    }
    let bad = GradCheck {
        epsilon: 0.0,
        ..GradCheck::default()
    };
    let e =
        backprop::check_gradient(&n, x(2).view(), &Array2::zeros((2, 2)), 0.0, &bad).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidHyperparameter {
            name: "epsilon",
            ..
        }
    ));
    assert!(backprop::parallel::set_num_threads(0).is_err());
}

#[test]
fn from_params_checks_everything() {
    let e = Network::<f32>::from_params(
        &[2, 3, 1],
        &[Activation::Relu],
        Loss::SquaredError,
        vec![0.0; 5],
    )
    .unwrap_err();
    assert_eq!(
        e,
        Error::ParameterCount {
            got: 5,
            expected: 13
        }
    );
    let e = Network::<f32>::from_params(&[2, 3, 1], &[], Loss::SquaredError, vec![0.0; 13])
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidHyperparameter {
            name: "activations",
            ..
        }
    ));
    let mut p = vec![0.0; 13];
    p[7] = f32::NAN;
    let e = Network::<f32>::from_params(&[2, 3, 1], &[Activation::Relu], Loss::SquaredError, p)
        .unwrap_err();
    assert!(matches!(
        e,
        Error::NonFinite {
            what: "parameters",
            row: 7,
            ..
        }
    ));
    assert_eq!(
        Network::<f32>::from_params(&[2], &[], Loss::SquaredError, vec![]).unwrap_err(),
        Error::NoLayers
    );
}
