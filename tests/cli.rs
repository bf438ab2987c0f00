//! The `backprop` command line, run as a program: training on small
//! generated files, then `eval`, `predict` and `info` on the result;
//! `gradcheck`; and one clear `error:` line for every user mistake.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::Array2;

const BIN: &str = env!("CARGO_BIN_EXE_backprop");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        // Keep the default data set away from a machine-wide install.
        .env("BACKPROP_FASHION_MNIST_DIR", "/nonexistent/fashion-mnist")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and requires success.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "backprop {args:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Runs and requires a user error: non-zero exit, one `error:` line on
/// stderr (besides `note:` lines), no panic. Returns that line. A command
/// line clap cannot parse (exit code 2) gets clap's full message instead:
/// its first line is the `error:` line.
fn user_error(args: &[&str]) -> String {
    let o = run(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "backprop {args:?} succeeded");
    assert!(
        !err.contains("panicked"),
        "backprop {args:?} panicked: {err}"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: "))
        .collect();
    if o.status.code() == Some(2) {
        assert!(lines[0].starts_with("error: "), "{err}");
        return lines[0].to_string();
    }
    assert_eq!(lines.len(), 1, "backprop {args:?}: not one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// A deterministic jitter in [-1, 1] (no RNG needed for a fixed data set).
fn jitter(i: usize, k: f64) -> f64 {
    ((i as f64 + 1.0) * k).sin()
}

/// Three well-separated blobs in 2-D, string class labels.
fn blobs_csv(path: &Path, n: usize, offset: usize) {
    let names = ["cat", "dog", "emu"];
    let mut text = String::from("a,b,species\n");
    for i in offset..offset + n {
        let c = i % 3;
        let x = 3.0 * c as f64 + 0.6 * jitter(i, 12.9898);
        let y = -2.0 * c as f64 + 0.6 * jitter(i, 78.233);
        text.push_str(&format!("{x},{y},{}\n", names[c]));
    }
    std::fs::write(path, text).unwrap();
}

/// y = 0.5·a − b + 0.25 on a grid: real-valued targets.
fn regression_csv(path: &Path) {
    let mut text = String::from("a,b,y\n");
    for i in 0..15 {
        for j in 0..15 {
            let (a, b) = (i as f64 / 7.0 - 1.0, j as f64 / 7.0 - 1.0);
            text.push_str(&format!("{a},{b},{}\n", 0.5 * a - b + 0.25));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// The number after `label` on the line starting with `row`.
fn table_value(out: &str, row: &str, column: usize) -> f64 {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(row))
        .unwrap_or_else(|| panic!("no `{row}` row in:\n{out}"));
    let cell = line.split_whitespace().nth(column).unwrap();
    cell.trim_end_matches('%').parse().unwrap()
}

const SMALL: &[&str] = &[
    "--layers",
    "8",
    "--epochs",
    "40",
    "--batch-size",
    "16",
    "--lr",
    "0.03",
    "--no-progress",
];

#[test]
fn train_eval_predict_info_on_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    blobs_csv(&train, 150, 0);
    blobs_csv(&test, 60, 1000);
    let model = dir.path().join("m.safetensors");
    let onnx = dir.path().join("m.onnx");
    let mut args = vec![
        "train",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "-o",
        s(&model),
        "--onnx",
        s(&onnx),
    ];
    args.extend_from_slice(SMALL);
    let out = ok(&args);
    // Separated by more than 4 jitter widths: a working fit gets them all
    // but the odd point right.
    assert!(table_value(&out, "test", 3) >= 90.0, "{out}");
    assert!(out.contains("samples/s"), "{out}");
    for f in ["m.safetensors", "m.history.csv", "m.curves.svg", "m.onnx"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let history = std::fs::read_to_string(dir.path().join("m.history.csv")).unwrap();
    assert!(
        history
            .starts_with("epoch,train_loss_incl_l2,val_loss,val_metric,learning_rate,seconds\n0,")
    );
    let epochs = history.lines().count() - 1;
    assert!((1..=40).contains(&epochs), "{history}");
    let svg = std::fs::read_to_string(dir.path().join("m.curves.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("polyline"),
        "not an SVG plot"
    );

    let out = ok(&["eval", s(&model), s(&test)]);
    assert!(table_value(&out, "data", 3) >= 90.0, "{out}");
    assert!(out.contains("confusion matrix"), "{out}");
    assert!(
        out.contains("precision") && out.contains("macro avg"),
        "{out}"
    );
    for name in ["cat", "dog", "emu"] {
        assert!(out.contains(name), "{out}");
    }

    let csv = dir.path().join("p.csv");
    ok(&[
        "predict",
        s(&model),
        s(&test),
        "--target",
        "last",
        "-o",
        s(&csv),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prediction,p(cat),p(dog),p(emu)"));
    assert_eq!(lines.count(), 60);

    let npy = dir.path().join("p.npy");
    ok(&[
        "predict",
        s(&model),
        s(&test),
        "--target",
        "last",
        "-o",
        s(&npy),
    ]);
    let p: Array2<f32> = backprop::io::read_npy(&npy).unwrap();
    assert_eq!(p.dim(), (60, 3));
    for row in p.rows() {
        // Softmax rows sum to 1 up to f32 rounding of three terms.
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }

    let out = ok(&["info", s(&model)]);
    assert!(out.contains("2-8-3"), "{out}");
    assert!(out.contains("cat, dog, emu"), "{out}");
    assert!(out.contains("standard"), "{out}");
}

#[test]
fn regression_targets_are_inferred() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("reg.csv");
    regression_csv(&data);
    let model = dir.path().join("r.safetensors");
    let mut args = vec!["train", "--train", s(&data), "-o", s(&model)];
    args.extend_from_slice(SMALL);
    let out = ok(&args);
    assert!(out.contains("squared-error"), "{out}");
    let out = ok(&["eval", s(&model), s(&data)]);
    // A plane is easy for 8 ReLU units: R² well above 0.9.
    assert!(table_value(&out, "data", 5) > 0.9, "{out}");
    let info = ok(&["info", s(&model)]);
    assert!(info.contains("classes:     none"), "{info}");
}

/// Writes an IDX file: zero bytes, type `0x08` (u8), the dimensions, data.
fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    std::fs::write(path, b).unwrap();
}

/// m 4×4 images of two classes (bright top half or bright bottom half).
fn tiny_idx(dir: &Path, images: &str, labels: &str, m: usize) -> (PathBuf, PathBuf) {
    let mut pix = Vec::new();
    let mut lab = Vec::new();
    for i in 0..m {
        let c = i % 2;
        for r in 0..4 {
            for col in 0..4 {
                let bright = (r < 2) == (c == 0);
                let base: u8 = if bright { 200 } else { 30 };
                pix.push(base.wrapping_add(((i * 7 + r * 3 + col) % 20) as u8));
            }
        }
        lab.push(c as u8);
    }
    let (pi, pl) = (dir.join(images), dir.join(labels));
    write_idx(&pi, &[m as u32, 4, 4], &pix);
    write_idx(&pl, &[m as u32], &lab);
    (pi, pl)
}

#[test]
fn idx_pairs_and_the_default_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fashion");
    std::fs::create_dir(&data).unwrap();
    let (xi, yi) = tiny_idx(
        &data,
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        40,
    );
    let (ti, tl) = tiny_idx(
        &data,
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        20,
    );
    // The default job, pointed at a directory in Fashion-MNIST's layout
    // (the reader takes raw IDX even under a .gz name).
    let model = dir.path().join("d.safetensors");
    let mut args = vec!["train", "--data-dir", s(&data), "-o", s(&model)];
    args.extend_from_slice(SMALL);
    let out = ok(&args);
    assert!(out.contains("Fashion-MNIST"), "{out}");
    assert!(table_value(&out, "test", 3) >= 90.0, "{out}");
    let out = ok(&["eval", s(&model), "--data-dir", s(&data)]);
    assert!(out.contains("confusion matrix"), "{out}");

    // The same files given explicitly.
    let model = dir.path().join("e.safetensors");
    let mut args = vec![
        "train",
        "--train",
        s(&xi),
        "--train-targets",
        s(&yi),
        "--test",
        s(&ti),
        "--test-targets",
        s(&tl),
        "-o",
        s(&model),
    ];
    args.extend_from_slice(SMALL);
    let out = ok(&args);
    assert!(table_value(&out, "test", 3) >= 90.0, "{out}");
    // Two classes: one logistic output, as the Classifier does.
    let info = ok(&["info", s(&model)]);
    assert!(
        info.contains("16-8-1") && info.contains("logistic"),
        "{info}"
    );
    let out = ok(&["eval", s(&model), s(&ti), "--targets", s(&tl)]);
    assert!(table_value(&out, "data", 3) >= 90.0, "{out}");
}

#[test]
fn gradcheck_prints_the_per_layer_table() {
    for (act, loss) in [
        ("tanh", "categorical-cross-entropy"),
        ("relu", "squared-error"),
        ("logistic", "binary-cross-entropy"),
    ] {
        let out = ok(&[
            "gradcheck",
            "--layers",
            "5,4",
            "--activation",
            act,
            "--loss",
            loss,
            "--lambda",
            "0.3",
        ]);
        assert!(out.contains("max rel err W"), "{out}");
        let rows: Vec<&str> = out
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.parse::<usize>().is_ok())
            })
            .collect();
        assert_eq!(rows.len(), 3, "{out}");
        for r in rows {
            let cells: Vec<f64> = r.split_whitespace().map(|c| c.parse().unwrap()).collect();
            // Central differences in f64 at ε = 1e-5 agree to ~1e-9; 1e-6
            // leaves room for rounding without hiding a wrong gradient
            // (those show errors of order 1).
            assert!(cells[2] < 1e-6 && cells[4] < 1e-6, "{out}");
        }
        assert!(out.contains("PASS"), "{out}");
    }
}

#[test]
fn missing_fashion_mnist_says_how_to_install() {
    let e = user_error(&["train", "--no-progress"]);
    assert!(e.contains("apt-get install dataset-fashion-mnist"), "{e}");
    let e = user_error(&["train", "--data-dir", "/nonexistent/elsewhere"]);
    assert!(e.contains("apt-get install dataset-fashion-mnist"), "{e}");
}

#[test]
fn user_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    blobs_csv(&train, 30, 0);
    let model = dir.path().join("m.safetensors");
    let mut args = vec!["train", "--train", s(&train), "-o", s(&model)];
    args.extend_from_slice(SMALL);
    ok(&args);
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, "a,b,c,y\n1,2,3,cat\n4,5,6,dog\n").unwrap();
    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, "1,2,3,cat\n4,5,6,dog\n").unwrap();
    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"\xff\xff\xff\xff\xff\xff\xff\x7fgarbage").unwrap();
    let text = dir.path().join("text.csv");
    std::fs::write(&text, "a,y\n1,cat\nfoo,dog\n").unwrap();
    let missing = dir.path().join("missing.csv");
    let nodir = dir.path().join("no/such/dir/m.safetensors");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--train", s(&missing)], "missing.csv"),
        (
            vec!["train", "--train", s(&train), "--epochs", "abc"],
            "--epochs",
        ),
        (
            vec!["train", "--train", s(&train), "--layers", "8,0"],
            "--layers",
        ),
        (
            vec!["train", "--train", s(&train), "--lr", "-1"],
            "learning_rate",
        ),
        (
            vec![
                "train",
                "--train",
                s(&train),
                "--validation-fraction",
                "1.5",
            ],
            "validation-fraction",
        ),
        (
            vec!["train", "--train", s(&train), "-o", s(&nodir)],
            "does not exist",
        ),
        (vec!["train", "--train", s(&text)], "line 3"),
        (
            vec!["train", "--train", s(&train), "--target", "nope"],
            "nope",
        ),
        (vec!["eval", s(&corrupt), s(&train)], "corrupt.safetensors"),
        // The model records its target column ("species") and features.
        (
            vec!["eval", s(&model), s(&wide)],
            "target column \"species\"",
        ),
        (
            vec!["eval", s(&model), s(&wide), "--target", "y"],
            "extra \"c\"",
        ),
        (
            vec![
                "eval",
                s(&model),
                s(&bare),
                "--target",
                "last",
                "--no-header",
            ],
            "bare.csv: the data has 3 feature column(s), the model",
        ),
        (vec!["info", s(&missing)], "missing.csv"),
        (
            vec![
                "predict",
                s(&model),
                s(&train),
                "--target",
                "last",
                "-o",
                "p.txt",
            ],
            ".csv",
        ),
        (vec!["gradcheck", "--layers", "x"], "--layers"),
        (vec!["--threads", "0", "info", s(&model)], "threads"),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        let e = user_error(&args);
        assert!(
            e.contains(needle),
            "backprop {args:?}: `{e}` lacks `{needle}`"
        );
    }
}

#[test]
fn optimizer_flags_belong_to_their_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    blobs_csv(&train, 30, 0);
    let model = dir.path().join("m.safetensors");
    let t = |extra: &[&'static str]| {
        let mut args = vec!["train", "--train", s(&train), "-o", s(&model)];
        args.extend_from_slice(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            t(&["--optimizer", "adam", "--momentum", "0.9"]),
            "--momentum does not apply to --optimizer adam",
        ),
        // The default optimizer (the recipe's Adam) has no momentum either.
        (
            t(&["--momentum", "0.9"]),
            "--momentum does not apply to --optimizer adam",
        ),
        (
            t(&["--optimizer", "sgd", "--beta1", "0.9"]),
            "--beta1 does not apply to --optimizer sgd",
        ),
        (
            t(&["--optimizer", "lbfgs", "--batch-size", "8"]),
            "--batch-size does not apply to --optimizer lbfgs",
        ),
        (
            t(&["--optimizer", "lbfgs", "--schedule", "step"]),
            "--schedule does not apply to --optimizer lbfgs",
        ),
        (
            t(&["--optimizer", "lbfgs", "--clip-norm", "1"]),
            "--clip-norm does not apply to --optimizer lbfgs",
        ),
        (
            t(&["--optimizer", "lbfgs", "--lr", "0.1"]),
            "--lr does not apply to --optimizer lbfgs",
        ),
        (t(&["--optimizer", "sgd", "--momentum", "2"]), "momentum"),
        (t(&["--optimizer", "sgd", "--nesterov"]), "nesterov"),
        (t(&["--optimizer", "lbfgs", "--memory", "0"]), "memory"),
        (t(&["--optimizer", "lbfgs", "--memory", "2.5"]), "--memory"),
        (t(&["--optimizer", "newton"]), "newton"),
        (
            t(&["--optimizer", "lbfgs", "--gamma", "0.5"]),
            "--gamma does not apply to --optimizer lbfgs",
        ),
        (
            t(&["--schedule", "cosine", "--gamma", "0.5"]),
            "--gamma does not apply to --schedule cosine",
        ),
        // The recipe's schedule is cosine.
        (
            t(&["--step-size", "3"]),
            "--step-size does not apply to --schedule cosine",
        ),
    ];
    for (args, needle) in cases {
        let e = user_error(&args);
        assert!(
            e.contains(needle),
            "backprop {args:?}: `{e}` lacks `{needle}`"
        );
    }
    // The flags that do belong train.
    for extra in [
        &[
            "--optimizer",
            "sgd",
            "--momentum",
            "0.9",
            "--nesterov",
            "--lr",
            "0.05",
        ][..],
        &[
            "--optimizer",
            "adamw",
            "--weight-decay",
            "0.02",
            "--beta1",
            "0.8",
        ],
        &[
            "--optimizer",
            "rmsprop",
            "--alpha",
            "0.9",
            "--epsilon",
            "1e-7",
        ],
        &["--optimizer", "lbfgs", "--memory", "5"],
        &["--schedule", "step", "--gamma", "0.5", "--step-size", "2"],
    ] {
        let mut args = t(extra);
        args.extend_from_slice(&["--layers", "8", "--epochs", "3", "--no-progress"]);
        ok(&args);
    }
}

#[test]
fn train_help_shows_the_recipe_defaults() {
    let r = backprop::recipes::fashion_mnist();
    let help = ok(&["train", "--help"]);
    let line = |flag: &str| {
        let mut lines = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(flag));
        lines.next();
        lines.next().unwrap_or_default().to_string()
    };
    let t = &r.trainer;
    let layers: Vec<String> = r.hidden.iter().map(|d| d.units.to_string()).collect();
    let rates: Vec<String> = r.hidden.iter().map(|d| d.dropout.to_string()).collect();
    let expect = [
        ("--epochs", t.epochs.to_string()),
        ("--lr", t.learning_rate.unwrap().to_string()),
        ("--batch-size", t.batch_size.unwrap().to_string()),
        ("--lambda", t.lambda.to_string()),
        ("--seed", t.seed.to_string()),
        (
            "--validation-fraction",
            r.validation_fraction.unwrap_or(0.0).to_string(),
        ),
        ("--layers", layers.join(",")),
        ("--activation", r.hidden[0].activation.to_string()),
        ("--optimizer", t.solver.unwrap().name().to_string()),
        ("--dropout", rates.join(",")),
        ("--label-smoothing", t.label_smoothing.to_string()),
        (
            "--standardize-samples",
            format!("{} on image data", r.standardize_samples),
        ),
        (
            "--input-power",
            format!(
                "{} on image data with no negative values, else 1",
                r.input_power.unwrap()
            ),
        ),
    ];
    let patience = t
        .early_stopping
        .map(|es| ("--patience", es.patience.to_string()));
    for (flag, value) in expect.into_iter().chain(patience) {
        let text = line(flag);
        assert!(
            text.contains(&format!("[default: {value}]")),
            "{flag}: `{text}` does not show the recipe's {value}"
        );
    }
    assert_eq!(t.lambda, 0.02, "the help test reads the real λ");
    assert!(line("--lambda").contains("[default: 0.02]"));
}

#[test]
fn dropout_label_smoothing_and_max_norm_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    blobs_csv(&train, 150, 0);
    blobs_csv(&test, 60, 1000);
    let model = dir.path().join("m.safetensors");
    let common = [
        "train",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "-o",
        s(&model),
        "--epochs",
        "40",
        "--batch-size",
        "16",
        "--lr",
        "0.03",
        "--no-progress",
    ];
    let mut args = common.to_vec();
    args.extend_from_slice(&[
        "--layers",
        "8,6",
        "--dropout",
        "0.2,0.1",
        "--label-smoothing",
        "0.1",
        "--max-norm",
        "3",
    ]);
    let out = ok(&args);
    assert!(out.contains("label smoothing 0.1, max-norm 3"), "{out}");
    assert!(table_value(&out, "test", 3) >= 90.0, "{out}");
    let info = ok(&["info", s(&model)]);
    assert!(info.contains("dropout:     [0.2, 0.1]"), "{info}");
    // Module indices shift past the first layer's Dropout.
    assert!(info.contains("  3.weight  F32    (6, 8)"), "{info}");

    let with = |extra: &[&'static str]| {
        let mut a = common.to_vec();
        a.extend_from_slice(extra);
        a
    };
    let e = user_error(&with(&["--layers", "8,6", "--dropout", "0.1,0.2,0.3"]));
    assert!(e.contains("3 rates for 2 hidden layers"), "{e}");
    let e = user_error(&with(&["--dropout", "1"]));
    assert!(e.contains("[0, 1)"), "{e}");
    let e = user_error(&with(&["--label-smoothing", "1.5"]));
    assert!(e.contains("label_smoothing"), "{e}");
    let e = user_error(&with(&["--max-norm", "0"]));
    assert!(e.contains("max_norm"), "{e}");
    let e = user_error(&[
        "train",
        "--train",
        s(&train),
        "--optimizer",
        "lbfgs",
        "--max-norm",
        "2",
    ]);
    assert!(e.contains("--max-norm does not apply"), "{e}");
    let reg = dir.path().join("reg.csv");
    regression_csv(&reg);
    let e = user_error(&[
        "train",
        "--train",
        s(&reg),
        "--label-smoothing",
        "0.1",
        "--no-progress",
    ]);
    assert!(e.contains("cross-entropy"), "{e}");
}

/// `train` on IDX features `x` and labels `y`, writing `model`.
fn train_idx<'a>(x: &'a Path, y: &'a Path, model: &'a Path) -> [&'a str; 7] {
    let (x, y, model) = (s(x), s(y), s(model));
    ["train", "--train", x, "--train-targets", y, "-o", model]
}

/// `base`, then the small network and schedule of [`SMALL`], then `extra`.
fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = base.to_vec();
    a.extend_from_slice(SMALL);
    a.extend_from_slice(extra);
    a
}

#[test]
fn augmentation_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (xi, yi) = tiny_idx(dir.path(), "x-idx3-ubyte", "y-idx1-ubyte", 40);
    let model = dir.path().join("m.safetensors");
    let idx = train_idx(&xi, &yi, &model);
    // The IDX file gives the 4 x 4 shape, and with it the recipe's sample
    // standardization, whose per-image statistics a shift's fill cannot
    // follow.
    let e = user_error(&with(&idx, &["--shift", "1"]));
    assert!(e.contains("--standardize-samples false"), "{e}");
    let no_samples = [&idx[..], &["--standardize-samples", "false"]].concat();
    let out = ok(&with(&no_samples, &["--shift", "1", "--flip"]));
    assert!(out.contains("augmentation 4x4 shift 1 flip true"), "{out}");
    assert!(out.contains("scaling standard of x^0.6\n"), "{out}");
    assert!(table_value(&out, "train", 3) >= 90.0, "{out}");
    let out = ok(&with(&idx, &["--shift", "0", "--flip"]));
    assert!(out.contains("augmentation 4x4 shift 0 flip true"), "{out}");
    assert!(
        out.contains("scaling standard after standardizing each sample"),
        "{out}"
    );
    let out = ok(&with(&idx, &["--shift", "0", "--flip", "false"]));
    assert!(!out.contains("augmentation"), "{out}");
    let e = user_error(&with(&no_samples, &["--shift", "4"]));
    assert!(e.contains("--shift 4") && e.contains("at most 3"), "{e}");
    let e = user_error(&with(
        &no_samples,
        &["--shift", "1", "--image-shape", "2x4"],
    ));
    assert!(
        e.contains("2x4 has 8 pixels, the data has 16 features"),
        "{e}"
    );
    let e = user_error(&with(&idx, &["--image-shape", "4by4"]));
    assert!(e.contains("not an image shape"), "{e}");
    let e = user_error(&[
        "train",
        "--train",
        s(&xi),
        "--train-targets",
        s(&yi),
        "--optimizer",
        "lbfgs",
        "--flip",
    ]);
    assert!(e.contains("--flip does not apply"), "{e}");

    // CSV rows have no shape of their own: augmentation needs --image-shape.
    let csv = dir.path().join("blobs.csv");
    blobs_csv(&csv, 60, 0);
    let base = ["train", "--train", s(&csv), "-o", s(&model)];
    let out = ok(&with(&base, &[]));
    assert!(
        !out.contains("augmentation") && !out.contains("each sample"),
        "the recipe's are for images: {out}"
    );
    let out = ok(&with(&base, &["--standardize-samples"]));
    assert!(out.contains("after standardizing each sample"), "{out}");
    let e = user_error(&with(
        &base,
        &["--standardize-samples", "--scaling", "none"],
    ));
    assert!(e.contains("give --scaling standard or min-max"), "{e}");
    let e = user_error(&with(&base, &["--shift", "1"]));
    assert!(e.contains("--image-shape"), "{e}");
    let out = ok(&with(&base, &["--image-shape", "1x2", "--flip"]));
    assert!(out.contains("augmentation 1x2 shift 0 flip true"), "{out}");
}

#[test]
fn input_power_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (xi, yi) = tiny_idx(dir.path(), "x-idx3-ubyte", "y-idx1-ubyte", 40);
    let model = dir.path().join("m.safetensors");
    let idx = train_idx(&xi, &yi, &model);
    // The recipe's power is for image data, saved with the model and shown.
    let r = backprop::recipes::fashion_mnist();
    let p = r.input_power.unwrap();
    let out = ok(&with(&idx, &[]));
    let text = format!("scaling standard after standardizing each sample of x^{p}\n");
    assert!(out.contains(&text), "{out}");
    let info = ok(&["info", s(&model)]);
    assert!(info.contains(&format!("x = raw^{p} (raw >= 0)")), "{info}");
    let eval = ok(&["eval", s(&model), s(&xi), "--targets", s(&yi)]);
    assert_eq!(
        table_value(&eval, "data", 3),
        table_value(&out, "train", 3),
        "eval applies the saved power as training did:\n{eval}\n{out}"
    );
    let out = ok(&with(&idx, &["--input-power", "1"]));
    assert!(
        out.contains("scaling standard after standardizing each sample\n"),
        "{out}"
    );
    let out = ok(&with(
        &idx,
        &["--input-power", "0.5", "--scaling", "minmax"],
    ));
    assert!(
        out.contains("min-max after standardizing each sample of x^0.5"),
        "{out}"
    );
    for bad in ["0", "-1", "nan", "inf"] {
        let e = user_error(&with(&idx, &["--input-power", bad]));
        assert!(e.contains("finite and > 0"), "{bad}: {e}");
    }
    let e = user_error(&with(
        &idx,
        &["--scaling", "none", "--standardize-samples", "false"],
    ));
    assert!(e.contains("or --input-power 1"), "{e}");
    let out = ok(&with(
        &idx,
        &[
            "--scaling",
            "none",
            "--standardize-samples",
            "false",
            "--input-power",
            "1",
        ],
    ));
    assert!(out.contains("scaling none"), "{out}");

    // Not by default on other data; negative features cannot take a power.
    let csv = dir.path().join("blobs.csv");
    blobs_csv(&csv, 60, 0);
    let base = ["train", "--train", s(&csv), "-o", s(&model)];
    let out = ok(&with(&base, &[]));
    assert!(!out.contains("x^"), "{out}");
    let out = ok(&with(&base, &["--image-shape", "1x2"]));
    assert!(!out.contains("x^"), "not intensities: {out}");
    let e = user_error(&with(&base, &["--input-power", "0.5"]));
    assert!(e.contains(">= 0"), "{e}");
}

/// The binary16 encoding of `v`, which must be exact in binary16 (a few
/// short dyadic fractions of moderate size): sign, exponent, 10 bits of
/// mantissa taken from the f32 encoding.
fn f16_bits(v: f32) -> u16 {
    let b = v.to_bits();
    if v == 0.0 {
        return (b >> 16) as u16 & 0x8000;
    }
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    assert!(
        (1..31).contains(&exp) && b & 0x1fff == 0,
        "{v} is not a normal f16"
    );
    ((b >> 16) as u16 & 0x8000) | ((exp as u16) << 10) | ((b >> 13) & 0x3ff) as u16
}

/// A PyTorch-style `state_dict` of `nn.Sequential(Linear(2, 3), ReLU(),
/// Linear(3, 2))` without metadata, in mixed F16 / BF16 / F32 tensors (as
/// `safetensors.torch.save_file(net.half().state_dict())` writes F16), with
/// values exact in every dtype. Returns (W1, b1, W2, b2).
#[allow(clippy::type_complexity)]
fn write_torch_style(path: &Path) -> ([[f64; 2]; 3], [f64; 3], [[f64; 3]; 2], [f64; 2]) {
    let w1 = [[0.5, -1.0], [1.5, 0.25], [-2.0, 0.75]];
    let b1 = [0.125, -0.5, 1.0];
    let w2 = [[1.0, -0.5, 0.25], [-1.0, 2.0, 0.5]];
    let b2 = [0.0, -0.25];
    let mut data = Vec::new();
    for v in w1.iter().flatten() {
        data.extend(f16_bits(*v as f32).to_le_bytes());
    }
    for v in b1 {
        // bfloat16: the upper half of the f32.
        data.extend((((v as f32).to_bits() >> 16) as u16).to_le_bytes());
    }
    for v in w2.iter().flatten() {
        data.extend((*v as f32).to_le_bytes());
    }
    for v in b2 {
        data.extend(f16_bits(v as f32).to_le_bytes());
    }
    let header = r#"{"0.weight":{"dtype":"F16","shape":[3,2],"data_offsets":[0,12]},"0.bias":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"2.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[18,42]},"2.bias":{"dtype":"F16","shape":[2],"data_offsets":[42,46]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
    (w1, b1, w2, b2)
}

/// A model file without metadata (as PyTorch writes one), in half
/// precision, through `info`, `eval`, `predict` and `export-onnx` with
/// `--activation` and `--loss`; no Python needed.
#[test]
fn metadata_free_half_precision_file_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("torch.safetensors");
    let (w1, b1, w2, b2) = write_torch_style(&m);
    let flags = ["--activation", "relu", "--loss", "softmax-ce"];

    // Without the flags: the tensors are listed, the reason is given.
    let out = ok(&["info", s(&m)]);
    assert!(out.contains("cannot be built"), "{out}");
    assert!(out.contains("--activation"), "{out}");
    for want in [
        "0.weight  F16    (3, 2)",
        "0.bias    BF16   (3)",
        "2.weight  F32    (2, 3)",
    ] {
        assert!(out.contains(want), "{want:?} missing from\n{out}");
    }
    assert!(out.contains("metadata:    none"), "{out}");
    let mut args = vec!["info", s(&m)];
    args.extend(flags);
    let out = ok(&args);
    assert!(
        out.contains("2-3-2") && out.contains("relu") && out.contains("softmax"),
        "{out}"
    );

    // Eight points, labelled by the class the network gives them.
    let xs: Vec<[f64; 2]> = (0..8)
        .map(|i| [i as f64 * 0.5 - 2.0, 1.0 - (i * i) as f64 * 0.1])
        .collect();
    let forward = |x: &[f64; 2]| -> [f64; 2] {
        let h: Vec<f64> = (0..3)
            .map(|j| (w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j]).max(0.0))
            .collect();
        let z: Vec<f64> = (0..2)
            .map(|k| (0..3).map(|j| w2[k][j] * h[j]).sum::<f64>() + b2[k])
            .collect();
        let e: Vec<f64> = z.iter().map(|v| (v - z[0].max(z[1])).exp()).collect();
        [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])]
    };
    let mut csv = String::from("a,b,label\n");
    let mut labels = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        let p = forward(x);
        // Every other point mislabelled: accuracy is exactly 50%.
        let predicted = usize::from(p[1] > p[0]);
        let label = if i % 2 == 0 { predicted } else { 1 - predicted };
        labels.push(label);
        csv.push_str(&format!("{},{},{label}\n", x[0], x[1]));
    }
    let data = dir.path().join("d.csv");
    std::fs::write(&data, csv).unwrap();

    let err = user_error(&["eval", s(&m), s(&data)]);
    assert!(err.contains("--activation"), "{err}");
    let mut args = vec!["eval", s(&m), s(&data)];
    args.extend(flags);
    let out = ok(&args);
    assert_eq!(table_value(&out, "data", 3), 50.0, "{out}");

    let p = dir.path().join("p.npy");
    let mut args = vec!["predict", s(&m), s(&data), "--target", "last", "-o", s(&p)];
    args.extend(flags);
    ok(&args);
    let got: Array2<f32> = backprop::io::read_npy(&p).unwrap();
    for (i, x) in xs.iter().enumerate() {
        let want = forward(x);
        for k in 0..2 {
            // One f32 forward pass of a 2-3-2 network: a few ulps of 1.
            assert!(
                (f64::from(got[[i, k]]) - want[k]).abs() < 1e-6,
                "row {i}: {} vs {}",
                got[[i, k]],
                want[k]
            );
        }
    }

    let onnx = dir.path().join("m.onnx");
    let mut args = vec!["export-onnx", s(&m), "-o", s(&onnx)];
    args.extend(flags);
    let out = ok(&args);
    assert!(out.contains("2-3-2"), "{out}");
    assert!(std::fs::metadata(&onnx).unwrap().len() > 100);
    // Refused: no flags, the model itself as output, a missing directory.
    let err = user_error(&["export-onnx", s(&m), "-o", s(&onnx)]);
    assert!(err.contains("--activation"), "{err}");
    let mut args = vec!["export-onnx", s(&m), "-o", s(&m)];
    args.extend(flags);
    assert!(user_error(&args).contains("model file itself"));
    let missing = dir.path().join("no/such/dir/m.onnx");
    let mut args = vec!["export-onnx", s(&m), "-o", s(&missing)];
    args.extend(flags);
    assert!(user_error(&args).contains("does not exist"));
    // A wrong flag for a file with metadata is a clear error too.
    let saved = dir.path().join("saved.safetensors");
    let m2 = backprop::io::SavedModel::<f32>::load_with(
        &m,
        &backprop::io::LoadOptions::new()
            .activation(backprop::Activation::Relu)
            .loss(backprop::Loss::CategoricalCrossEntropy),
    )
    .unwrap();
    m2.save(&saved).unwrap();
    let err = user_error(&["eval", s(&saved), s(&data), "--activation", "tanh"]);
    assert!(err.contains("metadata says activations"), "{err}");
}

/// A model whose classes have names takes a test file labelled by class
/// index (as NPY labels are), while a label that is neither is an error.
#[test]
fn integer_labels_name_classes_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    blobs_csv(&train, 150, 0);
    blobs_csv(&test, 60, 1000);
    let model = dir.path().join("m.safetensors");
    let mut args = vec!["train", "--train", s(&train), "-o", s(&model)];
    args.extend_from_slice(SMALL);
    ok(&args);
    let named = ok(&["eval", s(&model), s(&test)]);
    let text = std::fs::read_to_string(&test).unwrap();
    let numbered_text = text
        .replace(",cat\n", ",0\n")
        .replace(",dog\n", ",1\n")
        .replace(",emu\n", ",2\n");
    let numbered = dir.path().join("numbered.csv");
    std::fs::write(&numbered, &numbered_text).unwrap();
    let by_index = ok(&["eval", s(&model), s(&numbered)]);
    assert_eq!(
        table_value(&named, "data", 3),
        table_value(&by_index, "data", 3)
    );
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, numbered_text.replacen(",2\n", ",3\n", 1)).unwrap();
    let err = user_error(&["eval", s(&model), s(&unknown)]);
    assert!(
        err.contains("label \"3\"") && err.contains("cat, dog, emu"),
        "{err}"
    );
    std::fs::write(&unknown, text.replacen(",emu\n", ",yak\n", 1)).unwrap();
    assert!(user_error(&["eval", s(&model), s(&unknown)]).contains("label \"yak\""));
}
