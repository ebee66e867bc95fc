//! the charts render natively to SVG: they draw, they carry the labels a student reads, and
//! hostile token texts stay inert.

use super::*;
use crate::core::model::tests::tiny_model;
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
    let v = s.view(&m).unwrap();
    let out = svg(500, 300, |a| {
        draw_topk(a, &v.by_logit, 1.0, Some(2), &Style::default()).unwrap();
    });
    assert!(out.contains("top tokens by logit"));
    assert!(out.matches("<rect").count() >= 10);
    assert!(out.contains(&label(&v.by_logit[0].entry.text, 14)));
}

#[test]
fn cosnorm_frames_the_cloud_and_rasterizes_every_point() {
    let (m, s) = session();
    let v = s.view(&m).unwrap();
    let cos: Vec<f64> = (0..m.n_vocab())
        .map(|i| crate::core::maths::cosine(s.z()[i], m.norms()[i], v.h_norm))
        .collect();
    let labelled: Vec<(u32, String)> = v
        .by_logit
        .iter()
        .take(5)
        .map(|r| (r.entry.id, r.entry.text.clone()))
        .collect();
    let data = CosNorm {
        cos: &cos,
        norms: m.norms(),
        h_norm: v.h_norm,
        labelled: &labelled,
        best_cosine: Some(v.by_cosine[0].entry.id),
        target: Some(2),
        iso_logits: &[v.by_logit[0].entry.logit, v.by_logit[4].entry.logit],
    };
    let mut rect = None;
    let out = svg(600, 400, |a| {
        rect = Some(draw_cosnorm(a, &data, &Style::default(), Layer::All).unwrap())
    });
    let rect = rect.unwrap();
    assert!(out.contains("z = "));
    assert!(rect.x.1 > rect.x.0 + 100 && rect.y.1 > rect.y.0 + 100);
    let buf = rasterize_points(&rect, &cos, m.norms());
    let w = (rect.x.1 - rect.x.0) as usize;
    assert_eq!(buf.len(), w * (rect.y.1 - rect.y.0) as usize * 4);
    let painted = buf.chunks(4).filter(|p| *p != BG).count();
    assert!(
        painted > 30 && painted <= 60,
        "{painted} pixels for 60 tokens"
    );
    // every token's pixel is inside the rectangle.
    for (c, n) in cos.iter().zip(m.norms()) {
        let (x, y) = rect.pixel(*c, *n as f64);
        assert!(x >= rect.x.0 && x <= rect.x.1 && y >= rect.y.0 && y <= rect.y.1);
    }
}

#[test]
fn spectrum_and_loss_draw() {
    let (m, s) = session();
    let v = s.view(&m).unwrap();
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
                lang: Lang::En,
            },
            Layer::All,
        )
        .unwrap();
    });
    assert!(out.contains("σ_k") && out.contains("cumulative energy"));
    let t = v.target.as_ref().unwrap();
    let out = svg(600, 250, |a| {
        draw_loss(a, &v.loss_history, t.grad.as_ref(), &Style::default()).unwrap()
    });
    assert!(out.contains("loss L"));
    assert!(out.contains("pull") && out.contains("push"));
    // no target, no steps: still draws.
    svg(300, 200, |a| {
        draw_loss(a, &[], None, &Style::default()).unwrap()
    });
}

#[test]
fn loss_chart_counts_whole_steps_and_names_an_infinite_loss() {
    // two steps: the axis reads 0 and 1 once each (not "0 0 0 1 1 1").
    let out = svg(600, 250, |a| {
        draw_loss(a, &[2.0, 1.5], None, &Style::default()).unwrap()
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
        draw_loss(a, &[f64::INFINITY], None, &Style::default()).unwrap()
    });
    assert!(out.contains("L = ∞"), "{out}");
    // and no gradient panel with an axis of "0.0" repeated.
    assert!(!out.contains("‖∇L‖"), "{out}");
    let out = svg(600, 250, |a| {
        draw_loss(a, &[f64::INFINITY, 3.0], None, &Style::default()).unwrap()
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
    let v = s.view(&m).unwrap();
    let vi = Style {
        scale: 1.0,
        lang: Lang::parse("vi-VN"),
    };
    let out = svg(500, 300, |a| {
        draw_topk(a, &v.by_logit, 0.5, None, &vi).unwrap();
    });
    assert!(
        out.contains("token có logit cao nhất") && out.contains("T = 0,5"),
        "{out}"
    );
    let out = svg(300, 200, |a| draw_loss(a, &[], None, &vi).unwrap());
    assert!(out.contains("chọn một token đích"));
    assert_eq!(Lang::parse("en-GB"), Lang::En);
}
