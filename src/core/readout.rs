//! the readout of one hidden state h: z = W_U·h over the whole vocabulary and everything the
//! lesson reads off it, built in one place. the CLI's JSON (`unembed query --json`), the
//! façade's `query`, the page's `Widget.update` (inside the session's `View`), hover and the
//! lens all serialise a value made here.
//!
//!   z_i = w_i·h = ‖w_i‖·‖h‖·cos θ_i                       (logit, norm, angle)
//!   p_i = exp((z_i − z_max)/T − log_sum)                  (softmax at temperature T)
//!   H   = −Σ p_i ln p_i                                    (entropy, nats)
//!   L   = −ln p_t = log_sum − (z_t − z_max)/T              (loss of a target t)
//!   ∇_h L = (Σ_i p_i w_i − w_t)/T                          (push minus pull)

use serde::{Deserialize, Serialize, Serializer};

use super::error::{Error, Result};
use super::maths::{cosine, norm, ranks, top_k, Softmax};
use super::model::Model;
use super::vocab;

/// how many characters of a token tables and sentences show.
pub const SHOWN_CHARS: usize = 48;

/// which score orders a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Ranking {
    #[default]
    Logit,
    Cosine,
}

/// what to read off an h.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadoutOptions {
    pub temperature: f64,
    /// length of the leading list (`top`), ranked by `ranked_by`.
    pub top: usize,
    pub ranked_by: Ranking,
    /// length of a second list ranked by cosine (the page shows both; 0 for none).
    pub cosine_top: usize,
    pub target: Option<u32>,
}

impl Default for ReadoutOptions {
    fn default() -> Self {
        ReadoutOptions {
            temperature: 1.0,
            top: 10,
            ranked_by: Ranking::Logit,
            cosine_top: 0,
            target: None,
        }
    }
}

/// the scores of every token for one h: z, cos θ, the softmax. computed once per h.
#[derive(Debug, Clone)]
pub struct Scores {
    pub z: Vec<f64>,
    pub cos: Vec<f64>,
    pub h_norm: f64,
    pub softmax: Softmax,
}

impl Scores {
    /// the scores of h whose logits `z` the caller has (a fresh product, or cached pieces).
    pub fn new(model: &Model, h: &[f32], z: Vec<f64>, temperature: f64) -> Result<Self> {
        if z.len() != model.n_vocab() || h.len() != model.d() {
            return Err(Error::Shape(format!(
                "{} logits and h of {} for a model of {} tokens and d = {}",
                z.len(),
                h.len(),
                model.n_vocab(),
                model.d()
            )));
        }
        let softmax = Softmax::new(&z, temperature)?;
        let h_norm = norm(h);
        let cos = z
            .iter()
            .zip(model.norms())
            .map(|(&z, &n)| cosine(z, n, h_norm))
            .collect();
        Ok(Scores {
            z,
            cos,
            h_norm,
            softmax,
        })
    }

    /// the scores of h, with one full product.
    pub fn of(model: &Model, h: &[f32], temperature: f64) -> Result<Self> {
        let z = model.unembedding().logits(h)?;
        Scores::new(model, h, z, temperature)
    }

    /// token i's row, given its places in both rankings.
    fn entry_ranked(&self, model: &Model, i: usize, rank: usize, cos_rank: usize) -> Entry {
        let id = i as u32;
        Entry {
            id,
            token: model.vocab.raw(id).to_string(),
            text: model.vocab.text(id).to_string(),
            shown: vocab::quoted(model.vocab.text(id), SHOWN_CHARS),
            logit: self.z[i],
            prob: self.softmax.p(self.z[i]),
            norm: model.norms()[i],
            cos: self.cos[i],
            rank,
            cos_rank,
        }
    }

    /// the rows of `ids` with both ranks (one pass over the vocabulary per ranking).
    pub fn entries(&self, model: &Model, ids: &[usize]) -> Vec<Entry> {
        let by_z = ranks(&self.z, ids);
        let by_cos = ranks(&self.cos, ids);
        ids.iter()
            .zip(by_z.into_iter().zip(by_cos))
            .map(|(&i, (r, c))| self.entry_ranked(model, i, r, c))
            .collect()
    }

    /// one token's row (hover).
    pub fn entry(&self, model: &Model, i: usize) -> Result<Entry> {
        if i >= self.z.len() {
            return Err(Error::NotFound(format!("token {i} is out of range")));
        }
        Ok(self.entries(model, &[i]).remove(0))
    }

    /// the top `k` under a ranking, with both ranks (a list's own ranks are its positions:
    /// top_k and rank break ties alike, so only the other ranking needs a pass).
    pub fn top(&self, model: &Model, k: usize, by: Ranking) -> Vec<Entry> {
        let (own, other) = match by {
            Ranking::Logit => (&self.z, &self.cos),
            Ranking::Cosine => (&self.cos, &self.z),
        };
        let ids = top_k(own.len(), k, |i| own[i]);
        let cross = ranks(other, &ids);
        ids.iter()
            .enumerate()
            .zip(cross)
            .map(|((pos, &i), c)| match by {
                Ranking::Logit => self.entry_ranked(model, i, pos + 1, c),
                Ranking::Cosine => self.entry_ranked(model, i, c, pos + 1),
            })
            .collect()
    }
}

/// one token as every list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: u32,
    /// the raw vocabulary string (`ĠParis`).
    pub token: String,
    /// decoded text (` Paris`).
    pub text: String,
    /// the text as the page shows it: quoted, invisible characters escaped, cut
    /// (see [`vocab::quoted`]).
    pub shown: String,
    pub logit: f64,
    pub prob: f64,
    /// ‖w_i‖ and cos θ_i.
    pub norm: f64,
    pub cos: f64,
    /// 1-based places by logit and by cosine (ties go to the lower id).
    pub rank: usize,
    pub cos_rank: usize,
}

/// L = −ln p_t: a number, or +∞ (at T = 0 for a target that is not the arg-max). JSON
/// writes ∞ as the string "Infinity", which JavaScript's `Number` and Python's `float` read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    Finite(f64),
    Infinite,
}

impl Loss {
    pub fn from_f64(x: f64) -> Loss {
        if x.is_finite() {
            Loss::Finite(x)
        } else {
            Loss::Infinite
        }
    }
    pub fn value(self) -> f64 {
        match self {
            Loss::Finite(x) => x,
            Loss::Infinite => f64::INFINITY,
        }
    }
}

impl Serialize for Loss {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Loss::Finite(x) => s.serialize_f64(*x),
            Loss::Infinite => s.serialize_str("Infinity"),
        }
    }
}

/// the sizes of the gradient's parts: ∇ = (push − pull)/T.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientParts {
    /// ‖∇_h L‖.
    pub norm: f64,
    /// ‖Σ p_i w_i‖ (what the model expects), ‖w_t‖ (the target), and the cosine between them.
    pub push_norm: f64,
    pub pull_norm: f64,
    pub cos_push_pull: f64,
}

/// the target token: its row, loss, and (at T > 0) the gradient's parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    #[serde(flatten)]
    pub entry: Entry,
    pub loss: Loss,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient: Option<GradientParts>,
    /// the gradient was left for later ([`Readout::deferred`]); [`Readout::add_gradient`]
    /// computes it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gradient_deferred: bool,
}

/// ∇_h L as vectors: the gradient and its two parts.
#[derive(Debug, Clone)]
pub struct Gradient {
    pub grad: Vec<f32>,
    /// Σ p_i w_i: the push away from what the model expects.
    pub expected: Vec<f32>,
    /// w_t: the pull toward the target.
    pub target: Vec<f32>,
}

impl Gradient {
    /// ∇_h L = (Σ_i p_i w_i − w_t)/T for L = −ln p_t (one transposed pass), with `softmax`
    /// built from the logits `z`.
    pub fn new(model: &Model, softmax: &Softmax, z: &[f64], target: u32) -> Result<Self> {
        let t = model.vocab.check_id(target)? as usize;
        let temp = softmax.temperature;
        if temp <= 0.0 {
            return Err(Error::Invalid(
                "the gradient needs a temperature above 0".into(),
            ));
        }
        let u = model.unembedding();
        if t >= u.matrix().rows() {
            return Err(Error::NotFound(format!("token {t} has no unembedding row")));
        }
        let expected: Vec<f32> = u
            .weighted_sum(&softmax.probs(z))?
            .iter()
            .map(|&x| x as f32)
            .collect();
        let wt = u.matrix().row(t);
        let grad = expected
            .iter()
            .zip(&wt)
            .map(|(&e, &v)| ((e as f64 - v as f64) / temp) as f32)
            .collect();
        Ok(Gradient {
            grad,
            expected,
            target: wt,
        })
    }

    pub fn parts(&self) -> GradientParts {
        let dot: f64 = self
            .expected
            .iter()
            .zip(&self.target)
            .map(|(&x, &y)| x as f64 * y as f64)
            .sum();
        let (a, b) = (norm(&self.expected), norm(&self.target));
        GradientParts {
            norm: norm(&self.grad),
            push_norm: a,
            pull_norm: b,
            cos_push_pull: if a * b > 0.0 { dot / (a * b) } else { 0.0 },
        }
    }
}

/// what one h reads as: the numbers every view shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readout {
    /// ‖h‖, T, and the softmax's summaries: p_i = exp((z_i − z_max)/T − log_sum).
    pub h_norm: f64,
    pub temperature: f64,
    pub entropy: f64,
    pub z_max: f64,
    pub log_sum: f64,
    /// the order of `top`.
    pub ranked_by: Ranking,
    pub top: Vec<Entry>,
    /// the top tokens by cosine beside a list by logit (when asked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_cosine: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

impl Readout {
    /// reads `scores` as `opts` say; with a target at T > 0 this pays one transposed pass for
    /// the gradient (or none when the caller has `gradient` already).
    pub fn new(
        model: &Model,
        scores: &Scores,
        opts: &ReadoutOptions,
        gradient: Option<&Gradient>,
    ) -> Result<Self> {
        Readout::build(model, scores, opts, gradient, false)
    }

    /// [`Readout::new`] without the target's gradient, whose transposed pass is the one
    /// costly part of a readout at a large vocabulary (a slider step must not wait for it):
    /// the target says `gradient_deferred`, and [`Readout::add_gradient`] fills it in later.
    pub fn deferred(model: &Model, scores: &Scores, opts: &ReadoutOptions) -> Result<Self> {
        Readout::build(model, scores, opts, None, true)
    }

    /// computes a deferred gradient (one transposed pass) from the same `scores`; false when
    /// there was none to compute.
    pub fn add_gradient(&mut self, model: &Model, scores: &Scores) -> Result<bool> {
        let Some(t) = self.target.as_mut().filter(|t| t.gradient_deferred) else {
            return Ok(false);
        };
        let g = Gradient::new(model, &scores.softmax, &scores.z, t.entry.id)?;
        t.gradient = Some(g.parts());
        t.gradient_deferred = false;
        Ok(true)
    }

    fn build(
        model: &Model,
        scores: &Scores,
        opts: &ReadoutOptions,
        gradient: Option<&Gradient>,
        defer: bool,
    ) -> Result<Self> {
        let sm = &scores.softmax;
        if sm.temperature != opts.temperature {
            return Err(Error::Invalid(format!(
                "scores at T = {} read at T = {}",
                sm.temperature, opts.temperature
            )));
        }
        let target = match opts.target {
            None => None,
            Some(t) => {
                let t = model.vocab.check_id(t)? as usize;
                if t >= scores.z.len() {
                    return Err(Error::NotFound(format!("token {t} has no unembedding row")));
                }
                let parts = match gradient {
                    _ if sm.temperature == 0.0 => None,
                    Some(g) => Some(g.parts()),
                    None if defer => None,
                    None => Some(Gradient::new(model, sm, &scores.z, t as u32)?.parts()),
                };
                Some(Target {
                    entry: scores.entry(model, t)?,
                    loss: Loss::from_f64(sm.loss(&scores.z, t)),
                    gradient_deferred: parts.is_none() && defer && sm.temperature > 0.0,
                    gradient: parts,
                })
            }
        };
        let by_cosine = match opts.ranked_by {
            Ranking::Logit => scores.top(model, opts.cosine_top, Ranking::Cosine),
            Ranking::Cosine => Vec::new(),
        };
        Ok(Readout {
            h_norm: scores.h_norm,
            temperature: sm.temperature,
            entropy: sm.entropy,
            z_max: sm.z_max,
            log_sum: sm.log_sum,
            ranked_by: opts.ranked_by,
            top: scores.top(model, opts.top, opts.ranked_by),
            by_cosine,
            target,
        })
    }

    /// the readout of h with one full product (and one transposed pass for a target's
    /// gradient).
    pub fn of(model: &Model, h: &[f32], opts: &ReadoutOptions) -> Result<Self> {
        let scores = Scores::of(model, h, opts.temperature)?;
        Readout::new(model, &scores, opts, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::fixtures::tiny_model;
    use crate::core::maths::rank;

    #[test]
    fn by_cosine_a_tokens_own_vector_is_its_best_match() {
        let m = tiny_model(40, 64);
        let h = m.token_vector(5).unwrap();
        let r = Readout::of(&m, &h, &ReadoutOptions::default()).unwrap();
        assert_eq!(r.top.len(), 10);
        let c = Readout::of(
            &m,
            &h,
            &ReadoutOptions {
                ranked_by: Ranking::Cosine,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.top[0].id, 5);
        assert_eq!(c.top[0].cos_rank, 1);
        assert!((c.top[0].cos - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_deferred_gradient_is_the_same_once_added() {
        let m = tiny_model(70, 64);
        let h: Vec<f32> = (0..64)
            .map(|j| ((j * 7 % 11) as f32 - 5.0) * 0.09)
            .collect();
        for (t, target) in [(0.7, Some(33)), (0.0, Some(33)), (1.0, None)] {
            let opts = ReadoutOptions {
                target,
                temperature: t,
                ..Default::default()
            };
            let s = Scores::of(&m, &h, t).unwrap();
            let now = Readout::new(&m, &s, &opts, None).unwrap();
            let mut later = Readout::deferred(&m, &s, &opts).unwrap();
            let deferred = target.is_some() && t > 0.0;
            assert_eq!(
                later.target.as_ref().is_some_and(|x| x.gradient_deferred),
                deferred
            );
            if deferred {
                assert!(later.target.as_ref().unwrap().gradient.is_none());
                let json = serde_json::to_string(&later).unwrap();
                assert!(json.contains("\"gradient_deferred\":true"), "{json}");
            }
            assert_eq!(later.add_gradient(&m, &s).unwrap(), deferred);
            assert!(!later.add_gradient(&m, &s).unwrap(), "added once");
            assert_eq!(later, now);
            assert!(!serde_json::to_string(&later).unwrap().contains("deferred"));
        }
    }

    #[test]
    fn every_rank_is_a_count_over_the_vocabulary() {
        let m = tiny_model(70, 64);
        let h: Vec<f32> = (0..64)
            .map(|j| ((j * 5 % 13) as f32 - 6.0) * 0.07)
            .collect();
        let opts = ReadoutOptions {
            top: 12,
            cosine_top: 12,
            target: Some(33),
            temperature: 0.7,
            ..Default::default()
        };
        let s = Scores::of(&m, &h, 0.7).unwrap();
        let r = Readout::new(&m, &s, &opts, None).unwrap();
        let n = s.z.len();
        for e in r
            .top
            .iter()
            .chain(&r.by_cosine)
            .chain(r.target.as_ref().map(|t| &t.entry))
        {
            let i = e.id as usize;
            assert_eq!(e.rank, rank(n, i, |j| s.z[j]));
            assert_eq!(e.cos_rank, rank(n, i, |j| s.cos[j]));
            assert_eq!(e.prob, s.softmax.p(s.z[i]));
        }
        // the cos–norm identity: z_i = ‖w_i‖·‖h‖·cos θ_i.
        for i in 0..n {
            let rebuilt = m.norms()[i] * s.h_norm * s.cos[i];
            assert!((rebuilt - s.z[i]).abs() < 1e-9 * (1.0 + s.z[i].abs()));
        }
    }

    #[test]
    fn an_infinite_loss_is_the_string_infinity() {
        let m = tiny_model(30, 32);
        let h = m.token_vector(4).unwrap();
        let opts = ReadoutOptions {
            temperature: 0.0,
            target: Some(9),
            ..Default::default()
        };
        let r = Readout::of(&m, &h, &opts).unwrap();
        let t = r.target.as_ref().unwrap();
        assert_eq!(t.loss, Loss::Infinite);
        assert!(t.gradient.is_none());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["target"]["loss"], "Infinity");
        let finite = Readout::of(
            &m,
            &h,
            &ReadoutOptions {
                target: Some(9),
                ..opts.clone()
            },
        );
        assert!(finite.is_ok());
        let one = ReadoutOptions {
            temperature: 1.0,
            target: Some(9),
            ..Default::default()
        };
        let r = Readout::of(&m, &h, &one).unwrap();
        assert!(serde_json::to_value(&r).unwrap()["target"]["loss"].is_f64());
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let m = tiny_model(60, 64);
        let h: Vec<f32> = (0..64).map(|j| ((j as f32) * 0.7).cos() * 0.3).collect();
        let loss = |h: &[f32], t: u32, temp: f64| {
            let s = Scores::of(&m, h, temp).unwrap();
            s.softmax.loss(&s.z, t as usize)
        };
        for (target, temp) in [(3u32, 1.0), (17, 0.6), (42, 2.5)] {
            let s = Scores::of(&m, &h, temp).unwrap();
            let g = Gradient::new(&m, &s.softmax, &s.z, target).unwrap();
            let eps = 1e-2f32;
            let mut diff2 = 0f64;
            for j in 0..64 {
                let mut hp = h.clone();
                hp[j] += eps;
                let mut hm = h.clone();
                hm[j] -= eps;
                let fd = (loss(&hp, target, temp) - loss(&hm, target, temp)) / (2.0 * eps as f64);
                diff2 += (fd - g.grad[j] as f64).powi(2);
            }
            let rel = diff2.sqrt() / norm(&g.grad);
            assert!(rel < 1e-3, "target {target} T {temp}: rel err {rel}");
        }
    }
}
