//! `unembed convert`: the slim served GGUF (Q8_0 matrices, the vocabulary, the metadata and
//! licence, the spectrum), and its entry in a models.json manifest; with `--full`, the whole
//! model served beside it for the logit lens, checked and recorded in the same entry.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{hex, load, one_file, progress_bar, sha256_file, Args};
use crate::core::convert::{served_gguf, SourceInfo};
use crate::core::error::{Error, Result};
use crate::core::forward::Transformer;
use crate::core::model::Model;
use crate::core::plan::read_header;
use crate::core::source::SliceSource;
use crate::core::tokenize::Tokenizer;

pub fn run(a: &mut Args) -> Result<()> {
    let out = a
        .opt("-o")?
        .or(a.opt("--output")?)
        .ok_or_else(|| Error::Invalid("convert needs -o out.gguf".into()))?;
    let tok = a.opt("--tokenizer")?;
    let name = a.opt("--name")?;
    let license = a.opt("--license")?;
    let license_link = a.opt("--license-link")?;
    let manifest = a.opt("--manifest")?;
    let no_spectrum = a.flag("--no-spectrum");
    let full = a.opt("--full")?;
    let path = one_file(a)?;
    if full.is_some() && manifest.is_none() {
        return Err(Error::Invalid(
            "--full records the whole model in the manifest: give --manifest too".into(),
        ));
    }
    eprintln!("reading {}", path.display());
    let mut model = load(&path, tok)?;
    if !no_spectrum && model.spectrum.is_none() {
        let t = Instant::now();
        model.ensure_spectrum(&mut progress_bar("spectrum"))?;
        eprintln!("spectrum in {:.2} s", t.elapsed().as_secs_f64());
    }
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let info = SourceInfo {
        file_name,
        sha256: sha256_file(&path)?,
        name: name.clone(),
        license,
        license_link,
    };
    let bytes = served_gguf(&model, &info);
    let out = PathBuf::from(out);
    std::fs::write(&out, &bytes)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", out.display())))?;
    let sha = hex(&Sha256::digest(&bytes));
    eprintln!(
        "wrote {} ({} bytes, sha256 {sha})",
        out.display(),
        bytes.len()
    );
    if let Some(m) = manifest {
        // re-read what we wrote, so the manifest describes the served file itself.
        let served = load(&out, None)?;
        let full = full
            .map(|f| full_entry(Path::new(&f), &served))
            .transpose()?;
        update_manifest(Path::new(&m), &out, &served, bytes.len(), &sha, full)?;
        eprintln!("updated {m}");
    }
    Ok(())
}

fn meta<'a>(m: &'a Model, key: &str) -> Option<&'a str> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_str())
}

/// the whole model file served beside the slim one (what the page's logit lens downloads):
/// `{file, bytes, sha256, layers, context}`, after checking that the lens can run it (a
/// forward pass we run, a tokenizer for prompts) and that it is the served model's (the same
/// vocabulary size and d).
fn full_entry(path: &Path, served: &Model) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let named = |e: Error| Error::Invalid(format!("--full {}: {e}", path.display()));
    let f = read_header(&SliceSource::whole(&bytes)).map_err(named)?;
    let model = Model::from_source(&SliceSource::whole(&bytes), None).map_err(named)?;
    if (model.n_vocab(), model.d()) != (served.n_vocab(), served.d()) {
        return Err(named(Error::Shape(format!(
            "{} tokens × d = {}, the served file {} × {}",
            model.n_vocab(),
            model.d(),
            served.n_vocab(),
            served.d()
        ))));
    }
    let sha = hex(&Sha256::digest(&bytes));
    let len = bytes.len();
    let t = Transformer::new(&f.metadata, &f.index, bytes).map_err(named)?;
    Tokenizer::from_metadata(&f.metadata)
        .map_err(|e| named(Error::NotFound(format!("no tokenizer for prompts ({e})"))))?;
    let file = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    eprintln!("full model {file}: {len} bytes, sha256 {sha}");
    Ok(json!({
        "file": file,
        "bytes": len,
        "sha256": sha,
        "layers": t.config().n_layer,
        "context": t.config().n_ctx,
    }))
}

fn update_manifest(
    path: &Path,
    file: &Path,
    m: &Model,
    bytes: usize,
    sha: &str,
    full: Option<serde_json::Value>,
) -> Result<()> {
    let mut root: serde_json::Value = match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?,
        Err(_) => json!({ "models": [] }),
    };
    let file_name = file
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut entry = json!({
        "name": m.name,
        "file": file_name,
        "bytes": bytes,
        "sha256": sha,
        "vocab": m.n_vocab(),
        "d": m.d(),
        "tied": m.tied(),
        "license": meta(m, "general.license").unwrap_or("unknown"),
        "license_url": meta(m, "general.license.link").unwrap_or(""),
        "source": meta(m, "unembed.source.file").unwrap_or(""),
        "source_sha256": meta(m, "unembed.source.sha256").unwrap_or(""),
    });
    if let Some(full) = full {
        entry["full"] = full;
    }
    let models = root
        .get_mut("models")
        .and_then(|v| v.as_array_mut())
        .ok_or_else(|| Error::Format(format!("{}: no \"models\" list", path.display())))?;
    models.retain(|e| e.get("file").and_then(|f| f.as_str()) != Some(file_name.as_str()));
    models.push(entry);
    let text = serde_json::to_string_pretty(&root).map_err(|e| Error::Format(e.to_string()))?;
    std::fs::write(path, text + "\n")?;
    Ok(())
}
