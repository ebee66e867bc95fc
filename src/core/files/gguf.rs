//! GGUF v2/v3 reader and writer.
//!
//! layout: magic `GGUF`, u32 version, u64 tensor count, u64 kv count, kvs, tensor infos, padding
//! to `general.alignment` (default 32), then tensor data. every count, length and offset is
//! checked against what the file can hold before anything is allocated.

use std::collections::HashSet;

use crate::core::error::{bail_format, Error, Result};
use crate::core::quant::GgmlType;
use crate::core::source::{check_range, ByteSource};

pub const MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// a metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    /// element type id and items.
    Array(u32, Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// integer value of any integer type.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// the value of any numeric type as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v as f64),
            Value::I16(v) => Some(v as f64),
            Value::I32(v) => Some(v as f64),
            Value::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }
    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::Array(..) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }
    /// short human form: scalars in full, strings clipped, arrays by length.
    pub fn summary(&self) -> String {
        match self {
            Value::Str(s) if s.chars().count() > 80 => {
                format!("{:?}…", s.chars().take(80).collect::<String>())
            }
            Value::Str(s) => format!("{s:?}"),
            Value::Array(t, items) => format!("[{} items of type {}]", items.len(), type_name(*t)),
            Value::U8(v) => v.to_string(),
            Value::I8(v) => v.to_string(),
            Value::U16(v) => v.to_string(),
            Value::I16(v) => v.to_string(),
            Value::U32(v) => v.to_string(),
            Value::I32(v) => v.to_string(),
            Value::U64(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::F32(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            Value::Bool(v) => v.to_string(),
        }
    }
}

fn type_name(t: u32) -> &'static str {
    match t {
        0 => "u8",
        1 => "i8",
        2 => "u16",
        3 => "i16",
        4 => "u32",
        5 => "i32",
        6 => "f32",
        7 => "bool",
        8 => "string",
        9 => "array",
        10 => "u64",
        11 => "i64",
        12 => "f64",
        _ => "unknown",
    }
}

/// one tensor's entry in the header. `offset` is relative to the data section.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: dims[0] is the fastest-varying (row length).
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

/// a parsed header: everything but the tensor data.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// absolute offset of the data section.
    pub data_start: u64,
    /// total file length the header was checked against.
    pub file_len: u64,
}

/// a file's metadata, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(pub Vec<(String, Value)>);

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
    /// an integer of any integer type.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }
    /// a number of any numeric type.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }
    pub fn iter(&self) -> impl Iterator<Item = &(String, Value)> {
        self.0.iter()
    }

    /// the string array under `key` (e.g. `tokenizer.ggml.tokens`).
    pub fn get_strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(8, items)) => Ok(Some(
                items
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect(),
            )),
            Some(other) => Err(Error::Format(format!(
                "{key} should be an array of strings, found {}",
                other.summary()
            ))),
        }
    }
}

impl Header {
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// the name of a ggml type id (`Q4_K`), or `unknown`.
pub fn ggml_type_name(t: u32) -> &'static str {
    GgmlType::from_id(t).map_or("unknown", GgmlType::name)
}

/// bytes taken by a tensor, or None when the type is unknown.
pub fn tensor_nbytes(t: &TensorInfo) -> Result<Option<u64>> {
    let Some(ty) = GgmlType::from_id(t.ggml_type) else {
        return Ok(None);
    };
    let (blk, bytes) = (ty.block_size() as u64, ty.block_bytes() as u64);
    let mut n: u64 = 1;
    for &d in &t.dims {
        n = n.checked_mul(d).ok_or_else(|| {
            Error::Format(format!("tensor {}: dims {:?} overflow u64", t.name, t.dims))
        })?;
    }
    let first = t.dims.first().copied().unwrap_or(1);
    if first % blk != 0 {
        return Err(Error::Format(format!(
            "tensor {}: row length {first} is not a multiple of the {} block size {blk}",
            t.name,
            ggml_type_name(t.ggml_type)
        )));
    }
    (n / blk)
        .checked_mul(bytes)
        .map(Some)
        .ok_or_else(|| Error::Format(format!("tensor {}: byte size overflows", t.name)))
}

/// reads the header from `src`. a source that holds only a prefix of the file answers
/// [`Error::Truncated`] with the length needed; grow the prefix and call again.
pub fn parse_header(src: &dyn ByteSource) -> Result<Header> {
    let mut r = Reader::new(src)?;
    let magic = r.bytes(4, "magic")?;
    if magic != MAGIC {
        bail_format!(
            "not a GGUF file: magic is {:?}, expected \"GGUF\"",
            String::from_utf8_lossy(&magic)
        );
    }
    let version = r.u32("version")?;
    if !(2..=3).contains(&version) {
        return Err(Error::Unsupported(format!(
            "GGUF version {version}; only versions 2 and 3 are read"
        )));
    }
    let n_tensors = r.u64("tensor count")?;
    let n_kv = r.u64("metadata count")?;
    // each kv takes at least 8 (key len) + 4 (type) + 1 bytes; each tensor info at least 8+4+4+8.
    r.check_count(n_kv, 13, "metadata count")?;
    r.check_count(n_tensors, 24, "tensor count")?;
    if n_kv > MAX_KV {
        bail_format!("metadata count {n_kv} is above the limit of {MAX_KV}");
    }
    if n_tensors > MAX_TENSORS {
        bail_format!("tensor count {n_tensors} is above the limit of {MAX_TENSORS}");
    }

    let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv as usize);
    let mut keys = HashSet::new();
    for i in 0..n_kv {
        let key = r.string(&format!("key of metadata entry {i}"))?;
        if key.len() > MAX_KEY {
            bail_format!(
                "metadata entry {i}: key of {} bytes is above the limit of {MAX_KEY}",
                key.len()
            );
        }
        if !keys.insert(key.clone()) {
            bail_format!("metadata key {key:?} appears twice");
        }
        let ty = r.u32(&format!("type of {key}"))?;
        let value = r.value(ty, &key, 0)?;
        metadata.push((key, value));
    }

    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors as usize);
    let mut names = HashSet::new();
    for i in 0..n_tensors {
        let name = r.string(&format!("name of tensor {i}"))?;
        if name.len() > MAX_KEY {
            bail_format!(
                "tensor {i}: name of {} bytes is above the limit of {MAX_KEY}",
                name.len()
            );
        }
        if !names.insert(name.clone()) {
            bail_format!("tensor name {name:?} appears twice");
        }
        let n_dims = r.u32(&format!("dims count of {name}"))?;
        if n_dims == 0 || n_dims > 4 {
            bail_format!("tensor {name} has {n_dims} dims; GGUF allows 1 to 4");
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(r.u64(&format!("dims of {name}"))?);
        }
        let ggml_type = r.u32(&format!("type of {name}"))?;
        let offset = r.u64(&format!("offset of {name}"))?;
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
        });
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, v)) => match v.as_u64() {
            Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
            _ => bail_format!(
                "general.alignment must be a power of two up to 1 MiB, found {}",
                v.summary()
            ),
        },
    };
    let data_start = align_up(r.pos, alignment)
        .ok_or_else(|| Error::Format("data section offset overflows".into()))?;
    let file_len = src.len();

    // every tensor we can size must lie inside the file, aligned, without overlapping another.
    let mut spans: Vec<(u64, u64, &str)> = Vec::new();
    for t in &tensors {
        if t.offset % alignment != 0 {
            bail_format!(
                "tensor {} offset {} is not a multiple of the alignment {alignment}",
                t.name,
                t.offset
            );
        }
        if let Some(n) = tensor_nbytes(t)? {
            let start = data_start
                .checked_add(t.offset)
                .ok_or_else(|| Error::Format(format!("tensor {} offset overflows", t.name)))?;
            let end = start
                .checked_add(n)
                .ok_or_else(|| Error::Format(format!("tensor {} end overflows", t.name)))?;
            if end > file_len {
                return Err(Error::Truncated {
                    what: format!("tensor {} ({} bytes at offset {start})", t.name, n),
                    need: end,
                    have: file_len,
                });
            }
            spans.push((start, end, &t.name));
        }
    }
    spans.sort();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            bail_format!("tensors {} and {} overlap", w[0].2, w[1].2);
        }
    }

    Ok(Header {
        version,
        metadata: Metadata(metadata),
        tensors,
        alignment,
        data_start,
        file_len,
    })
}

pub fn align_up(x: u64, a: u64) -> Option<u64> {
    Some(x.checked_add(a - 1)? / a * a)
}

/// sequential reads over a byte source with every length checked first.
struct Reader<'a> {
    src: &'a dyn ByteSource,
    pos: u64,
    /// a cached window to avoid one source call per integer.
    buf: Vec<u8>,
    buf_start: u64,
    /// array items decoded so far (bounded by [`MAX_ITEMS`]).
    items: u64,
}

const WINDOW: u64 = 1 << 16;
/// the deepest array nesting we follow.
const MAX_DEPTH: u32 = 4;
/// limits far above any real model (which have tens of keys, a few thousand tensors, and under
/// a million array items: Gemma's 256k tokens, scores and types make 768k, Llama 3's tokens and
/// merges 540k) that bound the memory a hostile header can make us allocate: each item is a
/// 32-byte [`Value`], so the decoded header stays under MAX_ITEMS × 32 B = 64 MiB, plus
/// 64 B per tensor info (each takes at least 24 bytes of the file) and the string bytes that
/// are really in the file: at most 64 MiB + 4 × the header's size.
pub const MAX_KV: u64 = 1 << 16;
pub const MAX_TENSORS: u64 = 1 << 20;
pub const MAX_ITEMS: u64 = 1 << 21;
pub const MAX_KEY: usize = 1 << 16;

impl<'a> Reader<'a> {
    fn new(src: &'a dyn ByteSource) -> Result<Self> {
        Ok(Reader {
            src,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            items: 0,
        })
    }

    fn remaining(&self) -> u64 {
        self.src.len().saturating_sub(self.pos)
    }

    /// a count of items each at least `min_size` bytes must fit in the rest of the file.
    fn check_count(&self, n: u64, min_size: u64, what: &str) -> Result<()> {
        match n.checked_mul(min_size) {
            Some(b) if b <= self.remaining() => Ok(()),
            _ => Err(Error::Format(format!(
                "{what} {n} cannot fit in the {} bytes left in the file",
                self.remaining()
            ))),
        }
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        check_range(self.pos, n, self.src.len(), what)?;
        let end = self.pos + n;
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || end > buf_end {
            if n > WINDOW {
                let out = self.src.read_range(self.pos, n, what)?;
                self.pos = end;
                return Ok(out);
            }
            let len = WINDOW.min(self.src.len() - self.pos);
            self.buf = match self.src.read_range(self.pos, len, what) {
                Ok(b) => b,
                // a prefix source may hold less than a full window: take what is needed.
                Err(Error::Truncated { .. }) => self.src.read_range(self.pos, n, what)?,
                Err(e) => return Err(e),
            };
            self.buf_start = self.pos;
        }
        let s = (self.pos - self.buf_start) as usize;
        let out = self.buf[s..s + n as usize].to_vec();
        self.pos = end;
        Ok(out)
    }

    fn arr<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let b = self.bytes(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&b);
        Ok(a)
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        if n > self.remaining() {
            // a length past the end is a truncation if it is plausible, else corruption.
            if n > (1 << 32) {
                bail_format!("{what}: string length {n} is impossible");
            }
        }
        let b = self.bytes(n, what)?;
        String::from_utf8(b).map_err(|e| {
            Error::Format(format!(
                "{what}: string is not valid UTF-8 (bad byte at {})",
                e.utf8_error().valid_up_to()
            ))
        })
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.arr::<1>(key)?[0]),
            1 => Value::I8(self.arr::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.arr(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.arr(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(i32::from_le_bytes(self.arr(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.arr(key)?)),
            7 => match self.arr::<1>(key)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => bail_format!("{key}: bool byte is {b}, expected 0 or 1"),
            },
            8 => Value::Str(self.string(key)?),
            9 => {
                if depth >= MAX_DEPTH {
                    bail_format!("{key}: arrays nested deeper than {MAX_DEPTH}");
                }
                let ety = self.u32(key)?;
                let n = self.u64(key)?;
                let min = match ety {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    9 => 12,
                    t => bail_format!("{key}: array of unknown value type {t}"),
                };
                self.check_count(n, min, &format!("{key}: array length"))?;
                self.items = self.items.saturating_add(n);
                if self.items > MAX_ITEMS {
                    bail_format!(
                        "{key}: the metadata arrays hold more than {MAX_ITEMS} items in all"
                    );
                }
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(ety, key, depth + 1)?);
                }
                Value::Array(ety, items)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.arr(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.arr(key)?)),
            t => bail_format!("{key}: unknown value type {t}"),
        })
    }
}

/// a tensor to write: name, ggml dims (fastest first), ggml type, raw bytes.
pub struct TensorOut {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    pub data: Vec<u8>,
}

/// serialises a GGUF v3 file with the given metadata and tensors (alignment 32).
pub fn write(metadata: &[(String, Value)], tensors: &[TensorOut]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        write_str(&mut out, k);
        out.extend_from_slice(&v.type_id().to_le_bytes());
        write_value(&mut out, v);
    }
    let mut offset = 0u64;
    let mut offsets = Vec::with_capacity(tensors.len());
    for t in tensors {
        write_str(&mut out, &t.name);
        out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for d in &t.dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&t.ggml_type.id().to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offsets.push(offset);
        offset = align_up(offset + t.data.len() as u64, DEFAULT_ALIGNMENT).unwrap_or(u64::MAX);
    }
    let start = align_up(out.len() as u64, DEFAULT_ALIGNMENT).unwrap_or(0) as usize;
    out.resize(start, 0);
    for (t, off) in tensors.iter().zip(offsets) {
        out.resize(start + off as usize, 0);
        out.extend_from_slice(&t.data);
    }
    out
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::Str(s) => write_str(out, s),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Array(t, items) => {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for it in items {
                write_value(out, it);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::SliceSource;

    fn small() -> Vec<u8> {
        crate::core::fixtures::GgufBuilder::new()
            .meta("general.name", Value::Str("tiny".into()))
            .meta(
                "tokenizer.ggml.tokens",
                Value::Array(8, vec![Value::Str("a".into()), Value::Str("Ġb".into())]),
            )
            .meta("x.n", Value::U32(7))
            .tensor(
                "token_embd.weight",
                vec![32, 2],
                GgmlType::Q8_0,
                vec![0u8; 68],
            )
            .build()
    }

    #[test]
    fn round_trip() {
        let b = small();
        let h = parse_header(&SliceSource::whole(&b)).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.metadata.get_str("general.name"), Some("tiny"));
        assert_eq!(h.metadata.get_u64("x.n"), Some(7));
        assert_eq!(
            h.metadata
                .get_strings("tokenizer.ggml.tokens")
                .unwrap()
                .unwrap(),
            vec!["a", "Ġb"]
        );
        let index = crate::core::index::TensorIndex::from_gguf(&h).unwrap();
        let m = index.matrix("token_embd.weight").unwrap().unwrap();
        assert_eq!((m.rows, m.cols, m.ty), (2, 32, GgmlType::Q8_0));
        assert_eq!(m.offset + m.nbytes, b.len() as u64);
    }

    #[test]
    fn every_prefix_is_an_error_not_a_panic() {
        let b = small();
        for n in 0..b.len() {
            let r = parse_header(&SliceSource::whole(&b[..n]));
            assert!(r.is_err(), "prefix {n} parsed");
        }
    }

    #[test]
    fn prefix_source_reports_needed_length() {
        let b = small();
        // a prefix of the right total length: the parser asks for more rather than failing.
        let src = SliceSource {
            bytes: &b[..20],
            total: b.len() as u64,
        };
        match parse_header(&src) {
            Err(Error::Truncated { need, .. }) => assert!(need > 20 && need <= b.len() as u64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut b = small();
        b[8..16].copy_from_slice(&u64::MAX.to_le_bytes()); // tensor count
        assert!(matches!(
            parse_header(&SliceSource::whole(&b)),
            Err(Error::Format(_))
        ));
        let mut b = small();
        b[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert!(matches!(
            parse_header(&SliceSource::whole(&b)),
            Err(Error::Unsupported(_))
        ));
    }
}
