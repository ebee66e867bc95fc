//! `unembed query`: the readout of one h (or a batch) as a table or as JSON.

use super::{load, num, one_file, Args};
use crate::core::error::{Error, Result};
use crate::core::query::{run_query, QuerySpec};
use crate::core::readout::{Loss, Ranking, ReadoutOptions};

pub fn run(a: &mut Args) -> Result<()> {
    let tok = a.opt("--tokenizer")?;
    let mut q = QuerySpec {
        id: a.parse("--id")?,
        token: a.opt("--token")?,
        expr: a.opt("--expr")?,
        target: a.opt("--target")?,
        mix_with: a.opt("--mix-with")?,
        mix: a.parse("--mix")?,
        scale: a.parse("--scale")?,
        noise: a.parse("--noise")?,
        seed: a.parse("--seed")?,
        ..Default::default()
    };
    if let Some(f) = a.opt("--h")? {
        let b = std::fs::read(&f).map_err(|e| Error::Io(format!("cannot read {f}: {e}")))?;
        q.h =
            Some(serde_json::from_slice(&b).map_err(|e| {
                Error::Format(format!("{f}: expected a JSON array of numbers: {e}"))
            })?);
    }
    let batch = a.opt("--batch")?;
    let defaults = ReadoutOptions {
        temperature: a.parse("--temperature")?.unwrap_or(1.0),
        top: a.parse("--top")?.unwrap_or(10),
        ranked_by: if a.flag("--cosine") {
            Ranking::Cosine
        } else {
            Ranking::Logit
        },
        ..Default::default()
    };
    let as_json = a.flag("--json");
    let path = one_file(a)?;
    let m = load(&path, tok)?;
    if let Some(b) = batch {
        let bytes = std::fs::read(&b).map_err(|e| Error::Io(format!("cannot read {b}: {e}")))?;
        let specs: Vec<QuerySpec> = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Format(format!("{b}: expected a JSON array of queries: {e}")))?;
        let mut out = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let r = run_query(&m, s, &defaults)
                .map_err(|e| Error::Invalid(format!("query {i} of {b}: {e}")))?;
            out.push(r);
        }
        out!("{}", serde_json::to_string(&out).unwrap_or_default());
        return Ok(());
    }
    let r = run_query(&m, &q, &defaults)?;
    if as_json {
        out!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return Ok(());
    }
    out!(
        "‖h‖ = {}   T = {}   entropy = {:.4} nats   ranked by {}",
        num(r.h_norm, 4),
        match num(r.temperature, 4) {
            t if t.contains('e') => t,
            t => t.trim_end_matches('0').trim_end_matches('.').to_string(),
        },
        r.entropy,
        match r.ranked_by {
            Ranking::Logit => "logit",
            Ranking::Cosine => "cosine",
        }
    );
    out!(
        "{:>4}  {:>6}  {:<20} {:>10} {:>10} {:>8} {:>8}",
        "#",
        "id",
        "token",
        "logit",
        "p",
        "‖v‖",
        "cos θ"
    );
    for (k, e) in r.top.iter().enumerate() {
        out!(
            "{:>4}  {:>6}  {:<20} {:>10} {:>10.6} {:>8.4} {:>8.4}",
            k + 1,
            e.id,
            e.shown,
            num(e.logit, 4),
            e.prob,
            e.norm,
            e.cos
        );
    }
    if let Some(t) = &r.target {
        let e = &t.entry;
        out!(
            "target {} (#{}): p = {:.6}, rank {} by logit, {} by cosine, loss {}, ‖∇‖ = {}",
            e.shown,
            e.id,
            e.prob,
            e.rank,
            e.cos_rank,
            match t.loss {
                Loss::Finite(l) => num(l, 4),
                Loss::Infinite => "∞".into(),
            },
            t.gradient
                .as_ref()
                .map_or("n/a".into(), |g| format!("{:.4}", g.norm))
        );
    }
    Ok(())
}
