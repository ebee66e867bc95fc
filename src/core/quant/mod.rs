//! quantization: the ggml block formats (one type, [`GgmlType`]), the served Q8_0 matrix
//! ([`matrix::Q8Matrix`]) and its product kernels ([`kernels`]).
//!
//! (temporary: the per-format files land from the `quant` branch.)

use super::error::{Error, Result};
use half::{bf16, f16};

pub mod kernels;
pub mod matrix;

/// a ggml tensor type: the id in a GGUF header, its block shape, and (for the formats we read)
/// how to dequantize a row.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    I8,
    I16,
    I32,
    I64,
    F64,
    BF16,
}

const TABLE: &[(GgmlType, u32, &str, usize, usize)] = &[
    (GgmlType::F32, 0, "F32", 1, 4),
    (GgmlType::F16, 1, "F16", 1, 2),
    (GgmlType::Q4_0, 2, "Q4_0", 32, 18),
    (GgmlType::Q4_1, 3, "Q4_1", 32, 20),
    (GgmlType::Q5_0, 6, "Q5_0", 32, 22),
    (GgmlType::Q5_1, 7, "Q5_1", 32, 24),
    (GgmlType::Q8_0, 8, "Q8_0", 32, 34),
    (GgmlType::Q8_1, 9, "Q8_1", 32, 36),
    (GgmlType::Q2_K, 10, "Q2_K", 256, 84),
    (GgmlType::Q3_K, 11, "Q3_K", 256, 110),
    (GgmlType::Q4_K, 12, "Q4_K", 256, 144),
    (GgmlType::Q5_K, 13, "Q5_K", 256, 176),
    (GgmlType::Q6_K, 14, "Q6_K", 256, 210),
    (GgmlType::Q8_K, 15, "Q8_K", 256, 292),
    (GgmlType::I8, 24, "I8", 1, 1),
    (GgmlType::I16, 25, "I16", 1, 2),
    (GgmlType::I32, 26, "I32", 1, 4),
    (GgmlType::I64, 27, "I64", 1, 8),
    (GgmlType::F64, 28, "F64", 1, 8),
    (GgmlType::BF16, 30, "BF16", 1, 2),
];

impl GgmlType {
    fn row(self) -> &'static (GgmlType, u32, &'static str, usize, usize) {
        TABLE
            .iter()
            .find(|r| r.0 == self)
            .expect("every type is in the table")
    }
    /// every type we know.
    pub fn all() -> impl Iterator<Item = GgmlType> {
        TABLE.iter().map(|r| r.0)
    }
    /// the type called `name` (`Q4_K`).
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|r| r.2 == name).map(|r| r.0)
    }
    pub fn from_id(id: u32) -> Option<Self> {
        TABLE.iter().find(|r| r.1 == id).map(|r| r.0)
    }
    pub fn id(self) -> u32 {
        self.row().1
    }
    pub fn name(self) -> &'static str {
        self.row().2
    }
    pub fn block_size(self) -> usize {
        self.row().3
    }
    pub fn block_bytes(self) -> usize {
        self.row().4
    }
    /// bytes of a row of `n` elements.
    pub fn row_bytes(self, n: u64) -> Result<u64> {
        let b = self.block_size() as u64;
        if n % b != 0 {
            return Err(Error::Shape(format!(
                "{} rows must be a multiple of {b} long, got {n}",
                self.name()
            )));
        }
        (n / b)
            .checked_mul(self.block_bytes() as u64)
            .ok_or_else(|| Error::Format(format!("a row of {n} {} overflows", self.name())))
    }
    pub fn can_read(self) -> bool {
        matches!(
            self,
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8_0
        )
    }
    pub fn dequantize_row(self, raw: &[u8], out: &mut [f32]) -> Result<()> {
        if Some(raw.len() as u64) != self.row_bytes(out.len() as u64).ok() {
            return Err(Error::Shape(format!(
                "{} bytes cannot be a row of {} {}",
                raw.len(),
                out.len(),
                self.name()
            )));
        }
        match self {
            GgmlType::F32 => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            GgmlType::F16 => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
                }
            }
            GgmlType::BF16 => {
                for (o, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    *o = bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
                }
            }
            GgmlType::Q8_0 => {
                for (o, b) in out.chunks_exact_mut(32).zip(raw.chunks_exact(34)) {
                    let d = f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
                    for (x, &q) in o.iter_mut().zip(&b[2..]) {
                        *x = d * (q as i8) as f32;
                    }
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "reading {} is not supported",
                    other.name()
                )))
            }
        }
        Ok(())
    }
    pub fn dot_row(self, raw: &[u8], x: &[f32]) -> Result<f64> {
        let mut w = vec![0f32; x.len()];
        self.dequantize_row(raw, &mut w)?;
        Ok(w.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum())
    }
}
