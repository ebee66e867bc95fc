//! what a file holds ([`ModelFile`]: its metadata, tensor index and vocabulary) and what the
//! explorer reads of it ([`Plan`]: the embedding, W_U when untied, the stored spectrum). a
//! page reads a header by growing a prefix, then fetches only the planned ranges.

use super::error::{Error, Result};
use super::files::gguf::{self, Metadata, Value};
use super::files::{safetensors, sniff, Format};
use super::index::{MatrixRef, TensorIndex};
use super::names;
use super::quant::GgmlType;
use super::source::ByteSource;
use super::vocab::VocabKind;

/// a model file's header: everything but the tensor data.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub format: Format,
    pub file_len: u64,
    /// GGUF metadata; a safetensors file's `__metadata__` strings under `safetensors.`.
    pub metadata: Metadata,
    pub index: TensorIndex,
    /// the vocabulary the file carries (GGUF), and how its tokens are spelled.
    pub tokens: Option<(Vec<String>, VocabKind)>,
}

/// reads the header of a GGUF or safetensors source (which may be only a prefix of the file:
/// see [`Error::Truncated`]).
pub fn read_header(src: &dyn ByteSource) -> Result<ModelFile> {
    let n = src.len().min(9);
    let first = src.read_range(0, n, "file signature")?;
    match sniff(&first)? {
        Format::Gguf => {
            let h = gguf::parse_header(src)?;
            let index = TensorIndex::from_gguf(&h)?;
            let tokens = match h.metadata.get_strings("tokenizer.ggml.tokens")? {
                None => None,
                Some(t) => {
                    let kind = match h.metadata.get_str("tokenizer.ggml.model") {
                        Some("gpt2") => VocabKind::ByteLevel,
                        Some("llama") | Some("t5") => VocabKind::SentencePiece,
                        _ => VocabKind::Plain,
                    };
                    Some((t, kind))
                }
            };
            Ok(ModelFile {
                format: Format::Gguf,
                file_len: src.len(),
                metadata: h.metadata,
                index,
                tokens,
            })
        }
        Format::Safetensors => {
            let h = safetensors::parse_header(src)?;
            let metadata = h
                .metadata
                .iter()
                .map(|(k, v)| (format!("safetensors.{k}"), Value::Str(v.clone())))
                .collect();
            Ok(ModelFile {
                format: Format::Safetensors,
                file_len: src.len(),
                metadata: Metadata(metadata),
                index: TensorIndex::from_safetensors(&h, src.len()),
                tokens: None,
            })
        }
    }
}

/// which byte ranges the explorer reads.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: ModelFile,
    pub embed: MatrixRef,
    pub output: Option<MatrixRef>,
    pub sigma: Option<MatrixRef>,
    pub vt: Option<MatrixRef>,
}

impl Plan {
    /// the matrices a loader has to read, in order.
    pub fn ranges(&self) -> Vec<&MatrixRef> {
        let mut v = vec![&self.embed];
        v.extend(self.output.iter());
        v.extend(self.sigma.iter());
        v.extend(self.vt.iter());
        v
    }
}

/// reads a header and decides what the explorer needs of the file.
pub fn plan(src: &dyn ByteSource) -> Result<Plan> {
    plan_file(read_header(src)?)
}

/// the explorer's plan for a file whose header is read.
pub fn plan_file(file: ModelFile) -> Result<Plan> {
    let (embed, output) = match file.format {
        Format::Gguf => {
            let embed = file.index.matrix(names::TOKEN_EMBD)?.ok_or_else(|| {
                Error::NotFound(format!("the GGUF file has no {} tensor", names::TOKEN_EMBD))
            })?;
            (embed, file.index.matrix(names::OUTPUT)?)
        }
        Format::Safetensors => hf_embedding(&file.index)?,
    };
    if let Some(o) = &output {
        if o.cols != embed.cols {
            return Err(Error::Shape(format!(
                "{} has d = {} but {} has d = {}",
                embed.name, embed.cols, o.name, o.cols
            )));
        }
    }
    let d = embed.cols;
    let (sigma, vt) = match (
        file.index.matrix(names::SIGMA)?,
        file.index.matrix(names::VT)?,
    ) {
        (Some(s), Some(v)) => {
            let f32s = s.ty == GgmlType::F32 && v.ty == GgmlType::F32;
            if !f32s || s.cols != d || s.rows != 1 || v.rows != d || v.cols != d {
                return Err(Error::Shape(format!(
                    "spectrum tensors should be F32 [{d}] and [{d}, {d}]"
                )));
            }
            (Some(s), Some(v))
        }
        _ => (None, None),
    };
    Ok(Plan {
        file,
        embed,
        output,
        sigma,
        vt,
    })
}

/// a hugging face checkpoint's embedding and, when untied, its output matrix (an output
/// stored at the embedding's own bytes is the same matrix: tied).
pub fn hf_embedding(index: &TensorIndex) -> Result<(MatrixRef, Option<MatrixRef>)> {
    let emb = names::HF_EMBEDDING.iter().find(|n| index.get(n).is_some());
    let out = names::HF_OUTPUT.iter().find(|n| index.get(n).is_some());
    let range = |n: &str| index.get(n).map(|t| (t.offset, t.nbytes));
    match (emb, out) {
        (Some(e), Some(o)) if range(e) != range(o) => {
            let (e, o) = (present(index, e)?, present(index, o)?);
            if e.cols != o.cols {
                return Err(Error::Shape(format!(
                    "embedding {} has d = {} but output {} has d = {}",
                    e.name, e.cols, o.name, o.cols
                )));
            }
            Ok((e, Some(o)))
        }
        (Some(n), _) | (None, Some(n)) => Ok((present(index, n)?, None)),
        (None, None) => Err(Error::NotFound(format!(
            "no embedding tensor (looked for {})",
            names::HF_EMBEDDING
                .iter()
                .chain(names::HF_OUTPUT)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// a matrix the index lists.
fn present(index: &TensorIndex, name: &str) -> Result<MatrixRef> {
    index
        .matrix(name)?
        .ok_or_else(|| Error::NotFound(format!("no tensor {name}")))
}
