//! The safetensors container as PyTorch writes it (no metadata): the loader
//! is told the activations and the loss, so tensor names, shapes, dtypes and
//! offsets decide everything. An `Ok` must save and load back unchanged.
#![no_main]

use std::sync::LazyLock;

use backprop::io::{LoadOptions, SavedModel};
use backprop::{Activation, Loss};
use backprop_fuzz::Scratch;
use libfuzzer_sys::fuzz_target;

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("safetensors"));

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    for hidden in 0..3 {
        let opts = LoadOptions::new()
            .activations(vec![Activation::Tanh; hidden])
            .loss(Loss::SquaredError);
        if let Ok(model) = SavedModel::<f64>::load_with(path, &opts) {
            let again = SCRATCH.sibling(".again");
            model.save(&again).expect("a loaded model saves");
            let back = SavedModel::<f64>::load(&again).expect("a saved model loads");
            assert_eq!(back, model);
        }
    }
});
