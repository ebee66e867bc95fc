//! `unembed inspect`: what a file holds, and how far the served matrix is from its source.

use serde_json::json;

use super::{load, one_file, with_file, Args};
use crate::core::error::Result;
use crate::core::files::Format;
use crate::core::model::Requantized;
use crate::core::plan::plan;
use crate::core::readout::SHOWN_CHARS;
use crate::core::source::{ByteSource, FileSource};
use crate::core::vocab;

pub fn run(a: &mut Args) -> Result<()> {
    let tok = a.opt("--tokenizer")?;
    let as_json = a.flag("--json");
    let path = one_file(a)?;
    let src = FileSource::open(&path)?;
    let p = plan(&src).map_err(|e| with_file(e, &path))?;
    let n_tensors = p.file.index.len();
    let file_len = src.len();
    let m = load(&path, tok)?;
    let fmt = match m.format {
        Format::Gguf => "GGUF",
        Format::Safetensors => "safetensors",
    };
    let meta = |key: &str| m.meta_str(key);
    let mb = |b: u64| b as f64 / 1e6;
    let emb_bytes = p.embed.nbytes;
    let summary = json!({
        "file": path.display().to_string(),
        "format": fmt,
        "bytes": file_len,
        "tensors": n_tensors,
        "name": m.name,
        "architecture": meta("general.architecture"),
        "license": meta("general.license"),
        "license_link": meta("general.license.link"),
        "vocab": m.n_vocab(),
        "d": m.d(),
        "embedding": {"name": p.embed.name, "type": p.embed.ty.name(), "bytes": emb_bytes,
                      "requantized": m.embed_requant},
        "output": p.output.as_ref().map(|o| json!({"name": o.name, "type": o.ty.name(), "bytes": o.nbytes,
                                                   "requantized": m.output_requant})),
        "tied": m.tied(),
        "tokenizer": format!("{:?}", m.vocab.kind),
        "spectrum_in_file": m.spectrum_from_file,
        "in_memory_q8_bytes": m.embedding().quants().len() + 4 * m.embedding().scales().len(),
    });
    if as_json {
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        return Ok(());
    }
    out!(
        "file        {} ({fmt}, {:.1} MB, {n_tensors} tensors)",
        path.display(),
        mb(file_len)
    );
    // strings from the file reach the terminal escaped: no control sequence or bidi override.
    out!("model       {}", vocab::escaped(&m.name));
    if let Some(ar) = meta("general.architecture") {
        out!("arch        {}", vocab::escaped(ar));
    }
    match meta("general.license.link") {
        Some(link) => out!(
            "licence     {} ({})",
            vocab::escaped(meta("general.license").unwrap_or("not stated")),
            vocab::escaped(link)
        ),
        None => out!(
            "licence     {}",
            vocab::escaped(meta("general.license").unwrap_or("not stated"))
        ),
    }
    out!("vocabulary  {} tokens ({:?})", m.n_vocab(), m.vocab.kind);
    out!("d           {}", m.d());
    out!(
        "embedding   {} {} [{} × {}], {:.1} MB",
        p.embed.name,
        p.embed.ty.name(),
        p.embed.rows,
        p.embed.cols,
        mb(emb_bytes)
    );
    match &p.output {
        Some(o) => out!(
            "unembedding {} {} [{} × {}], {:.1} MB (untied: W_U ≠ E)",
            o.name,
            o.ty.name(),
            o.rows,
            o.cols,
            mb(o.nbytes)
        ),
        None => out!("unembedding tied: W_U = E (no separate output matrix)"),
    }
    for (what, r) in [
        ("embedding", m.embed_requant),
        ("unembedding", m.output_requant),
    ] {
        if let Some(r) = r {
            out!("{}", requant_line(what, &r));
        }
    }
    out!(
        "spectrum    {}",
        if m.spectrum_from_file {
            "precomputed in the file"
        } else {
            "not in the file (computed on demand)"
        }
    );
    let show = |i: u32| {
        format!(
            "{}→{}",
            vocab::quoted(m.vocab.raw(i), SHOWN_CHARS),
            vocab::quoted(m.vocab.text(i), SHOWN_CHARS)
        )
    };
    let n = m.n_vocab() as u32;
    let samples: Vec<String> = [0, 1, n / 3, n / 2, n - 1]
        .iter()
        .map(|&i| show(i))
        .collect();
    out!("tokens      {}", samples.join("  "));
    Ok(())
}

/// how far the served Q8_0 matrix is from the source's values, in words.
fn requant_line(what: &str, r: &Requantized) -> String {
    format!(
        "served      {what} as Q8_0 from {}: largest |Δ| {:.3}% of its row's norm, RMS {:.3}% \
         over the matrix",
        r.from,
        100.0 * r.error.max_rel,
        100.0 * r.error.rms_rel
    )
}
