//! the charts, generic over plotters' `DrawingBackend`: natively they render to SVG (tests),
//! in the browser to a `<canvas>` through plotters-canvas. inputs are plain slices and core
//! views; nothing here computes the lesson's maths, it only draws it.
//!
//! the norm-vs-angle scatter has one point per token (tens of thousands): [`draw_cosnorm`]
//! draws the frame and the overlays and returns the chart's coordinates, and
//! [`rasterize_points`] paints the points into an RGBA buffer the page blits in one call.
//!
//! every draw function returns plotters' own coordinate transform of what it drew, which
//! [`charts::Charts`] keeps to answer hover; `charts` also decides what a step must redraw.

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordu32};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::core::readout::{Entry, GradientParts, Loss};

pub mod charts;
pub mod compare;
pub mod lens;

/// the top-k bars' coordinates: p across, one segment per token down.
pub type BarsCoord = Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordu32>>;
/// the scatter's coordinates: cos θ across, ‖v‖ up.
pub type ScatterCoord = Cartesian2d<RangedCoordf64, RangedCoordf64>;
/// the spectrum's k axis (its σ axis is a log scale, which plotters cannot clone or invert;
/// hover needs only k).
#[derive(Clone)]
pub struct SpectrumCoord {
    pub k: RangedCoordf64,
    /// the pixels the k axis spans.
    pub pixels: (i32, i32),
}

impl SpectrumCoord {
    /// the k under pixel column x, if x is on the plot.
    pub fn k_at(&self, x: i32) -> Option<f64> {
        use plotters::coord::ranged1d::ReversibleRanged;
        self.k.unmap(x, self.pixels)
    }
}

/// how a chart is drawn: `scale` is the device-pixel ratio (fonts and lines grow with it),
/// `lang` the language of its words, `palette` the host page's light or dark colours.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub scale: f64,
    pub lang: Lang,
    pub palette: Palette,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            scale: 1.0,
            lang: Lang::En,
            palette: Palette::LIGHT,
        }
    }
}

/// the colours of every chart: a light and a dark set, so a widget on a dark page draws on a
/// dark ground. text colours (`ink`, `muted`, and the series drawn as text: `bar`, `target`,
/// `self_`) keep at least 4.5:1 contrast on `bg` (tests.rs checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub bg: RGBColor,
    pub ink: RGBColor,
    pub muted: RGBColor,
    pub bar: RGBColor,
    pub target: RGBColor,
    pub self_: RGBColor,
    pub grid: RGBColor,
    /// a lens cell with no value yet.
    pub empty: RGBColor,
    /// the scatter's dense points, and the colour sparse ones fade toward.
    pub point: [u8; 3],
    pub faint: [u8; 3],
}

impl Palette {
    pub const LIGHT: Palette = Palette {
        bg: RGBColor(255, 255, 255),
        ink: INK,
        muted: MUTED,
        bar: BAR,
        target: RGBColor(196, 80, 10),
        self_: RGBColor(150, 105, 0),
        grid: GRID,
        empty: RGBColor(238, 240, 244),
        point: [70, 90, 130],
        faint: [200, 210, 230],
    };
    pub const DARK: Palette = Palette {
        bg: RGBColor(24, 28, 36),
        ink: RGBColor(230, 233, 239),
        muted: RGBColor(160, 170, 186),
        bar: RGBColor(110, 160, 255),
        target: RGBColor(255, 150, 90),
        self_: RGBColor(235, 190, 60),
        grid: RGBColor(52, 58, 70),
        empty: RGBColor(44, 50, 62),
        point: [170, 190, 230],
        faint: [50, 58, 76],
    };

    /// "dark" → the dark palette; anything else light.
    pub fn parse(name: &str) -> Palette {
        if name.eq_ignore_ascii_case("dark") {
            Palette::DARK
        } else {
            Palette::LIGHT
        }
    }

    /// the ground as an RGBA pixel, as [`rasterize_points`] writes it.
    pub fn bg_px(&self) -> [u8; 4] {
        [self.bg.0, self.bg.1, self.bg.2, 255]
    }
}

/// the languages of the charts' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Vi,
}

impl Lang {
    /// a BCP 47 tag whose primary subtag is `vi` ("vi", "vi-VN", "VI-vn") → Vietnamese; any
    /// other text (English tags, "vi_VN", which is not BCP 47, "video", "", garbage) English.
    /// `www/i18n.js`'s `language` applies the same rule for the words the page shows before
    /// the wasm is up.
    pub fn parse(tag: &str) -> Lang {
        if tag
            .split('-')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case("vi"))
        {
            Lang::Vi
        } else {
            Lang::En
        }
    }

    /// the chart word `key` in this language.
    pub fn word(self, key: &str) -> &'static str {
        let vi = self == Lang::Vi;
        match key {
            "topk" if vi => "token có logit cao nhất: p = softmax(z / T)",
            "topk" => "top tokens by logit: p = softmax(z / T)",
            "cosnorm" if vi => {
                "mỗi token tại (cos θ, ‖v‖); đường cong: cùng logit z = ‖v‖·‖h‖·cos θ"
            }
            "cosnorm" => "every token at (cos θ, ‖v‖); curves: equal logit z = ‖v‖·‖h‖·cos θ",
            "cos_axis" if vi => "cos θ  (góc giữa h và token)",
            "cos_axis" => "cos θ  (angle between h and the token)",
            "spectrum" if vi => {
                "giá trị kỳ dị σ_k của E (σ₁ chiếm {}% của ‖E‖²) và |σ_k·c_k| của h"
            }
            "spectrum" => {
                "singular values σ_k of E (σ₁ alone carries {}% of ‖E‖²) and h's |σ_k·c_k|"
            }
            "k_axis" if vi => "k (hướng kỳ dị)",
            "k_axis" => "k (singular direction)",
            "energy" if vi => "năng lượng tích lũy",
            "energy" => "cumulative energy",
            "energy_legend" if vi => "năng lượng tích lũy (trục phải)",
            "energy_legend" => "cumulative energy (right axis)",
            "pick" if vi => "chọn một token đích để xem mất mát và gradient",
            "pick" => "pick a target token to see its loss and gradient",
            "loss_inf" if vi => "L = ∞: ở T = 0 token đích có p = 0 (không phải arg-max)",
            "loss_inf" => "L = ∞: at T = 0 the target has p = 0 (it is not the arg-max)",
            "loss" if vi => "mất mát L = −log p(đích) theo từng bước",
            "loss" => "loss L = −log p(target) over steps",
            "step" if vi => "bước",
            "step" => "step",
            "pull" if vi => "kéo",
            "pull" => "pull",
            "push" if vi => "đẩy",
            "push" => "push",
            "cmp_sigma" if vi => "phổ chuẩn hoá σ_k / σ₁ (nét đứt: hạng hiệu dụng)",
            "cmp_sigma" => "normalised spectrum σ_k / σ₁ (dashed: effective rank)",
            "cmp_energy" if vi => "năng lượng tích lũy Σ σ_j² / ‖E‖² (chấm: 90%)",
            "cmp_energy" => "cumulative energy Σ σ_j² / ‖E‖² (dot: 90%)",
            "cmp_rank" if vi => "{name}: hạng hiệu dụng {r}, 90% ở k = {k90}",
            "cmp_rank" => "{name}: effective rank {r}, 90% at k = {k90}",
            "cmp_tokens" if vi => "số token",
            "cmp_tokens" => "tokens",
            "cmp_stat" if vi => "trung bình {m}, độ lệch chuẩn {s}",
            "cmp_stat" => "mean {m}, std {s}",
            "cmp_cos_mu" if vi => "cos(v_i, μ)",
            "cmp_cos_mu" => "cos(v_i, μ)",
            "cmp_cos_axis" if vi => "cos(v_i, μ), μ = vector trung bình",
            "cmp_cos_axis" => "cos(v_i, μ), μ = the mean vector",
            "probability" if vi => "xác suất p",
            "probability" => "probability p",
            _ => "",
        }
    }

    /// a number with the language's decimal mark.
    pub fn num(self, s: String) -> String {
        if self == Lang::Vi {
            s.replace('.', ",")
        } else {
            s
        }
    }
}

impl Style {
    fn px(&self, v: f64) -> u32 {
        (v * self.scale).round().max(1.0) as u32
    }
    fn font(&self, size: f64) -> TextStyle<'static> {
        ("sans-serif", size * self.scale)
            .into_font()
            .color(&self.palette.ink)
    }

    /// the font of a chart's title `text` on `area`: `size`, or smaller (down to 8 px at
    /// scale 1) when the title would be wider than the area, so that on a phone it is shown
    /// whole instead of cut at both edges.
    fn caption_font<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        size: f64,
    ) -> TextStyle<'static> {
        let room = area.dim_in_pixel().0 as f64 - 2.0 * self.px(8.0) as f64;
        let wide = area
            .estimate_text_size(text, &self.font(size))
            .map_or(0.0, |(w, _)| w as f64);
        if wide > room && room > 0.0 {
            self.font((size * room / wide).max(8.0))
        } else {
            self.font(size)
        }
    }
}

pub const INK: RGBColor = RGBColor(29, 36, 48);
pub const MUTED: RGBColor = RGBColor(102, 112, 133);
pub const BAR: RGBColor = RGBColor(46, 110, 230);
pub const TARGET: RGBColor = RGBColor(214, 92, 20);
pub const SELF: RGBColor = RGBColor(196, 140, 0);
pub const GRID: RGBColor = RGBColor(228, 231, 236);
/// the light ground as an RGBA pixel.
pub const BG: [u8; 4] = [255, 255, 255, 255];

/// a drawing error, as text.
pub type PlotResult<T> = Result<T, String>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing failed: {e:?}")
}

/// a token's text made visible and inert for a label: controls and invisible characters become
/// escapes, long texts are cut.
pub fn label(text: &str, max_chars: usize) -> String {
    crate::core::vocab::visible(text, max_chars)
}

/// a probability in few characters: 0.4213, 3.1e-4.
pub fn fmt_p(p: f64) -> String {
    if p == 0.0 {
        "0".into()
    } else if p >= 1e-3 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}")
    }
}

/// horizontal bars of p for the top tokens, with p and z written beside each bar.
pub fn draw_topk<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[Entry],
    temperature: f64,
    target: Option<u32>,
    style: &Style,
) -> PlotResult<BarsCoord> {
    area.fill(&style.palette.bg).map_err(err)?;
    let k = rows.len().max(1) as u32;
    let pmax = rows.iter().map(|r| r.prob).fold(0.0, f64::max).max(1e-12);
    let labels: Vec<String> = rows.iter().map(|r| label(&r.text, 14)).collect();
    let title = format!(
        "{}, T = {}",
        style.lang.word("topk"),
        style.lang.num(temperature.to_string())
    );
    let title_font = style.caption_font(area, &title, 13.0);
    let mut chart = ChartBuilder::on(area)
        .caption(title, title_font)
        .margin(style.px(6.0))
        .x_label_area_size(style.px(22.0))
        .y_label_area_size(style.px(110.0))
        .build_cartesian_2d(0f64..pmax * 1.45, (0..k - 1).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .x_labels(5)
        .x_label_formatter(&|p| fmt_p(*p))
        .label_style(style.font(11.0))
        .y_labels(k as usize)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => (k - 1)
                .checked_sub(*i)
                .and_then(|r| labels.get(r as usize))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(r, row)| {
            let i = k - 1 - r as u32;
            let color = if Some(row.id) == target {
                style.palette.target
            } else {
                style.palette.bar
            };
            Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (row.prob, SegmentValue::Exact(i + 1)),
                ],
                color.mix(0.85).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(r, row)| {
            let i = k - 1 - r as u32;
            Text::new(
                style
                    .lang
                    .num(format!(" {}  z={:.2}", fmt_p(row.prob), row.logit)),
                (row.prob, SegmentValue::CenterOf(i)),
                style.font(10.5).color(&style.palette.muted),
            )
        }))
        .map_err(err)?;
    let coord = chart.as_coord_spec().clone();
    area.present().map_err(err)?;
    Ok(coord)
}

/// what the norm-vs-angle chart shows.
pub struct CosNorm<'a> {
    /// cos θ_i and ‖v_i‖ of every token.
    pub cos: &'a [f64],
    pub norms: &'a [f64],
    pub h_norm: f64,
    /// tokens to label (top by logit first), and which one is the best by cosine.
    pub labelled: &'a [(u32, String)],
    pub best_cosine: Option<u32>,
    pub target: Option<u32>,
    /// logit values whose curves ‖v‖ = z/(‖h‖ cos θ) are drawn.
    pub iso_logits: &'a [f64],
    /// the axes' ranges, from [`cosnorm_ranges`] (found once per step by the caller).
    pub ranges: ((f64, f64), (f64, f64)),
}

/// the pixel rectangle a chart's plot area covers: (x0, y0) and its width and height.
pub fn plot_rect<X: Ranged, Y: Ranged>(coord: &Cartesian2d<X, Y>) -> ((i32, i32), (u32, u32)) {
    let (x, y) = (
        coord.get_x_axis_pixel_range(),
        coord.get_y_axis_pixel_range(),
    );
    (
        (x.start, y.start),
        (
            (x.end - x.start).max(0) as u32,
            (y.end - y.start).max(0) as u32,
        ),
    )
}

/// ranges that hold every point with a little room, each fitted to its data: the cosines'
/// own, and the norms' from their smallest and largest (`Model::norm_range`, kept per model).
pub fn cosnorm_ranges(cos: &[f64], norm_range: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    // one pass over the cosines per step, with comparisons (`f64::min`/`max` are calls in wasm).
    let (mut c0, mut c1) = crate::core::maths::min_max(cos);
    // the largest norm, or 0 when there is none.
    let n1 = if norm_range.1 > 0.0 {
        norm_range.1
    } else {
        0.0
    };
    let n0 = norm_range.0;
    if !(c0.is_finite() && c1 > c0) {
        (c0, c1) = (-1.0, 1.0);
    }
    // ‖v‖ fitted to the norms (Gemma 3's all lie in [1.028, 1.035]: from 0 they are one line),
    // never below 0.
    let n0 = if n0.is_finite() { n0.min(n1) } else { 0.0 };
    let npad = (0.06 * (n1 - n0)).max(1e-6 * n1.max(1e-9));
    let (nlo, nhi) = ((n0 - npad).max(0.0), (n1 + npad).max(1e-9));
    let pad = 0.04 * (c1 - c0);
    // rounded outward to steps of 0.1, so small moves of h keep the same axes (and the page
    // can keep the frame it drew).
    let (lo, hi) = ((c0 - pad).max(-1.05), (c1 + pad).min(1.05));
    (
        ((lo * 10.0).floor() / 10.0, (hi * 10.0).ceil() / 10.0),
        (nlo, nhi),
    )
}

/// which parts of the norm-vs-angle chart to draw: the page draws the frame, blits the points,
/// then draws the overlay on top; tests draw everything at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Frame,
    Overlay,
    All,
}

/// where the scatter's labels go: `anchors` are the labelled points in pixels, most important
/// first, `sizes` their labels' boxes. a label sits beside its point, `gap` away (right and
/// below, right and above, left and below, left and above: the first that fits), inside
/// `bounds` ((x0, y0), (x1, y1)) and clear of every label placed before it; one that fits
/// nowhere is left out (None). returns each label's top-left corner.
pub fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(u32, u32)],
    bounds: ((i32, i32), (i32, i32)),
    gap: i32,
) -> Vec<Option<(i32, i32)>> {
    let ((bx0, by0), (bx1, by1)) = bounds;
    let mut taken: Vec<(i32, i32, i32, i32)> = Vec::new();
    anchors
        .iter()
        .zip(sizes)
        .map(|(&(x, y), &(w, h))| {
            let (w, h) = (w as i32, h as i32);
            let candidates = [
                (x + gap, y + gap / 2),
                (x + gap, y - h - gap / 2),
                (x - gap - w, y + gap / 2),
                (x - gap - w, y - h - gap / 2),
            ];
            let spot = candidates.into_iter().find(|&(lx, ly)| {
                let fits = lx >= bx0 && ly >= by0 && lx + w <= bx1 && ly + h <= by1;
                fits && taken.iter().all(|&(ax, ay, aw, ah)| {
                    lx + w <= ax || ax + aw <= lx || ly + h <= ay || ay + ah <= ly
                })
            });
            if let Some((lx, ly)) = spot {
                taken.push((lx, ly, w, h));
            }
            spot
        })
        .collect()
}

/// frame, iso-logit curves and labels of the norm-vs-angle chart; returns where the points go.
/// with `Layer::All` the points are drawn too (pixel by pixel: fine for SVG tests).
pub fn draw_cosnorm<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &CosNorm,
    style: &Style,
    layer: Layer,
) -> PlotResult<ScatterCoord> {
    let frame = layer != Layer::Overlay;
    let overlay = layer != Layer::Frame;
    if frame {
        area.fill(&style.palette.bg).map_err(err)?;
    }
    let (cr, nr) = data.ranges;
    let title = style.lang.word("cosnorm");
    let mut chart = ChartBuilder::on(area)
        .caption(
            title,
            // the overlay pass must lay out exactly like the frame pass, so it keeps the
            // caption (drawn in white-on-white space it does not repaint).
            style.caption_font(area, title, 13.0).color(&if frame {
                style.palette.ink.to_rgba()
            } else {
                TRANSPARENT
            }),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(54.0))
        .build_cartesian_2d(cr.0..cr.1, nr.0..nr.1)
        .map_err(err)?;
    if frame {
        chart
            .configure_mesh()
            .max_light_lines(2)
            .light_line_style(style.palette.grid)
            .x_desc(style.lang.word("cos_axis"))
            .y_desc("‖v‖")
            .y_label_formatter(&|v| style.lang.num(compare::axis_number(*v, nr.1 - nr.0)))
            .axis_desc_style(style.font(11.0))
            .label_style(style.font(10.5))
            .draw()
            .map_err(err)?;
    }
    let coord = chart.as_coord_spec().clone();
    if !overlay {
        area.present().map_err(err)?;
        return Ok(coord);
    }
    if layer == Layer::All {
        let buf = rasterize_points(&coord, data.cos, data.norms, &style.palette);
        let ((x0, y0), (w, h)) = plot_rect(&coord);
        let w = w as usize;
        for y in 0..h as usize {
            for x in 0..w {
                let p = &buf[(y * w + x) * 4..(y * w + x) * 4 + 4];
                if p != style.palette.bg_px() {
                    area.draw_pixel((x0 + x as i32, y0 + y as i32), &RGBColor(p[0], p[1], p[2]))
                        .map_err(err)?;
                }
            }
        }
    }
    // curves of equal logit: ‖v‖ = z / (‖h‖ cos θ), on the side where cos θ has z's sign.
    let mut legend = Vec::new();
    for (n, &z) in data.iso_logits.iter().enumerate() {
        if data.h_norm <= 0.0 || z == 0.0 {
            continue;
        }
        let pts: Vec<(f64, f64)> = (0..=200)
            .map(|s| cr.0 + (cr.1 - cr.0) * s as f64 / 200.0)
            .filter(|&c| c * z > 0.0)
            .map(|c| (c, z / (data.h_norm * c)))
            .filter(|&(_, v)| v >= nr.0 && v <= nr.1)
            .collect();
        let color = if n == 0 {
            style.palette.bar
        } else {
            style.palette.muted
        };
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(style.px(1.2))))
            .map_err(err)?;
        legend.push((format!("z = {}", style.lang.num(format!("{z:.2}"))), color));
    }
    // the labelled tokens on top of the cloud: every dot, and as many labels as fit without
    // overlapping (the target and the best by angle placed first).
    let font = style.font(10.5);
    let mut points = Vec::new();
    for (id, text) in data.labelled {
        let i = *id as usize;
        let (Some(&c), Some(&v)) = (data.cos.get(i), data.norms.get(i)) else {
            continue;
        };
        let color = if Some(*id) == data.target {
            style.palette.target
        } else if Some(*id) == data.best_cosine {
            style.palette.self_
        } else {
            style.palette.bar
        };
        let rank = usize::from(color == BAR) + usize::from(color != TARGET);
        points.push((rank, (c, v), label(text, 12), color));
    }
    points.sort_by_key(|p| p.0); // stable: the top by logit keep their order
    let anchors: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(&p.1)).collect();
    let sizes: Vec<(u32, u32)> = points
        .iter()
        .map(|p| area.estimate_text_size(&p.2, &font).unwrap_or((0, 0)))
        .collect();
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let placed = place_labels(
        &anchors,
        &sizes,
        ((xs.start, ys.start), (xs.end, ys.end)),
        style.px(4.0) as i32,
    );
    for ((_, at, text, color), (&anchor, spot)) in
        points.iter().zip(anchors.iter().zip(&placed)).rev()
    {
        chart
            .draw_series(std::iter::once(Circle::new(
                *at,
                style.px(3.5),
                color.filled(),
            )))
            .map_err(err)?;
        if let Some((x, y)) = *spot {
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(*at)
                        + Text::new(
                            text.clone(),
                            (x - anchor.0, y - anchor.1),
                            font.clone().color(color),
                        ),
                ))
                .map_err(err)?;
        }
    }
    draw_legend(
        &chart.plotting_area().strip_coord_spec(),
        &legend,
        Corner::UpperLeft,
        style.palette.bg.mix(0.8),
        style,
    )?;
    area.present().map_err(err)?;
    Ok(coord)
}

/// where a legend sits inside a plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    UpperLeft,
    UpperRight,
    LowerLeft,
    LowerRight,
}

/// a legend of line samples in a corner of `area` (a chart's plotting area, in pixels from
/// its top left): each entry a short line in its colour, then its text, on a box of
/// `background` with a grid-coloured border. every chart's legend is this one function.
/// text sizes come from the backend (the page's measures on the canvas): plotters' own series
/// labels measure each line through a `<span>` in the document, a forced page layout per line.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    corner: Corner,
    background: RGBAColor,
    style: &Style,
) -> PlotResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (aw, ah) = area.dim_in_pixel();
    let (pad, sample, gap, edge) = (
        style.px(8.0) as i32,
        style.px(16.0) as i32,
        style.px(8.0) as i32,
        style.px(5.0) as i32,
    );
    let measure = |font: &TextStyle| -> Vec<(u32, u32)> {
        entries
            .iter()
            .map(|(t, _)| area.estimate_text_size(t, font).unwrap_or((0, 0)))
            .collect()
    };
    // 10.5 px, or smaller (down to 7.5) when the longest line would not fit across the plot.
    let mut size = 10.5;
    let mut sizes = measure(&style.font(size));
    let widest = sizes.iter().map(|s| s.0).max().unwrap_or(0) as f64;
    let room = aw as f64 - (2 * (edge + pad) + sample + gap) as f64;
    if widest > room && room > 0.0 {
        size = (size * room / widest).max(7.5);
        sizes = measure(&style.font(size));
    }
    let font = style.font(size);
    let row = (size * style.scale * 1.25).round() as i32;
    let text_w = sizes.iter().map(|s| s.0 as i32).max().unwrap_or(0);
    let text_h = row * (entries.len() as i32 - 1) + sizes.last().map_or(0, |s| s.1 as i32);
    let (w, h) = (pad + sample + gap + text_w + pad, pad + text_h + pad);
    let x0 = match corner {
        Corner::UpperLeft | Corner::LowerLeft => edge,
        Corner::UpperRight | Corner::LowerRight => aw as i32 - w - edge,
    };
    let y0 = match corner {
        Corner::UpperLeft | Corner::UpperRight => edge,
        Corner::LowerLeft | Corner::LowerRight => ah as i32 - h - edge,
    };
    let frame = [(x0, y0), (x0 + w, y0 + h)];
    area.draw(&Rectangle::new(frame, background.filled()))
        .map_err(err)?;
    area.draw(&Rectangle::new(frame, style.palette.grid))
        .map_err(err)?;
    for (k, ((text, color), size)) in entries.iter().zip(&sizes).enumerate() {
        let y = y0 + pad + k as i32 * row;
        let mid = y + size.1 as i32 / 2;
        let x = x0 + pad;
        area.draw(&PathElement::new(
            vec![(x, mid), (x + sample, mid)],
            color.stroke_width(style.px(1.6)),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            text.clone(),
            (x + sample + gap, y),
            font.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// one axis of the scatter: its value range and the pixels its ends map to.
type Axis = ((f64, f64), (i32, i32));

/// the x (or y) axis of `coord` as [`axis_pixel`] takes it; None when its range is one value
/// (plotters maps everything to the middle then: the caller asks plotters itself).
fn axis_of(coord: &ScatterCoord, x: bool) -> Option<Axis> {
    let r = if x {
        coord.x_spec().range()
    } else {
        coord.y_spec().range()
    };
    if r.start == r.end {
        return None;
    }
    let (a, b) = if x {
        (
            coord.translate(&(r.start, 0.0)).0,
            coord.translate(&(r.end, 0.0)).0,
        )
    } else {
        (
            coord.translate(&(0.0, r.start)).1,
            coord.translate(&(0.0, r.end)).1,
        )
    };
    Some(((r.start, r.end), (a, b)))
}

/// the pixel of `v` on an axis: plotters' `RangedCoordf64::map` (plotters 0.3.7,
/// src/coord/ranged1d/types/numeric.rs) with the same operations in the same order, so every
/// token lands on the pixel `translate` gives it (a test holds them equal), written out so
/// the loop over the vocabulary makes no trait call. the ends of a range map to its pixel
/// limits exactly (`(hi − lo)/(hi − lo)` is 1), which is how [`axis_of`] reads them.
#[inline(always)]
fn axis_pixel(v: f64, ((lo, hi), limit): Axis) -> i32 {
    let logic = (v - lo) / (hi - lo);
    let actual = limit.1 - limit.0;
    if actual == 0 {
        return limit.1;
    }
    if logic.is_infinite() {
        return if logic.is_sign_positive() {
            limit.1
        } else {
            limit.0
        };
    }
    if actual > 0 {
        limit.0 + (actual as f64 * logic + 1e-3).floor() as i32
    } else {
        limit.0 + (actual as f64 * logic - 1e-3).ceil() as i32
    }
}

/// the points of the scatter as an RGBA buffer the size of the plot rectangle
/// ([`plot_rect`]; row-major, white background): what the page blits with one
/// `putImageData`. each token lands on the pixel plotters' own transform gives it.
pub fn rasterize_points(
    coord: &ScatterCoord,
    cos: &[f64],
    norms: &[f64],
    palette: &Palette,
) -> Vec<u8> {
    let ((x0, y0), (w, h)) = plot_rect(coord);
    let (w, h) = (w as usize, h as usize);
    let mut counts = vec![0u16; w * h];
    let (xs, ys) = (axis_of(coord, true), axis_of(coord, false));
    for (&c, &n) in cos.iter().zip(norms) {
        let (x, y) = match (xs, ys) {
            (Some(ax), Some(ay)) => (axis_pixel(c, ax), axis_pixel(n, ay)),
            _ => coord.translate(&(c, n)),
        };
        let (x, y) = ((x - x0) as i64, (y - y0) as i64);
        if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
            let k = y as usize * w + x as usize;
            counts[k] = counts[k].saturating_add(1);
        }
    }
    // one colour per count, darker where more tokens fall on one pixel.
    let shade = |n: u16| -> [u8; 4] {
        let t = (1.0 - 0.75 / (n as f32).sqrt()).clamp(0.25, 1.0);
        let mix =
            |a: u8, b: u8| (a as f32 * t + b as f32 * (1.0 - t) * 0.85 + 40.0 * (1.0 - t)) as u8;
        [
            mix(palette.point[0], palette.faint[0]),
            mix(palette.point[1], palette.faint[1]),
            mix(palette.point[2], palette.faint[2]),
            255,
        ]
    };
    let palette: Vec<[u8; 4]> = (0..64u16)
        .map(|n| if n == 0 { palette.bg_px() } else { shade(n) })
        .collect();
    let mut buf = vec![0u8; w * h * 4];
    for (px, &n) in buf.chunks_exact_mut(4).zip(&counts) {
        px.copy_from_slice(&palette[n.min(63) as usize]);
    }
    buf
}

/// σ_k on a log scale with the cumulative energy, and |σ_k·c_k| (h's share of the logits along
/// direction k). the value range depends on σ only (|σ_k·c_k| is clipped to it), so the frame
/// (`Layer::Frame`: axes, σ_k, energy) can stay while the overlay (`Layer::Overlay`: the
/// |σ_k·c_k| comb, on a transparent canvas above) is redrawn for each h.
pub fn draw_spectrum<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    sigma: &[f64],
    contributions: &[f64],
    energy: &[f64],
    style: &Style,
    layer: Layer,
) -> PlotResult<SpectrumCoord> {
    let frame = layer != Layer::Overlay;
    let overlay = layer != Layer::Frame;
    let energy_first = energy.first().copied().unwrap_or(0.0);
    if frame {
        area.fill(&style.palette.bg).map_err(err)?;
    }
    let n = sigma.len().max(1);
    let smax = sigma.iter().fold(0f64, |m, &x| m.max(x)).max(1e-12);
    let smin = sigma
        .iter()
        .copied()
        .filter(|&x| x > 0.0)
        .fold(smax, f64::min);
    let (lo, hi) = (smin / 100.0, smax * 10.0);
    let caption = style
        .lang
        .word("spectrum")
        .replace("{}", &format!("{:.0}", 100.0 * energy_first));
    let mut chart = ChartBuilder::on(area)
        .caption(
            &caption,
            // the overlay lays out exactly like the frame, so it keeps an invisible caption.
            style.caption_font(area, &caption, 13.0).color(&if frame {
                style.palette.ink.to_rgba()
            } else {
                TRANSPARENT
            }),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(50.0))
        .right_y_label_area_size(style.px(44.0))
        .build_cartesian_2d(1f64..n as f64, (lo..hi).log_scale())
        .map_err(err)?
        .set_secondary_coord(1f64..n as f64, 0f64..1.0);
    let spec = chart.as_coord_spec();
    let xr = spec.get_x_axis_pixel_range();
    let coord = SpectrumCoord {
        k: spec.x_spec().clone(),
        pixels: (xr.start, xr.end),
    };
    if overlay {
        // one comb-shaped path for all |σ_k·c_k| (one stroke, not one per direction).
        let mut comb = Vec::with_capacity(3 * contributions.len());
        for (k, c) in contributions.iter().enumerate() {
            let x = k as f64 + 1.0;
            comb.extend([(x, lo), (x, c.abs().clamp(lo, hi)), (x, lo)]);
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                comb,
                style.palette.target.mix(0.45),
            )))
            .map_err(err)?;
    }
    if !frame {
        area.present().map_err(err)?;
        return Ok(coord);
    }
    chart
        .configure_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .x_desc(style.lang.word("k_axis"))
        .axis_desc_style(style.font(11.0))
        .label_style(style.font(10.5))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            sigma
                .iter()
                .enumerate()
                .map(|(k, &s)| (k as f64 + 1.0, s.max(lo))),
            style.palette.bar.stroke_width(style.px(1.6)),
        ))
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_labels(5)
        .x_labels(0)
        .y_desc(style.lang.word("energy"))
        .y_label_formatter(&|e| format!("{:.0}%", 100.0 * e))
        .axis_desc_style(style.font(11.0))
        .label_style(style.font(10.5))
        .draw()
        .map_err(err)?;
    chart
        .draw_secondary_series(LineSeries::new(
            energy.iter().enumerate().map(|(k, &e)| (k as f64 + 1.0, e)),
            style.palette.ink.mix(0.7).stroke_width(style.px(1.2)),
        ))
        .map_err(err)?;
    draw_legend(
        &chart.plotting_area().strip_coord_spec(),
        &[
            ("σ_k".into(), style.palette.bar),
            (style.lang.word("energy_legend").into(), style.palette.ink),
            ("|σ_k·c_k|, c = Vᵀh".into(), style.palette.target),
        ],
        Corner::UpperRight,
        style.palette.bg.mix(0.9),
        style,
    )?;
    area.present().map_err(err)?;
    Ok(coord)
}

/// the loss over gradient steps, and the pull of v_true against the push of Σ p_i v_i;
/// returns where the steps went (none before a target is picked).
pub fn draw_loss<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    history: &[Loss],
    grad: Option<&GradientParts>,
    style: &Style,
) -> PlotResult<Option<ScatterCoord>> {
    area.fill(&style.palette.bg).map_err(err)?;
    if history.is_empty() {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            style.lang.word("pick"),
            ((w / 2) as i32, (h / 2) as i32),
            style.font(13.0).color(&style.palette.muted).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
        ))
        .map_err(err)?;
        area.present().map_err(err)?;
        return Ok(None);
    }
    let (left, right) = area.split_horizontally((area.dim_in_pixel().0 as f64 * 0.62) as u32);
    // steps keep their own positions; an infinite loss (T = 0, target not the arg-max) has no
    // point and is said in words when it is the latest.
    let finite: Vec<(f64, f64)> = history
        .iter()
        .enumerate()
        .filter_map(|(s, l)| match l {
            Loss::Finite(l) => Some((s as f64, *l)),
            Loss::Infinite => None,
        })
        .collect();
    let lmax = finite.iter().fold(0.0f64, |m, &(_, l)| m.max(l)).max(1e-3);
    // steps are whole numbers: only whole ticks are labelled, never "0 0 0 1 1 1".
    let steps = (history.len().max(2) - 1) as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            style.lang.word("loss"),
            style.caption_font(&left, style.lang.word("loss"), 13.0),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(44.0))
        .build_cartesian_2d(0f64..steps, 0f64..lmax * 1.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .x_desc(style.lang.word("step"))
        .x_labels((steps as usize + 1).min(6))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .axis_desc_style(style.font(11.0))
        .label_style(style.font(10.5))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            finite.iter().copied(),
            style.palette.target.stroke_width(style.px(1.8)),
        ))
        .map_err(err)?;
    chart
        .draw_series(
            finite
                .iter()
                .map(|&(s, l)| Circle::new((s, l), style.px(2.5), style.palette.target.filled())),
        )
        .map_err(err)?;
    if history.last() == Some(&Loss::Infinite) {
        let (w, h) = left.dim_in_pixel();
        left.draw(&Text::new(
            style.lang.word("loss_inf"),
            ((w / 2) as i32, (h / 2) as i32),
            style.font(12.0).color(&style.palette.target).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
        ))
        .map_err(err)?;
    }
    let bars: Vec<(&str, f64, RGBColor)> = match grad {
        Some(g) => vec![
            (style.lang.word("pull"), g.pull_norm, style.palette.target),
            (style.lang.word("push"), g.push_norm, style.palette.bar),
            ("‖∇L‖", g.norm, style.palette.ink),
        ],
        None => Vec::new(),
    };
    let coord = chart.as_coord_spec().clone();
    if bars.is_empty() {
        // no gradient (an infinite loss has none): no empty axes either.
        area.present().map_err(err)?;
        return Ok(Some(coord));
    }
    let bmax = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9);
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "‖v_true‖, ‖Σ p_i v_i‖, ‖∇L‖",
            style.caption_font(&right, "‖v_true‖, ‖Σ p_i v_i‖, ‖∇L‖", 12.0),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(10.0))
        .build_cartesian_2d((0..bars.len() as u32).into_segmented(), 0f64..bmax * 1.2)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .label_style(style.font(10.0))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars
                .get(*i as usize)
                .map(|b| b.0.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, c))| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(i as u32), 0.0),
                    (SegmentValue::Exact(i as u32 + 1), *v),
                ],
                c.mix(0.8).filled(),
            )
        }))
        .map_err(err)?;
    area.present().map_err(err)?;
    Ok(Some(coord))
}

#[cfg(test)]
mod tests;
