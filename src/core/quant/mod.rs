//! quantization: ggml's tensor types ([`GgmlType`]: ids, names, block sizes, as ggml's
//! `type_traits` in ggml/src/ggml.c) and one module per block format we read, each with its
//! block layout, `dequantize` of a row and the scalar reference `dot` of a row with an f32
//! vector; the served Q8_0 matrix ([`matrix::Q8Matrix`]) and its product kernels
//! ([`kernels`]: one file per instruction set beside the scalar reference).
//!
//! a row of n values of type t is n / t.block_size() blocks of t.block_bytes() bytes. the
//! dequantized value w_j is the f32 that gguf-py's `gguf.quants.dequantize` (numpy, llama.cpp's
//! own Python reader) gives, bit for bit (tests/quant.rs holds every format to it); the
//! formulas are ggml's `dequantize_row_*` (ggml/src/ggml-quants.c), evaluated in f32 in the
//! order numpy evaluates them, never fused: `(d·q) + m` is two operations, not one. (every
//! product in these formats is exact in f32: an f16 scale has at most 11 significant bits, a
//! sub-block scale at most 7 and a quant at most 5 or 6, 23 in all, within f32's 24; so only
//! the final `+ m` or `− m` rounds, and ggml's C, which a compiler may fuse, agrees too.)
//! `dot` is Σ_j w_j·x_j with each product exact in f64 and one f64 accumulator, in j order.

use std::fmt;

use half::f16;

use super::error::{Error, Result};

pub mod acts;
pub mod bfloat16;
pub mod float16;
pub mod float32;
pub mod gemm;
pub mod kernels;
pub mod matrix;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;

/// a ggml tensor type, by its id in ggml.h's `enum ggml_type` (the id a GGUF file stores).
/// every type here has its block size and bytes checked against ggml/src/ggml.c's
/// `type_traits` and gguf-py's `GGML_QUANT_SIZES`, which agree except on Q8_1 (see
/// [`GgmlType::block_bytes`]); retired ids and those newer than this list are unknown.
// the variant names are ggml's (`Q4_K`, `IQ2_XXS`), so a reader can grep for them in llama.cpp.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
}

/// writes the f32 values of a row; `raw` and `out` hold the same number of whole blocks.
type Dequantize = fn(&[u8], &mut [f32]);
/// Σ_j w_j·x_j over a row in f64; `raw` and `x` hold the same number of whole blocks.
type Dot = fn(&[u8], &[f32]) -> f64;

impl GgmlType {
    /// every type, in id order.
    pub const ALL: [GgmlType; 31] = {
        use GgmlType::*;
        [
            F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
            IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, I8, I16, I32, I64, F64,
            IQ1_M, BF16, TQ1_0, TQ2_0,
        ]
    };

    /// the type with ggml id `id`, or None for an id ggml never had, retired (4, 5, 31–33,
    /// 36–38) or newer than this table.
    /// the type called `name` (`Q4_K`), as [`name`](Self::name) spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn from_id(id: u32) -> Option<Self> {
        use GgmlType::*;
        Some(match id {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2_K,
            11 => Q3_K,
            12 => Q4_K,
            13 => Q5_K,
            14 => Q6_K,
            15 => Q8_K,
            16 => IQ2_XXS,
            17 => IQ2_XS,
            18 => IQ3_XXS,
            19 => IQ1_S,
            20 => IQ4_NL,
            21 => IQ3_S,
            22 => IQ2_S,
            23 => IQ4_XS,
            24 => I8,
            25 => I16,
            26 => I32,
            27 => I64,
            28 => F64,
            29 => IQ1_M,
            30 => BF16,
            34 => TQ1_0,
            35 => TQ2_0,
            _ => return None,
        })
    }

    /// the id a GGUF file stores for this type.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// (name, values per block, bytes per block): one row of ggml.c's `type_traits` each
    /// (`type_size` is the `sizeof` of the block struct in ggml-common.h; QK_K = 256).
    fn traits(self) -> (&'static str, usize, usize) {
        use GgmlType::*;
        match self {
            F32 => ("F32", 1, 4),
            F16 => ("F16", 1, 2),
            Q4_0 => ("Q4_0", 32, 18),
            Q4_1 => ("Q4_1", 32, 20),
            Q5_0 => ("Q5_0", 32, 22),
            Q5_1 => ("Q5_1", 32, 24),
            Q8_0 => ("Q8_0", 32, 34),
            // block_q8_1 is {f16 d, f16 s, int8 qs[32]}: 36 bytes. gguf-py 0.19.0 still says 40
            // (the older {float d, float s}); Q8_1 is the activation side of ggml's Q4_1/Q5_1
            // products, not a storage format, and ggml.c, which sizes the tensors, is followed.
            Q8_1 => ("Q8_1", 32, 36),
            Q2_K => ("Q2_K", 256, 84),
            Q3_K => ("Q3_K", 256, 110),
            Q4_K => ("Q4_K", 256, 144),
            Q5_K => ("Q5_K", 256, 176),
            Q6_K => ("Q6_K", 256, 210),
            Q8_K => ("Q8_K", 256, 292),
            IQ2_XXS => ("IQ2_XXS", 256, 66),
            IQ2_XS => ("IQ2_XS", 256, 74),
            IQ3_XXS => ("IQ3_XXS", 256, 98),
            IQ1_S => ("IQ1_S", 256, 50),
            IQ4_NL => ("IQ4_NL", 32, 18),
            IQ3_S => ("IQ3_S", 256, 110),
            IQ2_S => ("IQ2_S", 256, 82),
            IQ4_XS => ("IQ4_XS", 256, 136),
            I8 => ("I8", 1, 1),
            I16 => ("I16", 1, 2),
            I32 => ("I32", 1, 4),
            I64 => ("I64", 1, 8),
            F64 => ("F64", 1, 8),
            IQ1_M => ("IQ1_M", 256, 56),
            BF16 => ("BF16", 1, 2),
            TQ1_0 => ("TQ1_0", 256, 54),
            TQ2_0 => ("TQ2_0", 256, 66),
        }
    }

    /// ggml's name for the type, upper case as gguf-py spells it (`Q4_K`, `BF16`).
    pub fn name(self) -> &'static str {
        self.traits().0
    }

    /// values in one block.
    pub fn block_size(self) -> usize {
        self.traits().1
    }

    /// bytes in one block, the `sizeof` of ggml's block struct. Q8_1 is 36 as in ggml.c;
    /// gguf-py 0.19.0 says 40, the size of the struct before its two scales became f16.
    pub fn block_bytes(self) -> usize {
        self.traits().2
    }

    /// bytes taken by a row of `n` values: n / block_size · block_bytes. an error when n is
    /// not a whole number of blocks or the size overflows u64.
    pub fn row_bytes(self, n: u64) -> Result<u64> {
        let (name, size, bytes) = self.traits();
        let (size, bytes) = (size as u64, bytes as u64);
        if n % size != 0 {
            return Err(Error::Shape(format!(
                "a {name} row holds whole blocks of {size} values; {n} is not a multiple of {size}"
            )));
        }
        (n / size).checked_mul(bytes).ok_or_else(|| {
            Error::Shape(format!(
                "a {name} row of {n} values takes more than 2^64 bytes"
            ))
        })
    }

    /// the row readers of this type, or None when we cannot read it. the one place a type
    /// meets its module.
    fn kernels(self) -> Option<(Dequantize, Dot)> {
        use GgmlType::*;
        Some(match self {
            F32 => (float32::dequantize, float32::dot),
            F16 => (float16::dequantize, float16::dot),
            BF16 => (bfloat16::dequantize, bfloat16::dot),
            Q4_0 => (q4_0::dequantize, q4_0::dot),
            Q4_1 => (q4_1::dequantize, q4_1::dot),
            Q5_0 => (q5_0::dequantize, q5_0::dot),
            Q5_1 => (q5_1::dequantize, q5_1::dot),
            Q8_0 => (q8_0::dequantize, q8_0::dot),
            Q2_K => (q2_k::dequantize, q2_k::dot),
            Q3_K => (q3_k::dequantize, q3_k::dot),
            Q4_K => (q4_k::dequantize, q4_k::dot),
            Q5_K => (q5_k::dequantize, q5_k::dot),
            Q6_K => (q6_k::dequantize, q6_k::dot),
            Q8_1 | Q8_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S | IQ4_NL | IQ3_S | IQ2_S | IQ4_XS
            | I8 | I16 | I32 | I64 | F64 | IQ1_M | TQ1_0 | TQ2_0 => return None,
        })
    }

    /// whether [`dequantize_row`](Self::dequantize_row) and [`dot_row`](Self::dot_row) read
    /// this type (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K … Q6_K).
    pub fn can_read(self) -> bool {
        self.kernels().is_some()
    }

    /// the f32 values w_j of one row: `out.len()` values from `raw`, which must be exactly
    /// [`row_bytes`](Self::row_bytes)`(out.len())` long.
    pub fn dequantize_row(self, raw: &[u8], out: &mut [f32]) -> Result<()> {
        let (dequantize, _) = self.row_kernels(raw, out.len())?;
        dequantize(raw, out);
        Ok(())
    }

    /// Σ_j w_j·x_j for the row in `raw` (x.len() values), each product exact in f64, summed
    /// in f64 in j order: the scalar reference the faster kernels are held to.
    pub fn dot_row(self, raw: &[u8], x: &[f32]) -> Result<f64> {
        let (_, dot) = self.row_kernels(raw, x.len())?;
        Ok(dot(raw, x))
    }

    /// the kernels, once the type is readable and `raw` is a row of `n` values.
    fn row_kernels(self, raw: &[u8], n: usize) -> Result<(Dequantize, Dot)> {
        let Some(k) = self.kernels() else {
            let readable: Vec<&str> = Self::ALL
                .iter()
                .filter(|t| t.can_read())
                .map(|t| t.name())
                .collect();
            return Err(Error::Unsupported(format!(
                "cannot read ggml type {self} ({}); readable: {}",
                self.id(),
                readable.join(", ")
            )));
        };
        let need = self.row_bytes(n as u64)?;
        if raw.len() as u64 != need {
            return Err(Error::Shape(format!(
                "a {self} row of {n} values takes {need} bytes, got {}",
                raw.len()
            )));
        }
        Ok(k)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---- shared by the format modules ----

/// the little-endian f16 at `b[at..at + 2]` as f32 (exact; a NaN comes out quiet).
fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// runs `block` on each `BYTES`-byte block of `raw` with its `N` outputs.
fn dequantize_blocks<const N: usize, const BYTES: usize>(
    raw: &[u8],
    out: &mut [f32],
    block: fn(&[u8], &mut [f32]),
) {
    for (b, y) in raw.chunks_exact(BYTES).zip(out.chunks_exact_mut(N)) {
        block(b, y);
    }
}

/// Σ_j w_j·x_j with w from `block`, one block at a time into a stack buffer (no allocation).
fn dot_blocks<const N: usize, const BYTES: usize>(
    raw: &[u8],
    x: &[f32],
    block: fn(&[u8], &mut [f32]),
) -> f64 {
    let mut w = [0f32; N];
    let mut acc = 0f64;
    for (b, xb) in raw.chunks_exact(BYTES).zip(x.chunks_exact(N)) {
        block(b, &mut w);
        for (&wj, &xj) in w.iter().zip(xb) {
            acc += wj as f64 * xj as f64;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;

    fn readable() -> Vec<GgmlType> {
        GgmlType::ALL.into_iter().filter(|t| t.can_read()).collect()
    }

    /// random bytes: scales of any f16 (NaN and ±∞ too), quants of any value.
    fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| rng.next_u64() as u8).collect()
    }

    #[test]
    fn ids_round_trip_and_all_is_complete() {
        let mut known = 0;
        for id in 0..=u8::MAX as u32 + 1 {
            if let Some(t) = GgmlType::from_id(id) {
                assert_eq!(t.id(), id);
                assert!(GgmlType::ALL.contains(&t), "{t} missing from ALL");
                known += 1;
            }
        }
        assert_eq!(known, GgmlType::ALL.len());
        for (k, t) in GgmlType::ALL.iter().enumerate() {
            assert_eq!(GgmlType::from_id(t.id()), Some(*t));
            assert!(
                k == 0 || GgmlType::ALL[k - 1].id() < t.id(),
                "ALL in id order"
            );
            assert_eq!(format!("{t:?}"), t.name(), "name is the variant's");
        }
        for retired in [4, 5, 31, 32, 33, 36, 37, 38, u32::MAX] {
            assert_eq!(GgmlType::from_id(retired), None);
        }
    }

    #[test]
    fn the_thirteen_readable_types() {
        let names: Vec<&str> = readable().iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            [
                "F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                "Q5_K", "Q6_K", "BF16"
            ]
        );
    }

    #[test]
    fn modules_agree_with_the_traits_table() {
        use GgmlType::*;
        // each module derives BYTES from its block struct; the table copies ggml.c.
        let modules = [
            (F32, float32::BLOCK, float32::BYTES),
            (F16, float16::BLOCK, float16::BYTES),
            (BF16, bfloat16::BLOCK, bfloat16::BYTES),
            (Q4_0, q4_0::BLOCK, q4_0::BYTES),
            (Q4_1, q4_1::BLOCK, q4_1::BYTES),
            (Q5_0, q5_0::BLOCK, q5_0::BYTES),
            (Q5_1, q5_1::BLOCK, q5_1::BYTES),
            (Q8_0, q8_0::BLOCK, q8_0::BYTES),
            (Q2_K, q2_k::BLOCK, q2_k::BYTES),
            (Q3_K, q3_k::BLOCK, q3_k::BYTES),
            (Q4_K, q4_k::BLOCK, q4_k::BYTES),
            (Q5_K, q5_k::BLOCK, q5_k::BYTES),
            (Q6_K, q6_k::BLOCK, q6_k::BYTES),
        ];
        assert_eq!(modules.len(), readable().len());
        for (t, block, bytes) in modules {
            assert!(t.can_read(), "{t}");
            assert_eq!((t.block_size(), t.block_bytes()), (block, bytes), "{t}");
        }
        // and the project's Q8_0 reader uses the same block.
        assert_eq!(
            (Q8_0.block_size(), Q8_0.block_bytes()),
            (matrix::QK, matrix::BLOCK_BYTES)
        );
    }

    #[test]
    fn dot_is_the_f64_sum_of_the_dequantized_row() {
        for (k, t) in readable().into_iter().enumerate() {
            let n = 3 * 256;
            let raw = random_bytes(t.row_bytes(n as u64).unwrap() as usize, 100 + k as u64);
            let mut rng = Rng::new(200 + k as u64);
            let x: Vec<f32> = (0..n).map(|_| rng.gauss() as f32).collect();
            let mut w = vec![0f32; n];
            t.dequantize_row(&raw, &mut w).unwrap();
            let want: f64 = w.iter().zip(&x).map(|(&a, &b)| a as f64 * b as f64).sum();
            let got = t.dot_row(&raw, &x).unwrap();
            // the same products summed in the same order: equal, NaN included.
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "{t}: {got} vs {want}"
            );
            // a row is its blocks: dequantizing block by block gives the same bits.
            let (bs, bb) = (t.block_size(), t.block_bytes());
            for (b, y) in raw.chunks_exact(bb).zip(w.chunks_exact(bs)) {
                let mut one = vec![0f32; bs];
                t.dequantize_row(b, &mut one).unwrap();
                let same = one.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{t}");
            }
        }
    }

    #[test]
    fn zero_blocks_are_zero() {
        // zero bytes: every scale is +0, so every value is ±0 (Q4_0: +0·(0 − 8) = −0).
        for t in readable() {
            let raw = vec![0u8; t.block_bytes() * 2];
            let n = t.block_size() * 2;
            let mut w = vec![1f32; n];
            t.dequantize_row(&raw, &mut w).unwrap();
            assert!(w.iter().all(|&v| v == 0.0), "{t}: {w:?}");
            assert_eq!(t.dot_row(&raw, &vec![1.0; n]).unwrap(), 0.0, "{t}");
        }
    }

    #[test]
    fn row_bytes_counts_blocks_and_refuses_partial_ones() {
        use GgmlType::*;
        assert_eq!(Q4_K.row_bytes(0).unwrap(), 0);
        assert_eq!(Q4_K.row_bytes(512).unwrap(), 288);
        assert_eq!(F32.row_bytes(3).unwrap(), 12);
        assert_eq!(Q8_0.row_bytes(576).unwrap(), 18 * 34);
        let e = Q4_K.row_bytes(100).unwrap_err();
        assert!(matches!(e, Error::Shape(_)));
        assert!(e.to_string().contains("Q4_K"), "{e}");
        assert!(e.to_string().contains("256"), "{e}");
        let e = F64.row_bytes(u64::MAX).unwrap_err().to_string();
        assert!(e.contains("F64") && e.contains("2^64"), "{e}");
        // 2^56 − 1 blocks fit at 210 bytes each, not at 292.
        assert!(Q6_K.row_bytes(u64::MAX / 256 * 256).is_ok());
        let e = Q8_K
            .row_bytes(u64::MAX / 256 * 256)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Q8_K"), "{e}");
        // the largest row that fits.
        assert_eq!(I8.row_bytes(u64::MAX).unwrap(), u64::MAX);
    }

    #[test]
    fn bad_rows_are_errors_not_panics() {
        for t in GgmlType::ALL {
            let (bs, bb) = (t.block_size(), t.block_bytes());
            let raw = vec![0u8; bb * 2];
            let mut out = vec![0f32; bs * 2];
            let x = vec![1f32; bs * 2];
            if !t.can_read() {
                let e = t.dequantize_row(&raw, &mut out).unwrap_err();
                assert!(matches!(e, Error::Unsupported(_)), "{t}: {e}");
                assert!(e.to_string().contains(t.name()), "{e}");
                assert!(t.dot_row(&raw, &x).is_err(), "{t}");
                continue;
            }
            // one byte short, one byte long, no bytes.
            for len in [bb * 2 - 1, bb * 2 + 1, 0] {
                let e = t.dequantize_row(&vec![0u8; len], &mut out);
                assert!(matches!(e, Err(Error::Shape(_))), "{t} {len}: {e:?}");
            }
            assert!(t.dot_row(&raw[1..], &x).is_err(), "{t}");
            if bs > 1 {
                // a length that is not a whole number of blocks.
                let e = t.dequantize_row(&raw, &mut out[..bs + 1]).unwrap_err();
                assert!(e.to_string().contains(t.name()), "{e}");
                assert!(t.dot_row(&raw, &x[..bs * 2 - 1]).is_err(), "{t}");
            }
            // an empty row is a row.
            assert!(t.dequantize_row(&[], &mut []).is_ok());
            assert_eq!(t.dot_row(&[], &[]).unwrap(), 0.0);
        }
    }
}
