//! `unembed compare A B …`: each model's unembedding side by side (effective rank, norms,
//! anisotropy), and with --token or --expr the same text's h in each: its top tokens by logit
//! and by cosine, and Spearman's ρ between the two scores over the whole vocabulary.

use serde_json::json;

use super::{load, num, progress_bar, Args};
use crate::core::compare::{summarize, ModelSummary};
use crate::core::error::{Error, Result};
use crate::core::query::{hidden_state, QuerySpec};

pub fn run(a: &mut Args) -> Result<()> {
    let as_json = a.flag("--json");
    let top: usize = a.parse("--top")?.unwrap_or(10);
    let spec = QuerySpec {
        token: a.opt("--token")?,
        expr: a.opt("--expr")?,
        ..Default::default()
    };
    let with_h = spec.token.is_some() || spec.expr.is_some();
    let files = a.positionals()?;
    if files.len() < 2 {
        return Err(Error::Invalid(format!(
            "give two or more model files to compare, got {}",
            files.len()
        )));
    }
    let mut models = Vec::with_capacity(files.len());
    for f in &files {
        let path = std::path::Path::new(f);
        let mut m = load(path, None)?;
        // each model builds h from the same text in its own vocabulary.
        let h = if with_h {
            Some(hidden_state(&m, &spec).map_err(|e| Error::Invalid(format!("{f}: {e}")))?)
        } else {
            None
        };
        let s = summarize(&mut m, h.as_deref(), top, &mut progress_bar("spectrum"))?;
        models.push((f.clone(), s));
    }
    if as_json {
        let v = json!({
            "token": spec.token,
            "expr": spec.expr,
            "models": models.iter().map(|(f, s)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["file"] = json!(f);
                if let Some(h) = &s.h {
                    v["spearman_dot_cos"] = json!(h.spearman_dot_cos);
                }
                v
            }).collect::<Vec<_>>(),
        });
        out!("{v}");
        return Ok(());
    }
    for (f, s) in &models {
        print_summary(f, s);
    }
    Ok(())
}

fn print_summary(file: &str, s: &ModelSummary) {
    out!("{} ({file}): {} tokens × d = {}", s.name, s.vocab, s.d);
    out!(
        "  effective rank {:.1} of {}; {} directions carry 90% of ‖W_U‖²",
        s.effective_rank,
        s.d,
        s.energy_90
    );
    out!(
        "  ‖w_i‖: mean {} std {} range [{}, {}]",
        num(s.norms.mean, 4),
        num(s.norms.std, 4),
        num(s.norms.min, 4),
        num(s.norms.max, 4)
    );
    out!(
        "  cos(w_i, mean vector): mean {} std {} range [{}, {}]",
        num(s.anisotropy.mean, 4),
        num(s.anisotropy.std, 4),
        num(s.anisotropy.min, 4),
        num(s.anisotropy.max, 4)
    );
    if let Some(h) = &s.h {
        out!(
            "  h (‖h‖ = {}): Spearman ρ(logit, cos) over the vocabulary {:.4}; {} of the top {} shared",
            num(h.h_norm, 3),
            h.spearman_dot_cos,
            h.shared_top,
            h.top_logit.len()
        );
        out!("  {:<28}{}", "by logit", "by cosine");
        for (l, c) in h.top_logit.iter().zip(&h.top_cosine) {
            let cell = |t: &str| crate::core::vocab::visible(t, 14);
            out!(
                "  {:<16}{:>9.3}   {:<16}{:>7.4}",
                cell(&l.text),
                l.logit,
                cell(&c.text),
                c.cos
            );
        }
    }
}
