//! one explorer's charts as they are on screen: what each was drawn from, so a step redraws
//! only what changed (the scatter of every token is the expensive one), and each chart's own
//! coordinates (plotters' transform of what it drew), so hover asks the chart what lies under
//! the cursor. generic over the backend: the façade hands in canvases, tests SVG strings.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::{
    cosnorm_ranges, draw_cosnorm, draw_loss, draw_spectrum, draw_topk, plot_rect, rasterize_points,
    BarsCoord, CosNorm, Layer, PlotResult, ScatterCoord, SpectrumCoord, Style,
};
use crate::core::model::Model;
use crate::core::readout::{Entry, Loss, Scores};
use crate::core::session::View;

/// puts an RGBA image (row-major) at a pixel with a width and height: how the scatter's points
/// reach a canvas in one call.
pub type Blit<'a> = dyn FnMut(&[u8], (i32, i32), (u32, u32)) -> PlotResult<()> + 'a;

/// the charts an explorer can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Topk,
    Cosnorm,
    Spectrum,
    Loss,
}

impl Chart {
    pub fn parse(name: &str) -> Option<Chart> {
        Some(match name {
            "topk" => Chart::Topk,
            "cosnorm" => Chart::Cosnorm,
            "spectrum" => Chart::Spectrum,
            "loss" => Chart::Loss,
            _ => return None,
        })
    }
}

/// what is under the cursor: a token (its row, as the tables show it) or a singular
/// direction of the spectrum.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Hovered {
    Token(Entry),
    /// a gradient step of the loss chart: its number (0 = before any step) and loss.
    Step {
        step: usize,
        loss: Loss,
    },
    Direction {
        /// 1-based.
        k: usize,
        sigma: f64,
        /// c_k = v_k·h and σ_k·c_k (absent past the first 64 coordinates the view carries).
        c: Option<f64>,
        contribution: Option<f64>,
        energy: f64,
    },
}

/// the tokens the scatter labels: the top 5 by logit, then the top 3 by cosine and the
/// target when they are not among them.
pub fn labelled(view: &View) -> Vec<(u32, String)> {
    let r = &view.readout;
    let mut out: Vec<(u32, String)> = r
        .top
        .iter()
        .take(5)
        .map(|e| (e.id, e.text.clone()))
        .collect();
    for e in r
        .by_cosine
        .iter()
        .take(3)
        .chain(r.target.as_ref().map(|t| &t.entry))
    {
        if !out.iter().any(|(id, _)| *id == e.id) {
            out.push((e.id, e.text.clone()));
        }
    }
    out
}

fn hash_of(f: impl FnOnce(&mut DefaultHasher)) -> u64 {
    let mut h = DefaultHasher::new();
    f(&mut h);
    h.finish()
}

/// a 64-bit fingerprint of many numbers, for the scatter's key: FxHash's rotate-xor-multiply
/// in four independent lanes, so that the loop vectorizes (SipHash over 262,144 cosines took
/// a millisecond of every slider step). not for anything adversarial: a collision would only
/// leave the scatter as it was for one step.
fn fingerprint(xs: &[f64]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, x: u64| (h.rotate_left(5) ^ x).wrapping_mul(K);
    let mut lanes = [1u64, 2, 3, 4];
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        for l in 0..4 {
            lanes[l] = mix(lanes[l], c[l].to_bits());
        }
    }
    for (l, x) in chunks.remainder().iter().enumerate() {
        lanes[l] = mix(lanes[l], x.to_bits());
    }
    lanes.iter().fold(xs.len() as u64, |h, &x| mix(h, x))
}

/// the charts of one explorer as drawn.
#[derive(Default)]
pub struct Charts {
    topk: Option<BarsCoord>,
    scatter: Option<ScatterCoord>,
    /// what the scatter on screen shows (a step that leaves it unchanged — temperature, ‖h‖
    /// — skips the most expensive redraw) and what its frame was drawn for.
    scatter_key: u64,
    frame_key: u64,
    spectrum: Option<SpectrumCoord>,
    spectrum_key: u64,
    loss: Option<ScatterCoord>,
}

impl Charts {
    pub fn new() -> Self {
        Charts::default()
    }

    /// forgets what is on screen (the language changed): everything is drawn again.
    pub fn forget(&mut self) {
        *self = Charts::default();
    }

    pub fn draw_topk<DB: DrawingBackend>(
        &mut self,
        area: &DrawingArea<DB, Shift>,
        view: &View,
        style: &Style,
    ) -> PlotResult<()> {
        let r = &view.readout;
        let target = r.target.as_ref().map(|t| t.entry.id);
        self.topk = Some(draw_topk(area, &r.top, r.temperature, target, style)?);
        Ok(())
    }

    /// the scatter: nothing when what it shows is unchanged; else the frame (only when its
    /// ranges or size changed), every token as one RGBA image handed to `blit` (buffer, top
    /// left, width and height), then the overlays.
    pub fn draw_cosnorm<DB: DrawingBackend>(
        &mut self,
        area: &DrawingArea<DB, Shift>,
        view: &View,
        scores: &Scores,
        model: &Model,
        style: &Style,
        blit: &mut Blit,
    ) -> PlotResult<()> {
        let r = &view.readout;
        let labels = labelled(view);
        let best = r.by_cosine.first().map(|e| e.id);
        let target = r.target.as_ref().map(|t| t.entry.id);
        // curves of equal logit for the first and last of the top list.
        let iso: Vec<f64> = [r.top.first(), r.top.last()]
            .into_iter()
            .flatten()
            .map(|e| e.logit)
            .collect();
        let dims = area.dim_in_pixel();
        let scale = style.scale.to_bits();
        // the points depend on h's direction only (cos θ), the curves on z/‖h‖.
        let key = hash_of(|h| {
            fingerprint(&scores.cos).hash(h);
            iso.iter()
                .for_each(|z| (z / r.h_norm.max(f64::MIN_POSITIVE)).to_bits().hash(h));
            (&labels, best, target, dims, scale, model.id, style.lang).hash(h);
        });
        if key == self.scatter_key && self.scatter.is_some() {
            return Ok(());
        }
        let (cr, nr) = cosnorm_ranges(&scores.cos, model.norm_range());
        let frame_key = hash_of(|h| {
            [cr.0, cr.1, nr.0, nr.1].map(f64::to_bits).hash(h);
            (dims, scale, model.id, style.lang).hash(h);
        });
        let data = CosNorm {
            cos: &scores.cos,
            norms: model.norms(),
            h_norm: r.h_norm,
            labelled: &labels,
            best_cosine: best,
            target,
            iso_logits: &iso,
            ranges: (cr, nr),
        };
        let coord = match &self.scatter {
            Some(c) if frame_key == self.frame_key => c.clone(),
            _ => draw_cosnorm(area, &data, style, Layer::Frame)?,
        };
        let (at, size) = plot_rect(&coord);
        if size.0 > 0 && size.1 > 0 {
            blit(
                &rasterize_points(&coord, &scores.cos, model.norms(), &style.palette),
                at,
                size,
            )?;
        }
        draw_cosnorm(area, &data, style, Layer::Overlay)?;
        self.scatter = Some(coord);
        self.scatter_key = key;
        self.frame_key = frame_key;
        Ok(())
    }

    /// the spectrum on two layers of one size: `back` (axes, σ_k, energy; drawn again only
    /// when its size changes) and a transparent `front` for h's |σ_k·c_k|, which `clear_front`
    /// empties first.
    pub fn draw_spectrum<DB: DrawingBackend, DF: DrawingBackend>(
        &mut self,
        back: &DrawingArea<DB, Shift>,
        front: &DrawingArea<DF, Shift>,
        view: &View,
        model: &Model,
        style: &Style,
        clear_front: &mut dyn FnMut() -> PlotResult<()>,
    ) -> PlotResult<()> {
        let Some(s) = model.spectrum.as_ref() else {
            return Err("the spectrum is not computed yet".into());
        };
        let sigma = s.sigma.to_vec();
        let energy = s.cumulative_energy();
        let key = hash_of(|h| {
            (sigma.len(), sigma.first().map(|x| x.to_bits())).hash(h);
            (
                back.dim_in_pixel(),
                style.scale.to_bits(),
                model.id,
                style.lang,
            )
                .hash(h);
        });
        if key != self.spectrum_key || self.spectrum.is_none() {
            let c = draw_spectrum(back, &sigma, &[], &energy, style, Layer::Frame)?;
            self.spectrum = Some(c);
            self.spectrum_key = key;
        }
        clear_front()?;
        draw_spectrum(
            front,
            &sigma,
            &view.contributions,
            &energy,
            style,
            Layer::Overlay,
        )?;
        Ok(())
    }

    pub fn draw_loss<DB: DrawingBackend>(
        &mut self,
        area: &DrawingArea<DB, Shift>,
        view: &View,
        style: &Style,
    ) -> PlotResult<()> {
        let grad = view
            .readout
            .target
            .as_ref()
            .and_then(|t| t.gradient.as_ref());
        self.loss = draw_loss(area, &view.loss_history, grad, style)?;
        Ok(())
    }

    /// what lies under pixel (x, y) of `chart` as last drawn: a bar's token (`topk`, anywhere
    /// along its row), the token nearest the cursor within `radius` pixels (`cosnorm`), or
    /// the singular direction under x (`spectrum`), the step nearest x (`loss`).
    pub fn hover(
        &self,
        chart: Chart,
        (x, y): (f64, f64),
        radius: f64,
        view: &View,
        scores: &Scores,
        model: &Model,
    ) -> Option<Hovered> {
        match chart {
            Chart::Topk => {
                let c = self.topk.as_ref()?;
                let top = &view.readout.top;
                let k = top.len() as u32;
                // row r is the bar from segment k−1−r to the next, as draw_topk drew it;
                // anywhere along the row counts (its label, left of the bar, names it too).
                let row = (0..k).find(|&r| {
                    let i = k - 1 - r;
                    let (_, ya) = c.translate(&(0.0, SegmentValue::Exact(i)));
                    let (_, yb) = c.translate(&(0.0, SegmentValue::Exact(i + 1)));
                    (ya.min(yb) as f64..ya.max(yb) as f64).contains(&y)
                })?;
                top.get(row as usize).cloned().map(Hovered::Token)
            }
            Chart::Cosnorm => {
                let c = self.scatter.as_ref()?;
                let mut best: Option<(f64, usize)> = None;
                for (i, (&cos, &n)) in scores.cos.iter().zip(model.norms()).enumerate() {
                    let (px, py) = c.translate(&(cos, n));
                    let d2 = (px as f64 - x).powi(2) + (py as f64 - y).powi(2);
                    if d2 <= radius * radius && best.is_none_or(|(b, _)| d2 < b) {
                        best = Some((d2, i));
                    }
                }
                scores.entry(model, best?.1).ok().map(Hovered::Token)
            }
            Chart::Spectrum => {
                let c = self.spectrum.as_ref()?;
                let s = model.spectrum.as_ref()?;
                let kf = c.k_at(x as i32)?;
                let k = (kf.round() as usize).clamp(1, s.sigma.len());
                Some(Hovered::Direction {
                    k,
                    sigma: s.sigma[k - 1],
                    c: view.coords.get(k - 1).copied(),
                    contribution: view.contributions.get(k - 1).copied(),
                    energy: s.cumulative_energy()[k - 1],
                })
            }
            Chart::Loss => {
                let c = self.loss.as_ref()?;
                let ((x0, y0), (w, h)) = plot_rect(c);
                // the plot, and `radius` around it (the first and last steps are on its edges).
                let inside = (x0 as f64 - radius..=(x0 + w as i32) as f64 + radius).contains(&x)
                    && (y0 as f64 - radius..=(y0 + h as i32) as f64 + radius).contains(&y);
                if !inside {
                    return None;
                }
                let (step, _) = view
                    .loss_history
                    .iter()
                    .enumerate()
                    .map(|(s, _)| (s, (c.translate(&(s as f64, 0.0)).0 as f64 - x).abs()))
                    .min_by(|a, b| a.1.total_cmp(&b.1))?;
                Some(Hovered::Step {
                    step,
                    loss: view.loss_history[step],
                })
            }
        }
    }
}
