//! what a format reader hands to the model loader: where a 2-d weight lives and how it is stored.

use super::error::{Error, Result};

/// element types we can read for an embedding-like matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    BF16,
    /// ggml Q8_0: blocks of 32 int8 with one f16 scale, 34 bytes a block.
    Q8_0,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::Q8_0 => "Q8_0",
        }
    }

    /// bytes taken by one row of `cols` elements (`cols` must be a multiple of 32 for Q8_0).
    pub fn row_bytes(self, cols: u64) -> Result<u64> {
        let b = match self {
            DType::F32 => cols.checked_mul(4),
            DType::F16 | DType::BF16 => cols.checked_mul(2),
            DType::Q8_0 => {
                if cols % 32 != 0 {
                    return Err(Error::Shape(format!(
                        "Q8_0 rows must be a multiple of 32 long, got {cols}"
                    )));
                }
                (cols / 32).checked_mul(34)
            }
        };
        b.ok_or_else(|| Error::Format(format!("row of {cols} {} overflows", self.name())))
    }
}

/// a 2-d matrix stored row-major at `offset` (absolute, from the start of the file).
/// `rows` is the vocabulary axis, `cols` the model dimension d.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub name: String,
    pub dtype: DType,
    pub rows: u64,
    pub cols: u64,
    pub offset: u64,
    pub nbytes: u64,
}

impl TensorRef {
    /// builds a reference after checking that `rows × cols` in `dtype` takes exactly `nbytes`
    /// (overflow-checked) and fits in a file of `file_len` bytes.
    pub fn new(
        name: &str,
        dtype: DType,
        rows: u64,
        cols: u64,
        offset: u64,
        file_len: u64,
    ) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(Error::Shape(format!(
                "tensor {name} is empty ({rows} × {cols})"
            )));
        }
        let nbytes = dtype.row_bytes(cols)?.checked_mul(rows).ok_or_else(|| {
            Error::Format(format!("tensor {name}: size {rows} × {cols} overflows"))
        })?;
        super::source::check_range(offset, nbytes, file_len, &format!("tensor {name}"))?;
        Ok(TensorRef {
            name: name.to_string(),
            dtype,
            rows,
            cols,
            offset,
            nbytes,
        })
    }
}

/// how token strings are spelled, which decides how they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// GPT-2 style byte-level BPE: every byte is mapped to a printable char (`Ġ` = space).
    ByteLevel,
    /// SentencePiece: `▁` = space, bytes as `<0x0A>`.
    SentencePiece,
    /// shown as they are.
    Plain,
}
