//! placeholder
/// ONNX opset.
pub const ONNX_OPSET: i64 = 13;
/// placeholder
pub fn export_onnx() {}
