//! the Compare view's façade: two loaded models ([`Explorer`]s, shared, not copied) side by
//! side. every number comes from `core::compare`; the charts from `plot::compare`.

use std::cell::RefCell;
use std::rc::Rc;

use plotters::prelude::IntoDrawingArea;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use super::{canvas_backend, draw_err, to_js, Explorer};
use crate::core::compare::{self, Agreement, Neighbour, Profile, Word};
use crate::core::error::Error;
use crate::core::model::Model;
use crate::core::vocab;
use crate::plot::compare::{draw_compare_histograms, draw_compare_spectra};
use crate::plot::{Lang, Palette, Style};

/// bins of the Compare view's histograms.
const BINS: usize = 60;

/// two models compared: their profiles (computed once, on the first call that needs them),
/// and per text or word what each model makes of it.
#[wasm_bindgen]
pub struct Comparison {
    models: [Rc<RefCell<Model>>; 2],
    /// the models' profiles, in order, as far as computed.
    profiles: Vec<Profile>,
    lang: Lang,
    palette: Palette,
}

/// one model's side of a per-text answer: the result, or the error in the page's language
/// (a word one vocabulary lacks is an answer for the other model still).
#[derive(Serialize)]
#[serde(untagged)]
enum Side<T> {
    Ok(T),
    Err { error: String },
}

#[derive(Serialize)]
struct Sides<T> {
    models: Vec<Side<T>>,
}

/// a term of the text as a model read it: `coef × token` (the token shown as tables show it).
#[derive(Serialize)]
struct Read {
    coef: f64,
    id: u32,
    shown: String,
}

/// what one model makes of a text.
#[derive(Serialize)]
struct TextSide {
    read: Vec<Read>,
    #[serde(flatten)]
    agreement: Agreement,
}

/// a word's neighbours in one model.
#[derive(Serialize)]
struct WordSide {
    id: u32,
    shown: String,
    list: Vec<Neighbour>,
}

impl Comparison {
    fn side<T>(&self, r: Result<T, Error>) -> Side<T> {
        match r {
            Ok(v) => Side::Ok(v),
            Err(e) => Side::Err {
                error: e.localized(self.lang == Lang::Vi),
            },
        }
    }

    /// computes the first missing profile; false when both are there.
    fn step(&mut self) -> Result<bool, JsError> {
        if self.profiles.len() == 2 {
            return Ok(false);
        }
        let vi = self.lang == Lang::Vi;
        let mut m = self.models[self.profiles.len()].borrow_mut();
        // the page installs a missing spectrum (computed in Workers) before comparing;
        // computing it here would block the page for seconds.
        if m.spectrum.is_none() {
            return Err(JsError::new(if vi {
                "mô hình chưa có phổ: hãy chờ tính xong"
            } else {
                "a model has no spectrum yet: wait until it is computed"
            }));
        }
        let p = compare::profile(&mut m, BINS, &mut |_| true)
            .map_err(|e| JsError::new(&e.localized(vi)))?;
        drop(m);
        self.profiles.push(p);
        Ok(self.profiles.len() < 2)
    }

    fn profiles(&mut self) -> Result<[&Profile; 2], JsError> {
        while self.step()? {}
        match self.profiles.as_slice() {
            [a, b] => Ok([a, b]),
            _ => Err(JsError::new("two profiles expected")),
        }
    }

    fn style(&self, dpr: f64) -> Style {
        Style {
            scale: dpr,
            lang: self.lang,
            palette: self.palette,
        }
    }
}

#[wasm_bindgen]
impl Comparison {
    /// compares the models of `a` and `b` (they stay shared with their explorers).
    #[wasm_bindgen(constructor)]
    pub fn new(a: &Explorer, b: &Explorer) -> Comparison {
        Comparison {
            models: [a.model.clone(), b.model.clone()],
            profiles: Vec::with_capacity(2),
            lang: Lang::En,
            palette: Palette::LIGHT,
        }
    }

    /// computes one model's profile (two passes over its vocabulary) if one is missing, so the
    /// page can yield between the two; true while another remains.
    pub fn prepare(&mut self) -> Result<bool, JsError> {
        self.step()
    }

    /// each model's summary as `unembed compare --json` prints it (no h): name, vocab, d,
    /// effective_rank, energy_90, norms and anisotropy statistics, mean_norm (computing the
    /// profiles [`prepare`](Comparison::prepare) has not).
    pub fn summaries(&mut self) -> Result<JsValue, JsError> {
        let [a, b] = self.profiles()?;
        to_js(&[&a.summary, &b.summary])
    }

    /// what each model makes of `text` (a token, or an expression whose words each model
    /// looks up in its own vocabulary): `{models: [agreement | {error}, …]}`, an agreement
    /// being its top `k` by logit and by cosine, how many they share and Spearman's ρ between
    /// logit and cosine over the whole vocabulary.
    pub fn text(&self, text: &str, k: usize) -> Result<JsValue, JsError> {
        let k = k.clamp(1, 100);
        let models: Vec<Side<TextSide>> = self
            .models
            .iter()
            .map(|m| {
                let m = m.borrow();
                let r = compare::h_from_text(&m, text).and_then(|(h, terms)| {
                    Ok(TextSide {
                        read: terms
                            .iter()
                            .map(|t| Read {
                                coef: t.coef,
                                id: t.id,
                                shown: vocab::quoted(m.vocab.text(t.id), 48),
                            })
                            .collect(),
                        agreement: compare::agreement(&m, &h, k)?,
                    })
                });
                self.side(r)
            })
            .collect();
        to_js(&Sides { models })
    }

    /// the `k` nearest neighbours of `word` by cosine in each model (the word left out), each
    /// matched in the other model by decoded text (its cosine and rank there): `{models:
    /// [[neighbour, …] | {error}, …]}`.
    pub fn neighbours(&self, word: &str, k: usize) -> Result<JsValue, JsError> {
        let k = k.clamp(1, 100);
        let ms: Vec<std::cell::Ref<Model>> = self.models.iter().map(|m| m.borrow()).collect();
        let words: Vec<Result<Word, Error>> = ms.iter().map(|m| Word::find(m, word)).collect();
        let models: Vec<Side<WordSide>> = (0..2)
            .map(|i| {
                let o = 1 - i;
                let r = match &words[i] {
                    Ok(w) => {
                        let other = words[o].as_ref().ok().map(|wo| (&*ms[o], wo));
                        Ok(WordSide {
                            id: w.id,
                            shown: vocab::quoted(ms[i].vocab.text(w.id), 48),
                            list: compare::neighbours(&ms[i], w, other, k),
                        })
                    }
                    Err(e) => Err(e.clone()),
                };
                self.side(r)
            })
            .collect();
        to_js(&Sides { models })
    }

    /// the spectra, side by side on a wide canvas, stacked on a tall one.
    #[wasm_bindgen(js_name = drawSpectra)]
    pub fn draw_spectra(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let style = self.style(dpr);
        let [a, b] = self.profiles()?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        draw_compare_spectra(&area, &[a, b], &style).map_err(draw_err)
    }

    /// the histograms of ‖v_i‖ and cos(v_i, μ), one row per model (one column when narrow).
    #[wasm_bindgen(js_name = drawHistograms)]
    pub fn draw_histograms(&mut self, canvas: &HtmlCanvasElement, dpr: f64) -> Result<(), JsError> {
        let style = self.style(dpr);
        let [a, b] = self.profiles()?;
        let area = canvas_backend(canvas)?.into_drawing_area();
        draw_compare_histograms(&area, &[a, b], &style).map_err(draw_err)
    }

    /// the language of the charts' words and of the errors ("vi", "vi-VN" → Vietnamese).
    #[wasm_bindgen(js_name = setLang)]
    pub fn set_lang(&mut self, tag: &str) {
        self.lang = Lang::parse(tag);
    }

    /// "dark" for a dark page, anything else light.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&mut self, name: &str) {
        self.palette = Palette::parse(name);
    }
}
