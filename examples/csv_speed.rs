//! Read speed of the CSV reader on a Kaggle-MNIST-shaped file (10,000 rows:
//! a label and 784 pixel columns), written once to a temporary directory.
//! Prints the best of `--repeat N` reads (default 3) in seconds and MB/s.
//!
//! `cargo run --release --example csv_speed [-- FILE]` (a FILE given is read
//! instead of the generated one). Timings need a quiet machine.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use backprop::io::{CsvOptions, TargetColumn, read_csv};

/// Rows and pixel columns of the generated file.
const ROWS: usize = 10_000;
const PIXELS: usize = 784;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut file: Option<PathBuf> = None;
    let mut repeat = 3;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().ok_or("--repeat needs a number")?.parse()?,
            _ => file = Some(PathBuf::from(a)),
        }
    }
    let dir = tempfile::tempdir()?;
    let path = match file {
        Some(p) => p,
        None => {
            let p = dir.path().join("mnist.csv");
            write_mnist_like(&p)?;
            p
        }
    };
    let bytes = std::fs::metadata(&path)?.len() as f64;
    let opts = CsvOptions::new().target(TargetColumn::First);
    let mut best = f64::INFINITY;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let d = read_csv::<f32>(&path, &opts)?;
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(d.features.ncols(), PIXELS.min(d.features.ncols()));
    }
    println!(
        "{}: best of {repeat}: {best:.3} s ({:.1} MB/s)",
        path.display(),
        bytes / best / 1e6
    );
    Ok(())
}

/// A header, then ROWS rows of a label 0-9 and PIXELS values 0-255 drawn
/// from a fixed linear congruential sequence (about 70% zeros, as MNIST).
fn write_mnist_like(path: &std::path::Path) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(w, "label")?;
    for j in 0..PIXELS {
        write!(w, ",pixel{j}")?;
    }
    writeln!(w)?;
    let mut s: u64 = 42;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    for _ in 0..ROWS {
        write!(w, "{}", next() % 10)?;
        for _ in 0..PIXELS {
            let v = next() % 1000;
            write!(w, ",{}", if v < 700 { 0 } else { v % 256 })?;
        }
        writeln!(w)?;
    }
    w.flush()
}
