//! quantized matrix × matrix, as ggml's CPU path multiplies a block-quantized weight:
//! out[c·rows + r] = Σ_j w_rj·x_cj for every weight row r (k values stored in the weight's
//! ggml blocks, read straight from the file's bytes) and every activation column c, quantized
//! first into the weight type's activation format ([`QActs`], `acts.rs`). every block's dot
//! product is an exact integer sum; blocks are combined in f32 by ggml's formula:
//!
//! ```text
//! Q4_1 × Q8_1   (d_w·d_x)·Σ q_w q_x + m_w·s_x                  q_w ∈ 0..15
//! Q8_0 × Q8_0   (d_w·d_x)·Σ q_w q_x
//! Q5_0 × Q8_0   (d_w·d_x)·Σ q_w q_x                            q_w ∈ −16..15
//! Q4_K × Q8_K   (d_w·d_x)·Σ_s sc_s Σ q_w q_x − (dmin_w·d_x)·Σ_s m_s·(bsum_2s + bsum_2s+1)
//! Q6_K × Q8_K   (d_x·d_w)·Σ_s sc_s Σ q_w q_x                    q_w ∈ −32..31
//! ```
//!
//! kernels, one file per instruction set (as `kernels/` does), chosen by [`Kernel`]:
//! - `scalar.rs` and `avx2.rs`: ggml's x86 float order, bit for bit the same as each other
//!   and, given the same activation quants, as llama.cpp's x86 build. Q4_1, Q8_0, Q5_0 follow
//!   ggml-cpu/arch/x86/quants.c `ggml_vec_dot_q4_1_q8_1`, `ggml_vec_dot_q8_0_q8_0`,
//!   `ggml_vec_dot_q5_0_q8_0`: eight i32 lanes per block (lane l = elements 4l..4l+3),
//!   lane_l = fma(d_w·d_x, f32(I_l), lane_l), then `hsum_float_8` (((l4+l0)+(l6+l2)) +
//!   ((l5+l1)+(l7+l3))), plus Q4_1's Σ m·s summed in block order (each m·s is exact in f32,
//!   so fused or not it rounds once). Q6_K follows `ggml_vec_dot_q6_K_q8_K` (its eight lanes,
//!   `scalar::q6_k` spells them out); Q4_K the CPU_REPACK kernels
//!   (ggml-cpu/arch/x86/repack.cpp `ggml_gemv_q4_K_8x8_q8_K`), which llama.cpp uses for Q4_K
//!   weights with a multiple of 8 rows: one f32 of the super-block's integer sum, fused into
//!   acc, the minimums into accm, out = acc − accm.
//! - `simd128.rs` (wasm): wasm has no fused multiply-add in simd128, so its order is its own:
//!   four i32 lanes per block from `i32x4.dot_i16x8_s` (lane l = elements {2l, 2l+1} of each
//!   8), lane_l += f32(I_l)·(d_w·d_x) with a separate multiply and add, then
//!   (l0 + l1) + (l2 + l3), plus Q4_1's m·s (exact) summed in four lanes by block mod 4.
//!   K-quants fold each sub-block's scale into
//!   the weight widened to i16 (sc·q fits), so a super-block is one set of four lanes times
//!   d_w·d_x (Q6_K's quants taken signed, q − 32, rather than through the bsums), and Q4_K's
//!   minimums are one f32 product a super-block, subtracted at the end. results are close
//!   to, not bit-identical with, llama.cpp's.
//!
//! the scalar and AVX2 results were compared bit for bit, out of tree, with ggml's own x86
//! code compiled from llama.cpp 0c1e57098 (`gcc -march=native`, ggml-quants.c without, as
//! llama.cpp builds them): `QActs` gives `quantize_row_q8_0`/`_q8_1`/`_q8_K`'s bytes, and
//! matmul gives `ggml_vec_dot_q4_1_q8_1`, `_q8_0_q8_0`, `_q5_0_q8_0`, `_q6_K_q8_K` and, for
//! Q4_K, `ggml_gemv_q4_K_8x8_q8_K` on the repacked weight, on random weights and activations
//! with ties and zero blocks. where llama.cpp itself takes another path we follow one:
//! Q6_K with n ≥ 8 columns goes through its tiled kernel (ggml-cpu/tiled/, one f32 per
//! super-block, multiply and add unfused); Q4_K weights whose rows are not a multiple of 8
//! are not repacked and take `ggml_vec_dot_q4_K_q8_K` (eight lanes, then the minimums in
//! four); Q4_K with n ≥ 4 columns quantizes groups of four with
//! `ggml_quantize_mat_q8_K_4x8`, whose sign choice can negate both d and the quants (the
//! products are the same; not compared). ARM or wasm builds of llama.cpp have their own
//! orders again.
//!
//! the bound. [`reference`] is Σ_j w_j·x̂_j in f64 with w_j the project's `dequantize` of the
//! weight (bit for bit gguf-py's) and x̂_j = d·q the activation's value; [`error_bound`]
//! bounds each output's distance from it, for every kernel:
//!
//! ```text
//! |out − ref| ≤ γ(nb + 6)·Σ_b a_b                      f32 rounding of the combination
//!             + 2^-24·Σ_j |w_j·x̂_j|     (Q4_1, Q4_K)   the f32 rounding in d·q + m of w_j
//!             + Σ_b |m_b|·|s_b − d_b·Σ_j q_bj|  (Q4_1)  Q8_1's s is f16(d·Σq), not d̂·Σq
//!             + k·2^-52·Σ_j |w_j·x̂_j|                   the reference's own f64 rounding
//!             + 2^-149·(Σ_b P_b + 32·(nb + 8))          f32 underflow, absolute
//! ```
//!
//! with γ(c) = c·2^-24/(1 − c·2^-24), nb blocks a row, P_b = Σ_{j∈b} |integer weight
//! factor · q_x,j| (q_w for Q8_0/Q5_0/Q4_1, sc·q_w for Q4_K, |sc|·(q_w + 32) for Q6_K: every
//! integer lane any kernel forms, and the lanes' f32 conversions, are bounded by it) and
//! a_b = |d_w·d_x|·P_b + the block's minimum term (|m_b·s_b| for Q4_1,
//! |dmin_w·d_x|·Σ_s m_s·(|bsum_2s| + |bsum_2s+1|) for Q4_K). c = nb + 6 counts the roundings a
//! block term meets on its way to the output: d_w·d_x (exact for f16·f16, not for Q8_K's f32
//! d), the lane's conversion to f32 (exact below 2^24, which Q6_K and Q4_K lanes may pass),
//! the product, the nb additions of its lane, at most three of the final horizontal sum and
//! the last addition of the minimum term. relative to the sum of |terms| that is about
//! 3e-6 for k = 1536 in Q4_1 (nb = 48): well below the activation quantization itself.
//! non-finite scales in the weight give non-finite outputs, as in ggml.

use super::acts::QActs;
use super::kernels::Kernel;
use super::GgmlType;
use crate::core::error::{Error, Result};

pub mod bench;
pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

#[cfg(test)]
mod tests;

/// the weight types [`matmul`] multiplies.
pub const TYPES: [GgmlType; 5] = [
    GgmlType::Q4_1,
    GgmlType::Q8_0,
    GgmlType::Q5_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

/// whether `kernel` has a version for weights of type `ty` (whether this machine can run it
/// is [`Kernel::is_available`]).
pub fn supports(kernel: Kernel, ty: GgmlType) -> bool {
    use GgmlType::*;
    match kernel {
        Kernel::Scalar => TYPES.contains(&ty),
        Kernel::Avx2 => matches!(ty, Q4_1 | Q8_0 | Q5_0 | Q4_K | Q6_K),
        Kernel::Simd128 => matches!(ty, Q4_1 | Q8_0 | Q5_0 | Q4_K | Q6_K),
    }
}

/// the kernels this machine can run for `ty`, fastest last.
pub fn kernels(ty: GgmlType) -> Vec<Kernel> {
    Kernel::available()
        .into_iter()
        .filter(|&k| supports(k, ty))
        .collect()
}

/// the fastest kernel for `ty` here (no allocation).
pub fn fastest(ty: GgmlType) -> Kernel {
    [Kernel::Simd128, Kernel::Avx2]
        .into_iter()
        .find(|&k| k.is_available() && supports(k, ty))
        .unwrap_or(Kernel::Scalar)
}

/// out[c·rows + r] = Σ_j w_rj·x_cj with the fastest kernel: `w` holds `rows` rows of k values
/// of type `ty` (as the file stores them), `x` n columns quantized in `ty.act_format()`,
/// `out` rows·n values. allocates nothing.
pub fn matmul(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    k: usize,
    x: &QActs,
    out: &mut [f32],
) -> Result<()> {
    // in wasm the fastest is always simd128: called directly, the scalar kernels stay out of
    // a build that never names them (only tests and `GemmBench` do).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        check(ty, w, rows, k, x, out.len())?;
        simd128::matmul(ty, w, rows, x, out);
        Ok(())
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    matmul_with(fastest(ty), ty, w, rows, k, x, out)
}

/// [`matmul`] with a chosen kernel (tests, benchmarks); an error when this machine cannot
/// run it or it has no version for `ty`.
pub fn matmul_with(
    kernel: Kernel,
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    k: usize,
    x: &QActs,
    out: &mut [f32],
) -> Result<()> {
    check(ty, w, rows, k, x, out.len())?;
    if !supports(kernel, ty) || !kernel.is_available() {
        return Err(Error::Unsupported(format!(
            "the {} matmul kernel for {ty} weights is not available on this machine",
            kernel.name()
        )));
    }
    use GgmlType::*;
    match (kernel, ty) {
        (Kernel::Scalar, Q4_1) => scalar::q4_1(w, rows, x, out),
        (Kernel::Scalar, Q8_0) => scalar::q8_0(w, rows, x, out),
        (Kernel::Scalar, Q5_0) => scalar::q5_0(w, rows, x, out),
        (Kernel::Scalar, Q4_K) => scalar::q4_k(w, rows, x, out),
        (Kernel::Scalar, Q6_K) => scalar::q6_k(w, rows, x, out),
        // SAFETY: avx2, fma and f16c were detected (is_available) and the shapes checked.
        #[cfg(target_arch = "x86_64")]
        (Kernel::Avx2, _) => unsafe { avx2::matmul(ty, w, rows, x, out) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        (Kernel::Simd128, _) => simd128::matmul(ty, w, rows, x, out),
        _ => unreachable!("checked by supports() and is_available()"),
    }
    Ok(())
}

/// the shapes every kernel relies on.
fn check(ty: GgmlType, w: &[u8], rows: usize, k: usize, x: &QActs, outputs: usize) -> Result<()> {
    if !TYPES.contains(&ty) {
        let names: Vec<&str> = TYPES.iter().map(|t| t.name()).collect();
        return Err(Error::Unsupported(format!(
            "no quantized matmul for {ty} weights; there is one for {}",
            names.join(", ")
        )));
    }
    let want = ty.act_format().expect("every type in TYPES has one");
    if x.format() != want {
        return Err(Error::Shape(format!(
            "a {ty} weight multiplies {} activations, not {}",
            want.name(),
            x.format().name()
        )));
    }
    if x.k() != k {
        return Err(Error::Shape(format!(
            "the weight's rows hold {k} values, the activations {}",
            x.k()
        )));
    }
    let need = rows as u128 * ty.row_bytes(k as u64)? as u128;
    if w.len() as u128 != need {
        return Err(Error::Shape(format!(
            "{rows} {ty} rows of {k} values take {need} bytes, got {}",
            w.len()
        )));
    }
    if outputs as u128 != rows as u128 * x.n() as u128 {
        return Err(Error::Shape(format!(
            "{rows} rows × {} columns make {} outputs, the buffer holds {outputs}",
            x.n(),
            rows as u128 * x.n() as u128
        )));
    }
    Ok(())
}

/// ggml's `hsum_float_8` (ggml-cpu/arch/x86/quants.c): ((l4+l0)+(l6+l2)) + ((l5+l1)+(l7+l3)).
fn hsum_float_8(l: &[f32; 8]) -> f32 {
    ((l[4] + l[0]) + (l[6] + l[2])) + ((l[5] + l[1]) + (l[7] + l[3]))
}

/// the f32 of the f16 with bits `h`, exactly, without branches: the bits moved into place
/// scale a finite value by 2^-112 (subnormals included), a multiply by 2^112 restores it;
/// exponent 31 (∞, NaN) is moved as f32's. the same values as `half`'s `to_f32`.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let mag = (h & 0x7fff) << 13;
    let v = if h & 0x7c00 == 0x7c00 {
        f32::from_bits(mag | 0x7f80_0000)
    } else {
        f32::from_bits(mag) * f32::from_bits(0x7780_0000)
    };
    f32::from_bits(v.to_bits() | ((h & 0x8000) << 16))
}

/// the exact product in f64 from the dequantized weight (`GgmlType::dequantize_row`) and the
/// activations' values x̂ = d·q: the reference every kernel is held to. out[c·rows + r].
pub fn reference(ty: GgmlType, w: &[u8], rows: usize, k: usize, x: &QActs) -> Result<Vec<f64>> {
    let n = x.n();
    check(ty, w, rows, k, x, rows.saturating_mul(n))?;
    let xs = columns(x);
    let rb = w.len() / rows.max(1);
    let mut row = vec![0f32; k];
    let mut out = vec![0f64; rows * n];
    for r in 0..rows {
        ty.dequantize_row(&w[r * rb..(r + 1) * rb], &mut row)?;
        for (c, xc) in xs.iter().enumerate() {
            out[c * rows + r] = row.iter().zip(xc).map(|(&a, &b)| a as f64 * b).sum();
        }
    }
    Ok(out)
}

fn columns(x: &QActs) -> Vec<Vec<f64>> {
    (0..x.n())
        .map(|c| {
            let mut v = vec![0f64; x.k()];
            x.dequantize(c, &mut v);
            v
        })
        .collect()
}

/// per block of a weight row against one column: Σ a_b, Σ P_b, and Q4_1's s term (see the
/// module docs).
#[derive(Default)]
struct Terms {
    a: f64,
    p: f64,
    s: f64,
}

fn terms(ty: GgmlType, row: &[u8], x: &QActs, c: usize) -> Terms {
    let (k, nb) = (x.k(), x.blocks());
    let q8 = &x.quants()[c * k..(c + 1) * k];
    let dx = &x.scales()[c * nb..(c + 1) * nb];
    let mut t = Terms::default();
    let mut add = |d: f64, p: f64, min: f64| {
        t.a += d.abs() * p + min.abs();
        t.p += p;
    };
    use GgmlType::*;
    let bb = ty.block_bytes();
    for (b, raw) in row.chunks_exact(bb).enumerate() {
        let dx = dx[b] as f64;
        match ty {
            Q4_1 => {
                let (d, m, q) = scalar::q4_1_block(raw);
                let q8 = &q8[32 * b..32 * b + 32];
                let p: f64 = q
                    .iter()
                    .zip(q8)
                    .map(|(&a, &b)| (a as i32 * b.abs() as i32) as f64)
                    .sum();
                let s = x.sums()[c * nb + b] as f64;
                add(d as f64 * dx, p, m as f64 * s);
                let sum: i32 = q8.iter().map(|&v| v as i32).sum();
                t.s += (m as f64).abs() * (s - dx * sum as f64).abs();
            }
            Q8_0 | Q5_0 => {
                let (d, q) = if ty == Q8_0 {
                    scalar::q8_0_block(raw)
                } else {
                    scalar::q5_0_block(raw)
                };
                let q8 = &q8[32 * b..32 * b + 32];
                let p: f64 = q
                    .iter()
                    .zip(q8)
                    .map(|(&a, &b)| (a as i32 * b as i32).abs() as f64)
                    .sum();
                add(d as f64 * dx, p, 0.0);
            }
            Q4_K => {
                let blk = scalar::q4_k_block(raw);
                let q8 = &q8[256 * b..256 * b + 256];
                let bs = &x.bsums()[c * k / 16 + 16 * b..][..16];
                let p: f64 = (0..256)
                    .map(|e| {
                        (blk.sc[e / 32] as i32 * blk.q[e] as i32 * (q8[e] as i32).abs()) as f64
                    })
                    .sum();
                let mins: f64 = (0..8)
                    .map(|s| {
                        blk.m[s] as f64 * ((bs[2 * s] as f64).abs() + (bs[2 * s + 1] as f64).abs())
                    })
                    .sum();
                add(blk.d as f64 * dx, p, blk.dmin as f64 * dx * mins);
            }
            Q6_K => {
                let (d, sc, q) = scalar::q6_k_block(raw);
                let q8 = &q8[256 * b..256 * b + 256];
                let p: f64 = (0..256)
                    .map(|e| {
                        ((sc[e / 16] as i32).abs() * (q[e] as i32 + 32) * (q8[e] as i32).abs())
                            as f64
                    })
                    .sum();
                add(d as f64 * dx, p, 0.0);
            }
            _ => unreachable!("checked: one of TYPES"),
        }
    }
    t
}

/// the bound of the module docs for every output, out[c·rows + r].
pub fn error_bound(ty: GgmlType, w: &[u8], rows: usize, k: usize, x: &QActs) -> Result<Vec<f64>> {
    let n = x.n();
    check(ty, w, rows, k, x, rows.saturating_mul(n))?;
    let u = 2f64.powi(-24);
    let nb = x.blocks() as f64;
    let c = nb + 6.0;
    let gamma = c * u / (1.0 - c * u);
    let rounds_w = matches!(ty, GgmlType::Q4_1 | GgmlType::Q4_K);
    let xs = columns(x);
    let rb = w.len() / rows.max(1);
    let mut wr = vec![0f32; k];
    let mut out = vec![0f64; rows * n];
    for r in 0..rows {
        let row = &w[r * rb..(r + 1) * rb];
        ty.dequantize_row(row, &mut wr)?;
        for (c, xc) in xs.iter().enumerate() {
            let t = terms(ty, row, x, c);
            let abs: f64 = wr.iter().zip(xc).map(|(&a, &b)| (a as f64 * b).abs()).sum();
            out[c * rows + r] = gamma * t.a
                + if rounds_w { u * abs } else { 0.0 }
                + t.s
                + k as f64 * 2f64.powi(-52) * abs
                + 2f64.powi(-149) * (t.p + 32.0 * (nb + 8.0));
        }
    }
    Ok(out)
}
