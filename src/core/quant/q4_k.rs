//! Q4_K (ggml type 12): a super-block of 256 values in 8 sub-blocks of 32, each with a 6-bit
//! scale and a 6-bit minimum, 4-bit quants; two f16 super-scales.
//!
//! ```c
//! typedef struct {
//!     ggml_half d;                  // super-block scale for quantized scales
//!     ggml_half dmin;               // super-block scale for quantized mins
//!     uint8_t scales[K_SCALE_SIZE]; // scales and mins, quantized with 6 bits
//!     uint8_t qs[QK_K/2];           // 4--bit quants
//! } block_q4_K;                     // 144 bytes (K_SCALE_SIZE = 12)
//! ```
//!
//! value e of the block (0..256), in sub-block s = e / 32, all in f32 and never fused:
//!
//! ```text
//! (sc, m) = scale_min(scales, s)
//! q       = (qs[32·(s / 2) + e % 32] >> 4·(s % 2)) & 15
//! w       = (d · f32(sc)) · f32(q) − (dmin · f32(m))
//! ```
//!
//! (`d*sc`, then `dmin*m`, then the product, then the difference.) follows ggml-quants.c
//! `dequantize_row_q4_K` (`d1 * q - m1`, which a C compiler may fuse) as gguf-py
//! `Q4_K.dequantize_blocks` evaluates it (`d * qs - dm`); every product is exact, so both
//! round once, at the difference.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 256;
pub const K_SCALE_SIZE: usize = 12;
pub const BYTES: usize = 2 + 2 + K_SCALE_SIZE + BLOCK / 2;

/// the 6-bit scale and minimum of sub-block s (0..8) from the 12 packed bytes: for s < 4 the
/// low 6 bits of bytes s and s + 4; for s ≥ 4 the nibbles of byte s + 4 with the top 2 bits of
/// bytes s − 4 and s above them. ggml-quants.c `get_scale_min_k4`, gguf-py `get_scale_min`.
pub fn scale_min(scales: &[u8], s: usize) -> (u8, u8) {
    if s < 4 {
        (scales[s] & 63, scales[s + 4] & 63)
    } else {
        (
            (scales[s + 4] & 0x0F) | ((scales[s - 4] >> 6) << 4),
            (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4),
        )
    }
}

fn block(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let dmin = f16_at(b, 2);
    let scales = &b[4..4 + K_SCALE_SIZE];
    let qs = &b[16..16 + BLOCK / 2];
    for s in 0..8 {
        let (sc, m) = scale_min(scales, s);
        let dl = d * sc as f32;
        let ml = dmin * m as f32;
        for l in 0..32 {
            let q = (qs[32 * (s / 2) + l] >> (4 * (s % 2))) & 0x0F;
            y[32 * s + l] = (dl * q as f32) - ml;
        }
    }
}

/// the values of whole blocks (lengths checked by `GgmlType::dequantize_row`).
pub fn dequantize(raw: &[u8], out: &mut [f32]) {
    dequantize_blocks::<BLOCK, BYTES>(raw, out, block)
}

/// Σ_j w_j·x_j in f64.
pub fn dot(raw: &[u8], x: &[f32]) -> f64 {
    dot_blocks::<BLOCK, BYTES>(raw, x, block)
}
