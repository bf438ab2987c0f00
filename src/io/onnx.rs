//! Export to ONNX: one `Gemm` node per layer and one node per activation,
//! with the scaler (if any) as `Sub` and `Div` nodes in front, so the graph
//! maps raw features to the outputs exactly as [`SavedModel::predict`] does.
//!
//! | part of the model | nodes (opset [`ONNX_OPSET`]) |
//! |---|---|
//! | power (when the scaler has one) | `Pow(input, scaler.power)`: each feature to the power p |
//! | sample standardization (when the scaler has it) | r = `Div(Sub(input, μ), Max(Sqrt(ReduceMean(Sub(input, μ)²)), tiny))` with μ = `ReduceMean(input, axes = [1])`: each row to mean 0, population std 1 (a constant row to zeros) |
//! | scaler | `Sub(·, scaler.shift)`, `Div(·, scaler.scale)` |
//! | layer `l` | `Gemm(·, {2l}.weight, {2l}.bias)` with `transB = 1`: Y = X·Wᵀ + b |
//! | hidden activation | `Relu`, `Sigmoid`, `Tanh`, or nothing for identity |
//! | output head | `Softmax(axis = 1)` for categorical cross-entropy, `Sigmoid` for binary cross-entropy, nothing for squared error |
//!
//! The graph input is `input`, of shape (`batch`, n₀) and element type
//! `float` for `SavedModel<f32>` or `double` for `SavedModel<f64>`; the
//! output is `output`, of shape (`batch`, n_L). Weights are stored under the
//! same names as in the safetensors file. The model's metadata properties
//! repeat the safetensors metadata (sizes, activations, loss, class labels,
//! ...).
//!
//! The protobuf messages below are the subset of `onnx.proto` that the
//! export writes, with the field numbers of that file, encoded by `prost`.

use std::path::Path;

use super::SavedModel;
use super::write_atomic;
use crate::preprocess::Scaler;
use crate::{Activation, Loss, Scalar};

/// The ONNX operator set the exported graphs declare (ONNX 1.8 and later;
/// every node is used as this opset defines it: later versions only added
/// element types, such as bfloat16 exponents for `Pow` in opset 15).
pub const ONNX_OPSET: i64 = 13;

/// The IR version that goes with opset 13.
const IR_VERSION: i64 = 7;

/// `TensorProto.DataType` codes.
const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;

/// `AttributeProto.AttributeType.INT`.
const ATTR_INT: i32 = 2;
/// `AttributeProto.AttributeType.INTS`.
const ATTR_INTS: i32 = 7;

#[derive(Clone, PartialEq, prost::Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(string, tag = "2")]
    producer_name: String,
    #[prost(string, tag = "3")]
    producer_version: String,
    #[prost(string, tag = "6")]
    doc_string: String,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    metadata_props: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    i: i64,
    #[prost(int64, repeated, tag = "8")]
    ints: Vec<i64>,
    #[prost(int32, tag = "20")]
    r#type: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(string, tag = "8")]
    name: String,
    /// Little-endian values, row-major.
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorTypeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Dimension {
    #[prost(oneof = "DimValue", tags = "1, 2")]
    value: Option<DimValue>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum DimValue {
    #[prost(int64, tag = "1")]
    DimValue(i64),
    #[prost(string, tag = "2")]
    DimParam(String),
}

fn tensor<S: Scalar>(name: &str, dims: &[usize], values: &[S]) -> TensorProto {
    let f32 = S::NAME == "f32";
    let mut raw = Vec::with_capacity(values.len() * if f32 { 4 } else { 8 });
    for &v in values {
        if f32 {
            raw.extend((v.wide() as f32).to_le_bytes());
        } else {
            raw.extend(v.wide().to_le_bytes());
        }
    }
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: if f32 { FLOAT } else { DOUBLE },
        name: name.into(),
        raw_data: raw,
    }
}

fn value_info(name: &str, elem_type: i32, width: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            value: Some(DimValue::DimParam("batch".into())),
                        },
                        Dimension {
                            value: Some(DimValue::DimValue(width as i64)),
                        },
                    ],
                }),
            }),
        }),
    }
}

/// Builds the nodes in order; each consumes the previous node's output.
struct Graph {
    nodes: Vec<NodeProto>,
    last: String,
}

impl Graph {
    fn push(&mut self, op: &str, extra_inputs: &[String], attribute: Vec<AttributeProto>) {
        let out = format!("{}_{}", op.to_ascii_lowercase(), self.nodes.len());
        let mut input = vec![self.last.clone()];
        input.extend_from_slice(extra_inputs);
        self.nodes.push(NodeProto {
            input,
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute,
        });
        self.last = out;
    }

    /// A node with explicit inputs and one output named `out`, which
    /// becomes the last result.
    fn node(&mut self, op: &str, input: &[&str], out: &str, attribute: Vec<AttributeProto>) {
        self.nodes.push(NodeProto {
            input: input.iter().map(|s| s.to_string()).collect(),
            output: vec![out.into()],
            name: out.into(),
            op_type: op.into(),
            attribute,
        });
        self.last = out.into();
    }

    /// Each row of the last result to mean 0 and population std 1 over its
    /// features, as `preprocess::standardize_samples`; `tiny` names a scalar
    /// initializer that floors the std, so that a constant row (numerator 0)
    /// gives 0.
    fn standardize_rows(&mut self, tiny: &str) {
        let x = self.last.clone();
        let mean = || {
            vec![
                AttributeProto {
                    name: "axes".into(),
                    ints: vec![1],
                    r#type: ATTR_INTS,
                    ..Default::default()
                },
                int_attr("keepdims", 1),
            ]
        };
        self.node("ReduceMean", &[&x], "samples.mean", mean());
        self.node("Sub", &[&x, "samples.mean"], "samples.centered", vec![]);
        let c = "samples.centered";
        self.node("Mul", &[c, c], "samples.squared", vec![]);
        self.node("ReduceMean", &["samples.squared"], "samples.var", mean());
        self.node("Sqrt", &["samples.var"], "samples.std", vec![]);
        self.node("Max", &["samples.std", tiny], "samples.std_floored", vec![]);
        self.node(
            "Div",
            &[c, "samples.std_floored"],
            "samples.standardized",
            vec![],
        );
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: ATTR_INT,
        ..Default::default()
    }
}

/// The scaler's nodes and initializers: the power and sample
/// standardization when it has them, then `Sub` shift and `Div` scale.
fn scaler_nodes<S: Scalar>(s: &Scaler, g: &mut Graph, initializer: &mut Vec<TensorProto>) {
    if let Some(p) = s.power() {
        initializer.push(tensor("scaler.power", &[], &[S::cast(p)]));
        g.push("Pow", &["scaler.power".into()], vec![]);
    }
    if s.standardizes_samples() {
        // The smallest positive normal number of the element type.
        let tiny = S::cast(if S::NAME == "f32" {
            f32::MIN_POSITIVE as f64
        } else {
            f64::MIN_POSITIVE
        });
        initializer.push(tensor("samples.tiny", &[], &[tiny]));
        g.standardize_rows("samples.tiny");
    }
    let shift: Vec<S> = s.shift().iter().map(|&v| S::cast(v)).collect();
    let scale: Vec<S> = s.scale().iter().map(|&v| S::cast(v)).collect();
    initializer.push(tensor("scaler.shift", &[shift.len()], &shift));
    initializer.push(tensor("scaler.scale", &[scale.len()], &scale));
    g.push("Sub", &["scaler.shift".into()], vec![]);
    g.push("Div", &["scaler.scale".into()], vec![]);
}

fn encode<S: Scalar>(model: &SavedModel<S>) -> Vec<u8> {
    let net = &model.network;
    let elem = if S::NAME == "f32" { FLOAT } else { DOUBLE };
    let mut initializer = Vec::new();
    let mut g = Graph {
        nodes: Vec::new(),
        last: "input".into(),
    };
    if let Some(s) = &model.scaler {
        scaler_nodes::<S>(s, &mut g, &mut initializer);
    }
    for l in 0..net.depth() {
        let (w, b) = (format!("{}.weight", 2 * l), format!("{}.bias", 2 * l));
        let wv = net.weights(l);
        let wv: Vec<S> = wv.iter().copied().collect();
        let (n_in, n_out) = (net.sizes()[l], net.sizes()[l + 1]);
        initializer.push(tensor(&w, &[n_out, n_in], &wv));
        initializer.push(tensor(
            &b,
            &[n_out],
            net.biases(l).as_slice().expect("contiguous"),
        ));
        // Y = 1·X·Wᵀ + 1·b   (alpha = beta = 1, the defaults)
        g.push("Gemm", &[w, b], vec![int_attr("transB", 1)]);
        match net.activations().get(l) {
            Some(Activation::Identity) => {}
            Some(Activation::Relu) => g.push("Relu", &[], vec![]),
            Some(Activation::Logistic) => g.push("Sigmoid", &[], vec![]),
            Some(Activation::Tanh) => g.push("Tanh", &[], vec![]),
            None => match net.loss() {
                Loss::SquaredError => {}
                Loss::BinaryCrossEntropy => g.push("Sigmoid", &[], vec![]),
                Loss::CategoricalCrossEntropy => g.push("Softmax", &[], vec![int_attr("axis", 1)]),
            },
        }
    }
    // Name the last node's result `output`.
    let last = g
        .nodes
        .last_mut()
        .expect("a network has at least one layer");
    last.output = vec!["output".into()];
    let metadata_props = model
        .metadata()
        .into_iter()
        .map(|(key, v)| StringStringEntryProto {
            key,
            value: v.as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let proto = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "backprop".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "multilayer perceptron".into(),
        graph: Some(GraphProto {
            node: g.nodes,
            name: "mlp".into(),
            initializer,
            input: vec![value_info("input", elem, net.n_inputs())],
            output: vec![value_info("output", elem, net.n_outputs())],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: ONNX_OPSET,
        }],
        metadata_props,
    };
    prost::Message::encode_to_vec(&proto)
}

/// Writes `model` as an ONNX file (graph in the [module docs](self)),
/// atomically.
///
/// ```
/// use backprop::io::{SavedModel, export_onnx};
/// use backprop::{Activation, Loss, Network};
/// # let dir = tempfile::tempdir()?;
/// let net = Network::<f32>::builder(4)
///     .hidden(8, Activation::Relu)
///     .output(3, Loss::CategoricalCrossEntropy)
///     .build()?;
/// let path = dir.path().join("model.onnx");
/// export_onnx(&path, &SavedModel::new(net))?;
/// assert!(std::fs::metadata(&path)?.len() > 4 * (8 * 4 + 8 + 3 * 8 + 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) when the file cannot be written (any
/// previous file is then left intact).
pub fn export_onnx<S: Scalar>(path: impl AsRef<Path>, model: &SavedModel<S>) -> crate::Result<()> {
    let bytes = encode(model);
    write_atomic(path.as_ref(), |w| w.write_all(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Network;
    use prost::Message;

    #[test]
    fn graph_has_gemm_and_activation_nodes() {
        let net = Network::<f64>::builder(3)
            .hidden(4, Activation::Tanh)
            .hidden(2, Activation::Identity)
            .output(1, Loss::BinaryCrossEntropy)
            .build()
            .unwrap();
        let bytes = encode(&SavedModel::new(net.clone()));
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        let g = m.graph.unwrap();
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Gemm", "Tanh", "Gemm", "Gemm", "Sigmoid"]);
        assert_eq!(g.node[0].input, ["input", "0.weight", "0.bias"]);
        assert_eq!(g.node[4].output, ["output"]);
        assert_eq!(g.initializer[2].dims, [2, 4]);
        assert_eq!(g.initializer[2].data_type, DOUBLE);
        assert_eq!(g.initializer[2].raw_data.len(), 2 * 4 * 8);
        assert_eq!(
            &g.initializer[0].raw_data[..8],
            &net.weights(0)[[0, 0]].to_le_bytes()
        );
        assert_eq!(m.opset_import[0].version, 13);
    }
}
