//! a loaded model: vocabulary, E (and W_U when untied), row norms, optional spectrum,
//! and the queries the CLI and the page both answer.

use serde::Serialize;

use super::error::{Error, Result};
use super::gguf::{self, Value};
use super::maths::{cosine, norm, rank, top_k, Softmax};
use super::q8::Q8Matrix;
use super::safetensors;
use super::source::{ByteSource, SliceSource};
use super::spectrum::Spectrum;
use super::tensor::{DType, TensorRef, VocabKind};
use super::vocab::Vocab;

/// names of the precomputed spectrum tensors in a served file.
pub const SIGMA_TENSOR: &str = "unembed.singular_values";
/// rows are the right singular vectors v_k (that is, Vᵀ), f32.
pub const VT_TENSOR: &str = "unembed.right_singular_vectors";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "gguf")]
    Gguf,
    #[serde(rename = "safetensors")]
    Safetensors,
}

/// what a header says: which byte ranges to read to build the model.
#[derive(Debug, Clone)]
pub struct Plan {
    pub format: Format,
    pub file_len: u64,
    pub metadata: Vec<(String, Value)>,
    pub embed: TensorRef,
    pub output: Option<TensorRef>,
    pub sigma: Option<TensorRef>,
    pub vt: Option<TensorRef>,
    pub tokens: Option<(Vec<String>, VocabKind)>,
    /// number of tensors in the file (for `inspect`).
    pub n_tensors: usize,
}

impl Plan {
    /// the byte ranges `(offset, len)` a loader has to read, in order.
    pub fn ranges(&self) -> Vec<&TensorRef> {
        let mut v = vec![&self.embed];
        v.extend(self.output.iter());
        v.extend(self.sigma.iter());
        v.extend(self.vt.iter());
        v
    }
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
    }
}

/// which format the first bytes announce.
pub fn sniff(first: &[u8]) -> Result<Format> {
    if first.starts_with(gguf::MAGIC) {
        return Ok(Format::Gguf);
    }
    if first.is_empty() {
        return Err(Error::Format("the file is empty".into()));
    }
    if first.len() < 4 && gguf::MAGIC.starts_with(first) {
        return Err(Error::Truncated {
            what: "GGUF magic".into(),
            need: 4,
            have: first.len() as u64,
        });
    }
    // ggml's formats before GGUF write the magic as a little-endian u32: "lmgg", "tjgg" …
    if [
        b"lmgg", b"fmgg", b"tjgg", b"algg", b"GGML", b"GGJT", b"GGMF", b"GGLA",
    ]
    .iter()
    .any(|m| first.starts_with(*m))
    {
        return Err(Error::Unsupported(
            "a GGML/GGJT file (llama.cpp's format before GGUF); convert it to GGUF first".into(),
        ));
    }
    let text = first.trim_ascii_start();
    if text.starts_with(b"<") {
        return Err(Error::Format(
            "an HTML or XML page, not a model (a download that saved an error page?)".into(),
        ));
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return Err(Error::Format(
            "a JSON file, not a model (a tokenizer goes beside the model file, not instead of it)"
                .into(),
        ));
    }
    if first.starts_with(b"PK\x03\x04") {
        return Err(Error::Unsupported(
            "a zip archive (a PyTorch .bin or .pt checkpoint?); convert it to safetensors or GGUF"
                .into(),
        ));
    }
    if first.len() < 9 {
        return Err(Error::Format(format!(
            "only {} bytes: too short for a GGUF or safetensors header",
            first.len()
        )));
    }
    // safetensors: a u64 header length, then the JSON header. a length that fits the limit and
    // a printable first header byte are taken as safetensors, so that a broken header is
    // reported by the JSON parser with its position.
    let n = u64::from_le_bytes(first[..8].try_into().expect("8 bytes"));
    if first[8] == b'{' || (n > 0 && n <= safetensors::MAX_HEADER && first[8].is_ascii_graphic()) {
        return Ok(Format::Safetensors);
    }
    Err(Error::Format(format!(
        "neither a GGUF file (magic \"GGUF\") nor a safetensors file (length + JSON header); \
         it starts with {}",
        first[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    )))
}

/// reads the header of a GGUF or safetensors source (which may be only a prefix of the file:
/// see [`Error::Truncated`]).
pub fn plan(src: &dyn ByteSource) -> Result<Plan> {
    let n = src.len().min(9);
    let first = src.read_range(0, n, "file signature")?;
    match sniff(&first)? {
        Format::Gguf => plan_gguf(src),
        Format::Safetensors => {
            let h = safetensors::parse_header(src)?;
            let (embed, output) = safetensors::find_embedding(&h, src.len())?;
            let metadata = h
                .metadata
                .iter()
                .map(|(k, v)| (format!("safetensors.{k}"), Value::Str(v.clone())))
                .collect();
            Ok(Plan {
                format: Format::Safetensors,
                file_len: src.len(),
                metadata,
                embed,
                output,
                sigma: None,
                vt: None,
                tokens: None,
                n_tensors: h.tensors.len(),
            })
        }
    }
}

fn plan_gguf(src: &dyn ByteSource) -> Result<Plan> {
    let h = gguf::parse_header(src)?;
    let embed = h
        .matrix("token_embd.weight")?
        .ok_or_else(|| Error::NotFound("the GGUF file has no token_embd.weight tensor".into()))?;
    let output = h.matrix("output.weight")?;
    if let Some(o) = &output {
        if o.cols != embed.cols {
            return Err(Error::Shape(format!(
                "output.weight rows have {} values, token_embd.weight rows {}",
                o.cols, embed.cols
            )));
        }
    }
    let sigma = h.matrix(SIGMA_TENSOR)?;
    let vt = h.matrix(VT_TENSOR)?;
    let d = embed.cols;
    if let (Some(s), Some(v)) = (&sigma, &vt) {
        if s.dtype != DType::F32
            || v.dtype != DType::F32
            || s.cols != d
            || v.rows != d
            || v.cols != d
        {
            return Err(Error::Shape(format!(
                "spectrum tensors should be F32 [{d}] and [{d}, {d}]"
            )));
        }
    }
    let tokens = match h.get_strings("tokenizer.ggml.tokens")? {
        None => None,
        Some(t) => {
            let kind = match h.get_str("tokenizer.ggml.model") {
                Some("gpt2") => VocabKind::ByteLevel,
                Some("llama") | Some("t5") => VocabKind::SentencePiece,
                _ => VocabKind::Plain,
            };
            Some((t, kind))
        }
    };
    let both = sigma.is_some() && vt.is_some();
    Ok(Plan {
        format: Format::Gguf,
        file_len: src.len(),
        n_tensors: h.tensors.len(),
        metadata: h.metadata,
        embed,
        output,
        sigma: if both { sigma } else { None },
        vt: if both { vt } else { None },
        tokens,
    })
}

/// a model ready to query.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub format: Format,
    pub vocab: Vocab,
    pub embed: Q8Matrix,
    pub output: Option<Q8Matrix>,
    pub embed_dtype: DType,
    pub output_dtype: Option<DType>,
    norms: Vec<f32>,
    pub spectrum: Option<Spectrum>,
    pub spectrum_from_file: bool,
    pub metadata: Vec<(String, Value)>,
}

impl Model {
    /// builds the model from a plan, reading each tensor through `read`. `tokens` overrides the
    /// vocabulary (safetensors files carry none: it comes from tokenizer.json or vocab.json).
    pub fn load(
        plan: Plan,
        read: &mut dyn FnMut(&TensorRef) -> Result<Vec<u8>>,
        tokens: Option<(Vec<String>, VocabKind)>,
    ) -> Result<Self> {
        let rows =
            usize::try_from(plan.embed.rows).map_err(|_| Error::Shape("too many rows".into()))?;
        let cols = plan.embed.cols as usize;
        let raw = read(&plan.embed)?;
        let embed = Q8Matrix::from_raw(raw, plan.embed.dtype, rows, cols)
            .map_err(|e| context(e, &plan.embed.name))?;
        let output = match &plan.output {
            None => None,
            Some(t) => {
                let raw = read(t)?;
                Some(
                    Q8Matrix::from_raw(raw, t.dtype, t.rows as usize, t.cols as usize)
                        .map_err(|e| context(e, &t.name))?,
                )
            }
        };
        let spectrum = match (&plan.sigma, &plan.vt) {
            (Some(s), Some(v)) => Some(read_spectrum(&read(s)?, &read(v)?, cols)?),
            _ => None,
        };
        let name = plan
            .meta_str("general.name")
            .or(plan.meta_str("safetensors.name"))
            .unwrap_or("model")
            .to_string();
        let (tok, kind) = match tokens.or(plan.tokens) {
            Some(t) => t,
            None => (
                (0..rows).map(|i| format!("<{i}>")).collect(),
                VocabKind::Plain,
            ),
        };
        let unembed_rows = output.as_ref().map_or(rows, |o| o.rows());
        let vocab = fit_vocab(tok, kind, unembed_rows, plan.format)?;
        let unembed = output.as_ref().unwrap_or(&embed);
        let norms = unembed.row_norms();
        Ok(Model {
            name,
            format: plan.format,
            vocab,
            embed_dtype: plan.embed.dtype,
            output_dtype: plan.output.as_ref().map(|t| t.dtype),
            embed,
            output,
            norms,
            spectrum_from_file: spectrum.is_some(),
            spectrum,
            metadata: plan.metadata,
        })
    }

    /// reads a whole GGUF or safetensors source.
    pub fn from_source(
        src: &dyn ByteSource,
        tokens: Option<(Vec<String>, VocabKind)>,
    ) -> Result<Self> {
        let p = plan(src)?;
        Model::load(
            p,
            &mut |t| src.read_range(t.offset, t.nbytes, &t.name),
            tokens,
        )
    }

    /// a whole GGUF or safetensors file, taking its buffer: the embedding is cut out of it and
    /// converted in place (the other tensors are copied first), so a file in memory costs no
    /// second copy of its largest tensor. this is how the page loads a downloaded model.
    pub fn from_bytes(bytes: Vec<u8>, tokens: Option<(Vec<String>, VocabKind)>) -> Result<Self> {
        let p = plan(&SliceSource::whole(&bytes))?;
        let embed = (p.embed.offset, p.embed.nbytes);
        let mut copies: Vec<((u64, u64), Vec<u8>)> = Vec::new();
        for t in p.ranges() {
            if (t.offset, t.nbytes) != embed {
                let b = SliceSource::whole(&bytes).read_range(t.offset, t.nbytes, &t.name)?;
                copies.push(((t.offset, t.nbytes), b));
            }
        }
        let mut whole = Some(bytes);
        Model::load(
            p,
            &mut |t| {
                let key = (t.offset, t.nbytes);
                if let Some(i) = copies.iter().position(|(k, _)| *k == key) {
                    return Ok(copies.swap_remove(i).1);
                }
                let Some(mut b) = whole.take() else {
                    return Err(Error::Format(format!("tensor {} read twice", t.name)));
                };
                // plan checked the range against the file length.
                b.truncate((t.offset + t.nbytes) as usize);
                b.drain(..t.offset as usize);
                Ok(b)
            },
            tokens,
        )
    }

    /// the matrix whose rows score tokens: W_U when the model has one, else E (tied).
    pub fn unembed(&self) -> &Q8Matrix {
        self.output.as_ref().unwrap_or(&self.embed)
    }
    pub fn tied(&self) -> bool {
        self.output.is_none()
    }
    pub fn d(&self) -> usize {
        self.embed.cols()
    }
    pub fn n_vocab(&self) -> usize {
        self.unembed().rows()
    }
    /// ‖w_i‖ of every unembedding row.
    pub fn norms(&self) -> &[f32] {
        &self.norms
    }

    /// the embedding row v_i (the input embedding, even when W_U is separate).
    pub fn token_vector(&self, id: u32) -> Result<Vec<f32>> {
        let id = self.vocab.check_id(id)? as usize;
        if id >= self.embed.rows() {
            return Err(Error::NotFound(format!(
                "token {id} has no embedding row (E has {} rows)",
                self.embed.rows()
            )));
        }
        Ok(self.embed.row(id))
    }

    /// computes the spectrum of the unembedding matrix if the file did not carry it.
    pub fn ensure_spectrum(&mut self, progress: &mut dyn FnMut(f64) -> bool) -> Result<&Spectrum> {
        if self.spectrum.is_none() {
            self.spectrum = Some(Spectrum::compute(self.unembed(), progress)?);
        }
        self.spectrum
            .as_ref()
            .ok_or_else(|| Error::Invalid("no spectrum".into()))
    }

    /// logits and softmax for h at temperature t.
    pub fn analyse(&self, h: &[f32], t: f64) -> Result<Analysis> {
        let z = self.unembed().matvec(h)?;
        let softmax = Softmax::new(&z, t)?;
        Ok(Analysis {
            h_norm: norm(h),
            z,
            softmax,
        })
    }

    /// cos θ_i of every token.
    pub fn cosines(&self, a: &Analysis) -> Vec<f64> {
        a.z.iter()
            .zip(&self.norms)
            .map(|(&z, &n)| cosine(z, n, a.h_norm))
            .collect()
    }

    fn entry(&self, a: &Analysis, i: usize) -> TopEntry {
        TopEntry {
            id: i as u32,
            token: self.vocab.raw(i as u32).to_string(),
            text: self.vocab.text(i as u32).to_string(),
            shown: crate::core::vocab::quoted(self.vocab.text(i as u32), SHOWN_CHARS),
            logit: a.z[i],
            prob: a.softmax.p[i],
            norm: self.norms[i] as f64,
            cos: cosine(a.z[i], self.norms[i], a.h_norm),
        }
    }

    /// the top-k tokens by logit (or by cosine) with their breakdown, entropy, and the target.
    pub fn query(&self, h: &[f32], opts: &QueryOptions) -> Result<QueryResult> {
        let a = self.analyse(h, opts.temperature)?;
        let n = a.z.len();
        let ids = if opts.by_cosine {
            let cos = self.cosines(&a);
            top_k(n, opts.top, |i| cos[i])
        } else {
            top_k(n, opts.top, |i| a.z[i])
        };
        let top = ids.iter().map(|&i| self.entry(&a, i)).collect();
        let target = match opts.target {
            None => None,
            Some(t) => Some(self.target_info(h, &a, t, opts.temperature > 0.0)?),
        };
        Ok(QueryResult {
            h_norm: a.h_norm,
            temperature: opts.temperature,
            entropy: a.softmax.entropy,
            ranked_by: if opts.by_cosine { "cosine" } else { "logit" },
            top,
            target,
        })
    }

    fn target_info(&self, h: &[f32], a: &Analysis, t: u32, with_grad: bool) -> Result<TargetInfo> {
        let t = self.vocab.check_id(t)? as usize;
        if t >= a.z.len() {
            return Err(Error::NotFound(format!("token {t} has no unembedding row")));
        }
        let cos = self.cosines(a);
        let grad_norm = if with_grad {
            Some(norm(&self.gradient(h, a, t as u32)?.grad))
        } else {
            None
        };
        Ok(TargetInfo {
            entry: self.entry(a, t),
            rank: rank(a.z.len(), t, |i| a.z[i]),
            cos_rank: rank(a.z.len(), t, |i| cos[i]),
            loss: a.softmax.loss(&a.z, t),
            grad_norm,
        })
    }

    /// ∇_h L = (Σ_i p_i w_i − w_t)/T for L = −log p_t, and its two parts.
    pub fn gradient(&self, h: &[f32], a: &Analysis, target: u32) -> Result<Gradient> {
        let t = self.vocab.check_id(target)? as usize;
        let temp = a.softmax.temperature;
        if temp <= 0.0 {
            return Err(Error::Invalid(
                "the gradient needs a temperature above 0".into(),
            ));
        }
        if h.len() != self.d() {
            return Err(Error::Shape("h has the wrong length".into()));
        }
        let w = self.unembed();
        let expected: Vec<f32> = w
            .t_matvec(&a.softmax.p)?
            .iter()
            .map(|&x| x as f32)
            .collect();
        let wt = w.row(t);
        let grad = expected
            .iter()
            .zip(&wt)
            .map(|(&e, &v)| ((e as f64 - v as f64) / temp) as f32)
            .collect();
        Ok(Gradient {
            grad,
            expected,
            target: wt,
            loss: a.softmax.loss(&a.z, t),
        })
    }
}

fn context(e: Error, tensor: &str) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(format!("{tensor}: {m}")),
        Error::Shape(m) => Error::Shape(format!("{tensor}: {m}")),
        other => other,
    }
}

fn fit_vocab(mut tok: Vec<String>, kind: VocabKind, rows: usize, format: Format) -> Result<Vocab> {
    if tok.len() == rows {
        return Ok(Vocab::new(tok, kind));
    }
    // HF checkpoints often pad the embedding past the tokenizer (to a multiple of 64 or 128).
    if format == Format::Safetensors && tok.len() < rows {
        let n = tok.len();
        tok.extend((n..rows).map(|i| format!("<pad {i}>")));
        return Ok(Vocab::new(tok, kind));
    }
    Err(Error::Shape(format!(
        "the vocabulary has {} tokens but the matrix has {rows} rows",
        tok.len()
    )))
}

fn read_spectrum(sigma: &[u8], vt: &[u8], d: usize) -> Result<Spectrum> {
    let s = super::q8::to_f32(sigma, DType::F32)?;
    let v = super::q8::to_f32(vt, DType::F32)?;
    if s.len() != d || v.len() != d * d || s.iter().chain(&v).any(|x| !x.is_finite()) {
        return Err(Error::Invalid("the stored spectrum is malformed".into()));
    }
    let v = ndarray::Array2::from_shape_fn((d, d), |(j, k)| v[k * d + j] as f64);
    Ok(Spectrum {
        sigma: s.iter().map(|&x| x as f64).collect(),
        v,
    })
}

/// logits for one h, with their softmax.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub z: Vec<f64>,
    pub h_norm: f64,
    pub softmax: Softmax,
}

#[derive(Debug, Clone)]
pub struct Gradient {
    pub grad: Vec<f32>,
    /// Σ p_i w_i: the push away from what the model expects.
    pub expected: Vec<f32>,
    /// w_true: the pull toward the target.
    pub target: Vec<f32>,
    pub loss: f64,
}

#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub temperature: f64,
    pub top: usize,
    pub by_cosine: bool,
    pub target: Option<u32>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            temperature: 1.0,
            top: 10,
            by_cosine: false,
            target: None,
        }
    }
}

/// how many characters of a token tables and sentences show.
pub const SHOWN_CHARS: usize = 48;

/// one row of a top-k list: the numbers the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct TopEntry {
    pub id: u32,
    /// the raw vocabulary string (`ĠParis`).
    pub token: String,
    /// decoded text (` Paris`).
    pub text: String,
    /// the text as the page shows it: quoted, invisible characters escaped, cut
    /// (see [`vocab::quoted`](super::vocab::quoted)).
    pub shown: String,
    pub logit: f64,
    pub prob: f64,
    pub norm: f64,
    pub cos: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    #[serde(flatten)]
    pub entry: TopEntry,
    pub rank: usize,
    pub cos_rank: usize,
    pub loss: f64,
    pub grad_norm: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub h_norm: f64,
    pub temperature: f64,
    pub entropy: f64,
    pub ranked_by: &'static str,
    pub top: Vec<TopEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetInfo>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::gguf::{write, TensorOut, GGML_Q8_0};
    use crate::core::q8::tests::random_matrix;
    use crate::core::source::SliceSource;

    /// a small tied GGUF model with byte-level tokens.
    pub fn tiny_model(rows: usize, d: usize) -> Model {
        let m = random_matrix(rows, d, 77);
        let mut toks: Vec<Value> = (0..rows).map(|i| Value::Str(format!("Ġt{i}"))).collect();
        toks[0] = Value::Str("Ġking".into());
        toks[1] = Value::Str("Ġman".into());
        toks[2] = Value::Str("Ġwoman".into());
        toks[3] = Value::Str("king".into());
        let md = vec![
            ("general.name".to_string(), Value::Str("tiny".into())),
            (
                "tokenizer.ggml.model".to_string(),
                Value::Str("gpt2".into()),
            ),
            ("tokenizer.ggml.tokens".to_string(), Value::Array(8, toks)),
        ];
        let t = TensorOut {
            name: "token_embd.weight".into(),
            dims: vec![d as u64, rows as u64],
            ggml_type: GGML_Q8_0,
            data: m.to_ggml_bytes(),
        };
        let bytes = write(&md, &[t]);
        Model::from_source(&SliceSource::whole(&bytes), None).unwrap()
    }

    #[test]
    fn sniff_names_what_a_file_is() {
        let msg = |b: &[u8]| sniff(b).unwrap_err().to_string();
        assert_eq!(sniff(b"GGUF\x03\0\0\0").unwrap(), Format::Gguf);
        assert_eq!(sniff(b"\x10\0\0\0\0\0\0\0{").unwrap(), Format::Safetensors);
        assert_eq!(sniff(b"\x10\0\0\0\0\0\0\0<").unwrap(), Format::Safetensors);
        assert!(msg(b"").contains("empty"));
        assert!(msg(b"GG").contains("GGUF magic needs 4 bytes"));
        assert!(msg(b"lmgg\x01\0\0\0\0").contains("before GGUF"));
        assert!(msg(b"<!DOCTYPE html>").contains("HTML"));
        assert!(msg(b"  {\"a\": 1}").contains("JSON file"));
        assert!(msg(b"PK\x03\x04\0\0\0\0\0").contains("zip"));
        assert!(msg(b"\x10\0\0").contains("only 3 bytes"));
        assert!(msg(b"\xff\xff\xff\xff\xff\xff\xff\xff\x00").contains("starts with ff ff"));
    }

    #[test]
    fn from_bytes_equals_from_source() {
        for untied in [false, true] {
            let m = random_matrix(50, 64, 3);
            let w = random_matrix(50, 64, 4);
            let toks: Vec<Value> = (0..50).map(|i| Value::Str(format!("t{i}"))).collect();
            let md = vec![("tokenizer.ggml.tokens".to_string(), Value::Array(8, toks))];
            let mut ts = vec![TensorOut {
                name: "token_embd.weight".into(),
                dims: vec![64, 50],
                ggml_type: GGML_Q8_0,
                data: m.to_ggml_bytes(),
            }];
            if untied {
                ts.push(TensorOut {
                    name: "output.weight".into(),
                    dims: vec![64, 50],
                    ggml_type: GGML_Q8_0,
                    data: w.to_ggml_bytes(),
                });
            }
            let bytes = write(&md, &ts);
            let a = Model::from_source(&SliceSource::whole(&bytes), None).unwrap();
            let b = Model::from_bytes(bytes, None).unwrap();
            assert_eq!(a.embed, b.embed);
            assert_eq!(a.output, b.output);
            assert_eq!(a.norms(), b.norms());
        }
    }

    #[test]
    fn loads_and_queries() {
        let m = tiny_model(40, 64);
        assert!(m.tied());
        assert_eq!(m.vocab.find(" king").unwrap(), 0);
        let h = m.token_vector(5).unwrap();
        let r = m.query(&h, &QueryOptions::default()).unwrap();
        assert_eq!(r.top.len(), 10);
        // by cosine, a token's own vector is its own best match.
        let c = m
            .query(
                &h,
                &QueryOptions {
                    by_cosine: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(c.top[0].id, 5);
        assert!((c.top[0].cos - 1.0).abs() < 1e-6);
    }

    #[test]
    fn cos_norm_identity() {
        let m = tiny_model(50, 96);
        let h: Vec<f32> = (0..96).map(|j| ((j * 7 % 11) as f32 - 5.0) * 0.1).collect();
        let a = m.analyse(&h, 1.0).unwrap();
        let cos = m.cosines(&a);
        for i in 0..50 {
            let rebuilt = m.norms()[i] as f64 * a.h_norm * cos[i];
            assert!((rebuilt - a.z[i]).abs() < 1e-9 * (1.0 + a.z[i].abs()));
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = tiny_model(60, 64);
        let h: Vec<f32> = (0..64).map(|j| ((j as f32) * 0.7).cos() * 0.3).collect();
        for (target, temp) in [(3u32, 1.0), (17, 0.6), (42, 2.5)] {
            let a = m.analyse(&h, temp).unwrap();
            let g = m.gradient(&h, &a, target).unwrap();
            let eps = 1e-2f32;
            let mut fd = vec![0f64; 64];
            for j in 0..64 {
                let mut hp = h.clone();
                hp[j] += eps;
                let mut hm = h.clone();
                hm[j] -= eps;
                let lp = m
                    .analyse(&hp, temp)
                    .unwrap()
                    .softmax
                    .loss(&m.analyse(&hp, temp).unwrap().z, target as usize);
                let lm = m
                    .analyse(&hm, temp)
                    .unwrap()
                    .softmax
                    .loss(&m.analyse(&hm, temp).unwrap().z, target as usize);
                fd[j] = (lp - lm) / (2.0 * eps as f64);
            }
            let diff: f64 = fd
                .iter()
                .zip(&g.grad)
                .map(|(a, &b)| (a - b as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            let gn: f64 = g
                .grad
                .iter()
                .map(|&x| (x as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(
                diff / gn < 1e-3,
                "target {target} T {temp}: rel err {}",
                diff / gn
            );
        }
    }
}
