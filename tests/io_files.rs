//! Behaviour of the file readers and writers on real and hand-made files.

use backprop::io::{
    CsvOptions, CsvTarget, SavedModel, TargetColumn, read_csv, read_idx_features, read_idx_labels,
    read_npy, write_npy,
};
use backprop::preprocess::{Scaler, Scaling, one_hot};
use backprop::{Activation, Error, Loss, Network};
use ndarray::Array2;
use std::path::Path;

const FASHION: &str = "/usr/share/datasets/fashion-mnist";

/// Reads the Fashion-MNIST files of the Debian package `dataset-fashion-mnist`
/// when they are installed.
#[test]
fn fashion_mnist_shapes_and_labels() {
    let dir = Path::new(FASHION);
    if !dir.join("train-images-idx3-ubyte.gz").exists() {
        println!("skipped: {FASHION} not found (apt-get install dataset-fashion-mnist)");
        return;
    }
    let x = read_idx_features::<f32>(dir.join("train-images-idx3-ubyte.gz")).unwrap();
    let y = read_idx_labels(dir.join("train-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(x.dim(), (60000, 784));
    assert_eq!(y.len(), 60000);
    let xt = read_idx_features::<f32>(dir.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let yt = read_idx_labels(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(xt.dim(), (10000, 784));
    assert_eq!(yt.len(), 10000);
    for labels in [&y, &yt] {
        let mut counts = [0usize; 10];
        for &l in labels.iter() {
            assert!(l < 10, "label {l}");
            counts[l] += 1;
        }
        // Fashion-MNIST is balanced: 6000 per class in train, 1000 in test.
        let per_class = labels.len() / 10;
        assert!(counts.iter().all(|&c| c == per_class), "{counts:?}");
    }
    assert!(x.iter().all(|&v| (0.0..=255.0).contains(&v)));
    assert_eq!(x.iter().copied().fold(0.0f32, f32::max), 255.0);
    // Min-max scaling fitted on the training images maps them into [0, 1].
    let s = Scaler::fit(Scaling::MinMax, x.view()).unwrap();
    let xs = s.transform(xt.view()).unwrap();
    assert_eq!(xs.dim(), (10000, 784));
    assert!(xs.iter().all(|v| v.is_finite()));
}

#[test]
fn csv_to_model_file_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(
        &csv,
        "label,a,b\nsetosa,5.1,3.5\nvirginica,6.3,3.3\nversicolor,7.0,3.2\nsetosa,4.9,3.0\n",
    )
    .unwrap();
    let opts = CsvOptions::new().target(TargetColumn::First);
    let data = read_csv::<f32>(&csv, &opts).unwrap();
    let CsvTarget::Classes { labels, names } = data.target else {
        panic!("expected classes")
    };
    assert_eq!(names, ["setosa", "versicolor", "virginica"]);
    assert_eq!(labels, [0, 2, 1, 0]);
    let y = one_hot::<f32>(&labels, names.len()).unwrap();
    assert_eq!(y.row(1).to_vec(), [0.0, 0.0, 1.0]);

    let scaler = Scaler::fit(Scaling::Standard, data.features.view()).unwrap();
    let net = Network::<f32>::builder(2)
        .hidden(5, Activation::Tanh)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(3)
        .build()
        .unwrap();
    let model = SavedModel::new(net)
        .with_scaler(scaler)
        .unwrap()
        .with_class_labels(names.clone())
        .unwrap();
    let path = dir.path().join("m.safetensors");
    model.save(&path).unwrap();
    let back = SavedModel::<f32>::load(&path).unwrap();
    assert_eq!(back, model);
    // A test file read with the saved class names maps labels the same way.
    let test = dir.path().join("t.csv");
    std::fs::write(&test, "label,a,b\nvirginica,6.0,3.0\n").unwrap();
    let t = read_csv::<f32>(&test, &opts.classes(back.class_labels.clone().unwrap())).unwrap();
    assert_eq!(
        t.target,
        CsvTarget::Classes {
            labels: vec![2],
            names
        }
    );
    assert_eq!(
        back.predict(t.features.view()).unwrap(),
        model.predict(t.features.view()).unwrap()
    );
}

#[test]
fn npy_predictions_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let net = Network::<f64>::builder(3)
        .output(2, Loss::SquaredError)
        .seed(1)
        .build()
        .unwrap();
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 / 7.0);
    let p = net.predict(x.view()).unwrap();
    let path = dir.path().join("p.npy");
    write_npy(&path, p.view()).unwrap();
    let back: Array2<f64> = read_npy(&path).unwrap();
    assert_eq!(back, p);
}

#[test]
fn saving_over_a_model_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let a = SavedModel::new(
        Network::<f32>::builder(2)
            .output(1, Loss::BinaryCrossEntropy)
            .seed(1)
            .build()
            .unwrap(),
    );
    a.save(&path).unwrap();
    // Saving into a directory that does not exist fails cleanly.
    let err = a
        .save(dir.path().join("missing/m.safetensors"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // A save that replaces the file leaves only the new file, no temporary.
    let b = SavedModel::new(
        Network::<f32>::builder(2)
            .output(1, Loss::BinaryCrossEntropy)
            .seed(2)
            .build()
            .unwrap(),
    );
    b.save(&path).unwrap();
    assert_eq!(SavedModel::<f32>::load(&path).unwrap(), b);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.idx");
    std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 9, 1, 2]).unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert!(msg.contains("byte 8"), "{msg}");
}

/// A model file written by version 0.1.0 of the command line (format version
/// 1; how it was made is in `tests/data/README.md`) loads with every
/// metadata field, predicts what a numpy forward pass over its tensors
/// gives, and saves back to the same bytes.
#[test]
fn format_v1_model_file_still_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format_v1_3-4-3-3_tanh.safetensors");
    let model = SavedModel::<f64>::load(&path).unwrap();
    let net = &model.network;
    assert_eq!(net.sizes(), &[3, 4, 3, 3]);
    assert_eq!(net.activations(), &[Activation::Tanh, Activation::Tanh]);
    assert_eq!(net.loss(), Loss::CategoricalCrossEntropy);
    assert_eq!(
        model.class_labels.as_deref(),
        Some(&["cat".to_string(), "dog".into(), "owl".into()][..])
    );
    let scaler = model.scaler.as_ref().expect("the file holds a scaler");
    assert_eq!(scaler.scaling(), Scaling::Standard);
    assert_eq!(scaler.shift()[0], 0.19204166935135927);
    assert_eq!(scaler.scale()[2], 1.167566304494882);

    // Softmax outputs from numpy (the script in tests/data/README.md), in
    // f64 from the f32 tensors widened exactly: the two computations differ
    // only in rounding order, a few ulp of f64.
    const F64_TOL: f64 = 1e-12;
    let x = ndarray::array![[0.5, -1.0, 2.0], [-1.5, 0.25, 0.0]];
    let want = ndarray::array![
        [0.34203217351280435, 0.3394507796096326, 0.31851704687756305],
        [0.3987001559227885, 0.2196304620237618, 0.38166938205344964]
    ];
    let got = model.predict(x.view()).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < F64_TOL, "{got} vs {want}");
    }

    // The f32 network holds the same tensors; saving it writes the file as it
    // was (the writer still writes format version 1): the same tensor
    // entries and data bytes, the same metadata plus one added key,
    // `scaler_formula`, which version-1 readers ignore.
    let model32 = SavedModel::<f32>::load(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let again = dir.path().join("again.safetensors");
    model32.save(&again).unwrap();
    let (old, new) = (
        split_safetensors(&std::fs::read(&path).unwrap()),
        split_safetensors(&std::fs::read(&again).unwrap()),
    );
    let (mut old_header, mut new_header) = (old.0, new.0);
    let added = new_header["__metadata__"]
        .as_object_mut()
        .unwrap()
        .remove("scaler_formula");
    assert_eq!(added, Some(serde_json::json!("(x - shift) / scale")));
    assert_eq!(old_header["__metadata__"]["format_version"], "1");
    old_header["__metadata__"]
        .as_object_mut()
        .unwrap()
        .remove("scaler_formula");
    assert_eq!(new_header, old_header);
    assert_eq!(new.1, old.1, "tensor data, byte for byte");
}

/// A safetensors file's JSON header and its data section.
fn split_safetensors(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, bytes[8 + n..].to_vec())
}
