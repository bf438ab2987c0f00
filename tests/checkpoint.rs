//! Checkpoints and resume: a run of 4 epochs and a run of 2 epochs resumed
//! for 2 more end in the same parameters, bit for bit, and the same history
//! (wall times aside), in the library and through the command line; every
//! optimizer's state survives export and import; a checkpoint from another
//! run is refused with a message naming what differs.

use std::path::Path;
use std::process::{Command, Output};

use backprop::data::{Dataset, ImageAugment};
use backprop::train::Checkpoints;
use backprop::{
    Activation, Adam, AdamConfig, AdamW, AdamWConfig, EarlyStopping, EpochRecord, Error,
    LbfgsConfig, Loss, Monitor, Network, Optimizer, Rmsprop, RmspropConfig, Schedule, Sgd,
    SgdConfig, Solver, Trainer,
};
use ndarray::Array2;

/// 60 samples, 3 features, 3 classes: a fixed, seed-free data set.
fn data() -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((60, 3), |(i, j)| {
        (((i * 3 + j) as f32 + 1.0) * 12.9898).sin() + (i % 3) as f32
    });
    let y = (0..60).map(|i| i % 3).collect();
    (x, y)
}

fn net(seed: u64) -> Network<f32> {
    Network::<f32>::builder(3)
        .hidden(5, Activation::Tanh)
        .hidden(4, Activation::Relu)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(seed)
        .build()
        .unwrap()
}

/// A trainer touching every piece of resumable state: shuffling, a
/// schedule with memory (reduce on plateau), a hold-out set, early
/// stopping that restores the best parameters.
fn trainer(solver: impl Into<Solver>, epochs: usize) -> Trainer {
    Trainer::new()
        .solver(solver)
        .epochs(epochs)
        .batch_size(7)
        .learning_rate(0.05)
        .schedule(Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 1,
            threshold: 0.0,
            min_lr: 1e-6,
        })
        .validation_fraction(0.25)
        .early_stopping(EarlyStopping {
            monitor: Monitor::ValLoss,
            patience: 50,
            min_delta: 0.0,
            restore_best: true,
        })
        .seed(3)
}

/// Records without their wall times.
fn timeless(h: &[EpochRecord]) -> Vec<EpochRecord> {
    h.iter()
        .map(|r| EpochRecord { seconds: 0.0, ..*r })
        .collect()
}

fn straight_vs_resumed(solver: Solver) {
    straight_vs_resumed_with(solver, |t| t);
}

/// As [`straight_vs_resumed`], with `settings` applied to each trainer.
fn straight_vs_resumed_with(solver: Solver, settings: fn(Trainer) -> Trainer) {
    let trainer = |solver, epochs| settings(trainer(solver, epochs));
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");

    let mut straight = net(1);
    let h4 = trainer(solver, 4)
        .fit(&mut straight, Dataset::new(x.view(), &y), None)
        .unwrap();

    let mut first = net(1);
    let mut saver = Checkpoints::new(&ckpt, 2).unwrap();
    trainer(solver, 2)
        .fit_with(
            &mut first,
            Dataset::new(x.view(), &y),
            None,
            &mut [&mut saver],
        )
        .unwrap();
    // Resumed into a network of another seed: every parameter comes from
    // the checkpoint.
    let mut resumed = net(99);
    let h = trainer(solver, 4)
        .resume(
            &mut resumed,
            &ckpt,
            Dataset::new(x.view(), &y),
            None,
            &mut [],
        )
        .unwrap();

    let bits = |n: &Network<f32>| n.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed), bits(&straight), "{}", solver.name());
    assert_eq!(timeless(&h.epochs), timeless(&h4.epochs));
    assert_eq!(
        (h.best_epoch, h.stopped_early, h.score.to_bits()),
        (h4.best_epoch, h4.stopped_early, h4.score.to_bits())
    );
}

#[test]
fn resumed_runs_equal_uninterrupted_runs_bit_for_bit() {
    straight_vs_resumed(AdamConfig::default().into());
    straight_vs_resumed(
        SgdConfig {
            momentum: 0.9,
            nesterov: true,
        }
        .into(),
    );
    straight_vs_resumed(AdamWConfig::default().into());
    straight_vs_resumed(RmspropConfig::default().into());
}

#[test]
fn resumed_augmented_runs_equal_uninterrupted_runs_bit_for_bit() {
    // Each row read as a 1 x 3 image, mirrored at random (a shift would
    // need two pixels each way): the augmentation stream's position travels
    // in the checkpoint, or the resumed run draws other mirrors.
    let augmented = |t: Trainer| t.augment(ImageAugment::new(1, 3).hflip(true));
    straight_vs_resumed_with(AdamConfig::default().into(), augmented);
    straight_vs_resumed_with(RmspropConfig::default().into(), augmented);

    // A run without augmentation does not resume an augmented one.
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut saver = Checkpoints::new(&ckpt, 1).unwrap();
    let data = Dataset::new(x.view(), &y);
    augmented(trainer(AdamConfig::default(), 1))
        .fit_with(&mut net(1), data, None, &mut [&mut saver])
        .unwrap();
    let e = trainer(AdamConfig::default(), 3)
        .resume(&mut net(1), &ckpt, data, None, &mut [])
        .unwrap_err();
    assert!(e.to_string().contains("augment"), "{e}");
}

#[test]
fn a_resumed_run_checkpoints_on_the_same_cadence() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.ckpt"), dir.path().join("b.ckpt"));
    let solver = Solver::from(AdamConfig::default());
    // 1 epoch, then resumed to 3 with checkpoints every epoch; the
    // checkpoint after epoch 3 resumes to 5 as the straight 5 do.
    let mut n = net(1);
    let mut s = Checkpoints::new(&a, 1).unwrap();
    (trainer(solver, 1).fit_with(&mut n, Dataset::new(x.view(), &y), None, &mut [&mut s])).unwrap();
    let mut s = Checkpoints::new(&b, 1).unwrap();
    (trainer(solver, 3).resume(&mut n, &a, Dataset::new(x.view(), &y), None, &mut [&mut s]))
        .unwrap();
    let mut resumed = net(1);
    (trainer(solver, 5).resume(&mut resumed, &b, Dataset::new(x.view(), &y), None, &mut []))
        .unwrap();
    let mut straight = net(1);
    (trainer(solver, 5).fit(&mut straight, Dataset::new(x.view(), &y), None)).unwrap();
    assert_eq!(resumed.params(), straight.params());
}

/// Steps an optimizer `k` times on a fixed gradient.
fn steps<O: Optimizer<f64>>(opt: &mut O, n: &mut Network<f64>, k: usize) {
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 / 7.0);
    let y = vec![0usize, 1, 2, 0];
    let mut ws = n.workspace(4);
    for _ in 0..k {
        n.compute_gradient(&mut ws, x.view(), &y, 0.01).unwrap();
        opt.step(n, ws.gradient(), 0.01).unwrap();
    }
}

fn state_round_trips<O: Optimizer<f64> + Clone>(fresh: O) {
    let mut n = Network::<f64>::builder(3)
        .hidden(4, Activation::Tanh)
        .output(3, Loss::CategoricalCrossEntropy)
        .seed(2)
        .build()
        .unwrap();
    let mut a = fresh.clone();
    steps(&mut a, &mut n, 3);
    let state = a.state().unwrap();
    let mut b = fresh.clone();
    b.set_state(&state).unwrap();
    assert_eq!(b.state().unwrap(), state);
    let mut n2 = n.clone();
    steps(&mut a, &mut n, 2);
    steps(&mut b, &mut n2, 2);
    assert_eq!(n.params(), n2.params());
}

#[test]
fn every_optimizer_state_round_trips() {
    state_round_trips(Adam::new(AdamConfig::default()).unwrap());
    state_round_trips(AdamW::new(AdamWConfig::default()).unwrap());
    state_round_trips(Rmsprop::new(RmspropConfig::default()).unwrap());
    state_round_trips(
        Sgd::new(SgdConfig {
            momentum: 0.9,
            nesterov: false,
        })
        .unwrap(),
    );
    state_round_trips(Sgd::default());
}

#[test]
fn state_of_another_optimizer_is_refused() {
    let adam = Adam::new(AdamConfig::default()).unwrap();
    let state = Optimizer::<f32>::state(&adam).unwrap();
    let mut sgd = Sgd::default();
    let e = Optimizer::<f32>::set_state(&mut sgd, &state).unwrap_err();
    assert!(
        matches!(&e, Error::Checkpoint { .. }) && e.to_string().contains("`adam`"),
        "{e}"
    );
}

/// An optimizer of the user's that writes neither state method.
struct Plain;

impl Optimizer<f32> for Plain {
    fn step(
        &mut self,
        _: &mut Network<f32>,
        _: &backprop::Gradient<f32>,
        _: f64,
    ) -> backprop::Result<()> {
        Ok(())
    }
}

#[test]
fn an_optimizer_without_state_methods_cannot_be_checkpointed() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let mut saver = Checkpoints::new(dir.path().join("c.ckpt"), 1).unwrap();
    let e = Trainer::new()
        .epochs(2)
        .fit_with_optimizer(
            &mut net(1),
            &mut Plain,
            Dataset::new(x.view(), &y),
            None,
            &mut [&mut saver],
        )
        .unwrap_err();
    assert!(
        matches!(&e, Error::Checkpoint { .. }) && e.to_string().contains("Plain"),
        "{e}"
    );
}

#[test]
fn a_checkpoint_of_another_run_is_refused() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let adam = Solver::from(AdamConfig::default());
    let mut saver = Checkpoints::new(&ckpt, 1).unwrap();
    (trainer(adam, 2).fit_with(
        &mut net(1),
        Dataset::new(x.view(), &y),
        None,
        &mut [&mut saver],
    ))
    .unwrap();
    let resume = |t: Trainer, n: &mut Network<f32>, x: &Array2<f32>| {
        t.resume(n, &ckpt, Dataset::new(x.view(), &y), None, &mut [])
            .unwrap_err()
            .to_string()
    };
    // Another architecture.
    let mut wide = Network::<f32>::builder(3)
        .hidden(6, Activation::Tanh)
        .hidden(4, Activation::Relu)
        .output(3, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let e = resume(trainer(adam, 4), &mut wide, &x);
    assert!(
        e.contains("layer sizes [3, 5, 4, 3]") && e.contains("[3, 6, 4, 3]"),
        "{e}"
    );
    assert!(e.contains("run.ckpt"), "{e}");
    // Another solver.
    let e = resume(trainer(SgdConfig::default(), 4), &mut net(1), &x);
    assert!(e.contains("solver") && e.contains("sgd"), "{e}");
    // Data of another width (the network is built for it too).
    let x4 = Array2::from_shape_fn((60, 4), |(i, j)| (i + j) as f32 / 60.0);
    let mut n4 = Network::<f32>::builder(4)
        .hidden(5, Activation::Tanh)
        .hidden(4, Activation::Relu)
        .output(3, Loss::CategoricalCrossEntropy)
        .build()
        .unwrap();
    let e = resume(trainer(adam, 4), &mut n4, &x4);
    assert!(e.contains("layer sizes"), "{e}");
    // Fewer rows.
    let x_few = x.slice(ndarray::s![..40, ..]).to_owned();
    let e = trainer(adam, 4)
        .resume(
            &mut net(1),
            &ckpt,
            Dataset::new(x_few.view(), &y[..40]),
            None,
            &mut [],
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("training rows 45") && e.contains("30"), "{e}");
    // Another seed.
    let e = resume(trainer(adam, 4).seed(4), &mut net(1), &x);
    assert!(e.contains("seed 3") && e.contains("4"), "{e}");
    // Nothing left to do.
    let e = resume(trainer(adam, 2), &mut net(1), &x);
    assert!(e.contains("already done 2 epoch(s)"), "{e}");
    // L-BFGS.
    let e = Trainer::new()
        .solver(LbfgsConfig::default())
        .resume(
            &mut net(1),
            &ckpt,
            Dataset::new(x.view(), &y),
            None,
            &mut [],
        )
        .unwrap_err();
    assert!(matches!(e, Error::Checkpoint { .. }), "{e}");
}

#[test]
fn a_model_file_or_garbage_is_not_a_checkpoint() {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    backprop::io::SavedModel::new(net(1)).save(&model).unwrap();
    let junk = dir.path().join("junk.ckpt");
    std::fs::write(&junk, b"not a checkpoint at all").unwrap();
    for p in [&model, &junk] {
        let e = trainer(AdamConfig::default(), 4)
            .resume(&mut net(1), p, Dataset::new(x.view(), &y), None, &mut [])
            .unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }), "{e}");
    }
}

// ---- the command line ----

const BIN: &str = env!("CARGO_BIN_EXE_backprop");

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("BACKPROP_FASHION_MNIST_DIR", "/nonexistent/fashion-mnist")
        .output()
        .expect("the binary runs")
}

fn cli_ok(args: &[&str]) {
    let o = cli(args);
    assert!(
        o.status.success(),
        "backprop {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn cli_error(args: &[&str]) -> String {
    let o = cli(args);
    assert!(!o.status.success(), "backprop {args:?} succeeded");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The history CSV without its last column (the wall time).
fn history_without_seconds(model: &Path) -> String {
    let text = std::fs::read_to_string(model.with_extension("history.csv")).unwrap();
    text.lines()
        .map(|l| l.rsplit_once(',').unwrap().0)
        .collect::<Vec<_>>()
        .join("\n")
}

fn csv(path: &Path) {
    let (x, y) = data();
    let mut text = String::from("a,b,c,label\n");
    for (row, label) in x.rows().into_iter().zip(&y) {
        text.push_str(&format!("{},{},{},k{label}\n", row[0], row[1], row[2]));
    }
    std::fs::write(path, text).unwrap();
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn cli_straight_vs_resumed(optimizer: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    csv(&data);
    let p = |name: &str| dir.path().join(name);
    let common = |epochs: &'static str, out: &Path| -> Vec<String> {
        let mut v: Vec<String> = [
            "--threads",
            "1",
            "train",
            "--train",
            s(&data),
            "--layers",
            "6,4",
            "--epochs",
            epochs,
            "--batch-size",
            "8",
            "--lr",
            "0.05",
            "--validation-fraction",
            "0.2",
            "--seed",
            "5",
            // The default cosine schedule spans --epochs: a 2-epoch run is
            // another run than a 4-epoch one (resume refuses it).
            "--schedule",
            "constant",
            "--no-progress",
            "-o",
            s(out),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        v.extend(optimizer.iter().map(|a| a.to_string()));
        v
    };

    let straight = p("straight.safetensors");
    cli_ok(&strs(&common("4", &straight)));
    let first = p("first.safetensors");
    let mut v = common("2", &first);
    v.extend(["--checkpoint-every".into(), "2".into()]);
    cli_ok(&strs(&v));
    let ckpt = first.with_extension("ckpt");
    assert!(ckpt.exists(), "the checkpoint is next to the model");
    let resumed = p("resumed.safetensors");
    let mut v = common("4", &resumed);
    v.extend(["--resume".into(), s(&ckpt).into()]);
    cli_ok(&strs(&v));

    assert_eq!(
        std::fs::read(&resumed).unwrap(),
        std::fs::read(&straight).unwrap(),
        "model files differ for {optimizer:?}"
    );
    assert_eq!(
        history_without_seconds(&resumed),
        history_without_seconds(&straight)
    );
    assert_eq!(history_without_seconds(&straight).lines().count(), 5);
}

#[test]
fn cli_resume_writes_the_same_model_bytes_as_a_straight_run() {
    cli_straight_vs_resumed(&["--optimizer", "adam"]);
    cli_straight_vs_resumed(&["--optimizer", "sgd", "--momentum", "0.9"]);
}

#[test]
fn cli_checkpoint_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    csv(&data);
    let out = dir.path().join("m.safetensors");
    let base = ["train", "--train", s(&data), "--no-progress", "-o", s(&out)];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        cli_error(&v)
    };
    let e = with(&["--checkpoint", "x.ckpt"]);
    assert!(e.contains("--checkpoint-every"), "{e}");
    let e = with(&["--checkpoint-every", "1", "--restarts", "2"]);
    assert!(e.contains("--restarts"), "{e}");
    let e = with(&["--checkpoint-every", "1", "--optimizer", "lbfgs"]);
    assert!(e.contains("lbfgs"), "{e}");
    let e = with(&["--checkpoint-every", "0"]);
    assert!(e.contains("checkpoint_every"), "{e}");
    // A checkpoint of a run with other layers.
    let mut v = base.to_vec();
    v.extend_from_slice(&["--layers", "3", "--epochs", "2", "--checkpoint-every", "1"]);
    cli_ok(&v);
    let ckpt = out.with_extension("ckpt");
    let e = with(&["--layers", "4", "--epochs", "2", "--resume", s(&ckpt)]);
    assert!(e.contains("layer sizes") && e.contains("m.ckpt"), "{e}");
    // The recipe's cosine schedule spans --epochs, so more epochs is
    // another schedule.
    let e = with(&["--layers", "3", "--epochs", "3", "--resume", s(&ckpt)]);
    assert!(e.contains("schedule Cosine"), "{e}");
    let e = with(&["--layers", "3", "--epochs", "2", "--resume", s(&ckpt)]);
    assert!(e.contains("already done 2 epoch(s)"), "{e}");
}

#[test]
fn cli_a_killed_run_resumes_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    csv(&data);
    let args = |out: &Path, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--threads",
            "1",
            "train",
            "--train",
            s(&data),
            "--layers",
            "6",
            "--epochs",
            "300",
            "--batch-size",
            "16",
            "--lr",
            "0.01",
            "--patience",
            "0",
            "--no-progress",
            "-o",
            s(out),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let killed = dir.path().join("killed.safetensors");
    let ckpt = killed.with_extension("ckpt");
    let mut child = Command::new(BIN)
        .args(args(&killed, &["--checkpoint-every", "1"]))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill (SIGKILL) as soon as a first checkpoint exists.
    while !ckpt.exists() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.exists(), "killed before it finished");

    // The resumed run checkpoints elsewhere, rarely (each save is fsynced).
    let again = dir.path().join("again.ckpt");
    let resume = [
        "--resume",
        s(&ckpt),
        "--checkpoint",
        s(&again),
        "--checkpoint-every",
        "100",
    ];
    cli_ok(&strs(&args(&killed, &resume)));
    let straight = dir.path().join("straight.safetensors");
    cli_ok(&strs(&args(&straight, &[])));
    assert_eq!(
        std::fs::read(&killed).unwrap(),
        std::fs::read(&straight).unwrap()
    );
}
