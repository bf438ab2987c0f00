//! `backprop predict`: a saved model's outputs for new data, to CSV or NPY.

use backprop::io::{SavedModel, TargetColumn};

use crate::args::{PredictArgs, Task};
use crate::data::{self, TargetSpec};
use crate::evaluate::model_classes;
use crate::{CliError, outputs};

/// A CSV field, quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn run(a: &PredictArgs) -> Result<(), CliError> {
    let name = data::lowercase_name(&a.output);
    let npy = if name.ends_with(".npy") {
        true
    } else if name.ends_with(".csv") {
        false
    } else {
        return Err(CliError(format!(
            "{}: unknown output format; name the file .csv (labels and outputs) or .npy \
             (outputs)",
            a.output.display()
        )));
    };
    let named = |flag, path| outputs::Named { flag, path };
    let target = outputs::check(
        &[named("MODEL", &a.model), named("DATA", &a.data)],
        &[named("--output", &a.output)],
    )?
    .remove(0);
    let model = SavedModel::<f32>::load(&a.model)?;
    let spec = TargetSpec {
        task: Task::Auto,
        classes: None,
        default_column: TargetColumn::None,
    };
    let d = data::load(&a.data, None, &a.options, &spec, "--targets")?;
    let d = data::align(
        d,
        &a.data,
        &format!("the model {}", a.model.display()),
        model.feature_names.as_deref(),
        model.network.n_inputs(),
        model.target_column.as_deref(),
    )?;
    let out = model.predict(d.x.view())?;
    if npy {
        backprop::io::write_npy(&target, out.view())?;
    } else {
        let classes = model_classes(&model);
        let mut text = String::new();
        let mut header: Vec<String> = Vec::new();
        if classes.is_some() {
            header.push("prediction".into());
        }
        let n_out = out.ncols();
        for j in 0..n_out {
            header.push(match &classes {
                Some(c) if c.len() == n_out => field(&format!("p({})", c[j])),
                Some(c) if n_out == 1 => field(&format!("p({})", c[1])),
                _ => format!("output_{}", j + 1),
            });
        }
        text.push_str(&header.join(","));
        text.push('\n');
        let pred = match &classes {
            Some(_) => Some(model.predict_classes(d.x.view())?),
            None => None,
        };
        for (i, row) in out.rows().into_iter().enumerate() {
            let mut cells: Vec<String> = Vec::with_capacity(n_out + 1);
            if let (Some(p), Some(c)) = (&pred, &classes) {
                cells.push(field(&c[p[i]]));
            }
            cells.extend(row.iter().map(|v| v.to_string()));
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        backprop::io::write_atomic(&target, |w| w.write_all(text.as_bytes()))?;
    }
    println!(
        "wrote {} predictions ({} column(s) of outputs) to {}",
        out.nrows(),
        out.ncols(),
        a.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(field("cat"), "cat");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
