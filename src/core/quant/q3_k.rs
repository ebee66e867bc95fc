//! Q3_K (ggml type 11): a super-block of 256 values in 16 sub-blocks of 16, each with a signed
//! 6-bit scale, 3-bit quants (2 low bits in `qs`, the high bit in `hmask`); one f16 super-scale.
//!
//! ```c
//! typedef struct {
//!     uint8_t hmask[QK_K/8]; // quants - high bit
//!     uint8_t qs[QK_K/4];    // quants - low 2 bits
//!     uint8_t scales[12];    // scales, quantized with 6 bits
//!     ggml_half d;           // super-block scale
//! } block_q3_K;              // 110 bytes
//! ```
//!
//! value e of the block (0..256), in sub-block s = e / 16:
//!
//! ```text
//! lo4 = s < 8 ? scales[s] & 15 : scales[s − 8] >> 4
//! hi2 = (scales[8 + s % 4] >> 2·(s / 4)) & 3
//! sc  = (lo4 | hi2 · 16) − 32                          ∈ −32..31
//! lo  = (qs[32·(e / 128) + e % 32] >> 2·((e % 128) / 32)) & 3
//! q   = lo − (bit e / 32 of hmask[e % 32] ? 0 : 4)     ∈ −4..3
//! w   = (d · f32(sc)) · f32(q)
//! ```
//!
//! follows ggml-quants.c `dequantize_row_q3_K` and gguf-py `Q3_K.dequantize_blocks`
//! (`dl = d * scales`, then `dl * q`): two exact products, the same bits.

use super::{dequantize_blocks, dot_blocks, f16_at};

pub const BLOCK: usize = 256;
pub const BYTES: usize = BLOCK / 8 + BLOCK / 4 + 12 + 2;

/// sub-block s's scale, −32..31.
fn scale(scales: &[u8], s: usize) -> i32 {
    let lo = if s < 8 {
        scales[s] & 0x0F
    } else {
        scales[s - 8] >> 4
    };
    let hi = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
    (lo | (hi << 4)) as i32 - 32
}

fn block(b: &[u8], y: &mut [f32]) {
    let hmask = &b[0..32];
    let qs = &b[32..96];
    let scales = &b[96..108];
    let d = f16_at(b, 108);
    for s in 0..16 {
        let dl = d * scale(scales, s) as f32;
        for e in 16 * s..16 * (s + 1) {
            let lo = (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            let high_set = (hmask[e % 32] >> (e / 32)) & 1 == 1;
            let q = lo as i32 - if high_set { 0 } else { 4 };
            y[e] = dl * q as f32;
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
