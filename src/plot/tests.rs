//! the charts render natively to SVG: they draw, they carry the labels a student reads, and
//! hostile token texts stay inert.

use super::charts::{self, Chart, Charts, Hovered};
use super::*;
use crate::core::fixtures::tiny_model;
use crate::core::maths::min_max;
use crate::core::session::{Controls, Session};
use plotters::backend::SVGBackend;

fn svg(w: u32, h: u32, f: impl FnOnce(&DrawingArea<SVGBackend, Shift>)) -> String {
    let mut out = String::new();
    {
        let area = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        f(&area);
    }
    out
}

fn session() -> (crate::core::model::Model, Session) {
    let mut m = tiny_model(60, 64);
    m.ensure_spectrum(&mut |_| true).unwrap();
    let mut s = Session::new();
    let c = Controls {
        base: " king".into(),
        target: " woman".into(),
        steps: 3,
        ..Default::default()
    };
    s.update(&mut m, &c).unwrap();
    (m, s)
}

#[test]
fn topk_draws_bars_and_labels() {
    let (m, s) = session();
    let (v, _) = s.view(&m).unwrap();
    let out = svg(500, 300, |a| {
        draw_topk(a, &v.readout.top, 1.0, Some(2), &Style::default()).unwrap();
    });
    assert!(out.contains("top tokens by logit"));
    assert!(out.matches("<rect").count() >= 10);
    assert!(out.contains(&label(&v.readout.top[0].text, 14)));
}

#[test]
fn cosnorm_frames_the_cloud_and_rasterizes_every_point() {
    let (m, s) = session();
    let (v, sc) = s.view(&m).unwrap();
    let labels = charts::labelled(&v);
    let data = CosNorm {
        cos: &sc.cos,
        norms: m.norms(),
        h_norm: v.readout.h_norm,
        labelled: &labels,
        best_cosine: Some(v.readout.by_cosine[0].id),
        target: Some(2),
        iso_logits: &[v.readout.top[0].logit, v.readout.top[4].logit],
        ranges: cosnorm_ranges(&sc.cos, m.norm_range()),
    };
    let mut coord = None;
    let out = svg(600, 400, |a| {
        coord = Some(draw_cosnorm(a, &data, &Style::default(), Layer::All).unwrap())
    });
    let coord = coord.unwrap();
    assert!(out.contains("z = "));
    let ((x0, y0), (w, h)) = plot_rect(&coord);
    assert!(w > 100 && h > 100);
    let buf = rasterize_points(&coord, &sc.cos, m.norms(), &Palette::LIGHT);
    assert_eq!(buf.len(), (w * h * 4) as usize);
    let painted = buf.chunks(4).filter(|p| *p != BG).count();
    assert!(
        painted > 30 && painted <= 60,
        "{painted} pixels for 60 tokens"
    );
    // every token's pixel is inside the rectangle, and higher norms are higher up.
    for (c, n) in sc.cos.iter().zip(m.norms()) {
        let (x, y) = coord.translate(&(*c, *n));
        assert!(x >= x0 && x <= x0 + w as i32 && y >= y0 && y <= y0 + h as i32);
    }
    let (_, low) = coord.translate(&(0.0, 0.0));
    let (_, high) = coord.translate(&(0.0, 1.0));
    assert!(high < low);
}

#[test]
fn the_scatters_own_axis_map_is_plotters_translate() {
    // frames of several sizes and ranges, values inside, on the ends and outside.
    for (w, h, cr, nr) in [
        (600, 400, (-0.3, 0.9), (0.0, 4.0)),
        (377, 233, (-1.05, 1.05), (1.028, 1.035)),
        (1200, 801, (0.1, 0.2), (2.5, 7.25)),
    ] {
        let mut coord = None;
        svg(w, h, |a| {
            let chart = ChartBuilder::on(a)
                .margin(7)
                .x_label_area_size(31)
                .y_label_area_size(43)
                .build_cartesian_2d(cr.0..cr.1, nr.0..nr.1)
                .unwrap();
            coord = Some(chart.as_coord_spec().clone());
        });
        let coord = coord.unwrap();
        let (ax, ay) = (
            axis_of(&coord, true).unwrap(),
            axis_of(&coord, false).unwrap(),
        );
        let mut rng = crate::core::rng::Rng::new(7);
        for k in 0..20000 {
            let (c, n) = match k {
                0 => (cr.0, nr.0),
                1 => (cr.1, nr.1),
                _ => (
                    cr.0 + (cr.1 - cr.0) * (1.2 * rng.uniform() - 0.1),
                    nr.0 + (nr.1 - nr.0) * (1.2 * rng.uniform() - 0.1),
                ),
            };
            assert_eq!(
                (axis_pixel(c, ax), axis_pixel(n, ay)),
                coord.translate(&(c, n)),
                "{c} {n}"
            );
        }
    }
}

#[test]
fn the_scatter_fits_its_norm_axis_to_the_norms() {
    // Gemma 3's norms: all within [1.028, 1.035].
    let norms = [1.0281, 1.031, 1.0349];
    let (_, (lo, hi)) = cosnorm_ranges(&[0.1, 0.2, 0.3], min_max(&norms));
    assert!(
        lo > 1.02 && lo < 1.0281 && hi > 1.0349 && hi < 1.04,
        "{lo} {hi}"
    );
    // never below 0, and one norm alone still gets a range.
    let (_, (lo, _)) = cosnorm_ranges(&[0.1, 0.2], min_max(&[0.01, 5.0]));
    assert_eq!(lo, 0.0);
    let (_, (lo, hi)) = cosnorm_ranges(&[0.1], min_max(&[2.0]));
    assert!(lo < 2.0 && hi > 2.0);
}

fn profiles() -> (crate::core::compare::Profile, crate::core::compare::Profile) {
    let mut a = tiny_model(60, 64);
    let mut b = tiny_model(40, 32);
    (
        crate::core::compare::profile(&mut a, 20, &mut |_| true).unwrap(),
        crate::core::compare::profile(&mut b, 20, &mut |_| true).unwrap(),
    )
}

#[test]
fn compare_spectra_name_each_model_and_its_effective_rank() {
    let (a, b) = profiles();
    for (w, h) in [(900, 320), (360, 640)] {
        let out = svg(w, h, |area| {
            compare::draw_compare_spectra(area, &[&a, &b], &Style::default()).unwrap();
        });
        assert!(out.contains("σ_k / σ₁"));
        assert!(out.contains("cumulative energy"));
        let r = format!("effective rank {:.1}", a.summary.effective_rank);
        assert!(out.contains(&r), "{r}");
        assert!(out.contains(&format!("90% at k = {}", b.summary.energy_90)));
    }
}

#[test]
fn compare_histograms_fit_each_axis_to_its_data() {
    let (a, b) = profiles();
    let out = svg(900, 500, |area| {
        compare::draw_compare_histograms(area, &[&a, &b], &Style::default()).unwrap();
    });
    assert!(out.contains("‖v_i‖") && out.contains("cos(v_i, μ)"));
    // 20 bars per histogram, four histograms.
    assert!(out.matches("<rect").count() >= 80);
    assert!(out.contains(&format!("mean {:.4}", a.summary.norms.mean)));
    let vi = svg(400, 900, |area| {
        let style = Style {
            lang: Lang::Vi,
            ..Style::default()
        };
        compare::draw_compare_histograms(area, &[&a, &b], &style).unwrap();
    });
    assert!(vi.contains("trung bình"));
}

#[test]
fn axis_numbers_keep_neighbouring_ticks_apart() {
    assert_eq!(compare::axis_number(1.0305, 0.0075), "1.0305");
    assert_eq!(compare::axis_number(3.5, 5.7), "3.5");
    assert_eq!(compare::axis_number(120.0, 400.0), "120");
}

#[test]
fn the_scatter_labels_the_top_the_best_by_angle_and_the_target() {
    let (m, s) = session();
    let (v, _) = s.view(&m).unwrap();
    let ids: Vec<u32> = charts::labelled(&v).iter().map(|(id, _)| *id).collect();
    let r = &v.readout;
    for e in r.top.iter().take(5).chain(r.by_cosine.iter().take(3)) {
        assert!(ids.contains(&e.id));
    }
    assert!(ids.contains(&r.target.as_ref().unwrap().entry.id));
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "no token is labelled twice");
}

#[test]
fn hover_asks_the_drawn_charts() {
    let (m, s) = session();
    let (v, sc) = s.view(&m).unwrap();
    let mut charts = Charts::new();
    let style = Style::default();
    // before anything is drawn, nothing is under the cursor.
    assert!(charts
        .hover(Chart::Topk, (10.0, 10.0), 5.0, &v, &sc, &m)
        .is_none());
    let mut bars = None;
    svg(500, 300, |a| {
        charts.draw_topk(a, &v, &style).unwrap();
        bars = Some(draw_topk(a, &v.readout.top, 1.0, None, &style).unwrap());
    });
    // the middle of row r's bar (and of its label, left of the plot) names the r-th token.
    let bars = bars.unwrap();
    let k = v.readout.top.len();
    let ((x0, y0), (w, h)) = plot_rect(&bars);
    assert_eq!(k, 10);
    for r in 0..k {
        // the bars fill the plot from top to bottom, one row each.
        let y = y0 as f64 + (r as f64 + 0.5) * h as f64 / k as f64;
        for x in [x0 as f64 + w as f64 / 3.0, x0 as f64 - 20.0] {
            match charts.hover(Chart::Topk, (x, y), 5.0, &v, &sc, &m) {
                Some(Hovered::Token(e)) => assert_eq!(e.id, v.readout.top[r].id, "row {r}"),
                other => panic!("row {r}: {other:?}"),
            }
        }
    }
    assert!(charts
        .hover(
            Chart::Topk,
            (x0 as f64 + 5.0, (y0 + h as i32 + 40) as f64),
            5.0,
            &v,
            &sc,
            &m
        )
        .is_none());

    // the scatter: the pixel of a token finds that token, with its ranks.
    let mut blits = 0;
    svg(600, 400, |a| {
        charts
            .draw_cosnorm(a, &v, &sc, &m, &style, &mut |buf, _, (w, h)| {
                assert_eq!(buf.len(), (w * h * 4) as usize);
                blits += 1;
                Ok(())
            })
            .unwrap();
    });
    assert_eq!(blits, 1);
    let t = v.readout.top[0].id as usize;
    let at = {
        let mut coord = None;
        svg(600, 400, |a| {
            let labels = charts::labelled(&v);
            let data = CosNorm {
                cos: &sc.cos,
                norms: m.norms(),
                h_norm: v.readout.h_norm,
                labelled: &labels,
                best_cosine: None,
                target: None,
                iso_logits: &[],
                ranges: cosnorm_ranges(&sc.cos, m.norm_range()),
            };
            coord = Some(draw_cosnorm(a, &data, &style, Layer::Frame).unwrap());
        });
        coord.unwrap().translate(&(sc.cos[t], m.norms()[t]))
    };
    match charts.hover(Chart::Cosnorm, (at.0 as f64, at.1 as f64), 0.5, &v, &sc, &m) {
        Some(Hovered::Token(e)) => {
            // another token may share the pixel; it must be that close.
            let (c, n) = (sc.cos[e.id as usize], m.norms()[e.id as usize]);
            assert!((c - sc.cos[t]).abs() < 0.02 && (n - m.norms()[t]).abs() < 0.05);
            assert_eq!(e, sc.entry(&m, e.id as usize).unwrap());
        }
        other => panic!("{other:?}"),
    }
    // the same state on the same canvas draws nothing again.
    svg(600, 400, |a| {
        charts
            .draw_cosnorm(a, &v, &sc, &m, &style, &mut |_, _, _| {
                blits += 1;
                Ok(())
            })
            .unwrap();
    });
    assert_eq!(blits, 1, "an unchanged scatter is not redrawn");

    // the spectrum: x picks a direction k from 1 to d.
    let mut cleared = 0;
    svg(600, 300, |back| {
        svg(600, 300, |front| {
            charts
                .draw_spectrum(back, front, &v, &m, &style, &mut || {
                    cleared += 1;
                    Ok(())
                })
                .unwrap();
        });
    });
    assert_eq!(cleared, 1);
    let d = m.d();
    let mut seen = Vec::new();
    for x in 0..600 {
        if let Some(Hovered::Direction { k, sigma, .. }) =
            charts.hover(Chart::Spectrum, (x as f64, 150.0), 5.0, &v, &sc, &m)
        {
            assert_eq!(sigma, m.spectrum.as_ref().unwrap().sigma[k - 1]);
            seen.push(k);
        }
    }
    assert_eq!(seen.first(), Some(&1));
    assert_eq!(seen.last(), Some(&d));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn spectrum_and_loss_draw() {
    let (m, s) = session();
    let (v, _) = s.view(&m).unwrap();
    let sp = m.spectrum.as_ref().unwrap();
    let energy = sp.cumulative_energy();
    let out = svg(600, 300, |a| {
        draw_spectrum(
            a,
            &sp.sigma.to_vec(),
            &v.contributions,
            &energy,
            &Style {
                scale: 2.0,
                ..Style::default()
            },
            Layer::All,
        )
        .unwrap();
    });
    assert!(out.contains("σ_k") && out.contains("cumulative energy"));
    let t = v.readout.target.as_ref().unwrap();
    let out = svg(600, 250, |a| {
        draw_loss(a, &v.loss_history, t.gradient.as_ref(), &Style::default()).unwrap();
    });
    assert!(out.contains("loss L"));
    assert!(out.contains("pull") && out.contains("push"));
    // no target, no steps: still draws.
    svg(300, 200, |a| {
        draw_loss(a, &[], None, &Style::default()).unwrap();
    });
}

#[test]
fn loss_chart_counts_whole_steps_and_names_an_infinite_loss() {
    // two steps: the axis reads 0 and 1 once each (not "0 0 0 1 1 1").
    let out = svg(600, 250, |a| {
        draw_loss(
            a,
            &[Loss::Finite(2.0), Loss::Finite(1.5)],
            None,
            &Style::default(),
        )
        .unwrap();
    });
    let ticks: Vec<&str> = out
        .split("<text")
        .filter_map(|t| t.split('>').nth(1))
        .map(|t| t.trim_end_matches("</text").trim())
        .filter(|t| *t == "0" || *t == "1")
        .collect();
    assert_eq!(ticks, ["0", "1"], "{out}");
    // T = 0 with a target that is not the arg-max: L = ∞ has no point, and is said in words.
    let out = svg(600, 250, |a| {
        draw_loss(a, &[Loss::Infinite], None, &Style::default()).unwrap();
    });
    assert!(out.contains("L = ∞"), "{out}");
    // and no gradient panel with an axis of "0.0" repeated.
    assert!(!out.contains("‖∇L‖"), "{out}");
    let out = svg(600, 250, |a| {
        draw_loss(
            a,
            &[Loss::Infinite, Loss::Finite(3.0)],
            None,
            &Style::default(),
        )
        .unwrap();
    });
    assert!(!out.contains("L = ∞"));
}

#[test]
fn labels_are_visible_and_inert() {
    assert_eq!(label(" Paris", 14), "␣Paris");
    assert_eq!(label("a\nb\t", 14), "a\\nb\\t");
    assert_eq!(label("\u{202E}evil", 14), "\\u{202E}evil");
    assert_eq!(label("x\u{200B}y", 14), "x\\u{200B}y");
    assert_eq!(label("abcdefghij", 4), "abcd…");
    // markup is text to plotters' SVG writer: it must come out escaped.
    let out = svg(300, 120, |a| {
        a.draw(&Text::new(
            label("<img src=x onerror=alert(1)>", 40),
            (5, 20),
            ("sans-serif", 12),
        ))
        .unwrap();
    });
    assert!(!out.contains("<img"), "{out}");
}

#[test]
fn vietnamese_words_and_decimal_commas() {
    let (m, s) = session();
    let (v, _) = s.view(&m).unwrap();
    let vi = Style {
        lang: Lang::parse("vi-VN"),
        ..Style::default()
    };
    let out = svg(500, 300, |a| {
        draw_topk(a, &v.readout.top, 0.5, None, &vi).unwrap();
    });
    assert!(
        out.contains("token có logit cao nhất") && out.contains("T = 0,5"),
        "{out}"
    );
    let out = svg(300, 200, |a| {
        draw_loss(a, &[], None, &vi).unwrap();
    });
    assert!(out.contains("chọn một token đích"));
    assert_eq!(Lang::parse("en-GB"), Lang::En);
}

#[test]
fn language_tags_bcp47_vi_or_english() {
    for tag in ["vi", "vi-VN", "VI-vn", "Vi", "vi-Latn-VN"] {
        assert_eq!(Lang::parse(tag), Lang::Vi, "{tag}");
    }
    for tag in [
        "",
        "en",
        "en_US",
        "vi_VN",
        "x",
        "video",
        "viet",
        "-vi",
        " vi",
        "\u{0}",
        "vi\u{202E}",
    ] {
        assert_eq!(Lang::parse(tag), Lang::En, "{tag:?}");
    }
}

/// WCAG 2 contrast ratio of two colours.
fn contrast(a: RGBColor, b: RGBColor) -> f64 {
    let lum = |c: RGBColor| {
        let ch = |v: u8| {
            let v = v as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c.0) + 0.7152 * ch(c.1) + 0.0722 * ch(c.2)
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn both_palettes_keep_chart_text_readable() {
    for p in [Palette::LIGHT, Palette::DARK] {
        for (name, c) in [
            ("ink", p.ink),
            ("muted", p.muted),
            ("bar", p.bar),
            ("target", p.target),
            ("self", p.self_),
        ] {
            let r = contrast(c, p.bg);
            assert!(r >= 4.5, "{name} on {:?}: {r:.2}", p.bg);
        }
    }
    assert_eq!(Palette::parse("dark"), Palette::DARK);
    assert_eq!(Palette::parse("auto"), Palette::LIGHT);
}

#[test]
fn the_dark_palette_draws_on_a_dark_ground() {
    let (m, s) = session();
    let (v, _) = s.view(&m).unwrap();
    let dark = Style {
        palette: Palette::DARK,
        ..Style::default()
    };
    let out = svg(500, 300, |a| {
        draw_topk(a, &v.readout.top, 0.5, None, &dark).unwrap();
    });
    assert!(out.contains("#181C24"), "dark ground");
    assert!(!out.contains("#FFFFFF"), "nothing white");
    let light = svg(500, 300, |a| {
        draw_topk(a, &v.readout.top, 0.5, None, &Style::default()).unwrap();
    });
    assert!(light.contains("#FFFFFF"));
}

#[test]
fn scatter_labels_never_overlap_and_stay_inside() {
    // twelve points in a clump (as the top tokens often are) and one alone.
    let mut anchors: Vec<(i32, i32)> = (0..12)
        .map(|k| (200 + (k % 3) * 6, 100 + (k / 3) * 5))
        .collect();
    anchors.push((395, 10));
    let sizes = vec![(60u32, 12u32); anchors.len()];
    let bounds = ((0, 0), (400, 300));
    let placed = place_labels(&anchors, &sizes, bounds, 4);
    let boxes: Vec<(i32, i32)> = placed.iter().flatten().copied().collect();
    // the first (most important) always gets a place; the lone point goes left of itself.
    assert!(placed[0].is_some());
    assert_eq!(placed[12], Some((395 - 4 - 60, 12)));
    assert!(boxes.len() >= 5, "{placed:?}");
    for (i, &(x, y)) in boxes.iter().enumerate() {
        assert!(x >= 0 && y >= 0 && x + 60 <= 400 && y + 12 <= 300);
        for &(u, v) in &boxes[i + 1..] {
            assert!(
                x + 60 <= u || u + 60 <= x || y + 12 <= v || v + 12 <= y,
                "({x}, {y}) and ({u}, {v}) overlap"
            );
        }
    }
}

#[test]
fn loss_hover_names_the_step_under_the_cursor() {
    let (m, s) = session();
    let (mut v, sc) = s.view(&m).unwrap();
    v.loss_history = vec![Loss::Finite(3.0), Loss::Finite(2.0), Loss::Finite(1.0)];
    let mut charts = Charts::new();
    let style = Style::default();
    let mut coord = None;
    svg(600, 250, |a| {
        charts.draw_loss(a, &v, &style).unwrap();
        coord = draw_loss(a, &v.loss_history, None, &style).unwrap();
    });
    let coord = coord.unwrap();
    for step in 0..3 {
        let (x, y) = coord.translate(&(step as f64, 1.0));
        match charts.hover(Chart::Loss, (x as f64 + 2.0, y as f64), 5.0, &v, &sc, &m) {
            Some(Hovered::Step { step: s, loss }) => {
                assert_eq!(s, step);
                assert_eq!(loss, v.loss_history[step]);
            }
            other => panic!("step {step}: {other:?}"),
        }
    }
    // outside the plot: nothing.
    assert!(charts
        .hover(Chart::Loss, (599.0, 249.0), 5.0, &v, &sc, &m)
        .is_none());
}
