//! the explorer's state: h built from the page's controls, with the logits of every piece
//! cached, so that a slider step costs a few additions over the vocabulary instead of a full
//! product. everything here is linear in h:
//!
//!   h = scale·((1 − mix)·h_base + mix·v_with) + noise·n_seed + Σ_k a_k·v_k + δ_steps
//!   z = scale·((1 − mix)·z_base + mix·z_with) + noise·E·n_seed + Σ_k a_k·E·v_k + E·δ_steps
//!
//! with v_k the right singular vectors (E·v_k = σ_k·u_k). each cached product is the exact
//! kernel's, and the sums are in f64, so z matches a fresh product on the same h to about
//! 1e-12 relative. gradient steps replay from the other controls, so a state is reproducible
//! from its controls alone (the URL).
//!
//! what an update costs in full passes over the vocabulary (counted by
//! [`Unembedding`](super::model::Unembedding)): a slider (scale, mix, noise, the singular
//! directions, temperature, top) none; a new base, mix token or noise seed one; with a target
//! at T > 0 the view adds one transposed pass (the gradient's Σ p_i w_i); each gradient step
//! two (Σ p_i w_i, then W_U·δh), and a change of any other control replays every step.

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::hidden;
use super::maths::Softmax;
use super::model::Model;
use super::query::finite;
use super::readout::{Gradient, Loss, Ranking, Readout, ReadoutOptions, Scores};
use super::vocab;

/// the longest top-k list the explorer shows (a URL may ask; the tables are DOM rows).
pub const MAX_TOP: usize = 500;

/// how many singular directions get a slider.
pub const N_DIRECTIONS: usize = 8;

/// what the controls say; every field has a default, so a partial object (or URL) is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Controls {
    /// a token's text (` Paris`), `#id`, or an expression (`king - man + woman`); when `h`
    /// is given, a description of it.
    pub base: String,
    /// h_base given as numbers (d of them) instead of by `base`: a hidden state from
    /// elsewhere (a model's layer, a file). empty when `base` says it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub h: Vec<f32>,
    /// a token to mix toward ("" for none), and how far (0 = h_base, 1 = v_with).
    pub mix_with: String,
    pub mix: f64,
    pub scale: f64,
    /// per-component standard deviation of the added Gaussian noise, and its seed.
    pub noise: f64,
    pub seed: u64,
    /// offsets a_k along the first singular directions v_1, v_2, ….
    pub coeffs: Vec<f64>,
    pub temperature: f64,
    /// the target token for loss and gradient ("" for none), learning rate, steps taken.
    pub target: String,
    pub lr: f64,
    pub steps: u32,
    pub top: usize,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            base: " Paris".into(),
            h: Vec::new(),
            mix_with: String::new(),
            mix: 0.0,
            scale: 1.0,
            noise: 0.0,
            seed: 1,
            coeffs: Vec::new(),
            temperature: 1.0,
            target: String::new(),
            lr: 0.5,
            steps: 0,
            top: 10,
        }
    }
}

/// a vector and its logits.
#[derive(Debug, Clone, Default)]
struct Piece {
    key: String,
    /// the numbers a piece given as numbers was made from (the key of `Controls::h`).
    given: Vec<f32>,
    h: Vec<f64>,
    z: Vec<f64>,
    /// c = Vᵀh of the piece, once the model has a spectrum (empty until then).
    c: Vec<f64>,
}

impl Piece {
    fn new(model: &Model, key: String, h: Vec<f32>) -> Result<Self> {
        let z = model.unembedding().logits(&h)?;
        Ok(Piece {
            key,
            given: Vec::new(),
            h: h.into_iter().map(f64::from).collect(),
            z,
            c: Vec::new(),
        })
    }
}

/// the cached pieces and the current h and z.
#[derive(Debug, Default)]
pub struct Session {
    base: Piece,
    with: Option<Piece>,
    noise: Option<Piece>,
    dirs: Vec<Piece>,
    steps: Piece,
    steps_key: String,
    steps_done: u32,
    loss_history: Vec<f64>,
    h: Vec<f32>,
    z: Vec<f64>,
    /// c = Vᵀh for the current h (empty without a spectrum).
    coords: Vec<f64>,
    controls: Controls,
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }

    pub fn h(&self) -> &[f32] {
        &self.h
    }
    pub fn z(&self) -> &[f64] {
        &self.z
    }
    pub fn controls(&self) -> &Controls {
        &self.controls
    }
    /// L after each step taken (the first entry is the loss before any step).
    pub fn loss_history(&self) -> &[f64] {
        &self.loss_history
    }

    /// brings the caches up to date with `c` and recomputes h and z.
    pub fn update(&mut self, model: &mut Model, c: &Controls) -> Result<()> {
        check(c)?;
        if self.base.key != c.base || self.base.given != c.h || self.base.z.len() != model.n_vocab()
        {
            let h = if c.h.is_empty() {
                resolve(model, &c.base)?
            } else {
                given(model, &c.h)?
            };
            self.base = Piece::new(model, c.base.clone(), h)?;
            self.base.given = c.h.clone();
        }
        self.with = match c.mix_with.as_str() {
            "" => None,
            w if self.with.as_ref().is_some_and(|p| p.key == w) => self.with.take(),
            w => {
                let v = model.token_vector(model.vocab.find(w)?)?;
                Some(Piece::new(model, w.to_string(), v)?)
            }
        };
        // the noise piece stays cached while noise is 0, so dragging through 0 costs nothing.
        let key = c.seed.to_string();
        if c.noise != 0.0 && self.noise.as_ref().is_none_or(|p| p.key != key) {
            let n = hidden::gaussian(model.d(), c.seed)
                .into_iter()
                .map(|x| x as f32)
                .collect();
            self.noise = Some(Piece::new(model, key, n)?);
        }
        let want_dirs = c.coeffs.len().min(N_DIRECTIONS);
        if want_dirs > 0 && self.dirs.len() < N_DIRECTIONS {
            let s = model.ensure_spectrum(&mut |_| true)?.clone();
            let k = N_DIRECTIONS.min(s.v.ncols());
            self.dirs = Vec::with_capacity(k);
            for i in 0..k {
                let v: Vec<f32> = s.v.column(i).iter().map(|&x| x as f32).collect();
                let p = Piece::new(model, format!("v{i}"), v)?;
                self.dirs.push(p);
            }
        }
        // steps replay from the rest of the state: any other change starts them over.
        let mut rest = c.clone();
        rest.steps = 0;
        rest.temperature = 0.0;
        rest.top = 0;
        let key = serde_json::to_string(&(&rest, c.temperature)).unwrap_or_default();
        if key != self.steps_key || c.steps < self.steps_done {
            self.steps_key = key;
            self.steps_done = 0;
            self.steps = Piece::default();
            self.loss_history.clear();
        }
        self.controls = c.clone();
        self.combine(model)?;
        let target = match c.target.as_str() {
            "" => None,
            t => Some(model.vocab.find(t)?),
        };
        if let Some(t) = target {
            if self.loss_history.is_empty() {
                self.loss_history.push(self.loss(t, c.temperature)?);
            }
            while self.steps_done < c.steps {
                self.step(model, t)?;
            }
        } else if c.steps > 0 {
            return Err(Error::Invalid("gradient steps need a target token".into()));
        }
        Ok(())
    }

    fn loss(&self, target: u32, t: f64) -> Result<f64> {
        Ok(Softmax::new(&self.z, t)?.loss(&self.z, target as usize))
    }

    /// one step of gradient descent on L = −log p_target: δ ← δ − lr·∇_h L (two passes: the
    /// gradient's Σ p_i w_i, and W_U·δh to keep z in step with h).
    fn step(&mut self, model: &Model, target: u32) -> Result<()> {
        let c = &self.controls;
        let sm = Softmax::new(&self.z, c.temperature)?;
        let g = Gradient::new(model, &sm, target)?;
        let dh: Vec<f32> = g.grad.iter().map(|&x| (-c.lr * x as f64) as f32).collect();
        let dz = model.unembedding().logits(&dh)?;
        let d = model.d();
        if self.steps.h.is_empty() {
            self.steps = Piece {
                h: vec![0.0; d],
                z: vec![0.0; dz.len()],
                ..Piece::default()
            };
        }
        for (s, &x) in self.steps.h.iter_mut().zip(&dh) {
            *s += x as f64;
        }
        for (s, &x) in self.steps.z.iter_mut().zip(&dz) {
            *s += x;
        }
        self.steps.c.clear();
        self.steps_done += 1;
        self.combine(model)?;
        let t = self.controls.temperature;
        self.loss_history.push(self.loss(target, t)?);
        Ok(())
    }

    /// h and z from the cached pieces.
    fn combine(&mut self, model: &Model) -> Result<()> {
        // c = Vᵀh is linear too: each piece's coordinates once, then the same weighted sum.
        if let Some(sp) = &model.spectrum {
            let pieces = std::iter::once(&mut self.base)
                .chain(self.with.iter_mut())
                .chain(self.noise.iter_mut())
                .chain(self.dirs.iter_mut())
                .chain(std::iter::once(&mut self.steps));
            for p in pieces {
                if p.c.is_empty() && !p.h.is_empty() {
                    let h: Vec<f32> = p.h.iter().map(|&x| x as f32).collect();
                    p.c = sp.coords(&h)?;
                }
            }
        }
        let c = &self.controls;
        let n = model.n_vocab();
        let d = model.d();
        let (keep, t) = match &self.with {
            Some(_) => (1.0 - c.mix, c.mix),
            None => (1.0, 0.0),
        };
        let mut terms: Vec<(f64, &Piece)> = vec![(c.scale * keep, &self.base)];
        if let Some(w) = &self.with {
            terms.push((c.scale * t, w));
        }
        if let Some(p) = self.noise.as_ref().filter(|_| c.noise != 0.0) {
            terms.push((c.noise, p));
        }
        for (a, p) in c.coeffs.iter().zip(&self.dirs) {
            if *a != 0.0 {
                terms.push((*a, p));
            }
        }
        if !self.steps.h.is_empty() {
            terms.push((1.0, &self.steps));
        }
        let mut h = vec![0f64; d];
        let mut z = vec![0f64; n];
        let with_c = model.spectrum.is_some() && terms.iter().all(|(_, p)| p.c.len() == d);
        let mut coords = vec![0f64; if with_c { d } else { 0 }];
        for (w, p) in terms {
            for (a, &x) in h.iter_mut().zip(&p.h) {
                *a += w * x;
            }
            for (a, &x) in z.iter_mut().zip(&p.z) {
                *a += w * x;
            }
            for (a, &x) in coords.iter_mut().zip(&p.c) {
                *a += w * x;
            }
        }
        self.coords = coords;
        if let Some(j) = h
            .iter()
            .position(|x| x.is_nan() || x.abs() >= f32::MAX as f64)
        {
            return Err(Error::Invalid(format!("h[{j}] is too large")));
        }
        self.h = h.into_iter().map(|x| x as f32).collect();
        self.z = z;
        Ok(())
    }

    /// everything the page shows for the current state, and the scores of every token (the
    /// scatter and hover read them).
    pub fn view(&self, model: &Model) -> Result<(View, Scores)> {
        let c = &self.controls;
        let scores = Scores::new(model, &self.h, self.z.clone(), c.temperature)?;
        let target = match c.target.as_str() {
            "" => None,
            t => Some(model.vocab.find(t)?),
        };
        let opts = ReadoutOptions {
            temperature: c.temperature,
            top: c.top,
            ranked_by: Ranking::Logit,
            cosine_top: c.top,
            target,
        };
        let readout = Readout::new(model, &scores, &opts, None)?;
        let coords = match &model.spectrum {
            Some(_) if self.coords.len() == self.h.len() => self.coords.clone(),
            Some(s) => s.coords(&self.h)?,
            None => Vec::new(),
        };
        let contributions = match &model.spectrum {
            Some(s) => s.contributions(&coords),
            None => Vec::new(),
        };
        let view = View {
            readout,
            coords: coords.into_iter().take(64).collect(),
            contributions,
            loss_history: self
                .loss_history
                .iter()
                .map(|&l| Loss::from_f64(l))
                .collect(),
        };
        Ok((view, scores))
    }
}

fn check(c: &Controls) -> Result<()> {
    for (name, v) in [
        ("mix", c.mix),
        ("scale", c.scale),
        ("noise", c.noise),
        ("temperature", c.temperature),
        ("learning rate", c.lr),
    ] {
        finite(name, v)?;
    }
    if c.noise < 0.0 || c.temperature < 0.0 {
        return Err(Error::Invalid("noise and temperature must be ≥ 0".into()));
    }
    if let Some(a) = c.coeffs.iter().find(|a| !a.is_finite()) {
        return Err(Error::Invalid(format!("a coefficient is {a}")));
    }
    if c.steps > 1000 {
        return Err(Error::Invalid("at most 1000 gradient steps".into()));
    }
    if c.top > MAX_TOP {
        return Err(Error::Invalid(format!(
            "at most {MAX_TOP} rows in the tables"
        )));
    }
    Ok(())
}

/// h given as numbers: d finite values.
fn given(model: &Model, h: &[f32]) -> Result<Vec<f32>> {
    if h.len() != model.d() {
        return Err(Error::Shape(format!(
            "h has {} components, the model has d = {}",
            h.len(),
            model.d()
        )));
    }
    if let Some(j) = h.iter().position(|x| !x.is_finite()) {
        return Err(Error::Invalid(format!("h[{j}] is {}", h[j])));
    }
    Ok(h.to_vec())
}

/// the base of h: a token's exact text or `#id` first, else an expression.
pub fn resolve(model: &Model, s: &str) -> Result<Vec<f32>> {
    match model.vocab.find(s) {
        Ok(id) => model.token_vector(id),
        Err(not_found) => hidden::eval_expr(model, s).map_err(|e| match e {
            // a single unknown word: the token message is the clearer one.
            Error::NotFound(_) | Error::UnknownToken { .. } if !s.trim().contains(' ') => not_found,
            other => other,
        }),
    }
}

/// what the page shows for one state: the readout of h (top tokens by logit and by cosine
/// with both ranks, the softmax's summaries, the target), h in the singular basis, and the
/// loss after each gradient step.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    #[serde(flatten)]
    pub readout: Readout,
    /// c = Vᵀh (first 64) and σ_k·c_k (all).
    pub coords: Vec<f64>,
    pub contributions: Vec<f64>,
    pub loss_history: Vec<Loss>,
}

impl View {
    /// the top-k table as CSV (fields quoted; a leading = + - @ is defused for spreadsheets).
    pub fn csv(&self) -> String {
        let mut out = String::from("rank,id,token,text,logit,p,norm,cos,cos_rank\n");
        for (k, e) in self.readout.top.iter().enumerate() {
            out += &format!(
                "{},{},{},{},{},{},{},{},{}\n",
                k + 1,
                e.id,
                csv_field(&vocab::escaped(&e.token)),
                csv_field(&vocab::escaped(&e.text)),
                e.logit,
                e.prob,
                e.norm,
                e.cos,
                e.cos_rank
            );
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_field(" Paris"), "\" Paris\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
    use crate::core::fixtures::tiny_model;
    use crate::core::query::{hidden_state, QuerySpec};

    #[test]
    fn cached_logits_match_a_full_product() {
        let mut m = tiny_model(60, 64);
        let mut s = Session::new();
        let c = Controls {
            base: "king - man + woman".into(),
            mix_with: " t9".into(),
            mix: 0.3,
            scale: 1.7,
            noise: 0.05,
            seed: 4,
            coeffs: vec![0.5, -0.25, 0.0, 1.0],
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let z = m.unembedding().logits(s.h()).unwrap();
        for (a, b) in s.z().iter().zip(&z) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} {b}");
        }
        // c = Vᵀh, summed from the pieces, matches a direct product.
        let direct = m.spectrum.as_ref().unwrap().coords(s.h()).unwrap();
        let (v, _) = s.view(&m).unwrap();
        for (a, b) in v.coords.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()), "{a} {b}");
        }
        // the same h as the CLI builds from the same controls (without the coefficients).
        let q = QuerySpec {
            expr: Some(c.base.clone()),
            mix_with: Some(c.mix_with.clone()),
            mix: Some(c.mix),
            scale: Some(c.scale),
            noise: Some(c.noise),
            seed: Some(c.seed),
            ..Default::default()
        };
        let want = hidden_state(&m, &q).unwrap();
        let mut s2 = Session::new();
        s2.update(
            &mut m,
            &Controls {
                coeffs: vec![],
                ..c.clone()
            },
        )
        .unwrap();
        for (a, b) in s2.h().iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn sliders_reuse_the_cached_products() {
        let mut m = tiny_model(40, 64);
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            mix_with: " man".into(),
            noise: 0.1,
            coeffs: vec![0.0; 8],
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        s.view(&m).unwrap();
        let after_first = m.unembedding().passes();
        for k in 0..20 {
            c.mix = k as f64 / 20.0;
            c.scale = 1.0 + k as f64 / 10.0;
            c.temperature = 0.5 + k as f64 / 10.0;
            c.noise = 0.01 * k as f64;
            c.coeffs[k % 8] = k as f64 / 7.0;
            c.top = 5 + k % 3;
            s.update(&mut m, &c).unwrap();
            s.view(&m).unwrap();
        }
        assert_eq!(m.unembedding().passes(), after_first);
        // a target at T > 0 costs one transposed pass per view, and each step two.
        c.target = " woman".into();
        s.update(&mut m, &c).unwrap();
        let before = m.unembedding().passes();
        s.view(&m).unwrap();
        assert_eq!(m.unembedding().passes(), before + 1);
        c.steps = 3;
        s.update(&mut m, &c).unwrap();
        assert_eq!(m.unembedding().passes(), before + 1 + 2 * 3);
        c.temperature = 0.0;
        c.steps = 0;
        s.update(&mut m, &c).unwrap();
        let before = m.unembedding().passes();
        s.view(&m).unwrap();
        assert_eq!(m.unembedding().passes(), before, "no gradient at T = 0");
    }

    #[test]
    fn a_given_h_is_the_base() {
        let mut m = tiny_model(40, 64);
        let mut s = Session::new();
        let v5 = m.token_vector(5).unwrap();
        let c = Controls {
            base: "layer 3".into(),
            h: v5.clone(),
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        assert_eq!(s.h(), &v5[..]);
        for bad in [vec![0.5; 63], {
            let mut h = v5.clone();
            h[7] = f32::NAN;
            h
        }] {
            let c = Controls {
                h: bad,
                ..c.clone()
            };
            assert!(s.update(&mut m, &c).is_err());
        }
    }

    #[test]
    fn coefficient_offsets_move_h_along_singular_directions() {
        let mut m = tiny_model(40, 64);
        m.ensure_spectrum(&mut |_| true).unwrap();
        let mut s = Session::new();
        let c = Controls {
            base: " king".into(),
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let c0 = s.view(&m).unwrap().0.coords;
        let c2 = Controls {
            coeffs: vec![0.0, 0.75],
            ..c
        };
        s.update(&mut m, &c2).unwrap();
        let c1 = s.view(&m).unwrap().0.coords;
        assert!((c1[1] - c0[1] - 0.75).abs() < 1e-5);
        assert!((c1[0] - c0[0]).abs() < 1e-5 && (c1[2] - c0[2]).abs() < 1e-5);
    }

    #[test]
    fn gradient_steps_raise_the_target_and_replay() {
        let mut m = tiny_model(50, 64);
        let mut s = Session::new();
        let mut c = Controls {
            base: " king".into(),
            target: " woman".into(),
            lr: 0.5,
            ..Default::default()
        };
        s.update(&mut m, &c).unwrap();
        let p0 = s.view(&m).unwrap().0.readout.target.unwrap().entry.prob;
        c.steps = 5;
        s.update(&mut m, &c).unwrap();
        let (v, _) = s.view(&m).unwrap();
        let p5 = v.readout.target.as_ref().unwrap().entry.prob;
        assert!(p5 > p0, "{p0} → {p5}");
        assert_eq!(v.loss_history.len(), 6);
        assert!(v
            .loss_history
            .windows(2)
            .all(|w| w[1].value() <= w[0].value() + 1e-9));
        // a fresh session with the same controls lands on the same h.
        let mut s2 = Session::new();
        s2.update(&mut m, &c).unwrap();
        assert_eq!(s.h(), s2.h());
        // changing the temperature starts the steps over (they depend on it).
        c.temperature = 0.7;
        s.update(&mut m, &c).unwrap();
        assert_eq!(s.loss_history().len(), 6);
    }

    #[test]
    fn bad_controls_are_errors() {
        let mut m = tiny_model(20, 32);
        let mut s = Session::new();
        for c in [
            Controls {
                base: "zzz".into(),
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                temperature: -1.0,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                scale: f64::NAN,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                steps: 3,
                ..Default::default()
            },
            Controls {
                base: " t9".into(),
                scale: 1e300,
                ..Default::default()
            },
        ] {
            assert!(s.update(&mut m, &c).is_err(), "{c:?}");
        }
        // and the session still works.
        s.update(
            &mut m,
            &Controls {
                base: " t9".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
}
