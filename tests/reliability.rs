//! The command line under hostile and careless use: a label in the first
//! column, outputs onto inputs, devices, FIFOs and links, signals, sizes
//! that cannot fit, endless or binary input, wrong delimiters. Each case
//! was once silently wrong, destructive or an abort.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_backprop");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("BACKPROP_FASHION_MNIST_DIR", "/nonexistent/fashion-mnist")
        .output()
        .expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Runs and requires success; returns stdout and stderr.
fn ok(args: &[&str]) -> (String, String) {
    let o = run(args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(
        o.status.success(),
        "backprop {args:?} failed:\n{out}\n{err}"
    );
    (out, err)
}

/// Runs and requires exit code 1 with one `error:` line (besides notes)
/// holding every one of `needles`.
fn refused(args: &[&str], needles: &[&str]) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "backprop {args:?}: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: "))
        .collect();
    assert_eq!(lines.len(), 1, "backprop {args:?}: {err}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "backprop {args:?}: `{}` lacks `{n}`",
            lines[0]
        );
    }
}

/// Two separable classes, the label in the first column (the Kaggle MNIST
/// layout), features named p0..p3.
fn label_first_csv(path: &Path, n: usize, sep: &str) {
    let mut text = ["label", "p0", "p1", "p2", "p3"].join(sep) + "\n";
    for i in 0..n {
        let c = i % 2;
        let v: Vec<String> = (0..4)
            .map(|j| {
                format!(
                    "{:.3}",
                    c as f64 * 2.0 + ((i * 7 + j * 3) % 11) as f64 / 20.0
                )
            })
            .collect();
        text.push_str(&format!("{c}{sep}{}\n", v.join(sep)));
    }
    std::fs::write(path, text).unwrap();
}

const QUICK: &[&str] = &[
    "--layers",
    "4",
    "--epochs",
    "30",
    "--lr",
    "0.05",
    "--no-progress",
];

fn train(data: &Path, model: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["train", "--train", s(data), "-o", s(model)];
    args.extend(QUICK);
    args.extend(extra);
    ok(&args)
}

fn accuracy(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("data"))
        .expect("a data row");
    line.split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn a_label_column_is_the_target_and_the_model_remembers_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    label_first_csv(&data, 80, ",");
    let model = dir.path().join("m.safetensors");
    let (_, notes) = train(&data, &model, &[]);
    assert!(notes.contains("target column \"label\""), "{notes}");
    // eval without --target: the model's target column, not the last one.
    let (out, _) = ok(&["eval", s(&model), s(&data)]);
    assert!(accuracy(&out) >= 90.0, "{out}");
    // The same columns in another order are put back in the model's order.
    let shuffled = dir.path().join("shuffled.csv");
    let text = std::fs::read_to_string(&data).unwrap();
    let moved: String = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},{}\n", f[3], f[1], f[0], f[4], f[2])
        })
        .collect();
    std::fs::write(&shuffled, moved).unwrap();
    let (out2, _) = ok(&["eval", s(&model), s(&shuffled)]);
    assert_eq!(accuracy(&out2), accuracy(&out));
    // Other columns are refused, naming the file and the columns.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "label,p0,p1,p2,q3\n0,1,2,3,4\n1,1,2,3,4\n").unwrap();
    refused(
        &["eval", s(&model), s(&other)],
        &["other.csv", "missing \"p3\"", "extra \"q3\""],
    );
    // So is a test file whose columns differ from the training file's.
    refused(
        &[
            "train",
            "--train",
            s(&data),
            "--test",
            s(&other),
            "-o",
            s(&model),
        ],
        &["other.csv", "the training file", "missing \"p3\""],
    );
    // predict takes the feature columns and leaves the target out.
    let pred = dir.path().join("p.csv");
    ok(&["predict", s(&model), s(&data), "-o", s(&pred)]);
    assert_eq!(std::fs::read_to_string(&pred).unwrap().lines().count(), 81);
    let (info, _) = ok(&["info", s(&model)]);
    assert!(info.contains("layers:      4-4-1"), "{info}");
}

#[test]
fn two_label_like_columns_and_one_class_name_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("one.csv");
    std::fs::write(&data, "a,b,label\n1,2,0\n3,4,0\n5,6,0\n").unwrap();
    let model = dir.path().join("m.safetensors");
    refused(
        &["train", "--train", s(&data), "-o", s(&model)],
        &["one.csv", "target column \"label\"", "1 class(es)"],
    );
    std::fs::write(&data, "y,b,label\n1,2,0\n3,4,1\n").unwrap();
    refused(
        &["train", "--train", s(&data), "-o", s(&model)],
        &["\"y\" and \"label\""],
    );
}

#[test]
fn outputs_never_replace_inputs_devices_fifos_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    label_first_csv(&data, 40, ",");
    let before = std::fs::read(&data).unwrap();
    let model = dir.path().join("m.safetensors");
    let test = dir.path().join("t.csv");
    std::fs::copy(&data, &test).unwrap();
    let base = [
        "train",
        "--train",
        s(&data),
        "--epochs",
        "1",
        "--no-progress",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    refused(
        &with(&base, &["-o", s(&data)]),
        &["same file as the input --train"],
    );
    refused(
        &with(
            &base,
            &["--test", s(&test), "-o", s(&model), "--onnx", s(&test)],
        ),
        &["--onnx", "same file as the input --test"],
    );
    refused(
        &with(&base, &["-o", s(&model), "--onnx", s(&model)]),
        &["--onnx", "same file as the output --output"],
    );
    refused(
        &with(&base, &["-o", "/dev/null"]),
        &["/dev/null", "not a regular file"],
    );
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|st| st.success()) {
        refused(&with(&base, &["-o", s(&fifo)]), &["not a regular file"]);
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }
    assert_eq!(std::fs::read(&data).unwrap(), before);
    assert!(
        Path::new("/dev/null")
            .metadata()
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A link is followed: its target holds the model, the link stays.
    let real = dir.path().join("real.safetensors");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    ok(&with(&base, &["-o", s(&link)]));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    ok(&["info", s(&real)]);
    // The history and curves are named after the path given; no temporary
    // file is left anywhere.
    assert!(dir.path().join("link.history.csv").exists());
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

use std::os::unix::fs::FileTypeExt;

#[test]
fn sigterm_exits_143_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    label_first_csv(&data, 2000, ",");
    let model = dir.path().join("m.safetensors");
    let mut child = Command::new(BIN)
        .args([
            "train",
            "--train",
            s(&data),
            "-o",
            s(&model),
            "--epochs",
            "100000",
        ])
        .args(["--layers", "64,64", "--patience", "0", "--no-progress"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["d.csv"], "{left:?}");
}

#[test]
fn sizes_that_cannot_fit_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    label_first_csv(&data, 20, ",");
    let model = dir.path().join("m.safetensors");
    refused(
        &[
            "train",
            "--train",
            s(&data),
            "-o",
            s(&model),
            "--layers",
            "100000,100000",
        ],
        &["parameters", "GiB", "fewer or narrower layers"],
    );
    refused(
        &[
            "gradcheck",
            "--inputs",
            "100000",
            "--layers",
            "100000",
            "--outputs",
            "100000",
        ],
        &["parameters", "GiB"],
    );
    let t0 = std::time::Instant::now();
    refused(
        &["--threads", "10000", "info", s(&model)],
        &["threads", "BACKPROP_MAX_THREADS"],
    );
    assert!(t0.elapsed().as_secs() < 30);
}

#[test]
fn endless_binary_and_oddly_separated_input() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let t0 = std::time::Instant::now();
    refused(
        &[
            "train",
            "--train",
            "/dev/zero",
            "--format",
            "csv",
            "-o",
            s(&model),
        ],
        &["/dev/zero", "NUL bytes"],
    );
    assert!(t0.elapsed().as_secs() < 30);
    let bin = dir.path().join("garbage.csv");
    std::fs::write(&bin, [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0]).unwrap();
    refused(
        &["train", "--train", s(&bin), "-o", s(&model)],
        &["garbage.csv", "binary"],
    );
    // Tab- and semicolon-separated files are recognised.
    for (name, sep) in [("d.tsv", "\t"), ("d.csv", ";")] {
        let data = dir.path().join(name);
        label_first_csv(&data, 40, sep);
        train(&data, &model, &[]);
    }
    // With the delimiter forced wrong, the message says which one it looks like.
    let data = dir.path().join("d.csv");
    refused(
        &[
            "train",
            "--train",
            s(&data),
            "--delimiter",
            ",",
            "-o",
            s(&model),
        ],
        &["d.csv", "line 1", "`;`-separated"],
    );
    // A byte-order mark is not part of the first column's name.
    let text = std::fs::read_to_string(&data).unwrap().replace(';', ",");
    std::fs::write(&data, format!("\u{feff}{text}")).unwrap();
    let (_, notes) = train(&data, &model, &[]);
    assert!(notes.contains("target column \"label\""), "{notes}");
}

#[test]
fn non_finite_npy_values_name_the_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let y = dir.path().join("y.npy");
    let mut a = ndarray::Array2::<f32>::zeros((4, 3));
    a[[2, 1]] = f32::NAN;
    backprop::io::write_npy(&x, a.view()).unwrap();
    backprop::io::write_npy(&y, ndarray::array![0.0f32, 1.0, 0.0, 1.0].view()).unwrap();
    let model = dir.path().join("m.safetensors");
    refused(
        &[
            "train",
            "--train",
            s(&x),
            "--train-targets",
            s(&y),
            "-o",
            s(&model),
        ],
        &["x.npy", "row 2, column 1", "NaN"],
    );
}

#[test]
fn usage_errors_show_clap_in_full() {
    let o = run(&["eval"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("<MODEL>") && err.contains("Usage:"), "{err}");
}

/// A NumPy-style `.npz` archive (deflated, as `savez_compressed` writes)
/// holding `x` (n × 2) and `y` (n labels).
fn npz(path: &Path, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let x =
        ndarray::Array2::from_shape_fn((n, 2), |(i, j)| ((i % 2) * 3 + j) as f32 + 0.01 * i as f32);
    let y = ndarray::Array1::from_shape_fn(n, |i| (i % 2) as f32);
    let (xp, yp) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    backprop::io::write_npy(&xp, x.view()).unwrap();
    backprop::io::write_npy(&yp, y.view()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, p) in [("x.npy", &xp), ("y.npy", &yp)] {
        z.start_file(name, opts).unwrap();
        std::io::Write::write_all(&mut z, &std::fs::read(p).unwrap()).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn npz_archives_train_and_a_misnamed_one_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.npz");
    npz(&data, 40);
    let model = dir.path().join("m.safetensors");
    let (out, _) = train(&data, &model, &[]);
    assert!(out.contains("40 samples"), "{out}");
    // The same archive under another name is recognised by its contents.
    let odd = dir.path().join("d.bin");
    std::fs::copy(&data, &odd).unwrap();
    train(&odd, &model, &[]);
    refused(
        &[
            "train",
            "--train",
            s(&odd),
            "--format",
            "idx",
            "-o",
            s(&model),
        ],
        &["d.bin", "not an IDX file", ".npz"],
    );
    let (out, _) = ok(&["eval", s(&model), s(&data)]);
    assert!(accuracy(&out) >= 90.0, "{out}");
}
