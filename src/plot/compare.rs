//! the Compare view's charts: two (or more) models' spectra side by side, normalised
//! (σ_k/σ_1, log scale) and as cumulative energy with each model's effective rank, and each
//! model's histograms of ‖w_i‖ and of cos(w_i, μ), every axis fitted to its own data. the
//! numbers come from `core::compare::Profile`; nothing is computed here but pixels.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, err, Corner, PlotResult, Style};
use crate::core::compare::{Histogram, Profile};

/// the colour of the n-th model (the first in the bars' blue, the second in the target's
/// orange: both keep 4.5:1 on the ground, so names in them are readable).
fn model_color(style: &Style, n: usize) -> RGBColor {
    match n % 3 {
        0 => style.palette.bar,
        1 => style.palette.target,
        _ => style.palette.self_,
    }
}

/// a model's name as a chart shows it: spaces kept (it is not a token), controls and invisible
/// characters escaped, cut at `max` characters.
fn name(text: &str, max: usize) -> String {
    let e = crate::core::vocab::escaped(text);
    if e.chars().count() > max {
        e.chars().take(max - 1).chain(['…']).collect()
    } else {
        e
    }
}

/// whether `area` is wide enough to put two charts side by side (else they are stacked).
fn wide<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> bool {
    let (w, h) = area.dim_in_pixel();
    w as f64 >= 1.6 * h as f64
}

/// a number on an axis that spans `span`: enough decimals that neighbouring ticks differ
/// (Gemma's norms span 0.0075, SmolLM2's 5.7).
pub fn axis_number(v: f64, span: f64) -> String {
    let digits = if span > 0.0 && span.is_finite() {
        (1.0 - span.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    format!("{v:.digits$}")
}

/// the spectra of `profiles`: σ_k/σ_1 on a log scale (left or top) and the cumulative energy
/// Σ_{j≤k} σ_j² / Σ σ_j² (right or below), one colour per model, each model's effective rank
/// marked on both as a dashed vertical line and the 90 % energy level as a grid line.
pub fn draw_compare_spectra<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    profiles: &[&Profile],
    style: &Style,
) -> PlotResult<()> {
    area.fill(&style.palette.bg).map_err(err)?;
    let parts = if wide(area) {
        area.split_evenly((1, 2))
    } else {
        area.split_evenly((2, 1))
    };
    let kmax = profiles
        .iter()
        .map(|p| p.sigma_rel.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let smin = profiles
        .iter()
        .flat_map(|p| p.sigma_rel.iter().copied())
        .filter(|&s| s > 0.0)
        .fold(1f64, f64::min);
    let lo = smin / 2.0;
    let w = |k: &str| style.lang.word(k);

    // σ_k / σ_1.
    let mut chart = ChartBuilder::on(&parts[0])
        .caption(
            w("cmp_sigma"),
            style.caption_font(&parts[0], w("cmp_sigma"), 13.0),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(50.0))
        .build_cartesian_2d(1f64..kmax, (lo..1.2f64).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .x_desc(w("k_axis"))
        .x_label_formatter(&|k| format!("{k:.0}"))
        .y_desc("σ_k / σ_1")
        .axis_desc_style(style.font(11.0))
        .label_style(style.font(10.5))
        .draw()
        .map_err(err)?;
    let mut legend = Vec::new();
    for (n, p) in profiles.iter().enumerate() {
        let c = model_color(style, n);
        chart
            .draw_series(LineSeries::new(
                p.sigma_rel
                    .iter()
                    .enumerate()
                    .map(|(k, &s)| (k as f64 + 1.0, s.max(lo))),
                c.stroke_width(style.px(1.6)),
            ))
            .map_err(err)?;
        legend.push((name(&p.summary.name, 28), c));
        let r = p.summary.effective_rank;
        chart
            .draw_series(DashedLineSeries::new(
                [(r, lo), (r, 1.2)],
                style.px(4.0),
                style.px(3.0),
                c.stroke_width(style.px(1.0)),
            ))
            .map_err(err)?;
    }
    draw_legend(
        &chart.plotting_area().strip_coord_spec(),
        &legend,
        Corner::LowerLeft,
        style.palette.bg.mix(0.9),
        style,
    )?;

    // cumulative energy, with the effective ranks.
    let mut chart = ChartBuilder::on(&parts[1])
        .caption(
            w("cmp_energy"),
            style.caption_font(&parts[1], w("cmp_energy"), 13.0),
        )
        .margin(style.px(8.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(50.0))
        .build_cartesian_2d(1f64..kmax, 0f64..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .max_light_lines(2)
        .light_line_style(style.palette.grid)
        .x_desc(w("k_axis"))
        .x_label_formatter(&|k| format!("{k:.0}"))
        .y_desc(w("energy"))
        .y_label_formatter(&|e| format!("{:.0}%", 100.0 * e))
        .axis_desc_style(style.font(11.0))
        .label_style(style.font(10.5))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(1.0, 0.9), (kmax, 0.9)],
            style.palette.muted.stroke_width(style.px(1.0)),
        ))
        .map_err(err)?;
    let mut legend = Vec::new();
    for (n, p) in profiles.iter().enumerate() {
        let c = model_color(style, n);
        let r = p.summary.effective_rank;
        chart
            .draw_series(LineSeries::new(
                p.energy
                    .iter()
                    .enumerate()
                    .map(|(k, &e)| (k as f64 + 1.0, e)),
                c.stroke_width(style.px(1.6)),
            ))
            .map_err(err)?;
        legend.push((
            w("cmp_rank")
                .replace("{name}", &name(&p.summary.name, 18))
                .replace("{r}", &style.lang.num(format!("{r:.1}")))
                .replace("{k90}", &p.summary.energy_90.to_string()),
            c,
        ));
        chart
            .draw_series(DashedLineSeries::new(
                [(r, 0.0), (r, 1.0)],
                style.px(4.0),
                style.px(3.0),
                c.stroke_width(style.px(1.0)),
            ))
            .map_err(err)?;
        // where 90 % of ‖W_U‖² is reached.
        let k90 = p.summary.energy_90 as f64;
        chart
            .draw_series(std::iter::once(Circle::new(
                (k90, 0.9),
                style.px(3.5),
                c.filled(),
            )))
            .map_err(err)?;
    }
    // the curves start above 25 % and rise: the bottom stays clear.
    draw_legend(
        &chart.plotting_area().strip_coord_spec(),
        &legend,
        Corner::LowerRight,
        style.palette.bg.mix(0.9),
        style,
    )?;
    area.present().map_err(err)?;
    Ok(())
}

/// one histogram: bars over [lo, hi] (the data's own range), the mean as a line.
fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    axis: &str,
    h: &Histogram,
    mean: f64,
    color: RGBColor,
    style: &Style,
) -> PlotResult<()> {
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    let span = h.hi - h.lo;
    let mut chart = ChartBuilder::on(area)
        .caption(title, style.caption_font(area, title, 12.0).color(&color))
        .margin(style.px(6.0))
        .x_label_area_size(style.px(30.0))
        .y_label_area_size(style.px(56.0))
        .build_cartesian_2d(h.lo..h.hi, 0f64..top)
        .map_err(err)?;
    let lang = style.lang;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(style.palette.grid)
        .x_labels(5)
        .y_labels(4)
        .x_desc(axis)
        .y_desc(style.lang.word("cmp_tokens"))
        .x_label_formatter(&|v| lang.num(axis_number(*v, span)))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .axis_desc_style(style.font(10.5))
        .label_style(style.font(10.0))
        .draw()
        .map_err(err)?;
    let bw = h.width();
    chart
        .draw_series(h.counts.iter().enumerate().map(|(i, &c)| {
            let x0 = h.lo + i as f64 * bw;
            Rectangle::new([(x0, 0.0), (x0 + bw, c as f64)], color.mix(0.75).filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(mean, 0.0), (mean, top)],
            style.palette.ink.stroke_width(style.px(1.2)),
        ))
        .map_err(err)?;
    Ok(())
}

/// every model's histograms of ‖w_i‖ and of cos(w_i, μ), one row per model (one column when
/// the area is narrow), each axis fitted to its own data, titled with the model, the mean and
/// the standard deviation.
pub fn draw_compare_histograms<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    profiles: &[&Profile],
    style: &Style,
) -> PlotResult<()> {
    area.fill(&style.palette.bg).map_err(err)?;
    let n = profiles.len().max(1);
    let (aw, ah) = area.dim_in_pixel();
    let cells = if aw >= ah {
        area.split_evenly((n, 2))
    } else {
        area.split_evenly((2 * n, 1))
    };
    let w = |k: &str| style.lang.word(k);
    let stat = |m: f64, s: f64| {
        w("cmp_stat")
            .replace("{m}", &style.lang.num(format!("{m:.4}")))
            .replace("{s}", &style.lang.num(format!("{s:.4}")))
    };
    for (i, p) in profiles.iter().enumerate() {
        let c = model_color(style, i);
        let who = name(&p.summary.name, 24);
        let s = &p.summary;
        draw_histogram(
            &cells[2 * i],
            &format!("{who}: ‖v_i‖ ({})", stat(s.norms.mean, s.norms.std)),
            "‖v_i‖",
            &p.norms,
            s.norms.mean,
            c,
            style,
        )?;
        draw_histogram(
            &cells[2 * i + 1],
            &format!(
                "{who}: {} ({})",
                w("cmp_cos_mu"),
                stat(s.anisotropy.mean, s.anisotropy.std)
            ),
            w("cmp_cos_axis"),
            &p.cos_mean,
            s.anisotropy.mean,
            c,
            style,
        )?;
    }
    area.present().map_err(err)?;
    Ok(())
}
