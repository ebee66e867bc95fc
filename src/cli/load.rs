//! opening a model file as every command does: the vocabulary beside a safetensors file, the
//! check that a checkpoint without lm_head is really tied, errors that name the file.

use std::path::Path;

use super::with_file;
use crate::core::error::{Error, Result};
use crate::core::files::tokenizer;
use crate::core::files::{sniff, Format};
use crate::core::model::Model;
use crate::core::source::{ByteSource, FileSource};
use crate::core::vocab::VocabKind;

/// reads a vocabulary file: tokenizer.json (has a "model") or vocab.json/encoder.json.
pub fn read_tokenizer(path: &Path) -> Result<(Vec<String>, VocabKind)> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    tokenizer::parse_any(&bytes).map_err(|e| with_file(e, path))
}

/// the vocabulary to use: --tokenizer if given; for a safetensors file (which has none) a
/// tokenizer.json or vocab.json beside it; else the file's own.
fn tokens_for(
    path: &Path,
    format: Format,
    explicit: Option<String>,
) -> Result<Option<(Vec<String>, VocabKind)>> {
    if let Some(t) = explicit {
        return read_tokenizer(Path::new(&t)).map(Some);
    }
    if format != Format::Safetensors {
        return Ok(None);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    for name in ["tokenizer.json", "vocab.json"] {
        let p = dir.join(name);
        if p.is_file() {
            return read_tokenizer(&p).map(Some);
        }
    }
    Ok(None)
}

pub fn load(path: &Path, tokenizer: Option<String>) -> Result<Model> {
    let src = FileSource::open(path)?;
    let first = src.read_range(0, src.len().min(9), "file signature")?;
    let format = sniff(&first).map_err(|e| with_file(e, path))?;
    let tokens = tokens_for(path, format, tokenizer)?;
    let model = Model::from_source(&src, tokens).map_err(|e| with_file(e, path))?;
    if format == Format::Safetensors && model.tied() {
        check_really_tied(path)?;
    }
    Ok(model)
}

/// a safetensors file without lm_head.weight looks tied; make sure the model beside it does not
/// say otherwise (a sharded checkpoint keeps lm_head in another shard).
fn check_really_tied(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let read_json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
    };
    if let Some(index) = read_json("model.safetensors.index.json") {
        let me = path.file_name().map(|f| f.to_string_lossy().to_string());
        for name in ["lm_head.weight", "embed_out.weight", "output.weight"] {
            if let Some(shard) = index["weight_map"][name].as_str() {
                if Some(shard) != me.as_deref() {
                    return Err(Error::Unsupported(format!(
                        "{} has no {name}: the model is untied and keeps it in {shard}; \
                         reading a W_U from another shard is not supported yet",
                        path.display()
                    )));
                }
            }
        }
    }
    if let Some(config) = read_json("config.json") {
        if config["tie_word_embeddings"] == serde_json::Value::Bool(false) {
            return Err(Error::Unsupported(format!(
                "config.json says tie_word_embeddings = false but {} has no lm_head.weight",
                path.display()
            )));
        }
    }
    Ok(())
}
