//! the lens's bindings: `LensModel` (in a Worker: the whole model, the pass, the lens) and
//! `LensChart` (on the page: draws a lens grid and says which cell is under the cursor).

use plotters::prelude::IntoDrawingArea;
use wasm_bindgen::prelude::*;

use super::{canvas_backend, draw_err, to_js};
use crate::core::error::Error;
use crate::core::forward::{Precision, Transformer};
use crate::core::lens::{Grid, LensSession, Quantity};
use crate::core::model::Model;
use crate::core::plan::read_header;
use crate::core::readout::ReadoutOptions;
use crate::core::source::SliceSource;
use crate::plot::lens::{draw_lens, LensRect};
use crate::plot::{Lang, Palette, Style};

/// a whole model file run as a transformer, with its logit lens.
#[wasm_bindgen]
pub struct LensModel {
    s: LensSession,
    /// errors in Vietnamese (`setLang`), else English.
    vi: bool,
}

#[derive(serde::Serialize)]
struct LensInfo {
    name: String,
    n_layer: usize,
    d: usize,
    n_vocab: usize,
    n_ctx: usize,
    capacity: usize,
    /// why prompts cannot be tokenized (the file's metadata has no usable tokenizer), or None.
    no_tokenizer: Option<String>,
}

fn quantity(name: &str) -> Result<Quantity, JsError> {
    serde_json::from_value(serde_json::Value::String(name.into()))
        .map_err(|_| JsError::new(&format!("no lens quantity {name:?}")))
}

#[wasm_bindgen]
impl LensModel {
    /// the model in `bytes` (a whole GGUF file, taken), with room for `capacity` positions.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>, capacity: usize) -> Result<LensModel, JsError> {
        let js = |e: Error| JsError::new(&e.to_string());
        let f = read_header(&SliceSource::whole(&bytes)).map_err(js)?;
        let model = Model::from_source(&SliceSource::whole(&bytes), None).map_err(js)?;
        let t = Transformer::new(&f.metadata, &f.index, bytes).map_err(js)?;
        let mut s = LensSession::new(model, t, capacity, 5, Precision::Quantized).map_err(js)?;
        s.read_tokenizer(&f.metadata);
        Ok(LensModel { s, vi: false })
    }

    /// the language of error messages ("vi…" → Vietnamese, else English).
    #[wasm_bindgen(js_name = setLang)]
    pub fn set_lang(&mut self, tag: &str) {
        self.vi = Lang::parse(tag) == Lang::Vi;
    }

    fn err(&self, e: Error) -> JsError {
        JsError::new(&e.localized(self.vi))
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        let c = self.s.t.config();
        to_js(&LensInfo {
            name: crate::core::vocab::escaped(&self.s.model.name)
                .chars()
                .take(80)
                .collect(),
            n_layer: c.n_layer,
            d: c.d,
            n_vocab: self.s.model.n_vocab(),
            n_ctx: c.n_ctx,
            capacity: self.s.capacity(),
            no_tokenizer: self.s.tok.as_ref().err().map(|e| e.localized(self.vi)),
        })
    }

    /// a text's tokens as the model reads it (special-token text becomes the special token,
    /// BOS as the model asks): `{ids, tokens}` with each token's shown text.
    pub fn tokenize(&self, text: &str) -> Result<JsValue, JsError> {
        let ids = self.s.tokenize(text).map_err(|e| self.err(e))?;
        let tokens: Vec<String> = ids
            .iter()
            .map(|&i| crate::core::vocab::quoted(self.s.model.vocab.text(i), 48))
            .collect();
        to_js(&serde_json::json!({"ids": ids, "tokens": tokens}))
    }

    /// a token as tables show it: quoted, invisible characters escaped, cut at 48 characters.
    pub fn shown(&self, id: u32) -> String {
        crate::core::vocab::quoted(self.s.model.vocab.text(id), 48)
    }

    /// the token a text or `#id` names (as the explorer's token box reads it).
    pub fn find(&self, text: &str) -> Result<u32, JsError> {
        self.s.model.vocab.find(text).map_err(|e| self.err(e))
    }

    /// whether a token ends generation.
    #[wasm_bindgen(js_name = isEnd)]
    pub fn is_end(&self, id: u32) -> bool {
        self.s.is_end(id)
    }

    /// whether the lens also reads each layer's residual between attention and MLP (rows
    /// `1a`, `2a`, …; the grid's `row_names` name every row). changing it forgets the prompt.
    #[wasm_bindgen(js_name = setMid)]
    pub fn set_mid(&mut self, on: bool) {
        self.s.set_mid(on);
    }

    /// starts a prompt given as token ids: embeds it (row 0).
    pub fn start(&mut self, ids: Vec<u32>) -> Result<(), JsError> {
        self.s.start(&ids).map_err(|e| self.err(e))
    }

    /// runs the next layer and reads its row (and, with mid rows, the row before it); the row,
    /// or undefined when the pass is done.
    pub fn step(&mut self) -> Result<Option<u32>, JsError> {
        Ok(self.s.step().map_err(|e| self.err(e))?.map(|r| r as u32))
    }

    /// the heatmap's grid coloured by `quantity` (`top_prob`, `token_prob`, `token_rank`,
    /// `kl`, `entropy`) for `token` (default: each position's final prediction).
    pub fn grid(&self, quantity_name: &str, token: Option<u32>) -> Result<JsValue, JsError> {
        to_js(
            &self
                .s
                .grid(quantity(quantity_name)?, token)
                .map_err(|e| self.err(e))?,
        )
    }

    /// one cell: its top tokens, entropy, log Z and (once computed) KL to the last row.
    pub fn cell(&self, row: usize, col: usize) -> Result<JsValue, JsError> {
        match self.s.lens.cell(row, col) {
            Some(c) => to_js(c),
            None => Ok(JsValue::NULL),
        }
    }

    /// the normed hidden state a cell reads: what the explorer takes as h.
    pub fn hidden(&self, row: usize, col: usize) -> Result<Vec<f32>, JsError> {
        Ok(self.s.hidden(row, col).map_err(|e| self.err(e))?.to_vec())
    }

    /// the next-token readout after the last position.
    pub fn next(&self, top: usize, temperature: f64) -> Result<JsValue, JsError> {
        let opts = ReadoutOptions {
            top,
            temperature,
            ..Default::default()
        };
        to_js(&self.s.next(&opts).map_err(|e| self.err(e))?)
    }

    /// the next token at a temperature (0: the arg-max), `u` uniform in [0, 1).
    pub fn pick(&self, temperature: f64, u: f64) -> Result<u32, JsError> {
        self.s.pick(temperature, u).map_err(|e| self.err(e))
    }

    /// continues with a token: one more column.
    pub fn append(&mut self, token: u32) -> Result<(), JsError> {
        self.s.append(token).map_err(|e| self.err(e))
    }

    /// computes every cell's KL to the last row; `progress(done, total)` per position.
    pub fn kl(&mut self, progress: Option<js_sys::Function>) -> Result<(), JsError> {
        let n = self.s.lens.positions;
        let model = &self.s.model;
        let mut cb = |d: usize, t: usize| {
            if let Some(p) = &progress {
                let _ = p.call2(
                    &JsValue::NULL,
                    &JsValue::from(d as u32),
                    &JsValue::from(t as u32),
                );
            }
            true
        };
        self.s
            .lens
            .kl(model, 0..n, &mut cb)
            .map_err(|e| self.err(e))
    }

    /// times the pass and the lens here (core::lens::bench): a prefill of `prefill` tokens of
    /// the benchmark prompt, `decode` tokens one by one, and the whole lens of `lens` tokens;
    /// milliseconds by the page's clock (performance.now). a benchmark, not a test.
    pub fn bench(
        &mut self,
        prefill: usize,
        decode: usize,
        lens: usize,
    ) -> Result<JsValue, JsError> {
        let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .map_err(|_| JsError::new("no performance clock"))?;
        let now_fn: js_sys::Function = js_sys::Reflect::get(&perf, &"now".into())
            .map_err(|_| JsError::new("no performance.now"))?
            .into();
        let now = || {
            now_fn
                .call0(&perf)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        let ids = self
            .s
            .tokenize(crate::core::lens::BENCH_PROMPT)
            .map_err(|e| self.err(e))?;
        let ids: Vec<u32> = ids
            .iter()
            .copied()
            .cycle()
            .take(prefill.max(lens))
            .collect();
        let t = crate::core::lens::bench(&mut self.s, &ids, decode, lens, &now)
            .map_err(|e| self.err(e))?;
        to_js(&t)
    }

    /// the whole lens as JSON, as `unembed lens --json` prints it.
    pub fn export(&self, top: usize) -> Result<String, JsError> {
        let v = self.s.json(top).map_err(|e| self.err(e))?;
        serde_json::to_string(&v).map_err(|e| JsError::new(&e.to_string()))
    }
}

/// the heatmap on a page's canvas.
#[wasm_bindgen]
pub struct LensChart {
    rect: Option<LensRect>,
    lang: Lang,
    palette: Palette,
}

impl Default for LensChart {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl LensChart {
    #[wasm_bindgen(constructor)]
    pub fn new() -> LensChart {
        LensChart {
            rect: None,
            lang: Lang::En,
            palette: Palette::LIGHT,
        }
    }

    #[wasm_bindgen(js_name = setLang)]
    pub fn set_lang(&mut self, tag: &str) {
        self.lang = Lang::parse(tag);
    }

    /// the heatmap's colours around its cells: "dark" for a dark page, else light.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&mut self, name: &str) {
        self.palette = Palette::parse(name);
    }

    /// draws `grid` (from `LensModel.grid`) at a device-pixel ratio.
    pub fn draw(
        &mut self,
        canvas: &web_sys::HtmlCanvasElement,
        dpr: f64,
        grid: JsValue,
    ) -> Result<(), JsError> {
        let g: Grid =
            serde_wasm_bindgen::from_value(grid).map_err(|e| JsError::new(&e.to_string()))?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        let style = Style {
            scale: dpr,
            lang: self.lang,
            palette: self.palette,
        };
        self.rect = Some(draw_lens(&area, &g, &style).map_err(draw_err)?);
        Ok(())
    }

    /// the [row, column] under canvas pixel (x, y), or null.
    pub fn at(&self, x: f64, y: f64) -> JsValue {
        match self.rect.and_then(|r| r.at(x, y)) {
            Some((r, c)) => js_sys::Array::of2(&(r as u32).into(), &(c as u32).into()).into(),
            None => JsValue::NULL,
        }
    }
}
