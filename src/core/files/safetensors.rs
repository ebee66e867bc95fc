//! hugging face safetensors: an 8-byte little-endian header length, a json header, then the data.
//!
//! only the header is read here; its tensors go into the [`TensorIndex`](crate::core::index::TensorIndex) (absolute offsets), so a
//! browser can fetch `header_len` bytes first and the embedding rows later.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::core::error::{bail_format, Error, Result};
use crate::core::source::ByteSource;

/// largest json header we accept (same limit as the reference implementation).
pub const MAX_HEADER: u64 = 100_000_000;

/// the parsed header: tensors in file order of the json, metadata in json order.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetensorsHeader {
    pub tensors: Vec<StTensor>,
    pub metadata: Vec<(String, String)>,
    /// absolute offset of the data section (8 + header length).
    pub data_start: u64,
}

/// one tensor entry; `begin`/`end` are absolute file offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct StTensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub begin: u64,
    pub end: u64,
}

/// bytes needed to parse the header (8 + json length) given the first 8 bytes.
pub fn header_len(first8: &[u8]) -> Result<u64> {
    let Some(b) = first8.get(..8) else {
        return Err(Error::Truncated {
            what: "safetensors header length".into(),
            need: 8,
            have: first8.len() as u64,
        });
    };
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    let n = u64::from_le_bytes(a);
    if n > MAX_HEADER {
        bail_format!("safetensors header length {n} exceeds the {MAX_HEADER}-byte limit");
    }
    // cannot overflow: n <= MAX_HEADER.
    Ok(8 + n)
}

/// bit size of a safetensors dtype, or `None` when unknown (its size is then not checked).
fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// reads and validates the header of a safetensors file.
pub fn parse_header(src: &dyn ByteSource) -> Result<SafetensorsHeader> {
    let file_len = src.len();
    let first8 = src.read_range(0, 8, "safetensors header length")?;
    let data_start = header_len(&first8)?;
    if data_start > file_len {
        bail_format!(
            "the safetensors header claims {} bytes but only {} follow its 8-byte length",
            data_start - 8,
            file_len.saturating_sub(8)
        );
    }
    let json = src.read_range(8, data_start - 8, "safetensors header")?;
    let raw: RawHeader = serde_json::from_slice(&json)
        .map_err(|e| Error::Format(format!("safetensors header is not valid json: {e}")))?;

    let mut tensors = Vec::with_capacity(raw.tensors.len());
    for (name, info) in raw.tensors {
        let (b, e) = info.data_offsets;
        if b > e {
            bail_format!("tensor {name}: data_offsets begin {b} > end {e}");
        }
        let (Some(begin), Some(end)) = (data_start.checked_add(b), data_start.checked_add(e))
        else {
            bail_format!("tensor {name}: data_offsets [{b}, {e}] overflow");
        };
        if end > file_len {
            bail_format!(
                "tensor {name}: data ends at byte {end}, beyond the file length {file_len}"
            );
        }
        if let Some(bits) = dtype_bits(&info.dtype) {
            let bits_total = info
                .shape
                .iter()
                .try_fold(bits, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| {
                    Error::Format(format!("tensor {name}: shape {:?} overflows", info.shape))
                })?;
            let bytes = e - b;
            if bits_total % 8 != 0 || bits_total / 8 != bytes {
                bail_format!(
                    "tensor {name}: shape {:?} in {} needs {} bits but data_offsets span {bytes} bytes",
                    info.shape,
                    info.dtype,
                    bits_total
                );
            }
        }
        tensors.push(StTensor {
            name,
            dtype: info.dtype,
            shape: info.shape,
            begin,
            end,
        });
    }

    // duplicate names, then overlapping byte ranges (empty tensors overlap nothing).
    let mut by_name: Vec<&StTensor> = tensors.iter().collect();
    by_name.sort_by(|x, y| x.name.cmp(&y.name));
    for w in by_name.windows(2) {
        if let [x, y] = w {
            if x.name == y.name {
                bail_format!("tensor {} appears twice in the header", x.name);
            }
        }
    }
    let mut by_pos: Vec<&StTensor> = tensors.iter().filter(|t| t.end > t.begin).collect();
    by_pos.sort_by_key(|t| (t.begin, t.end));
    for w in by_pos.windows(2) {
        if let [x, y] = w {
            if y.begin < x.end {
                bail_format!("tensor {} overlaps tensor {}", y.name, x.name);
            }
        }
    }

    Ok(SafetensorsHeader {
        tensors,
        metadata: raw.metadata.unwrap_or_default(),
        data_start,
    })
}

// ---- json ----

#[derive(Deserialize)]
struct RawInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

/// the top-level object in json order; a custom visitor keeps duplicate names visible.
struct RawHeader {
    tensors: Vec<(String, RawInfo)>,
    metadata: Option<Vec<(String, String)>>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a json object of tensor entries")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawHeader, A::Error> {
        let mut tensors = Vec::new();
        let mut metadata = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "__metadata__" {
                if metadata.is_some() {
                    return Err(de::Error::custom("__metadata__ appears twice"));
                }
                let m = map
                    .next_value::<Option<Pairs>>()
                    .map_err(|e| de::Error::custom(format!("__metadata__: {e}")))?;
                metadata = Some(m.map(|p| p.0).unwrap_or_default());
            } else {
                let info = map
                    .next_value::<RawInfo>()
                    .map_err(|e| de::Error::custom(format!("tensor {key}: {e}")))?;
                tensors.push((key, info));
            }
        }
        Ok(RawHeader { tensors, metadata })
    }
}

/// a string -> string object, in order.
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Pairs, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = map.next_entry::<String, String>()? {
                    v.push(kv);
                }
                Ok(Pairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::quant::GgmlType;
    use crate::core::source::SliceSource;
    use serde_json::{json, Map, Value};

    /// a safetensors file with contiguous data; `bytes` overrides the computed data size.
    fn build(entries: &[(&str, &str, &[u64])], meta: Option<Value>) -> Vec<u8> {
        let mut obj = Map::new();
        if let Some(m) = meta {
            obj.insert("__metadata__".into(), m);
        }
        let mut off = 0u64;
        for (name, dtype, shape) in entries {
            let n = shape.iter().product::<u64>() * dtype_bits(dtype).unwrap() / 8;
            obj.insert(
                (*name).into(),
                json!({"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}),
            );
            off += n;
        }
        from_json(&Value::Object(obj).to_string(), off)
    }

    /// header text + `data` bytes of a counting pattern.
    fn from_json(header: &str, data: u64) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend((0..data).map(|i| i as u8));
        v
    }

    fn gpt2() -> Vec<u8> {
        build(
            &[
                ("wte.weight", "F32", &[10, 4]),
                ("wpe.weight", "F32", &[8, 4]),
                ("h.0.attn.c_attn.weight", "F32", &[4, 12]),
                ("h.0.attn.c_attn.bias", "F32", &[12]),
                ("h.0.attn.bias", "BOOL", &[1, 1, 8, 8]),
                ("ln_f.weight", "F32", &[4]),
            ],
            Some(json!({"format": "pt"})),
        )
    }

    fn parse(bytes: &[u8]) -> Result<SafetensorsHeader> {
        parse_header(&SliceSource::whole(bytes))
    }

    /// the embedding pair as the explorer's plan finds it.
    fn find_embedding(
        h: &SafetensorsHeader,
        len: u64,
    ) -> Result<(
        crate::core::index::MatrixRef,
        Option<crate::core::index::MatrixRef>,
    )> {
        crate::core::plan::hf_embedding(&crate::core::index::TensorIndex::from_safetensors(h, len))
    }

    fn is_format(r: &Result<impl fmt::Debug>, needle: &str) -> bool {
        matches!(r, Err(Error::Format(m)) if m.contains(needle))
    }

    #[test]
    fn gpt2_layout() {
        let f = gpt2();
        let h = parse(&f).unwrap();
        let n = u64::from_le_bytes(f[..8].try_into().unwrap());
        assert_eq!(h.data_start, 8 + n);
        assert_eq!(header_len(&f[..8]).unwrap(), 8 + n);
        assert_eq!(h.metadata, vec![("format".to_string(), "pt".to_string())]);
        assert_eq!(h.tensors.len(), 6);
        let get = |n: &str| h.tensors.iter().find(|t| t.name == n).unwrap();
        let wte = get("wte.weight");
        assert_eq!(wte.dtype, "F32");
        assert_eq!(wte.shape, vec![10, 4]);
        assert_eq!((wte.begin, wte.end), (h.data_start, h.data_start + 160));
        assert_eq!(get("wpe.weight").begin, h.data_start + 160);
        assert_eq!(get("h.0.attn.bias").shape, vec![1, 1, 8, 8]);
        assert_eq!(h.tensors.iter().map(|t| t.end).max(), Some(f.len() as u64));

        let (e, out) = find_embedding(&h, f.len() as u64).unwrap();
        assert_eq!(out, None);
        assert_eq!(
            (e.name.as_str(), e.ty, e.rows, e.cols),
            ("wte.weight", GgmlType::F32, 10, 4)
        );
        assert_eq!((e.offset, e.nbytes), (h.data_start, 160));
    }

    #[test]
    fn untied_and_half() {
        let f = build(
            &[
                ("model.embed_tokens.weight", "BF16", &[6, 8]),
                ("model.norm.weight", "F32", &[8]),
                ("lm_head.weight", "F16", &[6, 8]),
            ],
            None,
        );
        let h = parse(&f).unwrap();
        assert!(h.metadata.is_empty());
        let (e, o) = find_embedding(&h, f.len() as u64).unwrap();
        let o = o.unwrap();
        assert_eq!((e.ty, e.rows, e.cols, e.nbytes), (GgmlType::BF16, 6, 8, 96));
        assert_eq!((o.name.as_str(), o.ty), ("lm_head.weight", GgmlType::F16));
        assert_eq!(o.offset, h.data_start + 96 + 32);

        // only an output matrix: it is the embedding.
        let f = build(&[("lm_head.weight", "F32", &[5, 3])], None);
        let h = parse(&f).unwrap();
        let (e, o) = find_embedding(&h, f.len() as u64).unwrap();
        assert_eq!(
            (e.name.as_str(), e.rows, e.cols, o),
            ("lm_head.weight", 5, 3, None)
        );

        // d disagrees between embedding and output.
        let f = build(
            &[
                ("wte.weight", "F32", &[5, 3]),
                ("lm_head.weight", "F32", &[5, 4]),
            ],
            None,
        );
        let h = parse(&f).unwrap();
        assert!(matches!(
            find_embedding(&h, f.len() as u64),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn aliased_output_is_tied() {
        let f = build(&[("transformer.wte.weight", "F32", &[4, 2])], None);
        let mut h = parse(&f).unwrap();
        let mut alias = h.tensors[0].clone();
        alias.name = "lm_head.weight".into();
        h.tensors.push(alias);
        let (e, o) = find_embedding(&h, f.len() as u64).unwrap();
        assert_eq!((e.name.as_str(), o), ("transformer.wte.weight", None));
    }

    #[test]
    fn embedding_rejections() {
        let f = build(&[("wte.weight", "I8", &[4, 2])], None);
        let h = parse(&f).unwrap();
        let r = find_embedding(&h, f.len() as u64);
        assert!(
            matches!(&r, Err(Error::Unsupported(m)) if m.contains("I8") && m.contains("wte.weight"))
        );

        let f = build(&[("embed_tokens.weight", "F32", &[4, 2, 2])], None);
        let h = parse(&f).unwrap();
        assert!(matches!(
            find_embedding(&h, f.len() as u64),
            Err(Error::Shape(_))
        ));

        let f = build(&[("tok_embeddings.weight", "F32", &[0, 2])], None);
        let h = parse(&f).unwrap();
        assert!(matches!(
            find_embedding(&h, f.len() as u64),
            Err(Error::Shape(_))
        ));

        let f = build(&[("h.0.mlp.c_fc.weight", "F32", &[4, 2])], None);
        let h = parse(&f).unwrap();
        assert!(matches!(
            find_embedding(&h, f.len() as u64),
            Err(Error::NotFound(_))
        ));

        // a hand-made header that lies about its range still cannot escape the file.
        let f = build(&[("wte.weight", "F32", &[4, 2])], None);
        let mut h = parse(&f).unwrap();
        h.tensors[0].shape = vec![40, 2];
        assert!(find_embedding(&h, f.len() as u64).is_err());
        h.tensors[0].shape = vec![2, 2];
        assert!(find_embedding(&h, f.len() as u64).is_err());
    }

    #[test]
    fn every_prefix_fails() {
        let f = gpt2();
        for k in 0..f.len() {
            assert!(parse(&f[..k]).is_err(), "prefix {k} parsed");
        }
        // a prefix of a longer file asks for more bytes until the header is in.
        let full = f.len() as u64;
        let n = header_len(&f[..8]).unwrap();
        for k in 0..n as usize {
            let r = parse_header(&SliceSource {
                bytes: &f[..k],
                total: full,
            });
            assert!(
                matches!(r, Err(Error::Truncated { need, .. }) if need <= n),
                "{k}"
            );
        }
        assert!(parse_header(&SliceSource {
            bytes: &f[..n as usize],
            total: full
        })
        .is_ok());
    }

    #[test]
    fn lying_header_length() {
        let f = gpt2();
        for n in [
            u64::MAX,
            u64::MAX - 7,
            MAX_HEADER + 1,
            f.len() as u64,
            f.len() as u64 - 7,
        ] {
            let mut g = f.clone();
            g[..8].copy_from_slice(&n.to_le_bytes());
            assert!(matches!(parse(&g), Err(Error::Format(_))), "{n}");
        }
        assert!(matches!(
            header_len(&[1, 2, 3]),
            Err(Error::Truncated { need: 8, .. })
        ));
        assert!(header_len(&u64::MAX.to_le_bytes()).is_err());
        // shorter than the json: cuts it.
        let mut g = f.clone();
        let n = header_len(&f[..8]).unwrap() - 8;
        g[..8].copy_from_slice(&(n - 1).to_le_bytes());
        assert!(is_format(&parse(&g), "json"));
        assert!(parse(&[0u8; 8]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn lying_sizes_and_offsets() {
        // F32 claimed, F16-sized range.
        let h = r#"{"wte.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,16]}}"#;
        assert!(is_format(&parse(&from_json(h, 16)), "wte.weight"));
        // shape product overflows.
        let h = r#"{"x":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "x"));
        let h = r#"{"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#;
        assert!(is_format(&parse(&from_json(h, 0)), "x"));
        // begin > end.
        let h = r#"{"x":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "x"));
        // end beyond the file.
        let h = r#"{"x":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "x"));
        let h = r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "x"));
        // overlap, also with identical ranges.
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[3,7]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "overlaps"));
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        assert!(is_format(&parse(&from_json(h, 8)), "overlaps"));
        // empty tensors and gaps are fine.
        let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[5,5]}}"#;
        assert_eq!(parse(&from_json(h, 8)).unwrap().tensors.len(), 2);
        // sub-byte dtypes: 3 F4 values are not a whole number of bytes.
        let h = r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#;
        assert!(is_format(&parse(&from_json(h, 2)), "a"));
        let h = r#"{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#;
        assert!(parse(&from_json(h, 2)).is_ok());
        // unknown dtypes pass the header (no size known) but are not an embedding.
        let h = r#"{"wte.weight":{"dtype":"Q4","shape":[2,2],"data_offsets":[0,3]}}"#;
        let f = from_json(h, 3);
        let hd = parse(&f).unwrap();
        assert!(matches!(
            find_embedding(&hd, f.len() as u64),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn malformed_json() {
        let bad = [
            "",
            "[]",
            "null",
            "{",
            r#"{"x":1}"#,
            r#"{"x":{"dtype":"F32","shape":[1]}}"#,
            r#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            r#"{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
            r#"{"__metadata__":{"a":1}}"#,
            r#"{"__metadata__":{},"__metadata__":{}}"#,
            r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
            "{} trailing",
        ];
        for h in bad {
            assert!(
                matches!(parse(&from_json(h, 4)), Err(Error::Format(_))),
                "{h}"
            );
        }
        // trailing spaces (alignment padding) and an empty header are accepted.
        assert!(parse(&from_json("{}      ", 0)).unwrap().tensors.is_empty());
        assert!(parse(&from_json(r#"{"__metadata__":null}"#, 0)).is_ok());
    }

    #[test]
    fn mutations_never_panic() {
        let f = gpt2();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut g = f.clone();
            for j in 0..1 + (x % 4) {
                let i = ((x >> (8 * j)) as usize) % g.len();
                g[i] = (x >> 40) as u8 ^ (j as u8);
            }
            if let Ok(h) = parse(&g) {
                let _ = find_embedding(&h, g.len() as u64);
            }
        }
    }
}
