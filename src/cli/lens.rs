//! `unembed lens`: runs the model on a prompt, reads every layer through the unembedding, and
//! continues the prompt.

use std::path::Path;

use serde_json::json;

use super::{one_file, Args};
use crate::core::error::{Error, Result};
use crate::core::forward::{Precision, Transformer};
use crate::core::lens::LensSession;
use crate::core::model::Model;
use crate::core::plan::read_header;
use crate::core::readout::ReadoutOptions;
use crate::core::rng::Rng;
use crate::core::source::{ByteSource, FileSource, SliceSource};

/// the explorer's model (vocabulary and unembedding), the pass and the tokenizer, from one
/// whole model file.
pub fn open(path: &Path, capacity: usize, top: usize, precision: Precision) -> Result<LensSession> {
    let src = FileSource::open(path)?;
    let bytes = src.read_range(0, src.len(), "the model file")?;
    let file = read_header(&SliceSource::whole(&bytes))?;
    let model = Model::from_source(&SliceSource::whole(&bytes), None)?;
    let t = Transformer::new(&file.metadata, &file.index, bytes)?;
    let mut s = LensSession::new(model, t, capacity, top, precision)?;
    s.read_tokenizer(&file.metadata);
    Ok(s)
}

pub fn run(a: &mut Args) -> Result<()> {
    let ids = a.opt("--ids")?;
    let a_prompt = a.opt("--prompt")?;
    let top: usize = a.parse("--top")?.unwrap_or(10);
    let generate: usize = a.parse("--generate")?.unwrap_or(0);
    let temperature: f64 = a.parse("--temperature")?.unwrap_or(0.0);
    let seed: u64 = a.parse("--seed")?.unwrap_or(1);
    let logits_out = a.opt("--logits-out")?;
    let a_head_exact = a.flag("--exact-head");
    let ignore_end = a.flag("--ignore-end");
    let as_json = a.flag("--json");
    let mid = a.flag("--mid");
    let precision = if a.flag("--exact") {
        Precision::Exact
    } else {
        Precision::Quantized
    };
    let path = one_file(a)?;
    if !(temperature >= 0.0 && temperature.is_finite()) {
        return Err(Error::Invalid(format!(
            "--temperature must be a finite number ≥ 0, got {temperature}"
        )));
    }
    let prompt = a_prompt;
    let mut s = open(&path, crate::core::lens::MAX_POSITIONS, top, precision)?;
    s.set_mid(mid);
    let ids: Vec<u32> = match (ids, prompt) {
        (Some(list), None) => list
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .map_err(|_| Error::Invalid(format!("--ids: {x:?} is not a token id")))
            })
            .collect::<Result<_>>()?,
        (None, Some(text)) => s.tokenize(&text)?,
        (None, None) => {
            return Err(Error::Invalid(
                "give the prompt: --prompt TEXT (or --ids 1,2,3)".into(),
            ))
        }
        (Some(_), Some(_)) => {
            return Err(Error::Invalid("give --prompt or --ids, not both".into()))
        }
    };
    if ids.len() + generate > s.capacity() {
        return Err(Error::Invalid(format!(
            "the prompt has {} tokens and {generate} more were asked for; the lens holds at most {}",
            ids.len(),
            s.capacity()
        )));
    }
    s.start(&ids)?;
    s.run()?;
    let opts = ReadoutOptions {
        top,
        ..Default::default()
    };
    let next = s.next(&opts)?;
    if let Some(f) = logits_out {
        let h = s.hidden(s.lens.rows - 1, ids.len() - 1)?;
        // the head as llama.cpp runs it (h quantized like every other product), or exactly.
        let z: Vec<f32> = if a_head_exact {
            s.model
                .unembedding()
                .logits(h)?
                .iter()
                .map(|&x| x as f32)
                .collect()
        } else {
            s.t.head_logits(h, precision)?
        };
        let bytes: Vec<u8> = z.iter().flat_map(|&x| x.to_le_bytes()).collect();
        std::fs::write(&f, bytes).map_err(|e| Error::Io(format!("cannot write {f}: {e}")))?;
    }
    let mut rng = Rng::new(seed);
    let mut generated = Vec::with_capacity(generate);
    for _ in 0..generate {
        let tok = s.pick(temperature, rng.uniform())?;
        generated.push(tok);
        if s.is_end(tok) && !ignore_end {
            break;
        }
        s.append(tok)?;
    }
    if as_json {
        let mut v = s.json(top)?;
        v["prompt_ids"] = json!(ids);
        v["generated"] = json!(generated);
        out!("{v}");
        return Ok(());
    }
    // the lens as text: a row per layer (the last first), the top token of every position.
    let lens = &s.lens;
    let tokens = s.ids();
    let width = 10;
    let cut = |t: &str| -> String {
        let v = crate::core::vocab::visible(t, width - 1);
        format!("{v:<width$}")
    };
    let mut line = format!("{:>6}  ", "");
    for &id in tokens {
        line += &cut(s.model.vocab.text(id));
    }
    out!("{line}");
    for row in (0..lens.rows).rev() {
        let name = lens.row_name(row);
        let mut line = format!("{name:>6}  ");
        for p in 0..lens.positions {
            let t = lens
                .cell(row, p)
                .and_then(|c| c.top.first())
                .map_or(String::new(), |e| e.text.clone());
            line += &cut(&t);
        }
        out!("{line}");
    }
    out!("");
    out!("the next token after the prompt:");
    for e in &next.top {
        out!(
            "{:>6} {:<20} {:>10.4} {:>8.4}",
            e.id,
            e.shown,
            e.logit,
            e.prob
        );
    }
    if !generated.is_empty() {
        let text: String = generated.iter().map(|&i| s.model.vocab.text(i)).collect();
        out!("continued: {}", crate::core::vocab::quoted(&text, 400));
    }
    Ok(())
}
