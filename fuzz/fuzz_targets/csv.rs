//! `read_csv` under several option sets: every input is an `Ok` whose
//! shapes agree and whose values are finite, or an `Err`; never a panic.
#![no_main]

use std::sync::LazyLock;

use backprop::io::{CsvOptions, CsvTarget, TargetColumn, TargetKind, read_csv};
use backprop_fuzz::{Scratch, assert_finite};
use libfuzzer_sys::fuzz_target;

static SCRATCH: LazyLock<Scratch> = LazyLock::new(|| Scratch::new("csv"));

fn options() -> [CsvOptions; 5] {
    [
        CsvOptions::new(),
        CsvOptions::new()
            .header(false)
            .target(TargetColumn::First)
            .target_kind(TargetKind::Values),
        CsvOptions::new().delimiter(b';').target(TargetColumn::None),
        CsvOptions::new()
            .target(TargetColumn::Index(1))
            .classes(vec!["0".into(), "1".into(), "a".into()]),
        CsvOptions::new()
            .delimiter(b'\t')
            .target(TargetColumn::Name("label".into())),
    ]
}

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.write(data);
    // Narrowing to f32 must not make infinities either.
    if let Ok(d) = read_csv::<f32>(path, &CsvOptions::new()) {
        assert!(d.features.iter().all(|v| v.is_finite()));
    }
    for opts in options() {
        let Ok(d) = read_csv::<f64>(path, &opts) else {
            continue;
        };
        let (rows, cols) = d.features.dim();
        assert!(rows > 0, "Ok without data rows");
        assert_eq!(d.feature_names.len(), cols);
        assert_finite(d.features.iter());
        match d.target {
            CsvTarget::None => {}
            CsvTarget::Classes { labels, names } => {
                assert_eq!(labels.len(), rows);
                assert!(labels.iter().all(|&k| k < names.len()));
            }
            CsvTarget::Values(v) => {
                assert_eq!(v.len(), rows);
                assert_finite(v.iter());
            }
        }
    }
});
