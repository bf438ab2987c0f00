//! The API takes what ordinary code holds: owned arrays, views and shared
//! arrays alike; labels as slices, `Vec`s or `Array1`; metrics without type
//! annotations; estimators that are `Clone + Send + Sync`; I/O errors that
//! keep the operating system's error.

use std::error::Error as _;

use backprop::estimator::{Classifier, MultiLabelClassifier, Regressor};
use backprop::ndarray::{self, ArcArray2, Array1, Array2, array};
use backprop::preprocess::{Scaler, Scaling};
use backprop::{Activation, Dense, Error, Loss, Network, Trainer, metrics};

/// Fails to compile unless `T` is `Clone + Send + Sync`.
fn assert_clone_send_sync<T: Clone + Send + Sync>() {}

#[test]
fn estimators_are_clone_send_sync() {
    assert_clone_send_sync::<Classifier<String>>();
    assert_clone_send_sync::<Classifier<usize, f64>>();
    assert_clone_send_sync::<MultiLabelClassifier>();
    assert_clone_send_sync::<Regressor<f64>>();
    assert_clone_send_sync::<Network<f32>>();
    assert_clone_send_sync::<backprop::io::SavedModel<f32>>();
    assert_clone_send_sync::<Error>();
}

fn xor() -> (Array2<f32>, Array1<usize>) {
    (
        array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        array![0usize, 1, 1, 0],
    )
}

fn small_classifier() -> Classifier<usize> {
    Classifier::new()
        .hidden_layers(&[Dense::new(8, Activation::Tanh)])
        .trainer(Trainer::new().learning_rate(0.05).epochs(300).lambda(0.0))
        .seed(1)
}

#[test]
fn owned_views_and_shared_arrays_are_all_inputs() {
    let (x, y) = xor();
    let mut clf = small_classifier();
    // &Array2 and Array1 labels, no .view() or .as_slice().unwrap().
    clf.fit(&x, &y, None).unwrap();
    let by_ref = clf.predict(&x).unwrap();
    assert_eq!(by_ref, clf.predict(x.view()).unwrap());
    let shared: ArcArray2<f32> = x.clone().into_shared();
    assert_eq!(by_ref, clf.predict(&shared).unwrap());
    assert_eq!(clf.score(&x, &y).unwrap(), 1.0);
    assert_eq!(clf.score(&x, &y.to_vec()).unwrap(), 1.0);
    assert_eq!(clf.score(&x, y.as_slice().unwrap()).unwrap(), 1.0);
    // A non-contiguous label view is copied, not refused.
    let doubled = array![0usize, 9, 1, 9, 1, 9, 0, 9];
    let strided = doubled.slice(ndarray::s![..;2]);
    assert_eq!(clf.score(&x, &strided).unwrap(), 1.0);

    let net = clf.network().unwrap();
    assert_eq!(net.predict(&x).unwrap(), net.predict(x.view()).unwrap());
    let mut ws = net.workspace(4);
    let labels = y.to_vec();
    let j_owned = net.cost(&mut ws, &x, &labels, 0.0).unwrap();
    assert_eq!(j_owned, net.cost(&mut ws, x.view(), &labels, 0.0).unwrap());
    let mut out = Array2::zeros((4, 1));
    net.predict_into(&mut ws, &shared, out.view_mut()).unwrap();
    assert_eq!(out, net.predict(&x).unwrap());
    assert_eq!(net.predict_classes(&shared).unwrap(), y.to_vec());
    let s = Scaler::fit(Scaling::MinMax, &x).unwrap();
    assert_eq!(s.transform(&x).unwrap(), s.transform(x.view()).unwrap());

    let mut reg = Regressor::<f32>::new()
        .hidden_layers(&[Dense::new(4, Activation::Tanh)])
        .trainer(Trainer::new().epochs(5));
    let t = x.column(0).to_owned().insert_axis(ndarray::Axis(1));
    reg.fit(&x, &t, None).unwrap();
    assert!(reg.score(&x, &t).unwrap().is_finite());
}

#[test]
fn metrics_infer_their_types() {
    let p = vec![0usize, 1, 1, 0];
    let y = array![0usize, 1, 0, 0];
    assert_eq!(metrics::accuracy(&p, &y, None).unwrap(), 0.75);
    assert_eq!(
        metrics::accuracy(&p, &[0, 1, 1, 1], Some(&[1.0, 1.0, 1.0, 3.0])).unwrap(),
        0.5
    );
    let a = array![[0.5f32], [1.5]];
    let b = array![[1.0f32], [1.0]];
    assert_eq!(metrics::mean_squared_error(&a, &b, None).unwrap(), 0.25);
    assert_eq!(
        metrics::mean_absolute_error(a.view(), &b, None).unwrap(),
        0.5
    );
    let proba = array![[0.25f64, 0.75], [0.5, 0.5]];
    let ll = metrics::log_loss(&proba, &[1, 0], None).unwrap();
    assert!((ll - (-(0.75f64.ln() + 0.5f64.ln()) / 2.0)).abs() < 1e-12);
}

#[test]
fn a_clone_keeps_its_own_optimizer_state() {
    let (x, y) = xor();
    let mut a = small_classifier().trainer(Trainer::new().epochs(3));
    a.partial_fit(&x, &y, None, None).unwrap();
    let mut b = a.clone();
    // Both continue from the same state, independently: equal results.
    a.partial_fit(&x, &y, None, None).unwrap();
    b.partial_fit(&x, &y, None, None).unwrap();
    assert_eq!(a.network(), b.network());
    a.partial_fit(&x, &y, None, None).unwrap();
    assert_ne!(a.network(), b.network());
    // Fitted estimators cross threads.
    let handle = std::thread::spawn(move || b.predict(&x).unwrap());
    assert_eq!(handle.join().unwrap().len(), 4);
}

#[test]
fn io_errors_keep_the_os_error() {
    let err = backprop::io::read_npy::<f32, ndarray::Ix2>("/nonexistent/x.npy").unwrap_err();
    assert!(matches!(err, Error::Io { action: "open", .. }), "{err}");
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    let source = err.source().expect("Error::Io has a source");
    let io = source
        .downcast_ref::<backprop::error::IoError>()
        .expect("the source is the io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(io.to_string(), io.get_ref().to_string());
    assert_eq!(err.clone(), err);
    assert_eq!(Error::Empty { what: "x" }.io_kind(), None);
}

#[test]
fn loss_names_as_pytorch_users_say_them() {
    assert_eq!("softmax-ce".parse(), Ok(Loss::CategoricalCrossEntropy));
    assert_eq!("sigmoid-bce".parse(), Ok(Loss::BinaryCrossEntropy));
}
