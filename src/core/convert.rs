//! the slim served GGUF: the unembedding matrices in Q8_0, the vocabulary, the source's
//! metadata and licence, and the precomputed spectrum under `unembed.` names.

use super::files::gguf::{self, TensorOut, Value};
use super::files::Format;
use super::model::Model;
use super::names;
use super::quant::GgmlType;
use super::vocab::VocabKind;

/// metadata arrays worth keeping (others, like BPE merges, are dropped to keep the file slim).
const KEEP_ARRAYS: &[&str] = &["tokenizer.ggml.tokens", "tokenizer.ggml.token_type"];
/// keys that describe the old file's layout rather than the model.
const DROP_KEYS: &[&str] = &["general.alignment", "general.file_type"];

/// where the served file came from.
pub struct SourceInfo {
    pub file_name: String,
    pub sha256: String,
    pub name: Option<String>,
    pub license: Option<String>,
    /// where the licence's terms are (`general.license.link`, GGUF's standard key).
    pub license_link: Option<String>,
}

/// bytes of the served file. the embedding is written from the Q8_0 matrix, which reproduces
/// Q8_0 input bit for bit (f16 scale → f32 → f16 is exact for finite scales).
pub fn served_gguf(model: &Model, src: &SourceInfo) -> Vec<u8> {
    let mut md: Vec<(String, Value)> = Vec::new();
    md.push(("general.architecture".into(), Value::Str(arch(model))));
    for (k, v) in model.metadata.iter() {
        let keep = match v {
            Value::Array(..) => KEEP_ARRAYS.contains(&k.as_str()),
            _ => !DROP_KEYS.contains(&k.as_str()),
        };
        if keep && k != "general.architecture" && !k.starts_with("unembed.") {
            md.push((k.clone(), v.clone()));
        }
    }
    let mut set = |k: &str, v: Value| {
        md.retain(|(key, _)| key != k);
        md.push((k.to_string(), v));
    };
    if let Some(n) = &src.name {
        set("general.name", Value::Str(n.clone()));
    }
    if let Some(l) = &src.license {
        set("general.license", Value::Str(l.clone()));
    }
    if let Some(l) = &src.license_link {
        set("general.license.link", Value::Str(l.clone()));
    }
    if model.format == Format::Safetensors || !has_key(model, "tokenizer.ggml.tokens") {
        let kind = match model.vocab.kind {
            VocabKind::ByteLevel => "gpt2",
            VocabKind::SentencePiece => "llama",
            VocabKind::Plain => "none",
        };
        set("tokenizer.ggml.model", Value::Str(kind.into()));
        let toks = model
            .vocab
            .raw_tokens()
            .iter()
            .map(|t| Value::Str(t.clone()))
            .collect();
        set("tokenizer.ggml.tokens", Value::Array(8, toks));
    }
    set("unembed.version", Value::U32(1));
    set("unembed.source.file", Value::Str(src.file_name.clone()));
    set("unembed.source.sha256", Value::Str(src.sha256.clone()));
    set(
        "unembed.source.format",
        Value::Str(model.format.name().into()),
    );
    // what the source stored, and how far the served Q8_0 matrices are from it (read back by
    // `Model::load`, so the page can say it of a served file).
    for (key, ty, requant) in [
        ("embedding", Some(model.embed_type), model.embed_requant),
        ("output", model.output_type, model.output_requant),
    ] {
        if let Some(ty) = ty {
            set(
                &format!("unembed.source.{key}_type"),
                Value::Str(ty.name().into()),
            );
        }
        if let Some(r) = requant {
            set(
                &format!("unembed.{key}.requant_max_rel"),
                Value::F64(r.error.max_rel),
            );
            set(
                &format!("unembed.{key}.requant_rms_rel"),
                Value::F64(r.error.rms_rel),
            );
        }
    }
    set("unembed.tied", Value::Bool(model.tied()));

    let d = model.d() as u64;
    let e = model.embedding();
    let mut tensors = vec![TensorOut {
        name: names::TOKEN_EMBD.into(),
        dims: vec![d, e.rows() as u64],
        ggml_type: GgmlType::Q8_0,
        data: e.to_ggml_bytes(),
    }];
    if let Some(o) = model.output() {
        tensors.push(TensorOut {
            name: names::OUTPUT.into(),
            dims: vec![d, o.rows() as u64],
            ggml_type: GgmlType::Q8_0,
            data: o.to_ggml_bytes(),
        });
    }
    if let Some(s) = &model.spectrum {
        let sigma: Vec<u8> = s
            .sigma
            .iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect();
        // row k = v_k.
        let vt: Vec<u8> = (0..s.v.ncols())
            .flat_map(|k| s.v.column(k).iter().map(|&x| x as f32).collect::<Vec<_>>())
            .flat_map(f32::to_le_bytes)
            .collect();
        tensors.push(TensorOut {
            name: names::SIGMA.into(),
            dims: vec![d],
            ggml_type: GgmlType::F32,
            data: sigma,
        });
        tensors.push(TensorOut {
            name: names::VT.into(),
            dims: vec![d, d],
            ggml_type: GgmlType::F32,
            data: vt,
        });
    }
    gguf::write(&md, &tensors)
}

fn has_key(model: &Model, key: &str) -> bool {
    model.metadata.get(key).is_some()
}

fn arch(model: &Model) -> String {
    model
        .meta_str("general.architecture")
        .unwrap_or("unembed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::tiny_model;
    use crate::core::source::SliceSource;

    #[test]
    fn served_file_round_trips() {
        let mut m = tiny_model(40, 64);
        m.ensure_spectrum(&mut |_| true).unwrap();
        let info = SourceInfo {
            file_name: "tiny.gguf".into(),
            sha256: "ab".repeat(32),
            name: None,
            license: Some("apache-2.0".into()),
            license_link: Some("https://www.apache.org/licenses/LICENSE-2.0".into()),
        };
        let bytes = served_gguf(&m, &info);
        let back = Model::from_source(&SliceSource::whole(&bytes), None).unwrap();
        assert_eq!(
            back.embedding().to_ggml_bytes(),
            m.embedding().to_ggml_bytes()
        );
        assert_eq!(back.vocab.raw_tokens(), m.vocab.raw_tokens());
        assert!(back.spectrum_from_file);
        let (a, b) = (back.spectrum.clone().unwrap(), m.spectrum.unwrap());
        for (x, y) in a.sigma.iter().zip(b.sigma.iter()) {
            assert!((x - y).abs() <= 1e-6 * y);
        }
        assert_eq!(a.v[[3, 5]] as f32, b.v[[3, 5]] as f32);
        assert_eq!(back.meta_str("general.license"), Some("apache-2.0"));
        assert_eq!(
            back.meta_str("general.license.link"),
            Some("https://www.apache.org/licenses/LICENSE-2.0")
        );
    }
}
