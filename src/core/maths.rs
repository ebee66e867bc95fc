//! softmax with temperature, top-k, ranks, entropy, cos–norm breakdown, loss and gradient.
//!
//! conventions: logits z and everything derived from them are f64.
//! x_i = (z_i − max z)/T ≤ 0, S = Σ exp(x_i), p_i = exp(x_i)/S, ln Z = ln S,
//! H = ln S − Σ p_i x_i (nats), L = −log p_t = ln S − x_t.
//! T = 0 is the limit T → 0⁺: all mass on the arg-max (split evenly between ties).

use super::error::{Error, Result};

/// softmax of z at temperature t, with what is needed for loss and entropy. it keeps no
/// vector of probabilities: p_i = [`p`](Self::p)(z_i), and [`probs`](Self::probs) when all
/// are needed (the gradient). building it is one pass of exponentials over z, the largest
/// part of a slider step at 262,144 tokens, so it stores nothing per token.
#[derive(Debug, Clone)]
pub struct Softmax {
    pub temperature: f64,
    pub z_max: f64,
    /// S = Σ exp((z_i − z_max)/T); at T = 0 the number of ties at the max.
    sum: f64,
    /// ln S.
    pub log_sum: f64,
    pub entropy: f64,
}

impl Softmax {
    /// `t` ≥ 0; `z` finite and non-empty.
    pub fn new(z: &[f64], t: f64) -> Result<Self> {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(Error::Invalid(format!(
                "temperature must be a finite number ≥ 0, got {t}"
            )));
        }
        if z.is_empty() {
            return Err(Error::Shape("no logits".into()));
        }
        if let Some(i) = z.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("logit {i} is {}", z[i])));
        }
        let z_max = min_max(z).1;
        if t == 0.0 {
            let ties = z.iter().filter(|&&v| v == z_max).count() as f64;
            return Ok(Softmax {
                temperature: t,
                z_max,
                sum: ties,
                log_sum: ties.ln(),
                entropy: ties.ln(),
            });
        }
        // one pass: S = Σ e_i and Σ e_i·x_i (so H = ln S − Σ e_i x_i / S), in blocks whose
        // exponentials are one simple loop (it vectorizes and interleaves), summed in four
        // partial sums.
        const B: usize = 256;
        let (mut s4, mut sx4) = ([0f64; 4], [0f64; 4]);
        let (mut xs, mut es) = ([0f64; B], [0f64; B]);
        for zc in z.chunks(B) {
            let n = zc.len();
            for (x, &v) in xs[..n].iter_mut().zip(zc) {
                *x = shifted(v, z_max, t);
            }
            for (e, &x) in es[..n].iter_mut().zip(&xs[..n]) {
                *e = exp(x);
            }
            for (k, (&e, &x)) in es[..n].iter().zip(&xs[..n]).enumerate() {
                s4[k % 4] += e;
                sx4[k % 4] += e * x;
            }
        }
        let s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
        let px = ((sx4[0] + sx4[1]) + (sx4[2] + sx4[3])) / s;
        let log_sum = s.ln();
        Ok(Softmax {
            temperature: t,
            z_max,
            sum: s,
            log_sum,
            entropy: (log_sum - px).max(0.0),
        })
    }

    /// p of the token whose logit is `z` (one of the logits this softmax was built from):
    /// e^x / S, the same numbers the sums were made of.
    pub fn p(&self, z: f64) -> f64 {
        if self.temperature == 0.0 {
            return if z == self.z_max { 1.0 / self.sum } else { 0.0 };
        }
        exp(shifted(z, self.z_max, self.temperature)) / self.sum
    }

    /// every p_i, for logits `z` (those this softmax was built from).
    pub fn probs(&self, z: &[f64]) -> Vec<f64> {
        z.iter().map(|&v| self.p(v)).collect()
    }

    /// p of a logit `z` under this softmax, without the vector.
    pub fn prob_of(&self, z: f64) -> f64 {
        prob_from(z, self.z_max, self.log_sum, self.temperature)
    }

    /// L = −log p_t, exact even where p_t underflows; +∞ at T = 0 when t is not an arg-max.
    pub fn loss(&self, z: &[f64], target: usize) -> f64 {
        let zt = z[target];
        if self.temperature == 0.0 {
            return if zt == self.z_max {
                self.log_sum
            } else {
                f64::INFINITY
            };
        }
        self.log_sum - (zt - self.z_max) / self.temperature
    }
}

/// the smallest and largest of `xs` ((+∞, −∞) when empty; NaN ignored): four lanes of
/// comparisons (not `f64::min`/`max`, which are calls in wasm), so that the loop vectorizes.
/// the softmax's max of z and the scatter's ranges run it over the vocabulary every step.
pub fn min_max(xs: &[f64]) -> (f64, f64) {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let mut chunks = xs.chunks_exact(4);
    for c in &mut chunks {
        for l in 0..4 {
            lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
            hi[l] = if c[l] > hi[l] { c[l] } else { hi[l] };
        }
    }
    for &x in chunks.remainder() {
        lo[0] = if x < lo[0] { x } else { lo[0] };
        hi[0] = if x > hi[0] { x } else { hi[0] };
    }
    (
        lo.into_iter().fold(f64::INFINITY, f64::min),
        hi.into_iter().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// x = (z − z_max)/T, clamped at −746 where e^x is 0 in f64 (so that 0·x stays finite when
/// the division overflows at a tiny T).
#[inline(always)]
fn shifted(z: f64, z_max: f64, t: f64) -> f64 {
    // a comparison, not f64::max: in wasm `max` is a call to `fmax` (its NaN rule is not
    // wasm's), which keeps the loop from vectorizing. x is never NaN here.
    let x = (z - z_max) / t;
    if x < -746.0 {
        -746.0
    } else {
        x
    }
}

/// p = exp((z − z_max)/T − ln S): one probability from the softmax's two summaries.
pub fn prob_from(z: f64, z_max: f64, log_sum: f64, t: f64) -> f64 {
    if t == 0.0 {
        return if z == z_max { (-log_sum).exp() } else { 0.0 };
    }
    ((z - z_max) / t - log_sum).exp()
}

/// e^x in f64 without a call, written so that a loop over a slice vectorizes (SSE/AVX2
/// natively, simd128 in wasm): the per-token exponential of the softmax was the largest cost of
/// a slider step at 262,144 tokens. Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2 (ln 2 in
/// two parts, as fdlibm's `__ieee754_exp` splits it), e^r by its Taylor polynomial to r¹³
/// (remainder below 2e-17 of e^r), times 2^k built in the exponent bits. relative error a few
/// ulp (checked against `f64::exp` in the tests); below −708.39 (where e^x is subnormal, under
/// 2.3e-308) it returns 0, above 709.78 +∞; NaN stays NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm e_exp.c: ln2HI (6.93147180369123816490e-01), ln2LO (1.90821492927058770002e-10),
    // by their bits.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1.5·2^52: adding it rounds to an integer, which lands in the low mantissa bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let xc = x.clamp(-708.0, 709.0);
    let t = xc * LOG2E + MAGIC;
    let k = t - MAGIC;
    let ki = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Σ_{j ≤ 13} r^j / j! by Estrin's scheme (pairs, then powers r², r⁴, r⁸): a chain of 5
    // multiply-adds instead of Horner's 13, so a vectorized loop is not bound by latency.
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p = |j: usize| C[j] + C[j + 1] * r;
    let q0 = p(0) + p(2) * r2;
    let q1 = p(4) + p(6) * r2;
    let q2 = p(8) + p(10) * r2;
    let s0 = q0 + q1 * r4;
    let s1 = q2 + p(12) * r4;
    let q = s0 + s1 * r8;
    let scale = f64::from_bits(((ki + 1023) << 52) as u64);
    let y = q * scale;
    if x < -708.39 {
        0.0
    } else if x > 709.78 {
        f64::INFINITY
    } else if x.is_nan() {
        x
    } else {
        y
    }
}

/// indices of the k largest `score(i)` for i < n, best first; ties go to the lower index.
/// one pass with a sorted buffer of k: no sort of the whole vocabulary.
pub fn top_k(n: usize, k: usize, score: impl Fn(usize) -> f64) -> Vec<usize> {
    let k = k.min(n);
    if k == 0 {
        return Vec::new();
    }
    // insertion into a sorted list costs O(n·k): past a few dozen, sorting everything is
    // cheaper (and a long list asked for from a URL or a flag cannot stall the page).
    if k > 64 {
        // (a NaN, which callers never pass, would sort last rather than break the order.)
        let key = |i: usize| {
            Some(score(i))
                .filter(|s| !s.is_nan())
                .unwrap_or(f64::NEG_INFINITY)
        };
        let mut all: Vec<(f64, usize)> = (0..n).map(|i| (key(i), i)).collect();
        // descending score, equal scores (−0 = +0) by index: the insertion path's order (the
        // index makes the order total, so an unstable sort, smaller in wasm, gives the same).
        all.sort_unstable_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        return all.into_iter().take(k).map(|(_, i)| i).collect();
    }
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for i in 0..n {
        let s = score(i);
        if best.len() == k && s <= best[k - 1].0 {
            continue;
        }
        // first position whose score is lower than s (equal scores keep earlier indices first).
        let pos = best.partition_point(|&(b, _)| b >= s);
        best.insert(pos, (s, i));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// 1-based rank of `i` under `score` (ties: lower index ranks first).
pub fn rank(n: usize, i: usize, score: impl Fn(usize) -> f64) -> usize {
    let si = score(i);
    1 + (0..n)
        .filter(|&j| {
            let sj = score(j);
            sj > si || (sj == si && j < i)
        })
        .count()
}

/// 1-based ranks of several `ids` under `scores` in one pass over the vocabulary
/// (O(n log k) instead of k passes); same tie rule as [`rank`].
pub fn ranks(scores: &[f64], ids: &[usize]) -> Vec<usize> {
    // the targets in rank order: best first.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    let before = |a: usize, b: usize| {
        let (sa, sb) = (scores[a], scores[b]);
        sa > sb || (sa == sb && a < b)
    };
    if ids.is_empty() {
        return Vec::new();
    }
    order.sort_by(|&x, &y| {
        let (a, b) = (ids[x], ids[y]);
        if a == b {
            std::cmp::Ordering::Equal
        } else if before(a, b) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    // j beats every target from the first one it ranks before, onwards.
    let t: Vec<(f64, usize)> = order.iter().map(|&o| (scores[ids[o]], ids[o])).collect();
    let beats = |sj: f64, j: usize, (st, ti): (f64, usize)| sj > st || (sj == st && j < ti);
    let (Some(&best), Some(&worst)) = (t.first(), t.last()) else {
        return Vec::new();
    };
    let mut starts = vec![0usize; ids.len() + 1];
    for (j, &sj) in scores.iter().enumerate() {
        if !beats(sj, j, worst) {
            continue;
        }
        let first = if beats(sj, j, best) {
            0
        } else {
            t.partition_point(|&x| !beats(sj, j, x))
        };
        starts[first] += 1;
    }
    let mut out = vec![0usize; ids.len()];
    let mut beaten = 0;
    for (pos, &o) in order.iter().enumerate() {
        beaten += starts[pos];
        out[o] = 1 + beaten;
    }
    out
}

/// ‖x‖ in f64.
pub fn norm(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt()
}

/// cos θ_i = z_i/(‖v_i‖‖h‖), defined as 0 where either norm is 0.
pub fn cosine(z: f64, row_norm: f64, h_norm: f64) -> f64 {
    let den = row_norm * h_norm;
    if den > 0.0 {
        (z / den).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn min_max_is_the_smallest_and_largest() {
        assert_eq!(min_max(&[]), (f64::INFINITY, f64::NEG_INFINITY));
        assert_eq!(min_max(&[2.0]), (2.0, 2.0));
        let xs: Vec<f64> = (0..23).map(|i| ((i * 7) % 23) as f64 - 11.0).collect();
        assert_eq!(min_max(&xs), (-11.0, 11.0));
        assert_eq!(min_max(&[1.0, f64::NAN, -3.0, 0.5, 9.0]), (-3.0, 9.0));
    }

    #[test]
    fn exp_agrees_with_the_library_exp() {
        let mut worst = 0f64;
        let mut x = -708.0;
        while x < 709.0 {
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        for i in 0..20000 {
            let x = -(i as f64) * 1e-4;
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-1e300), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
    }

    use super::*;

    #[test]
    fn softmax_sums_to_one_and_is_shift_invariant() {
        let z = [1.0f64, -2.0, 3.5, 3.5, 0.0];
        for t in [1e-6, 0.3, 1.0, 7.0, 1e6] {
            let a = Softmax::new(&z, t).unwrap();
            assert!((a.probs(&z).iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let shifted: Vec<f64> = z.iter().map(|v| v + 1000.0).collect();
            let b = Softmax::new(&shifted, t).unwrap();
            for (x, y) in a.probs(&z).iter().zip(&b.probs(&shifted)) {
                assert!((x - y).abs() < 1e-4, "t={t}");
            }
        }
    }

    #[test]
    fn temperature_limits() {
        let z = [1.0f64, 5.0, 5.0, 2.0];
        let s = Softmax::new(&z, 0.0).unwrap();
        assert_eq!(s.probs(&z), vec![0.0, 0.5, 0.5, 0.0]);
        assert!((s.entropy - 2f64.ln()).abs() < 1e-15);
        assert_eq!(s.loss(&z, 0), f64::INFINITY);
        let tiny = Softmax::new(&z, 1e-300).unwrap();
        assert_eq!(tiny.probs(&z), vec![0.0, 0.5, 0.5, 0.0]);
        let hot = Softmax::new(&z, 1e12).unwrap();
        assert!((hot.entropy - 4f64.ln()).abs() < 1e-9);
        // huge logits stay finite.
        let zb = [1e30, -1e30, 3e300];
        let big = Softmax::new(&zb, 1.0).unwrap();
        assert_eq!(big.probs(&zb), vec![0.0, 0.0, 1.0]);
        assert!(Softmax::new(&z, -1.0).is_err());
        assert!(Softmax::new(&z, f64::NAN).is_err());
        assert!(Softmax::new(&[f64::INFINITY], 1.0).is_err());
    }

    #[test]
    fn one_probability_matches_the_vector() {
        let z = [0.3f64, -1.2, 2.0, 2.0];
        for t in [0.0, 0.4, 1.0, 3.0] {
            let s = Softmax::new(&z, t).unwrap();
            for (i, &zi) in z.iter().enumerate() {
                assert!((s.prob_of(zi) - s.p(z[i])).abs() < 1e-15, "t={t} i={i}");
            }
        }
    }

    #[test]
    fn entropy_and_loss_match_definitions() {
        let z = [0.3f64, -1.2, 2.0, 0.7];
        let s = Softmax::new(&z, 0.8).unwrap();
        let p = s.probs(&z);
        let h: f64 = -p.iter().map(|p| p * p.ln()).sum::<f64>();
        assert!((s.entropy - h).abs() < 1e-12);
        assert!((s.loss(&z, 1) + p[1].ln()).abs() < 1e-12);
        // the one-pass sums against the definitions with the library's exp.
        let m = 2.0f64;
        let e: Vec<f64> = z.iter().map(|&v| ((v - m) / 0.8).exp()).collect();
        let sum: f64 = e.iter().sum();
        for (pi, ei) in p.iter().zip(&e) {
            assert!((pi - ei / sum).abs() < 1e-15);
        }
    }

    #[test]
    fn long_and_short_top_k_agree() {
        // ties, signed zeros and a spread of values: k = 64 inserts, k = 65 sorts.
        let z: Vec<f64> = (0..3000)
            .map(|i| match i % 7 {
                0 => 0.0,
                1 => -0.0,
                2 => 1.5,
                _ => ((i * 7919) % 1000) as f64 / 7.0 - 50.0,
            })
            .collect();
        let short = top_k(z.len(), 64, |i| z[i]);
        let long = top_k(z.len(), 65, |i| z[i]);
        assert_eq!(&long[..64], &short[..]);
        let all = top_k(z.len(), usize::MAX, |i| z[i]);
        assert_eq!(all.len(), z.len());
        for w in all.windows(2) {
            let (a, b) = (z[w[0]], z[w[1]]);
            assert!(a > b || (a == b && w[0] < w[1]), "{w:?}");
        }
    }

    #[test]
    fn top_k_and_rank_agree_with_a_sort() {
        let v = [3.0, 1.0, 3.0, 9.0, -2.0, 3.0, 8.0];
        let top = top_k(v.len(), 4, |i| v[i]);
        assert_eq!(top, vec![3, 6, 0, 2]);
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        for (r, &i) in order.iter().enumerate() {
            assert_eq!(rank(v.len(), i, |j| v[j]), r + 1);
        }
        assert_eq!(top_k(3, 10, |i| i as f64), vec![2, 1, 0]);
        let ids = [4, 0, 6, 2, 3, 0];
        let want: Vec<usize> = ids.iter().map(|&i| rank(v.len(), i, |j| v[j])).collect();
        assert_eq!(ranks(&v, &ids), want);
    }
}
