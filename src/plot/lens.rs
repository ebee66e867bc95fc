//! the logit lens as a heatmap: layers up, positions across, each cell labelled with the token
//! that layer would predict there and coloured by a chosen quantity; under it the commitment
//! strip: for each position, the first layer from which the final prediction is top-3, top-1,
//! and above p = 0.5.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, label, PlotResult, Style, INK};
use crate::core::lens::{Grid as LensGrid, Quantity};

/// the drawn heatmap's geometry, for hover: the cells' pixel box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LensRect {
    pub x0: i32,
    pub y0: i32,
    pub cell_w: f64,
    pub cell_h: f64,
    pub rows: usize,
    pub cols: usize,
}

impl LensRect {
    /// the (row, col) under pixel (x, y), if any.
    pub fn at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let fx = (x - self.x0 as f64) / self.cell_w;
        let fy = (y - self.y0 as f64) / self.cell_h;
        if fx < 0.0 || fy < 0.0 || fx >= self.cols as f64 || fy >= self.rows as f64 {
            return None;
        }
        // the top row on screen is the last layer.
        Some((self.rows - 1 - fy as usize, fx as usize))
    }
}

/// a perceptual colour for t in [0, 1] (viridis, by its published control points).
pub fn viridis(t: f64) -> RGBColor {
    const P: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = t * (P.len() - 1) as f64;
    let i = (f.floor() as usize).min(P.len() - 2);
    let u = f - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * u).round() as u8;
    RGBColor(
        mix(P[i].0, P[i + 1].0),
        mix(P[i].1, P[i + 1].1),
        mix(P[i].2, P[i + 1].2),
    )
}

/// where a value falls on the colour scale (0 … 1).
pub fn scale_of(q: Quantity, v: f64, max: f64) -> f64 {
    match q {
        Quantity::TopProb | Quantity::TokenProb => v,
        // rank 1 is bright, 1000 and beyond dark.
        Quantity::TokenRank => 1.0 - (v.max(1.0).ln() / 1000f64.ln()).min(1.0),
        Quantity::Kl | Quantity::Entropy => 1.0 - (v / max.max(1e-9)).min(1.0),
    }
}

/// text that reads on a background: white on dark cells, ink on light ones.
fn text_on(c: RGBColor) -> RGBColor {
    let l = 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
    if l < 140.0 {
        RGBColor(255, 255, 255)
    } else {
        INK
    }
}

/// draws the heatmap and the commitment strip; returns where the cells are.
pub fn draw_lens<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    g: &LensGrid,
    style: &Style,
) -> PlotResult<LensRect> {
    area.fill(&style.palette.bg).map_err(err)?;
    let (w, h) = area.dim_in_pixel();
    let px = |v: f64| (v * style.scale).round() as i32;
    let strip_rows = if g.commitment.is_empty() { 0 } else { 3 };
    let left = px(64.0);
    let right = px(70.0);
    let top = px(22.0);
    let bottom = px(34.0) + strip_rows * px(16.0) + if strip_rows > 0 { px(20.0) } else { 0 };
    let gw = (w as i32 - left - right).max(1) as f64;
    let gh = (h as i32 - top - bottom).max(1) as f64;
    let rect = LensRect {
        x0: left,
        y0: top,
        cell_w: gw / g.cols.max(1) as f64,
        cell_h: gh / g.rows.max(1) as f64,
        rows: g.rows,
        cols: g.cols,
    };
    let lang = style.lang;
    let title = match (g.quantity, lang == super::Lang::Vi) {
        (Quantity::TopProb, false) => {
            "logit lens: each layer's top token, coloured by its probability"
        }
        (Quantity::TopProb, true) => {
            "logit lens: token đứng đầu ở mỗi tầng, màu theo xác suất của nó"
        }
        (Quantity::TokenProb, false) => "logit lens: colour = probability of the chosen token",
        (Quantity::TokenProb, true) => "logit lens: màu = xác suất của token được chọn",
        (Quantity::TokenRank, false) => {
            "logit lens: colour = rank of the chosen token (bright = first)"
        }
        (Quantity::TokenRank, true) => "logit lens: màu = hạng của token được chọn (sáng = hạng 1)",
        (Quantity::Kl, false) => {
            "logit lens: colour = KL divergence to the last layer (bright = agrees)"
        }
        (Quantity::Kl, true) => "logit lens: màu = phân kỳ KL so với tầng cuối (sáng = khớp)",
        (Quantity::Entropy, false) => "logit lens: colour = entropy (bright = certain)",
        (Quantity::Entropy, true) => "logit lens: màu = entropy (sáng = chắc chắn)",
    };
    let font = |size: f64| ("sans-serif", size * style.scale).into_font();
    area.draw(&Text::new(
        title,
        (left, px(4.0)),
        font(12.5).color(&style.palette.ink),
    ))
    .map_err(err)?;
    let max = g
        .scale_max
        .unwrap_or_else(|| g.values.iter().flatten().fold(0f64, |m, &v| m.max(v)));
    let chars = ((rect.cell_w / (6.2 * style.scale)) as usize).clamp(1, 12);
    let label_font = (rect.cell_h / style.scale * 0.62).clamp(6.0, 11.0);
    for r in 0..g.rows {
        let y = top as f64 + (g.rows - 1 - r) as f64 * rect.cell_h;
        for c in 0..g.cols {
            let x = left as f64 + c as f64 * rect.cell_w;
            let k = r * g.cols + c;
            let (x0, y0, x1, y1) = (
                x as i32,
                y as i32,
                (x + rect.cell_w) as i32,
                (y + rect.cell_h) as i32,
            );
            let fill = match g.values.get(k).copied().flatten() {
                Some(v) => viridis(scale_of(g.quantity, v, max)),
                None => style.palette.empty,
            };
            area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
                .map_err(err)?;
            let text = g.labels.get(k).map(String::as_str).unwrap_or("");
            if !text.is_empty() && rect.cell_h >= 7.0 * style.scale {
                area.draw(&Text::new(
                    label(text, chars),
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    font(label_font)
                        .color(&text_on(fill))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(err)?;
            }
        }
        // layer numbers: every row when they fit, else every few.
        let every = ((10.0 * style.scale / rect.cell_h).ceil() as usize).max(1);
        if r % every == 0 || r == g.rows - 1 {
            let name = if r == 0 {
                if lang == super::Lang::Vi {
                    "nhúng".to_string()
                } else {
                    "embed".to_string()
                }
            } else {
                g.row_names
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| format!("{r}"))
            };
            area.draw(&Text::new(
                name,
                (left - px(4.0), (y + rect.cell_h / 2.0) as i32),
                font(10.0)
                    .color(&style.palette.muted)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    // the grid's frame, the selected cell.
    area.draw(&Rectangle::new(
        [(left, top), (left + gw as i32, top + gh as i32)],
        style.palette.grid.stroke_width(1),
    ))
    .map_err(err)?;
    if let Some((r, c)) = g.selected.filter(|&(r, c)| r < g.rows && c < g.cols) {
        let x = left as f64 + c as f64 * rect.cell_w;
        let y = top as f64 + (g.rows - 1 - r) as f64 * rect.cell_h;
        area.draw(&Rectangle::new(
            [
                (x as i32, y as i32),
                ((x + rect.cell_w) as i32, (y + rect.cell_h) as i32),
            ],
            style.palette.target.stroke_width(px(2.0).max(2) as u32),
        ))
        .map_err(err)?;
    }
    // the inputs under their columns.
    let ytext = top + gh as i32 + px(4.0);
    let every = ((44.0 * style.scale / rect.cell_w).ceil() as usize).max(1);
    for (c, s) in g.inputs.iter().enumerate() {
        if c % every != 0 {
            continue;
        }
        let x = left as f64 + (c as f64 + 0.5) * rect.cell_w;
        area.draw(&Text::new(
            label(s, chars.max(4)),
            (x as i32, ytext),
            font(10.0)
                .color(&style.palette.ink)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
    }
    // the colour bar.
    let bx = left + gw as i32 + px(12.0);
    let bw = px(12.0);
    let steps = 64;
    for s in 0..steps {
        let t = 1.0 - s as f64 / steps as f64;
        let y0 = top + (gh * s as f64 / steps as f64) as i32;
        let y1 = top + (gh * (s + 1) as f64 / steps as f64) as i32;
        area.draw(&Rectangle::new(
            [(bx, y0), (bx + bw, y1)],
            viridis(t).filled(),
        ))
        .map_err(err)?;
    }
    let (hi, lo) = match g.quantity {
        Quantity::TopProb | Quantity::TokenProb => ("1".to_string(), "0".to_string()),
        Quantity::TokenRank => ("#1".to_string(), "#1000+".to_string()),
        Quantity::Kl | Quantity::Entropy => ("0".to_string(), lang.num(format!("{max:.2}"))),
    };
    for (s, y, v) in [(hi, top, VPos::Top), (lo, top + gh as i32, VPos::Bottom)] {
        area.draw(&Text::new(
            s,
            (bx + bw + px(3.0), y),
            font(10.0)
                .color(&style.palette.muted)
                .pos(Pos::new(HPos::Left, v)),
        ))
        .map_err(err)?;
    }
    // the commitment strip.
    if strip_rows > 0 {
        let sy = ytext + px(18.0);
        let sh = px(16.0) as f64;
        let names: [&str; 3] = if lang == super::Lang::Vi {
            ["top-3 từ", "top-1 từ", "p > 0,5 từ"]
        } else {
            ["top-3 from", "top-1 from", "p > 0.5 from"]
        };
        for (k, name) in names.iter().enumerate() {
            let y = sy as f64 + k as f64 * sh;
            area.draw(&Text::new(
                *name,
                (left - px(4.0), (y + sh / 2.0) as i32),
                font(9.5)
                    .color(&style.palette.muted)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
            for (c, row) in g.commitment.iter().enumerate() {
                let x = left as f64 + c as f64 * rect.cell_w;
                let (x0, y0, x1, y1) = (
                    x as i32 + 1,
                    y as i32 + 1,
                    (x + rect.cell_w) as i32 - 1,
                    (y + sh) as i32 - 1,
                );
                let (fill, text) = match row[k] {
                    // an early commitment is bright, a late one dark.
                    Some(r) => (
                        viridis(1.0 - r as f64 / (g.rows - 1).max(1) as f64),
                        g.row_names
                            .get(r)
                            .cloned()
                            .unwrap_or_else(|| format!("{r}")),
                    ),
                    None => (style.palette.empty, "–".to_string()),
                };
                area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
                    .map_err(err)?;
                area.draw(&Text::new(
                    text,
                    ((x0 + x1) / 2, (y0 + y1) / 2),
                    font(9.0)
                        .color(&text_on(fill))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(err)?;
            }
        }
    }
    area.present().map_err(err)?;
    Ok(rect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lens::{Grid as LensGrid, Quantity};
    use plotters::backend::SVGBackend;

    fn grid() -> LensGrid {
        let (rows, cols) = (5, 4);
        LensGrid {
            rows,
            cols,
            quantity: Quantity::TopProb,
            labels: (0..rows * cols).map(|k| format!("t{k}")).collect(),
            values: (0..rows * cols)
                .map(|k| if k == 3 { None } else { Some(k as f64 / 20.0) })
                .collect(),
            inputs: vec![
                " The".into(),
                " capital".into(),
                " of".into(),
                "<script>".into(),
            ],
            commitment: vec![[Some(2), Some(3), None]; cols],
            scale_max: None,
            selected: Some((4, 1)),
            row_names: vec![],
        }
    }

    #[test]
    fn cells_labels_and_the_strip_are_drawn_and_hover_finds_them() {
        let g = grid();
        let mut out = String::new();
        let rect = {
            let area = SVGBackend::with_string(&mut out, (600, 400)).into_drawing_area();
            draw_lens(&area, &g, &Style::default()).unwrap()
        };
        for k in [0, 7, 19] {
            let want = format!("t{k}");
            assert!(out.lines().any(|l| l.trim() == want), "label t{k}");
        }
        assert!(out.contains("top-1 from") && out.contains("logit lens"));
        assert!(!out.contains("<script>"), "inputs are drawn inert");
        // every cell's centre maps back to it; the top row on screen is the last layer.
        for r in 0..g.rows {
            for c in 0..g.cols {
                let x = rect.x0 as f64 + (c as f64 + 0.5) * rect.cell_w;
                let y = rect.y0 as f64 + ((g.rows - 1 - r) as f64 + 0.5) * rect.cell_h;
                assert_eq!(rect.at(x, y), Some((r, c)));
            }
        }
        assert_eq!(rect.at(rect.x0 as f64 - 3.0, rect.y0 as f64 + 3.0), None);
    }

    #[test]
    fn the_scales_run_the_right_way() {
        assert!(scale_of(Quantity::TokenRank, 1.0, 0.0) > scale_of(Quantity::TokenRank, 50.0, 0.0));
        assert_eq!(scale_of(Quantity::TokenRank, 5000.0, 0.0), 0.0);
        assert!(scale_of(Quantity::Kl, 0.0, 3.0) > scale_of(Quantity::Kl, 2.0, 3.0));
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
    }
}
