//! comparing models' unembedding spaces: what one model's W_U looks like as a whole (its
//! spectrum's effective rank, the spread of its token vectors' lengths, how much they lean one
//! way), and, for an h built from the same text in each model, how far ranking tokens by logit
//! and by cosine agree there. With token vectors all of one length (Gemma 3) the logit is the
//! cosine times a constant, so the two rankings coincide; where lengths vary (SmolLM2) they
//! part. `unembed compare` prints one `ModelSummary` per file.

use serde::Serialize;

use super::error::{Error, Result};
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
    let norms = u.norms().to_vec();
    // μ = Σ w_i / V as one transposed pass, then cos(w_i, μ) as one pass.
    let mu = u.weighted_sum(&vec![1.0 / n as f64; n])?;
    let mu32: Vec<f32> = mu.iter().map(|&x| x as f32).collect();
    let mn = norm(&mu32);
    let zm = u.logits(&mu32)?;
    let cos_mu: Vec<f64> = zm
        .iter()
        .zip(&norms)
        .map(|(&z, &nv)| cosine(z, nv, mn))
        .collect();
    let h = match h {
        Some(h) => Some(agreement(m, h, k)?),
        None => None,
    };
    Ok(ModelSummary {
        name: m.name.clone(),
        vocab: n,
        d: m.d(),
        effective_rank,
        energy_90,
        norms: Stats::of(&norms)?,
        anisotropy: Stats::of(&cos_mu)?,
        mean_norm: mn,
        spectrum_from_file: from_file,
        h,
    })
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
}
