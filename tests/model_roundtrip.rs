//! Property: every valid model round-trips exactly. A seeded loop draws
//! random models (depth, layer sizes, hidden activations, loss head, scalar
//! type, parameters from the whole floating-point range, a scaler or not,
//! class labels or not) and checks that
//! - safetensors: `load(save(m)) == m` with every parameter and scaler value
//!   equal bit for bit, and saving the loaded model writes the same bytes;
//! - ONNX: the exported protobuf, parsed back here independently of the
//!   exporter, holds every parameter and scaler value bit for bit (as the
//!   model's scalar type), one node per layer, activation and head in order,
//!   and the safetensors metadata as its metadata properties.

use std::collections::BTreeMap;
use std::path::Path;

use backprop::io::{SavedModel, export_onnx};
use backprop::preprocess::{Scaler, Scaling};
use backprop::{Activation, Loss, Network, Scalar};
use rand::{Rng, RngExt, SeedableRng};

/// Models drawn per scalar type.
const CASES: usize = 150;

/// The subset of `onnx.proto` read back, with its field numbers; prost
/// skips the rest.
mod onnx {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        #[prost(message, repeated, tag = "14")]
        pub metadata_props: Vec<StringStringEntryProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntryProto {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, tag = "4")]
        pub op_type: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(string, tag = "8")]
        pub name: String,
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
    }
}

/// A float from anywhere in the range: ordinary, tiny, subnormal, huge,
/// signed zeros.
fn wild(rng: &mut impl Rng) -> f64 {
    match rng.random_range(0..8) {
        0 => 0.0,
        1 => -0.0,
        2 => f64::from(f32::MIN_POSITIVE) * rng.random_range(-1.0..1.0),
        3 => rng.random_range(-1.0..1.0) * 1e30,
        4 => 5e-324 * f64::from(rng.random_range(1u32..100)),
        _ => rng.random_range(-3.0..3.0),
    }
}

fn random_model<S: Scalar>(rng: &mut impl Rng) -> SavedModel<S> {
    let loss = [
        Loss::SquaredError,
        Loss::BinaryCrossEntropy,
        Loss::CategoricalCrossEntropy,
    ][rng.random_range(0..3)];
    let n_in = rng.random_range(1..7);
    let n_out = match loss {
        Loss::CategoricalCrossEntropy => rng.random_range(2..6),
        _ => rng.random_range(1..4),
    };
    let mut b = Network::<S>::builder(n_in);
    for _ in 0..rng.random_range(0..4) {
        let act = Activation::ALL[rng.random_range(0..Activation::ALL.len())];
        b = b.hidden(rng.random_range(1..9), act);
    }
    let mut net = b
        .output(n_out, loss)
        .seed(rng.random())
        .build()
        .expect("valid");
    for p in net.params_mut() {
        // Narrowed to S (and finite in f32), as a trained network holds.
        *p = S::cast(wild(rng).clamp(-1e30, 1e30));
    }
    let mut model = SavedModel::new(net);
    if rng.random_bool(0.5) {
        let scaling = if rng.random_bool(0.5) {
            Scaling::MinMax
        } else {
            Scaling::Standard
        };
        let shift = (0..n_in).map(|_| wild(rng)).collect();
        let scale = (0..n_in)
            .map(|_| rng.random_range(1e-3..1e3) * if rng.random_bool(0.5) { 1.0 } else { 1e-20 })
            .collect();
        let scaler = Scaler::from_parts(scaling, shift, scale)
            .expect("valid scaler")
            .with_standardized_samples(rng.random_bool(0.5))
            .with_power(rng.random_bool(0.5).then(|| rng.random_range(0.05..4.0)))
            .expect("a valid power");
        model = model.with_scaler(scaler).expect("widths agree");
    }
    let classes = match loss {
        Loss::CategoricalCrossEntropy => n_out,
        Loss::BinaryCrossEntropy if n_out == 1 => 2,
        _ => 0,
    };
    if classes > 0 && rng.random_bool(0.5) {
        let pool = ["cat", "dög", "\"quoted\"", "a,b", "", "🦉", "\\", "0"];
        let labels = (0..classes)
            .map(|k| format!("{}{k}", pool[rng.random_range(0..pool.len())]))
            .collect();
        model = model.with_class_labels(labels).expect("one per class");
    }
    model
}

fn bits<S: Scalar>(v: &[S]) -> Vec<u64> {
    v.iter().map(|x| x.wide().to_bits()).collect()
}

/// The safetensors header's `__metadata__`.
fn safetensors_metadata(path: &Path) -> BTreeMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    serde_json::from_value(header["__metadata__"].clone()).unwrap()
}

fn check_safetensors<S: Scalar>(model: &SavedModel<S>, dir: &Path, case: usize) {
    let (a, b) = (dir.join("a.safetensors"), dir.join("b.safetensors"));
    model.save(&a).unwrap();
    let back = SavedModel::<S>::load(&a).unwrap();
    assert_eq!(&back, model, "case {case}");
    assert_eq!(
        bits(back.network.params()),
        bits(model.network.params()),
        "case {case}"
    );
    let scaler_bits = |m: &SavedModel<S>| {
        m.scaler.as_ref().map(|s| {
            let steps = (s.standardizes_samples(), s.power().map(f64::to_bits));
            (bits(s.shift()), bits(s.scale()), s.scaling(), steps)
        })
    };
    assert_eq!(scaler_bits(&back), scaler_bits(model), "case {case}");
    back.save(&b).unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "case {case}"
    );
}

/// Little-endian bytes of `values` in the model's scalar type.
fn raw<S: Scalar>(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        if S::NAME == "f32" {
            out.extend((v as f32).to_le_bytes());
        } else {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

/// The node types the graph must hold, in order.
fn expected_ops<S: Scalar>(model: &SavedModel<S>) -> Vec<&'static str> {
    let net = &model.network;
    let mut ops = Vec::new();
    if let Some(s) = &model.scaler {
        if s.power().is_some() {
            ops.push("Pow");
        }
        if s.standardizes_samples() {
            ops.extend([
                "ReduceMean",
                "Sub",
                "Mul",
                "ReduceMean",
                "Sqrt",
                "Max",
                "Div",
            ]);
        }
        ops.extend(["Sub", "Div"]);
    }
    for l in 0..net.depth() {
        ops.push("Gemm");
        match net.activations().get(l) {
            Some(Activation::Identity) => {}
            Some(Activation::Relu) => ops.push("Relu"),
            Some(Activation::Logistic) => ops.push("Sigmoid"),
            Some(Activation::Tanh) => ops.push("Tanh"),
            None => match net.loss() {
                Loss::SquaredError => {}
                Loss::BinaryCrossEntropy => ops.push("Sigmoid"),
                Loss::CategoricalCrossEntropy => ops.push("Softmax"),
            },
        }
    }
    ops
}

fn check_onnx<S: Scalar>(model: &SavedModel<S>, dir: &Path, case: usize) {
    let path = dir.join("m.onnx");
    export_onnx(&path, model).unwrap();
    let proto: onnx::ModelProto =
        prost::Message::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    let graph = proto.graph.expect("a graph");
    let init: BTreeMap<&str, &onnx::TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let elem = if S::NAME == "f32" { 1 } else { 11 };
    let net = &model.network;
    let mut expected: BTreeMap<String, (Vec<i64>, Vec<u8>)> = BTreeMap::new();
    for l in 0..net.depth() {
        let (n_in, n_out) = (net.sizes()[l] as i64, net.sizes()[l + 1] as i64);
        let w = net.weights(l).iter().map(|v| v.wide()).collect::<Vec<_>>();
        let b = net.biases(l).iter().map(|v| v.wide()).collect::<Vec<_>>();
        expected.insert(
            format!("{}.weight", 2 * l),
            (vec![n_out, n_in], raw::<S>(w)),
        );
        expected.insert(format!("{}.bias", 2 * l), (vec![n_out], raw::<S>(b)));
    }
    if let Some(s) = &model.scaler {
        let n = s.n_features() as i64;
        expected.insert(
            "scaler.shift".into(),
            (vec![n], raw::<S>(s.shift().to_vec())),
        );
        expected.insert(
            "scaler.scale".into(),
            (vec![n], raw::<S>(s.scale().to_vec())),
        );
        if s.standardizes_samples() {
            // The floor of a sample's std: the smallest positive normal.
            let tiny = if S::NAME == "f32" {
                f32::MIN_POSITIVE as f64
            } else {
                f64::MIN_POSITIVE
            };
            expected.insert("samples.tiny".into(), (vec![], raw::<S>([tiny])));
        }
        if let Some(p) = s.power() {
            expected.insert("scaler.power".into(), (vec![], raw::<S>([p])));
        }
    }
    assert_eq!(init.len(), expected.len(), "case {case}: initializers");
    for (name, (dims, bytes)) in &expected {
        let t = init
            .get(name.as_str())
            .unwrap_or_else(|| panic!("case {case}: no initializer {name}"));
        assert_eq!(&t.dims, dims, "case {case}: {name}");
        assert_eq!(t.data_type, elem, "case {case}: {name}");
        assert!(t.raw_data == *bytes, "case {case}: {name} differs");
    }
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, expected_ops(model), "case {case}");
    // Every parameter tensor feeds the graph, once.
    let used: Vec<&String> = graph
        .node
        .iter()
        .flat_map(|n| &n.input)
        .filter(|i| init.contains_key(i.as_str()))
        .collect();
    assert_eq!(used.len(), expected.len(), "case {case}");
    // The metadata properties repeat the safetensors metadata.
    let st = dir.join("meta.safetensors");
    model.save(&st).unwrap();
    let props: BTreeMap<String, String> = proto
        .metadata_props
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect();
    assert_eq!(props, safetensors_metadata(&st), "case {case}");
}

fn round_trips<S: Scalar>(seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    for case in 0..CASES {
        let model = random_model::<S>(&mut rng);
        check_safetensors(&model, dir.path(), case);
        check_onnx(&model, dir.path(), case);
    }
}

#[test]
fn random_f32_models_round_trip_exactly() {
    round_trips::<f32>(11);
}

#[test]
fn random_f64_models_round_trip_exactly() {
    round_trips::<f64>(12);
}
