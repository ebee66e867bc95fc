//! the thin browser façade: a loaded model lives in wasm memory behind an opaque [`Explorer`];
//! JS passes small inputs (h, option objects) and gets small results (top-k lists, numbers).
//! every entry point returns `Result<_, JsError>`; no maths here, only calls into `core`.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use plotters::prelude::IntoDrawingArea;
use wasm_bindgen::Clamped;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::core::controls::{self, Checked, Controls, Origin};
use crate::core::error::Error;
use crate::core::files::tokenizer;
use crate::core::model::Model;
use crate::core::plan::plan;
use crate::core::quant::gemm;
use crate::core::quant::kernels::{Kernel, Precision};
use crate::core::quant::GgmlType;
use crate::core::query::{run_query, QuerySpec};
use crate::core::readout::{ReadoutOptions, Scores};
use crate::core::session::{self, Replayed, Request, Session, View};
use crate::core::source::SliceSource;
use crate::core::vocab;
use crate::plot::charts::{Chart, Charts};
use crate::plot::{self, Lang, Palette, Style};

mod canvas;
mod compare;
mod lens;
use canvas::Canvas;
pub use compare::Comparison;
pub use lens::{LensChart, LensModel};

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

/// text as tables show a token: quoted, control, zero-width and bidirectional characters
/// escaped, cut at 48 characters (for text that names a token but is not one of a model's
/// lists, such as the explorer's base).
#[wasm_bindgen(js_name = shownText)]
pub fn shown_text(text: &str) -> String {
    vocab::quoted(text, 48)
}

fn progress_fn(progress: &Option<js_sys::Function>) -> impl FnMut(f64) -> bool + '_ {
    move |f: f64| {
        if let Some(p) = progress {
            let _ = p.call1(&JsValue::NULL, &JsValue::from_f64(f));
        }
        true
    }
}

/// in a Worker: the part of G = EᵀE that some rows of E contribute (their Q8_0 `scales` and
/// `quants`, from [`Explorer::unembedding_scales`] and [`Explorer::unembedding_quants`]), as the
/// f64 tiles [`spectrumFromGram`](spectrum_from_gram) sums. `progress(fraction)` as it goes.
#[wasm_bindgen(js_name = gramPart)]
pub fn gram_part(
    d: usize,
    scales: Vec<f32>,
    quants: Vec<i8>,
    progress: Option<js_sys::Function>,
) -> Result<Vec<f64>, JsError> {
    let rows = quants.len().checked_div(d).unwrap_or(0);
    let m =
        crate::core::quant::matrix::Q8Matrix::from_parts(rows, d, scales, quants).map_err(js)?;
    let g = crate::core::spectrum::gram_part(&m, &mut progress_fn(&progress)).map_err(js)?;
    Ok(g.into_tiles())
}

/// σ and V of a matrix from the parts of its Gram matrix (an array of the Float64Arrays
/// [`gramPart`](gram_part) returned), `progress(fraction)` over the eigen-decomposition.
#[wasm_bindgen(js_name = spectrumFromGram)]
pub fn spectrum_from_gram(
    d: usize,
    parts: js_sys::Array,
    progress: Option<js_sys::Function>,
) -> Result<SpectrumParts, JsError> {
    let parts = parts
        .iter()
        .map(|p| {
            p.dyn_into::<js_sys::Float64Array>()
                .map_err(|_| JsError::new("a part of the Gram matrix is not a Float64Array"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // each part is copied into wasm memory as it is added, so one part's copy is alive at a
    // time (up to 8 of 67 MB each for d = 4096).
    let s = crate::core::spectrum::Spectrum::from_gram_parts(
        d,
        parts.iter().map(|a| a.to_vec()),
        &mut progress_fn(&progress),
    )
    .map_err(js)?;
    Ok(SpectrumParts {
        sigma: s.sigma.to_vec(),
        v: s.v.iter().copied().collect(),
    })
}

/// σ (descending) and V (row-major d × d) as [`Explorer::set_spectrum`] takes them.
#[wasm_bindgen]
pub struct SpectrumParts {
    sigma: Vec<f64>,
    v: Vec<f64>,
}

#[wasm_bindgen]
impl SpectrumParts {
    pub fn sigma(&self) -> Vec<f64> {
        self.sigma.clone()
    }
    pub fn v(&self) -> Vec<f64> {
        self.v.clone()
    }
}

/// in a Worker: some rows of W_U (their Q8_0 `scales` and `quants`, from
/// [`Explorer::unembedding_scales`] and [`Explorer::unembedding_quants`]) and their part of
/// the exact product z = W_U·h, the same bits as those rows of the page's own product.
#[wasm_bindgen]
pub struct ProductRows(crate::core::quant::matrix::Q8Matrix);

#[wasm_bindgen]
impl ProductRows {
    #[wasm_bindgen(constructor)]
    pub fn new(d: usize, scales: Vec<f32>, quants: Vec<i8>) -> Result<ProductRows, JsError> {
        let rows = quants.len().checked_div(d).unwrap_or(0);
        let m = crate::core::quant::matrix::Q8Matrix::from_parts(rows, d, scales, quants)
            .map_err(js)?;
        Ok(ProductRows(m))
    }
    /// how many rows this holds.
    pub fn rows(&self) -> usize {
        self.0.rows()
    }
    /// z_i = w_i·h for these rows (a Float64Array), the exact kernel.
    pub fn logits(&self, h: &[f32]) -> Result<Vec<f64>, JsError> {
        self.0.matvec_precision(h, Precision::Exact).map_err(js)
    }
}

/// a loaded model; several [`Widget`]s on one page share it (one download, one copy).
#[wasm_bindgen]
pub struct Explorer {
    model: Rc<RefCell<Model>>,
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
    /// the embedding's type in the source, and how far the served Q8_0 copy is from it.
    embedding_type: &'static str,
    requantized: Option<crate::core::model::Requantized>,
}

/// the byte ranges to read after the header, as a flat `[offset, length, offset, length, …]`
/// (the embedding, W_U when untied, the stored spectrum): a page reads just these from a file.
#[wasm_bindgen(js_name = tensorRanges)]
pub fn tensor_ranges(prefix: &[u8], total: f64) -> Result<Vec<f64>, JsError> {
    let src = SliceSource {
        bytes: prefix,
        total: total as u64,
    };
    let p = plan(&src).map_err(js)?;
    Ok(p.ranges()
        .iter()
        .flat_map(|t| [t.offset as f64, t.nbytes as f64])
        .collect())
}

fn parse_tokens(tokenizer: &[u8]) -> Result<Option<(Vec<String>, vocab::VocabKind)>, JsError> {
    if tokenizer.is_empty() {
        return Ok(None);
    }
    tokenizer::parse_any(tokenizer)
        .map(Some)
        .map_err(|e| JsError::new(&format!("tokenizer file: {e}")))
}

#[wasm_bindgen]
impl Explorer {
    /// a model from a file read by ranges: `prefix` holds at least the header, `parts` the
    /// buffers of [`tensor_ranges`] in order, `tokenizer` a tokenizer.json or vocab.json (or
    /// empty). the whole file is never in memory.
    #[wasm_bindgen(js_name = fromRanges)]
    pub fn from_ranges(
        prefix: &[u8],
        total: f64,
        parts: js_sys::Array,
        tokenizer: &[u8],
    ) -> Result<Explorer, JsError> {
        let src = SliceSource {
            bytes: prefix,
            total: total as u64,
        };
        let p = plan(&src).map_err(js)?;
        let wanted: Vec<(u64, u64)> = p.ranges().iter().map(|t| (t.offset, t.nbytes)).collect();
        if parts.length() as usize != wanted.len() {
            return Err(JsError::new(&format!(
                "expected {} tensor buffers, got {}",
                wanted.len(),
                parts.length()
            )));
        }
        let mut k = 0u32;
        let mut read = |t: &crate::core::index::MatrixRef| -> crate::core::error::Result<Vec<u8>> {
            let buf = js_sys::Uint8Array::new(&parts.get(k)).to_vec();
            k += 1;
            if buf.len() as u64 != t.nbytes {
                return Err(Error::Truncated {
                    what: format!("tensor {}", t.name),
                    need: t.nbytes,
                    have: buf.len() as u64,
                });
            }
            Ok(buf)
        };
        let model = Model::load(p, &mut read, parse_tokens(tokenizer)?).map_err(js)?;
        Ok(Explorer {
            model: Rc::new(RefCell::new(model)),
        })
    }

    /// a model from a whole GGUF or safetensors file in memory; `tokenizer` is a tokenizer.json
    /// or vocab.json for safetensors files (empty when none).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>, tokenizer: &[u8]) -> Result<Explorer, JsError> {
        let tokens = parse_tokens(tokenizer)?;
        let model = Model::from_bytes(bytes, tokens).map_err(js)?;
        Ok(Explorer {
            model: Rc::new(RefCell::new(model)),
        })
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        let m = &*self.model.borrow();
        to_js(&Info {
            // the file names itself: shown escaped and cut, like a token.
            name: vocab::escaped(&m.name).chars().take(80).collect(),
            format: m.format.name(),
            vocab: m.n_vocab(),
            d: m.d(),
            tied: m.tied(),
            spectrum: m.spectrum.is_some(),
            kernel: crate::core::quant::kernels::Kernel::available()
                .last()
                .map_or("scalar", |k| k.name()),
            embedding_type: m.embed_type.name(),
            requantized: m.embed_requant,
        })
    }

    /// one query `{id | token | expr | h, temperature, top, cosine, target}`: the same object
    /// `unembed query --json` prints.
    pub fn query(&self, spec: JsValue) -> Result<JsValue, JsError> {
        let spec: QuerySpec =
            serde_wasm_bindgen::from_value(spec).map_err(|e| JsError::new(&e.to_string()))?;
        let r = run_query(&self.model.borrow(), &spec, &ReadoutOptions::default()).map_err(js)?;
        to_js(&r)
    }

    /// z = W_U·h over the whole vocabulary.
    pub fn logits(&self, h: &[f32]) -> Result<Vec<f64>, JsError> {
        self.model.borrow().unembedding().logits(h).map_err(js)
    }

    /// computes the logits and keeps them in wasm; returns z_0 (for benchmarks: no copy out).
    /// `fast` uses the high int16 part of h only (≈1e-5 relative, see core::quant::kernels).
    #[wasm_bindgen(js_name = logitsInPlace)]
    pub fn logits_in_place(&self, h: &[f32], fast: bool) -> Result<f64, JsError> {
        let p = if fast {
            Precision::Fast
        } else {
            Precision::Exact
        };
        let z = self
            .model
            .borrow()
            .unembedding()
            .logits_precision(h, p)
            .map_err(js)?;
        Ok(z.first().copied().unwrap_or(0.0))
    }

    /// z_c = W_U·h_c for `hs.len() / d` columns at once (`hs` column after column), the
    /// matrix × many vectors kernel the logit lens uses; returns z_0[0] (benchmarks only).
    #[wasm_bindgen(js_name = logitsManyInPlace)]
    pub fn logits_many_in_place(&self, hs: &[f32]) -> Result<f64, JsError> {
        let m = self.model.borrow();
        let d = m.d();
        if hs.is_empty() || hs.len() % d != 0 {
            return Err(JsError::new(&format!(
                "{} values are not whole columns of {d}",
                hs.len()
            )));
        }
        let cols: Vec<&[f32]> = hs.chunks_exact(d).collect();
        let z = m.unembedding().logits_many_fast(&cols).map_err(js)?;
        Ok(z.first().copied().unwrap_or(0.0))
    }

    /// one pass over the matrix without arithmetic: the memory floor (benchmarks only).
    #[wasm_bindgen(js_name = streamMatrix)]
    pub fn stream_matrix(&self) -> f64 {
        self.model.borrow().unembedding().matrix().stream_checksum() as f64
    }

    /// whether `text` (or `#id`) names a token of this model.
    #[wasm_bindgen(js_name = hasToken)]
    pub fn has_token(&self, text: &str) -> bool {
        self.model.borrow().vocab.find(text).is_ok()
    }

    /// autocomplete entries `{id, text, label, plain}`: label is the text made visible (see
    /// plot::label); plain says the text has nothing to escape, so it can be an option's value
    /// (else the page offers `#id`, and no invisible character reaches the input).
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<JsValue, JsError> {
        let m = self.model.borrow();
        let list: Vec<serde_json::Value> = m
            .vocab
            .complete(prefix, limit)
            .into_iter()
            .map(|id| {
                let text = m.vocab.text(id);
                serde_json::json!({
                    "id": id,
                    "text": text,
                    "label": plot::label(text, 40),
                    "plain": vocab::escaped(text) == text && text.chars().count() <= 40,
                })
            })
            .collect();
        to_js(&list)
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
        let mut m = self.model.borrow_mut();
        let s = m.ensure_spectrum(&mut cb).map_err(js)?;
        Ok(s.sigma.to_vec())
    }

    /// V as a flat row-major d×d array (V[j][k], column k = v_k), after [`singular_values`].
    #[wasm_bindgen(js_name = rightSingularVectors)]
    pub fn right_singular_vectors(&self) -> Result<Vec<f64>, JsError> {
        let m = self.model.borrow();
        let s = m
            .spectrum
            .as_ref()
            .ok_or_else(|| JsError::new("the spectrum is not computed yet"))?;
        Ok(s.v.iter().copied().collect())
    }

    /// installs a spectrum computed elsewhere (a Worker): σ descending and V row-major.
    #[wasm_bindgen(js_name = setSpectrum)]
    pub fn set_spectrum(&self, sigma: Vec<f64>, v: Vec<f64>) -> Result<(), JsError> {
        let mut m = self.model.borrow_mut();
        let d = m.d();
        if sigma.len() != d || v.len() != d * d || sigma.iter().chain(&v).any(|x| !x.is_finite()) {
            return Err(JsError::new("the spectrum does not fit this model"));
        }
        let v =
            ndarray::Array2::from_shape_vec((d, d), v).map_err(|e| JsError::new(&e.to_string()))?;
        m.spectrum = Some(crate::core::spectrum::Spectrum {
            sigma: sigma.into(),
            v,
        });
        Ok(())
    }

    /// row boundaries `[0, …, rows]` of W_U splitting its spectrum's Gram matrix among at most
    /// `workers` Workers (see [`gramPart`](gram_part)).
    #[wasm_bindgen(js_name = spectrumSplit)]
    pub fn spectrum_split(&self, workers: usize) -> Vec<f64> {
        let m = self.model.borrow();
        let u = m.unembedding().matrix();
        crate::core::spectrum::split_rows(u.rows(), u.cols(), workers)
            .into_iter()
            .map(|b| b as f64)
            .collect()
    }

    /// the Q8_0 scales (one per block of 32) of W_U's rows `start..end`, for a Worker.
    #[wasm_bindgen(js_name = unembeddingScales)]
    pub fn unembedding_scales(&self, start: usize, end: usize) -> Result<Vec<f32>, JsError> {
        let m = self.model.borrow();
        let (s, _) = m.unembedding().matrix().row_parts(start..end).map_err(js)?;
        Ok(s.to_vec())
    }

    /// the Q8_0 quants of W_U's rows `start..end`, for a Worker.
    #[wasm_bindgen(js_name = unembeddingQuants)]
    pub fn unembedding_quants(&self, start: usize, end: usize) -> Result<Vec<i8>, JsError> {
        let m = self.model.borrow();
        let (_, q) = m.unembedding().matrix().row_parts(start..end).map_err(js)?;
        Ok(q.to_vec())
    }

    /// whether the model has its spectrum (from the file or computed).
    #[wasm_bindgen(js_name = hasSpectrum)]
    pub fn has_spectrum(&self) -> bool {
        self.model.borrow().spectrum.is_some()
    }

    /// forgets the spectrum (to benchmark computing it).
    #[wasm_bindgen(js_name = dropSpectrum)]
    pub fn drop_spectrum(&mut self) {
        self.model.borrow_mut().spectrum = None;
    }
}

/// one explorer on the page: its own controls and cached pieces, drawing to its own canvases,
/// over a shared [`Explorer`]'s model.
#[wasm_bindgen]
pub struct Widget {
    model: Rc<RefCell<Model>>,
    session: Session,
    shown: Option<(View, Scores)>,
    charts: Charts,
    lang: Lang,
    /// the state [`Widget::load`] read, whose pieces [`Widget::prepare`] builds.
    wanted: Option<Controls>,
    /// the chart colours (light or dark, `setTheme`).
    palette: Palette,
    /// the piece [`Widget::request`] asked for, with the head of its logits computed here so
    /// far ([`Widget::product_head`]).
    pending: Option<(Request, Vec<f64>)>,
}

/// one problem as the page shows it.
#[derive(Serialize)]
struct Said {
    key: String,
    message: String,
}

/// what `load` returns: the controls read and what was wrong with the rest.
#[derive(Serialize)]
struct Loaded<'a> {
    controls: &'a Controls,
    problems: Vec<Said>,
}

/// what `update` and `adopt` return.
#[derive(Serialize)]
struct Updated<'a> {
    view: &'a View,
    problems: Vec<Said>,
    /// gradient steps the state asks for beyond the one an update takes: replay them in a
    /// Worker ([`Widget::replay`]) and install them with [`Widget::adopt`]; 0 when none.
    replay: u32,
}

fn canvas_backend(canvas: &HtmlCanvasElement) -> Result<Canvas, JsError> {
    Canvas::new(canvas)
}

fn context_2d(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsError> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or_else(|| JsError::new("this canvas has no 2d context"))
}

fn draw_err(e: String) -> JsError {
    JsError::new(&e)
}

#[wasm_bindgen]
impl Widget {
    #[wasm_bindgen(constructor)]
    pub fn new(explorer: &Explorer) -> Widget {
        Widget {
            model: explorer.model.clone(),
            session: Session::new(),
            shown: None,
            charts: Charts::new(),
            lang: Lang::En,
            wanted: None,
            palette: Palette::LIGHT,
            pending: None,
        }
    }

    /// the controls `text` gives (JSON, as [`update`](Widget::update) takes them), each field
    /// checked against the controls in force (or the model's defaults before the first update).
    fn read_controls(&self, m: &Model, text: &str) -> Checked {
        let defaults = Controls::for_model(m);
        let current = if self.session.ready() {
            self.session.controls().clone()
        } else {
            defaults.clone()
        };
        let mut checked = controls::parse(text, Origin::Link, &defaults, &current);
        controls::check_with_model(m, &mut checked, &current);
        checked
    }

    fn said(&self, checked: &Checked) -> Vec<Said> {
        checked
            .messages(self.lang == Lang::Vi)
            .into_iter()
            .map(|(key, message)| Said { key, message })
            .collect()
    }

    /// reads a state from untrusted text, field by field (`core::controls`): `kind` "link"
    /// for a link's `s=` (JSON), "attributes" for an element's attributes (a JSON object of
    /// their text). missing keys take the defaults, or with `keep` (an attribute change) the
    /// controls in force; a bad value falls back the same way, with a problem. returns
    /// `{controls, problems: [{key, message}]}` and builds nothing: call [`prepare`] until it
    /// says false (one full pass each, so no task is long), then [`update`] with the controls.
    ///
    /// [`prepare`]: Widget::prepare
    /// [`update`]: Widget::update
    pub fn load(&mut self, text: &str, kind: &str, keep: bool) -> Result<JsValue, JsError> {
        let m = self.model.borrow();
        let defaults = Controls::for_model(&m);
        let base = if keep && self.session.ready() {
            self.session.controls().clone()
        } else {
            defaults
        };
        let origin = match kind {
            "attributes" => Origin::Attributes,
            _ => Origin::Link,
        };
        let mut checked = controls::parse(text, origin, &base, &base);
        controls::check_with_model(&m, &mut checked, &base);
        let out = to_js(&Loaded {
            controls: &checked.controls,
            problems: self.said(&checked),
        });
        self.wanted = Some(checked.controls);
        self.pending = None;
        out
    }

    /// builds one piece of the loaded state that is not cached yet (one full pass over the
    /// vocabulary); false when none is missing.
    pub fn prepare(&mut self) -> Result<bool, JsError> {
        let Some(c) = &self.wanted else {
            return Ok(false);
        };
        let mut m = self.model.borrow_mut();
        let vi = self.lang == Lang::Vi;
        self.session
            .prepare(&mut m, c)
            .map_err(|e| JsError::new(&e.localized(vi)))
    }

    /// the h of the first piece of the loaded state that is not cached (a Float32Array), or
    /// undefined when none is missing: [`prepare`](Widget::prepare) split in three so that the
    /// product can be shared with a Worker. the page posts h to a Worker holding W_U's rows
    /// from some row on ([`ProductRows`]), computes the rows before it here
    /// ([`product_head`](Widget::product_head)), then hands the Worker's rows to
    /// [`install`](Widget::install). a newer `request`, `load` or `update` forgets this one.
    pub fn request(&mut self) -> Result<Option<Vec<f32>>, JsError> {
        self.pending = None;
        let Some(c) = &self.wanted else {
            return Ok(None);
        };
        let mut m = self.model.borrow_mut();
        let vi = self.lang == Lang::Vi;
        let r = self
            .session
            .request(&mut m, c)
            .map_err(|e| JsError::new(&e.localized(vi)))?;
        Ok(r.map(|r| {
            let h = r.h().to_vec();
            self.pending = Some((r, Vec::new()));
            h
        }))
    }

    /// [`request`](Widget::request) for the controls `text` as [`update`](Widget::update)
    /// reads them (JSON; a bad field keeps the value in force): the h of the first piece they
    /// need that is not cached, or undefined. the page asks this before an update at a large
    /// vocabulary, to share the product with a Worker instead of paying it in the update.
    #[wasm_bindgen(js_name = requestFor)]
    pub fn request_for(&mut self, text: &str) -> Result<Option<Vec<f32>>, JsError> {
        let checked = self.read_controls(&self.model.borrow(), text);
        self.wanted = Some(checked.controls);
        self.request()
    }

    /// computes rows `0..rows` of the requested piece's logits here (the exact kernel).
    #[wasm_bindgen(js_name = productHead)]
    pub fn product_head(&mut self, rows: usize) -> Result<(), JsError> {
        let Some((r, head)) = self.pending.as_mut() else {
            return Err(JsError::new("no piece was requested"));
        };
        let m = self.model.borrow();
        *head = m
            .unembedding()
            .matrix()
            .matvec_head(r.h(), rows, Precision::Exact)
            .map_err(js)?;
        Ok(())
    }

    /// caches the requested piece with its logits: the head computed here followed by `tail`
    /// (the Worker's rows, a Float64Array); without a tail (the Worker failed) the whole
    /// product is computed here. a tail of the wrong length or with a non-finite value is an
    /// error and caches nothing.
    pub fn install(&mut self, tail: Option<Vec<f64>>) -> Result<(), JsError> {
        let Some((r, mut z)) = self.pending.take() else {
            return Err(JsError::new("no piece was requested"));
        };
        let m = self.model.borrow();
        let vi = self.lang == Lang::Vi;
        match tail {
            Some(t) => z.extend_from_slice(&t),
            None => {
                z = m
                    .unembedding()
                    .matrix()
                    .matvec_precision(r.h(), Precision::Exact)
                    .map_err(js)?
            }
        }
        self.session
            .install(&m, r, z)
            .map_err(|e| JsError::new(&e.localized(vi)))
    }

    /// builds one piece a slider not moved yet would need (the noise, the singular
    /// directions once the model has its spectrum; one full pass), changing nothing shown;
    /// false when none is left or a state is being loaded. the page calls it in idle time, so
    /// that the first step of those sliders costs no pass.
    pub fn warm(&mut self) -> Result<bool, JsError> {
        if self.wanted.is_some() {
            return Ok(false);
        }
        let mut m = self.model.borrow_mut();
        let vi = self.lang == Lang::Vi;
        self.session
            .warm(&mut m)
            .map_err(|e| JsError::new(&e.localized(vi)))
    }

    /// applies the page's state: the controls as JSON, where a value may be an input's text
    /// (`"lr": "abc"`). each field is checked; a bad one keeps the value in force, with a
    /// problem; a missing one takes its default. returns `{view, problems, replay}`: the view
    /// of the controls in force (the readout, c = Vᵀh, the loss history, ‖drift‖), what was
    /// wrong, and how many gradient steps are left to replay in a Worker (an update takes at
    /// most one). when the state cannot be shown together (h overflows), the state in force
    /// stays, or on a first update the combination falls back to the defaults.
    pub fn update(&mut self, text: &str) -> Result<JsValue, JsError> {
        self.wanted = None;
        self.pending = None;
        let mut m = self.model.borrow_mut();
        let vi = self.lang == Lang::Vi;
        let local = |e: Error| JsError::new(&e.localized(vi));
        let mut checked = self.read_controls(&m, text);
        let replay = if self.session.ready() {
            match self.session.apply(&mut m, &checked.controls, 1) {
                Ok(n) => n,
                Err(e) => {
                    checked.problems.push(controls::Problem::failed(e));
                    0
                }
            }
        } else {
            let defaults = Controls::for_model(&m);
            self.session
                .start(&mut m, &mut checked, &defaults, 1)
                .map_err(local)?
        };
        // at a large vocabulary a target's gradient waits for `gradient` (the page calls it
        // once h stops changing): its transposed pass would not fit in a slider step.
        let defer = session::defers_gradient(&m);
        let (view, scores) = self.session.view_with(&m, defer).map_err(local)?;
        let out = to_js(&Updated {
            view: &view,
            problems: self.said(&checked),
            replay,
        });
        self.shown = Some((view, scores));
        out
    }

    /// the target's gradient the last update left for later (`view.target.gradient_deferred`,
    /// at a large vocabulary): computes it (one transposed pass) and returns the target as the
    /// view shows it, now with `gradient`; null when nothing was deferred.
    pub fn gradient(&mut self) -> Result<JsValue, JsError> {
        let Some((view, scores)) = self.shown.as_mut() else {
            return Ok(JsValue::NULL);
        };
        let m = self.model.borrow();
        let vi = self.lang == Lang::Vi;
        if !view
            .readout
            .add_gradient(&m, scores)
            .map_err(|e| JsError::new(&e.localized(vi)))?
        {
            return Ok(JsValue::NULL);
        }
        to_js(&view.readout.target)
    }

    /// replays the gradient steps of a state (what the replay Worker runs, on its own model):
    /// `progress(k)` after step k. returns `{steps, h, z, loss}` (Float64Arrays) for
    /// [`adopt`](Widget::adopt).
    pub fn replay(
        &mut self,
        text: &str,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let mut m = self.model.borrow_mut();
        let vi = self.lang == Lang::Vi;
        let defaults = Controls::for_model(&m);
        let checked = controls::parse(text, Origin::Link, &defaults, &defaults);
        if let Some(p) = checked.problems.first() {
            return Err(JsError::new(&p.message(vi)));
        }
        let mut cb = |k: u32| {
            if let Some(p) = &progress {
                let _ = p.call1(&JsValue::NULL, &JsValue::from(k));
            }
            true
        };
        let r = self
            .session
            .replay(&mut m, &checked.controls, &mut cb)
            .map_err(|e| JsError::new(&e.localized(vi)))?;
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &k.into(), &v).map(|_| ());
        let arr = |v: &[f64]| JsValue::from(js_sys::Float64Array::from(v));
        set("steps", JsValue::from(r.steps))
            .and(set("h", arr(&r.h)))
            .and(set("z", arr(&r.z)))
            .and(set("loss", arr(&r.loss)))
            .map_err(|_| JsError::new("cannot build the replay's result"))?;
        Ok(out.into())
    }

    /// installs steps replayed from the state `from` (the text given to [`replay`]): as the
    /// steps of the controls in force when those are still `from`'s, else folded into the
    /// drift (the reader moved a control meanwhile). returns what [`update`] returns.
    ///
    /// [`replay`]: Widget::replay
    /// [`update`]: Widget::update
    pub fn adopt(
        &mut self,
        from: &str,
        steps: u32,
        h: Vec<f64>,
        z: Vec<f64>,
        loss: Vec<f64>,
    ) -> Result<JsValue, JsError> {
        let m = self.model.borrow();
        let vi = self.lang == Lang::Vi;
        let local = |e: Error| JsError::new(&e.localized(vi));
        let defaults = Controls::for_model(&m);
        let from = controls::parse(from, Origin::Link, &defaults, &defaults);
        if let Some(p) = from.problems.first() {
            return Err(JsError::new(&p.message(vi)));
        }
        let r = Replayed { steps, h, z, loss };
        self.session.adopt(&m, &from.controls, r).map_err(local)?;
        let (view, scores) = self.session.view(&m).map_err(local)?;
        let out = to_js(&Updated {
            view: &view,
            problems: Vec::new(),
            replay: 0,
        });
        self.shown = Some((view, scores));
        out
    }

    /// the language of the charts' words ("vi", "vi-VN" → Vietnamese, else English).
    #[wasm_bindgen(js_name = setLang)]
    pub fn set_lang(&mut self, tag: &str) {
        self.lang = Lang::parse(tag);
        self.charts.forget();
    }

    /// the charts' colours: "dark" for a dark page, anything else light. the next draw
    /// redraws every chart.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&mut self, name: &str) {
        let palette = Palette::parse(name);
        if palette != self.palette {
            self.palette = palette;
            self.charts.forget();
        }
    }

    fn style(&self, dpr: f64) -> Style {
        Style {
            scale: dpr,
            lang: self.lang,
            palette: self.palette,
        }
    }

    /// the controls in force (with defaults filled in), for the URL.
    pub fn controls(&self) -> Result<JsValue, JsError> {
        to_js(self.session.controls())
    }

    fn shown(&self) -> Result<&(View, Scores), JsError> {
        self.shown
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))
    }

    #[wasm_bindgen(js_name = drawTopk)]
    pub fn draw_topk(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let style = self.style(dpr);
        let (v, _) = self
            .shown
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        self.charts.draw_topk(&area, v, &style).map_err(draw_err)
    }

    /// the scatter: frame, then every token blitted in one putImageData, then the overlays
    /// (what is redrawn is the charts' decision: see `plot::charts`).
    #[wasm_bindgen(js_name = drawCosnorm)]
    pub fn draw_cosnorm(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let style = self.style(dpr);
        let (v, scores) = self
            .shown
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))?;
        let m = self.model.borrow();
        let area = canvas_backend(canvas)?.into_drawing_area();
        let ctx = context_2d(canvas)?;
        let mut blit = |rgba: &[u8], (x, y): (i32, i32), (w, h): (u32, u32)| {
            let img = ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), w, h)
                .map_err(|_| "cannot make the scatter image".to_string())?;
            ctx.put_image_data(&img, x as f64, y as f64)
                .map_err(|_| "cannot draw the scatter image".to_string())
        };
        self.charts
            .draw_cosnorm(&area, v, scores, &m, &style, &mut blit)
            .map_err(draw_err)
    }

    /// the spectrum on two stacked canvases of one size: `back` (axes, σ_k, energy; redrawn
    /// only when its size changes) and a transparent `front` for h's |σ_k·c_k|.
    #[wasm_bindgen(js_name = drawSpectrum)]
    pub fn draw_spectrum(
        &mut self,
        back: &HtmlCanvasElement,
        front: &HtmlCanvasElement,
        dpr: f64,
    ) -> Result<(), JsError> {
        let style = self.style(dpr);
        let (v, _) = self
            .shown
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))?;
        let m = self.model.borrow();
        let ctx = context_2d(front)?;
        let (w, h) = (front.width() as f64, front.height() as f64);
        let mut clear = || {
            ctx.clear_rect(0.0, 0.0, w, h);
            Ok(())
        };
        let back = canvas_backend(back)?.into_drawing_area();
        let front = canvas_backend(front)?.into_drawing_area();
        self.charts
            .draw_spectrum(&back, &front, v, &m, &style, &mut clear)
            .map_err(draw_err)
    }

    #[wasm_bindgen(js_name = drawLoss)]
    pub fn draw_loss(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let style = self.style(dpr);
        let (v, _) = self
            .shown
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        self.charts.draw_loss(&area, v, &style).map_err(draw_err)
    }

    /// what is under canvas pixel (x, y) of a chart: a token (`topk`, `cosnorm`: the nearest
    /// within `radius`) as the tables show it, a singular direction (`spectrum`), a gradient
    /// step with its loss (`loss`), or null.
    pub fn hover(&self, chart: &str, x: f64, y: f64, radius: f64) -> Result<JsValue, JsError> {
        let (Some(chart), Some((v, scores))) = (Chart::parse(chart), self.shown.as_ref()) else {
            return Ok(JsValue::NULL);
        };
        let m = self.model.borrow();
        match self.charts.hover(chart, (x, y), radius, v, scores, &m) {
            Some(h) => to_js(&h),
            None => Ok(JsValue::NULL),
        }
    }

    /// the top-k table as CSV.
    pub fn csv(&self) -> Result<String, JsError> {
        Ok(self.shown()?.0.csv())
    }
}

/// one quantized matmul to time (bench/gemm_wasm.mjs): `core::quant::gemm::bench::Bench`,
/// seeded random weights of type `ty` (`"Q4_1"`), rows × k, and n quantized columns.
#[wasm_bindgen]
pub struct GemmBench(gemm::bench::Bench);

#[wasm_bindgen]
impl GemmBench {
    #[wasm_bindgen(constructor)]
    pub fn new(ty: &str, rows: usize, k: usize, n: usize, seed: u32) -> Result<GemmBench, JsError> {
        let ty = GgmlType::from_name(ty)
            .ok_or_else(|| JsError::new(&format!("unknown ggml type {ty:?}")))?;
        Ok(GemmBench(
            gemm::bench::Bench::new(ty, rows, k, n, seed as u64).map_err(js)?,
        ))
    }

    /// the kernels this build runs for the type, fastest last.
    pub fn kernels(&self) -> Vec<String> {
        self.0
            .kernels()
            .iter()
            .map(|k| k.name().to_string())
            .collect()
    }

    /// one matmul with the kernel named `kernel`.
    pub fn run(&mut self, kernel: &str) -> Result<(), JsError> {
        let k = Kernel::from_name(kernel)
            .ok_or_else(|| JsError::new(&format!("unknown kernel {kernel:?}")))?;
        self.0.run(k).map_err(js)
    }

    /// the activations quantized again.
    pub fn quantize(&mut self) -> Result<(), JsError> {
        self.0.quantize().map_err(js)
    }

    pub fn macs(&self) -> f64 {
        self.0.macs()
    }

    pub fn checksum(&self) -> f64 {
        self.0.checksum()
    }
}
