//! placeholder
/// p
pub struct SavedModel;
/// p
pub struct LoadOptions;
