//! one quantized matmul to time, the same natively (`unembed bench --gemm`) and in wasm
//! (`GemmBench` in src/wasm.rs, bench/gemm_wasm.mjs): seeded random weights of a type and
//! shape, activations quantized once, an output buffer; nothing allocated per run.

use super::super::acts::QActs;
use super::super::kernels::Kernel;
use super::super::GgmlType;
use super::matmul_with;
use crate::core::error::{Error, Result};
use crate::core::fixtures::random_blocks;
use crate::core::rng::Rng;

/// the SmolLM2-135M block shapes (rows × k): q and o (576 × 576), k and v (192 × 576),
/// gate and up (1536 × 576), down (576 × 1536).
pub const SMOLLM2_SHAPES: [(usize, usize); 4] = [(576, 576), (192, 576), (1536, 576), (576, 1536)];

pub struct Bench {
    ty: GgmlType,
    rows: usize,
    k: usize,
    n: usize,
    w: Vec<u8>,
    xs: Vec<f32>,
    x: QActs,
    out: Vec<f32>,
}

impl Bench {
    /// `rows` × `k` weights of type `ty`, n columns of Gaussian activations, from `seed`.
    pub fn new(ty: GgmlType, rows: usize, k: usize, n: usize, seed: u64) -> Result<Self> {
        let Some(format) = ty.act_format().filter(|_| super::TYPES.contains(&ty)) else {
            return Err(Error::Unsupported(format!("no quantized matmul for {ty}")));
        };
        if k % ty.block_size() != 0 || rows * k * n > 1 << 28 {
            return Err(Error::Shape(format!(
                "a benchmark of {rows} × {k} {ty} by {n} columns"
            )));
        }
        let mut rng = Rng::new(seed ^ 0x9e37);
        let xs: Vec<f32> = (0..n * k).map(|_| rng.gauss() as f32).collect();
        let mut x = QActs::new();
        x.quantize(format, &xs, n, k)?;
        Ok(Bench {
            ty,
            rows,
            k,
            n,
            w: random_blocks(ty, rows, k, seed),
            xs,
            x,
            out: vec![0.0; rows * n],
        })
    }

    /// the kernels this machine runs for the benchmark's type, fastest last.
    pub fn kernels(&self) -> Vec<Kernel> {
        super::kernels(self.ty)
    }

    /// multiply-adds in one run: rows·k·n.
    pub fn macs(&self) -> f64 {
        (self.rows * self.k * self.n) as f64
    }

    /// one matmul with `kernel`.
    pub fn run(&mut self, kernel: Kernel) -> Result<()> {
        matmul_with(
            kernel,
            self.ty,
            &self.w,
            self.rows,
            self.k,
            &self.x,
            &mut self.out,
        )
    }

    /// the activations quantized again (what each matmul of a forward pass pays first).
    pub fn quantize(&mut self) -> Result<()> {
        let format = self.x.format();
        self.x.quantize(format, &self.xs, self.n, self.k)
    }

    /// the sum of the outputs (keeps the work observable).
    pub fn checksum(&self) -> f64 {
        self.out.iter().map(|&v| v as f64).sum()
    }
}
