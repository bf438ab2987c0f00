//! The model loader with everything from the file's metadata (sizes,
//! activations, loss, scaler, class labels), in both scalar types. An `Ok`
//! must save and load back unchanged.
#![no_main]

use std::sync::LazyLock;

use backprop::Scalar;
use backprop::io::SavedModel;
use backprop_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("model"));

fn round_trip<S: Scalar>(path: &std::path::Path) {
    if let Ok(model) = SavedModel::<S>::load(path) {
        let again = SCRATCH.sibling(".again");
        model.save(&again).expect("a loaded model saves");
        let back = SavedModel::<S>::load(&again).expect("a saved model loads");
        assert_eq!(back, model);
    }
}

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    round_trip::<f32>(path);
    round_trip::<f64>(path);
});
