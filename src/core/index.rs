//! the tensor index: every tensor a file holds (name, type, shape, byte range), read from a
//! GGUF or safetensors header, and checked 2-d views ([`MatrixRef`]) of the ones a caller
//! reads. the explorer reads one or two matrices of it, the forward pass all of them.

use std::collections::HashMap;

use super::error::{Error, Result};
use super::files::gguf::Header;
use super::files::safetensors::SafetensorsHeader;
use super::quant::GgmlType;
use super::source::check_range;

/// a tensor's element type: a ggml type we can size, or what the file called it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorType {
    Ggml(GgmlType),
    /// a ggml id or a safetensors dtype that is not a ggml type we read (`ggml type unknown
    /// (99)`, `dtype F8_E4M3`, `dtype I8`).
    Other(String),
}

impl TensorType {
    /// the type as messages name it (`ggml type Q4_K`, `dtype I8`).
    pub fn describe(&self) -> String {
        match self {
            TensorType::Ggml(t) => format!("ggml type {}", t.name()),
            TensorType::Other(s) => s.clone(),
        }
    }
}

/// one tensor of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub name: String,
    pub ty: TensorType,
    /// ggml order: `shape[0]` is the row length (the fastest-varying axis).
    pub shape: Vec<u64>,
    /// absolute offset in the file.
    pub offset: u64,
    /// bytes, when the type is known (the header parsers checked that they lie in the file).
    pub nbytes: Option<u64>,
}

/// every tensor of a file, by name.
#[derive(Debug, Clone, Default)]
pub struct TensorIndex {
    pub tensors: Vec<TensorEntry>,
    by_name: HashMap<String, usize>,
    file_len: u64,
    /// shapes as the file wrote them were reversed (safetensors: slowest axis first); messages
    /// show them the file's way.
    reversed: bool,
}

/// a 2-d matrix stored row-major at `offset`: `rows` rows (the vocabulary axis of an
/// embedding) of `cols` elements, in a type we can read.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixRef {
    pub name: String,
    pub ty: GgmlType,
    pub rows: u64,
    pub cols: u64,
    pub offset: u64,
    pub nbytes: u64,
}

impl MatrixRef {
    /// bytes of one row.
    pub fn row_bytes(&self) -> u64 {
        self.nbytes / self.rows
    }
}

impl TensorIndex {
    fn new(tensors: Vec<TensorEntry>, file_len: u64) -> Self {
        let by_name = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        TensorIndex {
            tensors,
            by_name,
            file_len,
            reversed: false,
        }
    }

    /// the tensors of a parsed GGUF header (offsets made absolute).
    pub fn from_gguf(h: &Header) -> Result<Self> {
        let mut v = Vec::with_capacity(h.tensors.len());
        for t in &h.tensors {
            let offset = h
                .data_start
                .checked_add(t.offset)
                .ok_or_else(|| Error::Format(format!("tensor {}: offset overflows", t.name)))?;
            let ty = match GgmlType::from_id(t.ggml_type) {
                Some(g) => TensorType::Ggml(g),
                None => TensorType::Other(format!("ggml type unknown ({})", t.ggml_type)),
            };
            v.push(TensorEntry {
                name: t.name.clone(),
                ty,
                shape: t.dims.clone(),
                offset,
                nbytes: super::files::gguf::tensor_nbytes(t)?,
            });
        }
        Ok(TensorIndex::new(v, h.file_len))
    }

    /// the tensors of a parsed safetensors header (shapes turned into ggml order).
    pub fn from_safetensors(h: &SafetensorsHeader, file_len: u64) -> Self {
        let v = h
            .tensors
            .iter()
            .map(|t| {
                // the float types a checkpoint stores weights in; the rest are named as the file
                // names them (their sizes were checked by the header parser).
                let ty = match t.dtype.as_str() {
                    "F32" => TensorType::Ggml(GgmlType::F32),
                    "F16" => TensorType::Ggml(GgmlType::F16),
                    "BF16" => TensorType::Ggml(GgmlType::BF16),
                    other => TensorType::Other(format!("dtype {other}")),
                };
                TensorEntry {
                    name: t.name.clone(),
                    ty,
                    shape: t.shape.iter().rev().copied().collect(),
                    offset: t.begin,
                    nbytes: Some(t.end - t.begin),
                }
            })
            .collect();
        TensorIndex {
            reversed: true,
            ..TensorIndex::new(v, file_len)
        }
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
    pub fn get(&self, name: &str) -> Option<&TensorEntry> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// the tensor `name` as a readable 2-d matrix (a 1-d tensor is one row), or None when the
    /// file has no such tensor.
    pub fn matrix(&self, name: &str) -> Result<Option<MatrixRef>> {
        let Some(t) = self.get(name) else {
            return Ok(None);
        };
        let (cols, rows) = match t.shape.as_slice() {
            [c, r] => (*c, *r),
            [c] => (*c, 1),
            d if self.reversed => {
                let file: Vec<u64> = d.iter().rev().copied().collect();
                return Err(Error::Shape(format!(
                    "tensor {name} has shape {file:?}, expected 2-d"
                )));
            }
            d => {
                return Err(Error::Shape(format!(
                    "tensor {name} should be 2-d, has dims {d:?}"
                )))
            }
        };
        let ty = match &t.ty {
            TensorType::Ggml(g) if g.can_read() => *g,
            other => {
                return Err(Error::Unsupported(format!(
                    "tensor {name} has {}; readable: {}",
                    other.describe(),
                    readable_types()
                )))
            }
        };
        if rows == 0 || cols == 0 {
            return Err(Error::Shape(format!(
                "tensor {name} is empty ({rows} × {cols})"
            )));
        }
        let nbytes = ty.row_bytes(cols)?.checked_mul(rows).ok_or_else(|| {
            Error::Format(format!("tensor {name}: size {rows} × {cols} overflows"))
        })?;
        check_range(t.offset, nbytes, self.file_len, &format!("tensor {name}"))?;
        if let Some(n) = t.nbytes {
            if n != nbytes {
                return Err(Error::Format(format!(
                    "tensor {name}: [{}, {}) does not hold {nbytes} bytes",
                    t.offset,
                    t.offset + n
                )));
            }
        }
        Ok(Some(MatrixRef {
            name: name.to_string(),
            ty,
            rows,
            cols,
            offset: t.offset,
            nbytes,
        }))
    }

    /// the first of `names` the file holds, as a matrix.
    pub fn first_matrix(&self, names: &[&str]) -> Result<Option<MatrixRef>> {
        match names.iter().find(|n| self.get(n).is_some()) {
            Some(n) => self.matrix(n),
            None => Ok(None),
        }
    }
}

/// the types a matrix may have, for messages.
pub fn readable_types() -> String {
    GgmlType::ALL
        .iter()
        .filter(|t| t.can_read())
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}
