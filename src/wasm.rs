//! the thin browser façade: a loaded model lives in wasm memory behind an opaque [`Explorer`];
//! JS passes small inputs (h, option objects) and gets small results (top-k lists, numbers).
//! every entry point returns `Result<_, JsError>`; no maths here, only calls into `core`.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::Clamped;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::core::error::Error;
use crate::core::kernels::Precision;
use crate::core::model::{plan, Model, QueryOptions, SHOWN_CHARS};
use crate::core::query::{hidden_state, run_query, QuerySpec};
use crate::core::session::{Controls, Session, View};
use crate::core::source::SliceSource;
use crate::core::tokenizer;
use crate::core::vocab;
use crate::plot::{self, CosNorm, Lang, Layer, PlotRect, Style};

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

fn parse_tokens(
    tokenizer: &[u8],
) -> Result<Option<(Vec<String>, crate::core::tensor::VocabKind)>, JsError> {
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
        let mut read = |t: &crate::core::tensor::TensorRef| -> crate::core::error::Result<Vec<u8>> {
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
        let r = run_query(&self.model.borrow(), &spec, &QueryOptions::default()).map_err(js)?;
        to_js(&r)
    }

    /// the h a query spec describes.
    #[wasm_bindgen(js_name = hiddenState)]
    pub fn hidden_state(&self, spec: JsValue) -> Result<Vec<f32>, JsError> {
        let spec: QuerySpec =
            serde_wasm_bindgen::from_value(spec).map_err(|e| JsError::new(&e.to_string()))?;
        hidden_state(&self.model.borrow(), &spec).map_err(js)
    }

    /// z = W_U·h over the whole vocabulary.
    pub fn logits(&self, h: &[f32]) -> Result<Vec<f64>, JsError> {
        self.model.borrow().unembed().matvec(h).map_err(js)
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
        let z = self
            .model
            .borrow()
            .unembed()
            .matvec_precision(h, p)
            .map_err(js)?;
        Ok(z.first().copied().unwrap_or(0.0))
    }

    /// one pass over the matrix without arithmetic: the memory floor (benchmarks only).
    #[wasm_bindgen(js_name = streamMatrix)]
    pub fn stream_matrix(&self) -> f64 {
        self.model.borrow().unembed().stream_checksum() as f64
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
    view: Option<View>,
    cos: Vec<f64>,
    rect: Option<PlotRect>,
    /// what the scatter on screen was drawn from: a step that leaves it unchanged (temperature,
    /// ‖h‖ scale) skips the most expensive redraw.
    cosnorm_key: u64,
    /// what the scatter's frame (axes, labels) was drawn for: the ranges and the canvas.
    cosnorm_frame_key: u64,
    topk_rect: Option<PlotRect>,
    spectrum_rect: Option<PlotRect>,
    /// what the spectrum chart on screen was drawn from (the temperature does not change it).
    spectrum_key: u64,
    lang: Lang,
}

fn canvas_backend(canvas: &HtmlCanvasElement) -> Result<CanvasBackend, JsError> {
    CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| JsError::new("this canvas has no 2d context"))
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

#[derive(Serialize)]
struct Hover {
    id: u32,
    token: String,
    text: String,
    shown: String,
    logit: f64,
    prob: f64,
    norm: f64,
    cos: f64,
}

#[wasm_bindgen]
impl Widget {
    #[wasm_bindgen(constructor)]
    pub fn new(explorer: &Explorer) -> Widget {
        Widget {
            model: explorer.model.clone(),
            session: Session::new(),
            view: None,
            cos: Vec::new(),
            rect: None,
            cosnorm_key: 0,
            cosnorm_frame_key: 0,
            topk_rect: None,
            spectrum_rect: None,
            spectrum_key: 0,
            lang: Lang::En,
        }
    }

    /// applies the controls (a partial object is fine: missing fields take defaults) and
    /// returns the view: top-k by logit and by cosine, entropy, target, loss history, c = Vᵀh.
    /// on an error the previous state stays.
    pub fn update(&mut self, controls: JsValue) -> Result<JsValue, JsError> {
        let c: Controls =
            serde_wasm_bindgen::from_value(controls).map_err(|e| JsError::new(&e.to_string()))?;
        let mut m = self.model.borrow_mut();
        let before = self.session.controls().clone();
        let vi = self.lang == Lang::Vi;
        let local = |e: Error| JsError::new(&e.localized(vi));
        if let Err(e) = self.session.update(&mut m, &c) {
            // restore what was shown; the old controls were valid.
            if before != c && !before.base.is_empty() {
                let _ = self.session.update(&mut m, &before);
            }
            return Err(local(e));
        }
        let (view, cos) = self.session.view_and_cosines(&m).map_err(local)?;
        self.cos = cos;
        let out = to_js(&view);
        self.view = Some(view);
        out
    }

    /// the language of the charts' words ("vi", "vi-VN" → Vietnamese, else English).
    #[wasm_bindgen(js_name = setLang)]
    pub fn set_lang(&mut self, tag: &str) {
        self.lang = Lang::parse(tag);
        // the cached frames were drawn in the old language.
        self.cosnorm_key = 0;
        self.cosnorm_frame_key = 0;
        self.spectrum_key = 0;
    }

    fn style(&self, dpr: f64) -> Style {
        Style {
            scale: dpr,
            lang: self.lang,
        }
    }

    /// the controls in force (with defaults filled in), for the URL.
    pub fn controls(&self) -> Result<JsValue, JsError> {
        to_js(self.session.controls())
    }

    fn current(&self) -> Result<&View, JsError> {
        self.view
            .as_ref()
            .ok_or_else(|| JsError::new("call update() before drawing"))
    }

    fn target_id(&self) -> Option<u32> {
        self.current()
            .ok()?
            .target
            .as_ref()
            .map(|t| t.ranked.entry.id)
    }

    #[wasm_bindgen(js_name = drawTopk)]
    pub fn draw_topk(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let v = self.current()?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        let rect = plot::draw_topk(
            &area,
            &v.by_logit,
            v.temperature,
            self.target_id(),
            &self.style(dpr),
        )
        .map_err(draw_err)?;
        self.topk_rect = Some(rect);
        Ok(())
    }

    /// the scatter: frame, then every token blitted in one putImageData, then the overlays.
    #[wasm_bindgen(js_name = drawCosnorm)]
    pub fn draw_cosnorm(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let v = self.current()?;
        let m = self.model.borrow();
        let mut labelled: Vec<(u32, String)> = v
            .by_logit
            .iter()
            .take(5)
            .map(|r| (r.entry.id, r.entry.text.clone()))
            .collect();
        let best = v.by_cosine.first().map(|r| r.entry.id);
        for r in v
            .by_cosine
            .iter()
            .take(3)
            .chain(v.target.as_ref().map(|t| &t.ranked))
        {
            if !labelled.iter().any(|(id, _)| *id == r.entry.id) {
                labelled.push((r.entry.id, r.entry.text.clone()));
            }
        }
        let iso: Vec<f64> = [v.by_logit.first(), v.by_logit.last()]
            .into_iter()
            .flatten()
            .map(|r| r.entry.logit)
            .collect();
        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            let h = self.session.h();
            let n = crate::core::maths::norm(h);
            for &x in h {
                ((x as f64 / n.max(f64::MIN_POSITIVE)) as f32)
                    .to_bits()
                    .hash(&mut hasher);
            }
            for z in &iso {
                ((z / v.h_norm.max(f64::MIN_POSITIVE)) as f32)
                    .to_bits()
                    .hash(&mut hasher);
            }
            labelled.hash(&mut hasher);
            (
                best,
                self.target_id(),
                canvas.width(),
                canvas.height(),
                dpr.to_bits(),
            )
                .hash(&mut hasher);
            (m.n_vocab(), m.norms().as_ptr() as usize).hash(&mut hasher);
            hasher.finish()
        };
        if key == self.cosnorm_key && self.rect.is_some() {
            return Ok(());
        }
        let data = CosNorm {
            cos: &self.cos,
            norms: m.norms(),
            h_norm: v.h_norm,
            labelled: &labelled,
            best_cosine: best,
            target: self.target_id(),
            iso_logits: &iso,
        };
        let style = self.style(dpr);
        let area = canvas_backend(canvas)?.into_drawing_area();
        // the frame outside the plot area stays valid while the ranges and the canvas do;
        // inside it, the points image below covers everything the last step drew.
        let frame_key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            let (cr, nr) = plot::cosnorm_ranges(&self.cos, m.norms());
            (
                cr.0.to_bits(),
                cr.1.to_bits(),
                nr.0.to_bits(),
                nr.1.to_bits(),
            )
                .hash(&mut hasher);
            (canvas.width(), canvas.height(), dpr.to_bits()).hash(&mut hasher);
            hasher.finish()
        };
        let rect = match self.rect {
            Some(r) if frame_key == self.cosnorm_frame_key => r,
            _ => plot::draw_cosnorm(&area, &data, &style, Layer::Frame).map_err(draw_err)?,
        };
        let buf = plot::rasterize_points(&rect, &self.cos, m.norms());
        let (w, h) = ((rect.x.1 - rect.x.0) as u32, (rect.y.1 - rect.y.0) as u32);
        if w > 0 && h > 0 {
            let ctx = context_2d(canvas)?;
            let img = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&buf), w, h)
                .map_err(|_| JsError::new("cannot make the scatter image"))?;
            ctx.put_image_data(&img, rect.x.0 as f64, rect.y.0 as f64)
                .map_err(|_| JsError::new("cannot draw the scatter image"))?;
        }
        plot::draw_cosnorm(&area, &data, &style, Layer::Overlay).map_err(draw_err)?;
        self.rect = Some(rect);
        self.cosnorm_key = key;
        self.cosnorm_frame_key = frame_key;
        Ok(())
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
        let contributions = self.current()?.contributions.clone();
        let model = self.model.clone();
        let m = model.borrow();
        let Some(s) = m.spectrum.as_ref() else {
            return Err(JsError::new("the spectrum is not computed yet"));
        };
        let sigma = s.sigma.to_vec();
        let energy = s.cumulative_energy();
        let style = self.style(dpr);
        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (
                sigma.len(),
                sigma[0].to_bits(),
                back.width(),
                back.height(),
                dpr.to_bits(),
            )
                .hash(&mut hasher);
            hasher.finish()
        };
        if key != self.spectrum_key || self.spectrum_rect.is_none() {
            let area = canvas_backend(back)?.into_drawing_area();
            let rect = plot::draw_spectrum(&area, &sigma, &[], &energy, &style, Layer::Frame)
                .map_err(draw_err)?;
            self.spectrum_rect = Some(rect);
            self.spectrum_key = key;
        }
        let ctx = context_2d(front)?;
        ctx.clear_rect(0.0, 0.0, front.width() as f64, front.height() as f64);
        let area = canvas_backend(front)?.into_drawing_area();
        plot::draw_spectrum(
            &area,
            &sigma,
            &contributions,
            &energy,
            &style,
            Layer::Overlay,
        )
        .map_err(draw_err)?;
        Ok(())
    }

    /// what is under canvas pixel (x, y) of a chart: a token (`topk`, `cosnorm`: the nearest
    /// within `radius`) or a singular direction (`spectrum`), or null.
    pub fn hover(&self, chart: &str, x: f64, y: f64, radius: f64) -> Result<JsValue, JsError> {
        match chart {
            "cosnorm" => self.hover_cosnorm(x, y, radius),
            "topk" => {
                let (Some(r), Some(v)) = (self.topk_rect, self.view.as_ref()) else {
                    return Ok(JsValue::NULL);
                };
                let k = v.by_logit.len();
                if k == 0 || y < r.y.0 as f64 || y >= r.y.1 as f64 || x < 0.0 {
                    return Ok(JsValue::NULL);
                }
                let row = ((y - r.y.0 as f64) / (r.y.1 - r.y.0) as f64 * k as f64) as usize;
                match v.by_logit.get(row) {
                    Some(e) => to_js(&e.entry),
                    None => Ok(JsValue::NULL),
                }
            }
            "spectrum" => {
                let (Some(r), Some(v)) = (self.spectrum_rect, self.view.as_ref()) else {
                    return Ok(JsValue::NULL);
                };
                if x < r.x.0 as f64 || x > r.x.1 as f64 {
                    return Ok(JsValue::NULL);
                }
                let m = self.model.borrow();
                let Some(s) = m.spectrum.as_ref() else {
                    return Ok(JsValue::NULL);
                };
                let f = (x - r.x.0 as f64) / (r.x.1 - r.x.0).max(1) as f64;
                let k =
                    ((r.cos.0 + f * (r.cos.1 - r.cos.0)).round() as usize).clamp(1, s.sigma.len());
                to_js(&serde_json::json!({
                    "k": k,
                    "sigma": s.sigma[k - 1],
                    "c": v.coords.get(k - 1),
                    "contribution": v.contributions.get(k - 1),
                    "energy": s.cumulative_energy()[k - 1],
                }))
            }
            _ => Ok(JsValue::NULL),
        }
    }

    #[wasm_bindgen(js_name = drawLoss)]
    pub fn draw_loss(&self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let v = self.current()?;
        let grad = v.target.as_ref().and_then(|t| t.grad.as_ref());
        let area = canvas_backend(canvas)?.into_drawing_area();
        plot::draw_loss(&area, &v.loss_history, grad, &self.style(dpr)).map_err(draw_err)
    }

    /// the token nearest to canvas pixel (x, y) of the scatter, within `radius` pixels, or null.
    fn hover_cosnorm(&self, x: f64, y: f64, radius: f64) -> Result<JsValue, JsError> {
        let (Some(rect), Some(v)) = (self.rect, self.view.as_ref()) else {
            return Ok(JsValue::NULL);
        };
        let m = self.model.borrow();
        let mut best: Option<(f64, usize)> = None;
        for (i, (&c, &n)) in self.cos.iter().zip(m.norms()).enumerate() {
            let (px, py) = rect.pixel(c, n as f64);
            let d2 = (px as f64 - x).powi(2) + (py as f64 - y).powi(2);
            if d2 <= radius * radius && best.is_none_or(|(b, _)| d2 < b) {
                best = Some((d2, i));
            }
        }
        let Some((_, i)) = best else {
            return Ok(JsValue::NULL);
        };
        let z = self.session.z()[i];
        // from the view's summaries: a mousemove must not redo the softmax over the vocabulary.
        let p = crate::core::maths::prob_from(z, v.z_max, v.log_sum, v.temperature);
        to_js(&Hover {
            id: i as u32,
            token: m.vocab.raw(i as u32).to_string(),
            text: m.vocab.text(i as u32).to_string(),
            shown: vocab::quoted(m.vocab.text(i as u32), SHOWN_CHARS),
            logit: z,
            prob: p,
            norm: m.norms()[i] as f64,
            cos: self.cos[i],
        })
    }

    /// the top-k table as CSV.
    pub fn csv(&self) -> Result<String, JsError> {
        Ok(self.current()?.csv())
    }
}
