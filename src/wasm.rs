//! the thin browser façade: a loaded model lives in wasm memory behind an opaque [`Explorer`];
//! JS passes small inputs (h, option objects) and gets small results (top-k lists, numbers).
//! every entry point returns `Result<_, JsError>`; no maths here, only calls into `core`.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::error::Error;
use crate::core::kernels::Precision;
use crate::core::model::{plan, Model, QueryOptions};
use crate::core::query::{hidden_state, run_query, QuerySpec};
use crate::core::source::SliceSource;
use crate::core::tokenizer;

fn js(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("unembed panicked: {info}").into());
    }));
}

/// how many bytes of the file's start are needed to parse its header: 0 when `prefix` is
/// enough, else the smallest prefix length that gets further (the file is `total` bytes long).
/// a reader should grow its prefix to at least that, doubling, so a header of n items does not
/// take n round trips.
#[wasm_bindgen(js_name = headerNeeds)]
pub fn header_needs(prefix: &[u8], total: f64) -> Result<f64, JsError> {
    let src = SliceSource {
        bytes: prefix,
        total: total as u64,
    };
    match plan(&src) {
        Ok(_) => Ok(0.0),
        Err(Error::Truncated { need, .. })
            if need <= total as u64 && need > prefix.len() as u64 =>
        {
            Ok(need as f64)
        }
        Err(e) => Err(js(e)),
    }
}

#[wasm_bindgen]
pub struct Explorer {
    model: Model,
}

#[derive(Serialize)]
struct Info {
    name: String,
    format: &'static str,
    vocab: usize,
    d: usize,
    tied: bool,
    spectrum: bool,
    kernel: &'static str,
}

#[wasm_bindgen]
impl Explorer {
    /// a model from a whole GGUF or safetensors file in memory; `tokenizer` is a tokenizer.json
    /// or vocab.json for safetensors files (empty when none).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], tokenizer: &[u8]) -> Result<Explorer, JsError> {
        let tokens = if tokenizer.is_empty() {
            None
        } else {
            Some(
                tokenizer::parse_tokenizer_json(tokenizer)
                    .or_else(|_| tokenizer::parse_vocab_json(tokenizer))
                    .map_err(js)?,
            )
        };
        let model = Model::from_source(&SliceSource::whole(bytes), tokens).map_err(js)?;
        Ok(Explorer { model })
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        let m = &self.model;
        to_js(&Info {
            name: m.name.clone(),
            format: match m.format {
                crate::core::model::Format::Gguf => "gguf",
                crate::core::model::Format::Safetensors => "safetensors",
            },
            vocab: m.n_vocab(),
            d: m.d(),
            tied: m.tied(),
            spectrum: m.spectrum.is_some(),
            kernel: crate::core::kernels::Kernel::available()
                .last()
                .map_or("scalar", |k| k.name()),
        })
    }

    /// one query `{id | token | expr | h, temperature, top, cosine, target}`: the same object
    /// `unembed query --json` prints.
    pub fn query(&self, spec: JsValue) -> Result<JsValue, JsError> {
        let spec: QuerySpec =
            serde_wasm_bindgen::from_value(spec).map_err(|e| JsError::new(&e.to_string()))?;
        let r = run_query(&self.model, &spec, &QueryOptions::default()).map_err(js)?;
        to_js(&r)
    }

    /// the h a query spec describes.
    #[wasm_bindgen(js_name = hiddenState)]
    pub fn hidden_state(&self, spec: JsValue) -> Result<Vec<f32>, JsError> {
        let spec: QuerySpec =
            serde_wasm_bindgen::from_value(spec).map_err(|e| JsError::new(&e.to_string()))?;
        hidden_state(&self.model, &spec).map_err(js)
    }

    /// z = W_U·h over the whole vocabulary.
    pub fn logits(&self, h: &[f32]) -> Result<Vec<f64>, JsError> {
        self.model.unembed().matvec(h).map_err(js)
    }

    /// computes the logits and keeps them in wasm; returns z_0 (for benchmarks: no copy out).
    /// `fast` uses the high int16 part of h only (≈1e-5 relative, see core::kernels).
    #[wasm_bindgen(js_name = logitsInPlace)]
    pub fn logits_in_place(&self, h: &[f32], fast: bool) -> Result<f64, JsError> {
        let p = if fast {
            Precision::Fast
        } else {
            Precision::Exact
        };
        let z = self.model.unembed().matvec_precision(h, p).map_err(js)?;
        Ok(z.first().copied().unwrap_or(0.0))
    }

    /// one pass over the matrix without arithmetic: the memory floor (benchmarks only).
    #[wasm_bindgen(js_name = streamMatrix)]
    pub fn stream_matrix(&self) -> f64 {
        self.model.unembed().stream_checksum() as f64
    }

    /// token ids whose text starts with `prefix`, for autocomplete.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<u32> {
        self.model.vocab.complete(prefix, limit)
    }

    /// the decoded text of a token.
    #[wasm_bindgen(js_name = tokenText)]
    pub fn token_text(&self, id: u32) -> String {
        self.model.vocab.text(id).to_string()
    }

    /// all singular values, descending (computed here if the file has none).
    #[wasm_bindgen(js_name = singularValues)]
    pub fn singular_values(
        &mut self,
        progress: Option<js_sys::Function>,
    ) -> Result<Vec<f64>, JsError> {
        let mut cb = |f: f64| {
            if let Some(p) = &progress {
                let _ = p.call1(&JsValue::NULL, &JsValue::from_f64(f));
            }
            true
        };
        let s = self.model.ensure_spectrum(&mut cb).map_err(js)?;
        Ok(s.sigma.to_vec())
    }

    /// forgets the spectrum (to benchmark computing it).
    #[wasm_bindgen(js_name = dropSpectrum)]
    pub fn drop_spectrum(&mut self) {
        self.model.spectrum = None;
    }
}
