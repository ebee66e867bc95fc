//! comparing models' unembedding spaces: what one model's W_U looks like as a whole (its
//! spectrum's effective rank, the spread of its token vectors' lengths, how much they lean one
//! way), and, for an h built from the same text in each model, how far ranking tokens by logit
//! and by cosine agree there. With token vectors all of one length (Gemma 3) the logit is the
//! cosine times a constant, so the two rankings coincide; where lengths vary (SmolLM2) they
//! part. `unembed compare` prints one `ModelSummary` per file.

use serde::Serialize;

use super::error::{Error, Result};
use super::hidden::{self, Term};
use super::maths::{cosine, norm, top_k};
use super::model::Model;
use super::spectrum::Spectrum;

/// mean, spread and range of a set of numbers (over the vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub mean: f64,
    /// the population standard deviation.
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(x: &[f64]) -> Result<Stats> {
        if x.is_empty() {
            return Err(Error::Invalid("statistics of an empty set".into()));
        }
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let (min, max) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        Ok(Stats {
            mean,
            std: var.sqrt(),
            min,
            max,
        })
    }
}

/// one token of a top list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub id: u32,
    /// the display text (decoded), and the raw vocabulary string.
    pub text: String,
    pub token: String,
    pub logit: f64,
    pub cos: f64,
    pub norm: f64,
}

/// the two rankings of one h in one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Spearman's ρ between the logits and the cosines over the whole vocabulary (ranks with
    /// ties averaged, then Pearson's r of the ranks).
    pub spearman_dot_cos: f64,
    pub h_norm: f64,
    pub top_logit: Vec<Ranked>,
    pub top_cosine: Vec<Ranked>,
    /// how many of the top-k by logit are also in the top-k by cosine.
    pub shared_top: usize,
}

/// one model's unembedding as a whole, and optionally one h in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub vocab: usize,
    pub d: usize,
    /// exp of the entropy of σ_k/Σσ_j (Roy & Vetterli): d when every direction carries the same
    /// weight, 1 when one does.
    pub effective_rank: f64,
    /// the fewest singular directions carrying 90 % of ‖W_U‖_F² (cumulative energy).
    pub energy_90: usize,
    /// ‖w_i‖ over the vocabulary.
    pub norms: Stats,
    /// cos(w_i, μ), μ the mean token vector: near 0 when the vectors spread evenly around the
    /// origin, large when they all lean one way (anisotropy).
    pub anisotropy: Stats,
    pub mean_norm: f64,
    /// the spectrum was read from the file (`unembed convert` stores it) or computed here.
    pub spectrum_from_file: bool,
    pub h: Option<Agreement>,
}

/// exp(−Σ p_k ln p_k), p_k = σ_k/Σσ.
pub fn effective_rank(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().filter(|s| **s > 0.0).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = sigma
        .iter()
        .filter(|s| **s > 0.0)
        .map(|s| {
            let p = s / total;
            -p * p.ln()
        })
        .sum();
    h.exp()
}

/// ranks 1..n of `x` (ascending), tied values sharing the mean of their places.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && x[order[j]] == x[order[i]] {
            j += 1;
        }
        // places i+1 ..= j share their mean.
        let mean = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            r[k] = mean;
        }
        i = j;
    }
    r
}

/// Spearman's ρ: Pearson's r of the average ranks; 0 when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::Shape(format!(
            "spearman of {} and {} values",
            a.len(),
            b.len()
        )));
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let n = a.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        let (dx, dy) = (x - mean, y - mean);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    Ok(if saa > 0.0 && sbb > 0.0 {
        sab / (saa * sbb).sqrt()
    } else {
        0.0
    })
}

/// how h reads in `m` by logit and by cosine: both top-k and their rank correlation.
pub fn agreement(m: &Model, h: &[f32], k: usize) -> Result<Agreement> {
    let u = m.unembedding();
    let z = u.logits(h)?;
    let norms = u.norms();
    let hn = norm(h);
    let c: Vec<f64> = z
        .iter()
        .zip(norms)
        .map(|(&z, &n)| cosine(z, n, hn))
        .collect();
    let entry = |i: usize| Ranked {
        id: i as u32,
        text: m.vocab.text(i as u32).to_string(),
        token: m.vocab.raw(i as u32).to_string(),
        logit: z[i],
        cos: c[i],
        norm: norms[i],
    };
    let by_logit = top_k(z.len(), k, |i| z[i]);
    let by_cos = top_k(c.len(), k, |i| c[i]);
    let shared_top = by_logit.iter().filter(|i| by_cos.contains(i)).count();
    Ok(Agreement {
        spearman_dot_cos: spearman(&z, &c)?,
        h_norm: hn,
        top_logit: by_logit.into_iter().map(entry).collect(),
        top_cosine: by_cos.into_iter().map(entry).collect(),
        shared_top,
    })
}

/// the summary of `m`'s unembedding (its spectrum computed if the file did not carry it), and
/// of h in it when given.
pub fn summarize(
    m: &mut Model,
    h: Option<&[f32]>,
    k: usize,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<ModelSummary> {
    Ok(whole(m, h, k, progress)?.0)
}

/// the summary, and cos(w_i, μ) for every token (what the anisotropy's statistics are of).
fn whole(
    m: &mut Model,
    h: Option<&[f32]>,
    k: usize,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<(ModelSummary, Vec<f64>)> {
    let from_file = m.spectrum_from_file;
    let s: &Spectrum = m.ensure_spectrum(progress)?;
    let effective_rank = effective_rank(s.sigma.as_slice().unwrap_or(&[]));
    let energy = s.cumulative_energy();
    let energy_90 = energy
        .iter()
        .position(|&e| e >= 0.9)
        .map_or(energy.len(), |i| i + 1);
    let u = m.unembedding();
    let n = m.n_vocab();
    let norms = u.norms();
    // μ = Σ w_i / V as one transposed pass, then cos(w_i, μ) as one pass.
    let mu = u.weighted_sum(&vec![1.0 / n as f64; n])?;
    let mu32: Vec<f32> = mu.iter().map(|&x| x as f32).collect();
    let mn = norm(&mu32);
    let zm = u.logits(&mu32)?;
    let cos_mu: Vec<f64> = zm
        .iter()
        .zip(norms)
        .map(|(&z, &nv)| cosine(z, nv, mn))
        .collect();
    let h = match h {
        Some(h) => Some(agreement(m, h, k)?),
        None => None,
    };
    let summary = ModelSummary {
        name: m.name.clone(),
        vocab: n,
        d: m.d(),
        effective_rank,
        energy_90,
        norms: Stats::of(norms)?,
        anisotropy: Stats::of(&cos_mu)?,
        mean_norm: mn,
        spectrum_from_file: from_file,
        h,
    };
    Ok((summary, cos_mu))
}

/// counts of values in `bins` equal bins over [lo, hi], the range fitted to the data (Gemma
/// 3's ‖w_i‖ all lie in about [1.028, 1.035]: an axis from 0 would show one bar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u32>,
}

impl Histogram {
    /// the range is the data's [min, max] (widened a little when every value is the same);
    /// non-finite values are refused.
    pub fn of(x: &[f64], bins: usize) -> Result<Histogram> {
        if bins == 0 {
            return Err(Error::Invalid("a histogram of 0 bins".into()));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid("a histogram of non-finite values".into()));
        }
        let s = Stats::of(x)?;
        let (mut lo, mut hi) = (s.min, s.max);
        if hi <= lo {
            let w = lo.abs().max(1.0) * 1e-6;
            (lo, hi) = (lo - w, hi + w);
        }
        let mut counts = vec![0u32; bins];
        let scale = bins as f64 / (hi - lo);
        for &v in x {
            let b = (((v - lo) * scale) as usize).min(bins - 1);
            counts[b] += 1;
        }
        Ok(Histogram { lo, hi, counts })
    }

    /// the bin edges' width.
    pub fn width(&self) -> f64 {
        (self.hi - self.lo) / self.counts.len().max(1) as f64
    }
}

/// what the page's Compare view draws of one model: its summary (no h), the spectrum
/// normalised (σ_k/σ_1) and as cumulative energy, and histograms of ‖w_i‖ and cos(w_i, μ).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub summary: ModelSummary,
    pub sigma_rel: Vec<f64>,
    pub energy: Vec<f64>,
    pub norms: Histogram,
    pub cos_mean: Histogram,
}

/// one model's [`Profile`] with histograms of `bins` bins. the spectrum is read from the file
/// or one installed before (the page computes a missing one in Workers); computed here
/// otherwise.
pub fn profile(
    m: &mut Model,
    bins: usize,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Profile> {
    let (summary, cos_mu) = whole(m, None, 0, progress)?;
    let s = m
        .spectrum
        .as_ref()
        .ok_or_else(|| Error::Invalid("the model has no spectrum".into()))?;
    let s1 = s.sigma.first().copied().unwrap_or(0.0);
    let sigma_rel = s
        .sigma
        .iter()
        .map(|&x| if s1 > 0.0 { x / s1 } else { 0.0 })
        .collect();
    Ok(Profile {
        summary,
        sigma_rel,
        energy: s.cumulative_energy(),
        norms: Histogram::of(m.unembedding().norms(), bins)?,
        cos_mean: Histogram::of(&cos_mu, bins)?,
    })
}

/// h from a text as each model reads it: an expression of tokens (`king - man + woman`, a bare
/// word read as the word after a space when the vocabulary has it, see [`hidden`]), else the
/// token whose exact text it is; with the terms it was read as.
pub fn h_from_text(m: &Model, text: &str) -> Result<(Vec<f32>, Vec<Term>)> {
    let terms = match hidden::parse_expr(m, text) {
        Ok(t) => t,
        Err(bad) => match m.vocab.find(text) {
            Ok(id) => vec![Term { coef: 1.0, id }],
            // a single word that is no token: say so (with near spellings), not that it is a
            // bad expression.
            Err(not_a_token) if !text.contains(['+', '-', '*', '"', '#']) => {
                return Err(not_a_token)
            }
            Err(_) => return Err(bad),
        },
    };
    Ok((hidden::eval_terms(m, &terms)?, terms))
}

/// a word in one model: its id and every token's cosine to its vector.
pub struct Word {
    pub id: u32,
    pub cos: Vec<f64>,
}

impl Word {
    /// `text` looked up in `m` as [`h_from_text`] reads a single word, and
    /// cos(w_i, w_word) over the vocabulary: one full pass.
    pub fn find(m: &Model, text: &str) -> Result<Word> {
        // as in an expression: a bare word is the word after a space when there is one.
        let id = match h_from_text(m, text)?.1.as_slice() {
            [Term { coef, id }] if *coef == 1.0 => *id,
            _ => {
                return Err(Error::Invalid(format!(
                    "{text:?} is not one token: give a single word for its neighbours"
                )))
            }
        };
        let v = m.token_vector(id)?;
        let u = m.unembedding();
        let z = u.logits(&v)?;
        let vn = norm(&v);
        let cos = z
            .iter()
            .zip(u.norms())
            .map(|(&z, &n)| cosine(z, n, vn))
            .collect();
        Ok(Word { id, cos })
    }

    /// 1-based rank of token `i` among the other tokens (the word itself left out) by cosine;
    /// ties go to the lower id.
    pub fn rank(&self, i: u32) -> usize {
        let (i, me) = (i as usize, self.id as usize);
        let ci = self.cos.get(i).copied().unwrap_or(f64::NEG_INFINITY);
        1 + self
            .cos
            .iter()
            .enumerate()
            .filter(|&(j, &cj)| j != me && j != i && (cj > ci || (cj == ci && j < i)))
            .count()
    }
}

/// the same token in the other model, matched by decoded text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub id: u32,
    /// its cosine to the word there, and its rank among the word's neighbours there.
    pub cos: f64,
    pub rank: usize,
}

/// one of a word's nearest neighbours by cosine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    pub id: u32,
    pub text: String,
    pub token: String,
    pub cos: f64,
    /// the token of the same text in the other model, when the word and this text are both
    /// in its vocabulary.
    pub other: Option<Match>,
}

/// the `k` tokens nearest `word` by cosine in `m` (the word itself left out), each matched in
/// `other` (the other model and the same word there) by decoded text.
pub fn neighbours(
    m: &Model,
    word: &Word,
    other: Option<(&Model, &Word)>,
    k: usize,
) -> Vec<Neighbour> {
    let me = word.id as usize;
    let top = top_k(word.cos.len(), k + 1, |i| {
        if i == me {
            f64::NEG_INFINITY
        } else {
            word.cos[i]
        }
    });
    top.into_iter()
        .filter(|&i| i != me)
        .take(k)
        .map(|i| {
            let text = m.vocab.text(i as u32);
            let other = other.and_then(|(o, w)| {
                let j = o.vocab.by_text(text)?;
                Some(Match {
                    id: j,
                    cos: *w.cos.get(j as usize)?,
                    rank: w.rank(j),
                })
            });
            Neighbour {
                id: i as u32,
                text: text.to_string(),
                token: m.vocab.raw(i as u32).to_string(),
                cos: word.cos[i],
                other,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_rank_counts_equal_directions() {
        assert!((effective_rank(&[2.0; 7]) - 7.0).abs() < 1e-12);
        assert!((effective_rank(&[3.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
        assert_eq!(effective_rank(&[]), 0.0);
        let r = effective_rank(&[4.0, 2.0, 1.0, 1.0]);
        assert!(r > 1.0 && r < 4.0);
    }

    #[test]
    fn average_ranks_share_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 2.0, 1.0]),
            vec![4.0, 1.5, 3.0, 1.5]
        );
    }

    #[test]
    fn spearman_of_monotone_and_reversed_orders() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [10.0, 20.0, 25.0, 100.0, 1000.0];
        assert!((spearman(&a, &b).unwrap() - 1.0).abs() < 1e-12);
        let r: Vec<f64> = b.iter().map(|x| -x).collect();
        assert!((spearman(&a, &r).unwrap() + 1.0).abs() < 1e-12);
        // 1 − 6Σd²/(n(n²−1)) without ties: one swap of neighbours in 5 gives 0.9.
        assert!((spearman(&a, &[1.0, 3.0, 2.0, 4.0, 5.0]).unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(spearman(&a, &[1.0; 5]).unwrap(), 0.0);
        assert!(spearman(&a, &[1.0]).is_err());
    }

    #[test]
    fn a_summary_of_a_tiny_model() {
        let mut m = crate::core::fixtures::tiny_model(50, 64);
        let h = m.token_vector(7).unwrap();
        let s = summarize(&mut m, Some(&h), 5, &mut |_| true).unwrap();
        assert_eq!((s.vocab, s.d), (50, 64));
        assert!(s.effective_rank > 1.0 && s.effective_rank <= 64.0);
        assert!(s.energy_90 >= 1 && s.energy_90 <= 64);
        assert!(s.norms.min > 0.0 && s.norms.min <= s.norms.mean && s.norms.mean <= s.norms.max);
        assert!(s.anisotropy.min >= -1.0 && s.anisotropy.max <= 1.0);
        let a = s.h.unwrap();
        // a token's own vector is its best match by cosine, and the orders mostly agree.
        assert_eq!(a.top_cosine[0].id, 7);
        assert!((a.top_cosine[0].cos - 1.0).abs() < 1e-6);
        assert_eq!(a.top_logit.len(), 5);
        assert!(a.spearman_dot_cos > 0.0 && a.spearman_dot_cos <= 1.0);
        // the whole-vocabulary passes: h's logits, μ, μ's logits.
        assert!(m.unembedding().passes() >= 3);
    }

    #[test]
    fn stats_of_a_set() {
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((s.mean, s.min, s.max), (2.5, 1.0, 4.0));
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-15);
        assert!(Stats::of(&[]).is_err());
    }

    #[test]
    fn histograms_fit_their_data() {
        let h = Histogram::of(&[1.028, 1.03, 1.031, 1.035], 7).unwrap();
        assert_eq!((h.lo, h.hi), (1.028, 1.035));
        assert_eq!(h.counts.iter().sum::<u32>(), 4);
        assert_eq!((h.counts[0], h.counts[6]), (1, 1));
        let one = Histogram::of(&[2.0; 3], 4).unwrap();
        assert!(one.lo < 2.0 && one.hi > 2.0 && one.counts.iter().sum::<u32>() == 3);
        assert!(Histogram::of(&[1.0, f64::NAN], 4).is_err());
        assert!(Histogram::of(&[1.0], 0).is_err());
        assert!(Histogram::of(&[], 3).is_err());
    }

    #[test]
    fn a_profile_of_a_tiny_model() {
        let mut m = crate::core::fixtures::tiny_model(50, 64);
        let p = profile(&mut m, 10, &mut |_| true).unwrap();
        assert_eq!(p.sigma_rel.len(), 64);
        assert_eq!(p.sigma_rel[0], 1.0);
        assert!(p.sigma_rel.windows(2).all(|w| w[0] >= w[1]));
        assert!((p.energy[63] - 1.0).abs() < 1e-9);
        assert_eq!(p.norms.counts.iter().sum::<u32>(), 50);
        assert_eq!(
            (p.norms.lo, p.norms.hi),
            (p.summary.norms.min, p.summary.norms.max)
        );
        assert_eq!(p.cos_mean.lo, p.summary.anisotropy.min);
        assert!(p.summary.h.is_none());
    }

    #[test]
    fn neighbours_leave_the_word_out_and_match_by_text() {
        let a = crate::core::fixtures::tiny_model(50, 64);
        let b = crate::core::fixtures::tiny_model(50, 64);
        let t = a.vocab.text(7).to_string();
        let (wa, wb) = (Word::find(&a, &t).unwrap(), Word::find(&b, &t).unwrap());
        assert_eq!(wa.id, 7);
        let n = neighbours(&a, &wa, Some((&b, &wb)), 5);
        assert_eq!(n.len(), 5);
        assert!(n.iter().all(|x| x.id != 7));
        assert!(n.windows(2).all(|w| w[0].cos >= w[1].cos));
        // the same model twice: every neighbour is itself at the same rank.
        for (r, x) in n.iter().enumerate() {
            let o = x.other.as_ref().unwrap();
            assert_eq!((o.id, o.rank), (x.id, r + 1));
            assert_eq!(o.cos, x.cos);
        }
        assert!(neighbours(&a, &wa, None, 5)
            .iter()
            .all(|x| x.other.is_none()));
        assert!(Word::find(&a, "no such token").is_err());
    }

    #[test]
    fn h_from_a_token_or_an_expression() {
        let m = crate::core::fixtures::tiny_model(50, 64);
        let (a, b) = (m.vocab.text(1).to_string(), m.vocab.text(4).to_string());
        assert_eq!(h_from_text(&m, &a).unwrap().0, m.token_vector(1).unwrap());
        // a bare word is the word after a space, as in expressions: "king" is " king".
        let (h, terms) = h_from_text(&m, "king").unwrap();
        assert_eq!((h, terms[0].id), (m.token_vector(0).unwrap(), 0));
        assert_eq!(Word::find(&m, "king").unwrap().id, 0);
        assert!(Word::find(&m, "king - man").is_err());
        let e = h_from_text(&m, &format!("\"{a}\" - \"{b}\""));
        assert_eq!(e.unwrap().1.len(), 2);
        assert!(matches!(
            h_from_text(&m, "no such token"),
            Err(Error::UnknownToken { .. })
        ));
    }
}
