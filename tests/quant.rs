//! every block format against gguf-py's `gguf.quants.dequantize` (llama.cpp's Python reader),
//! bit for bit, on the blocks `tests/quant/make_fixtures.py` writes: random blocks and edge
//! cases (scales of ±0, subnormal, 65504, ±∞, NaN; quants all zero, all ones …).
//!
//! ```sh
//! python3 tests/quant/make_fixtures.py target/quant-fixtures
//! UNEMBED_QUANT_FIXTURES=target/quant-fixtures cargo test --release --test quant -- --ignored
//! ```

use std::path::{Path, PathBuf};

use serde_json::Value;
use unembed::core::quant::GgmlType;
use unembed::core::rng::Rng;

/// values per row the fixtures are cut into (every block size divides it).
const ROW: usize = 256;

fn fixtures() -> PathBuf {
    let dir = std::env::var_os("UNEMBED_QUANT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/quant-fixtures"));
    if !dir.join("manifest.json").is_file() {
        panic!(
            "no quant fixtures in {}: run `python3 tests/quant/make_fixtures.py {}` first \
             (or set UNEMBED_QUANT_FIXTURES)",
            dir.display(),
            dir.display()
        );
    }
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn usize_of(entry: &Value, key: &str) -> usize {
    entry[key]
        .as_u64()
        .unwrap_or_else(|| panic!("manifest entry without {key}: {entry}")) as usize
}

/// what one format's check found: every value equal to gguf-py's, bit for bit unless a NaN.
struct Checked {
    blocks: usize,
    values: usize,
    nans: usize,
    /// NaNs whose bits differ from gguf-py's (payload or quiet bit); counted, not failed.
    nan_bits_differ: usize,
    rows: usize,
    /// rows whose dot is finite (the others must be NaN or the same ∞ as the f64 sum).
    finite_dots: usize,
}

fn check_format(dir: &Path, entry: &Value) -> (GgmlType, Checked) {
    let name = entry["name"].as_str().expect("manifest entry without name");
    let id = usize_of(entry, "type_id") as u32;
    let t = GgmlType::from_id(id).unwrap_or_else(|| panic!("{name}: unknown ggml type {id}"));
    assert_eq!(t.name(), name, "type {id}");
    let (blocks, bs, bb) = (
        usize_of(entry, "blocks"),
        usize_of(entry, "block_size"),
        usize_of(entry, "block_bytes"),
    );
    // gguf-py's GGML_QUANT_SIZES against ours.
    assert_eq!((t.block_size(), t.block_bytes()), (bs, bb), "{name} block");
    let raw = read(&dir.join(format!("{name}.bin")));
    let want: Vec<f32> = read(&dir.join(format!("{name}.f32")))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let n = blocks * bs;
    assert_eq!(raw.len(), blocks * bb, "{name}.bin length");
    assert_eq!(want.len(), n, "{name}.f32 length");
    assert_eq!(n % ROW, 0, "{name}: fixtures come in whole rows of {ROW}");

    // the whole file as one row.
    let mut got = vec![0f32; n];
    t.dequantize_row(&raw, &mut got)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (mut nans, mut nan_bits_differ) = (0, 0);
    for (j, (&g, &w)) in got.iter().zip(&want).enumerate() {
        if w.is_nan() {
            assert!(
                g.is_nan(),
                "{name} value {j} (block {}): gguf-py NaN, got {g}",
                j / bs
            );
            nans += 1;
            nan_bits_differ += (g.to_bits() != w.to_bits()) as usize;
        } else {
            let (b, (wb, gb)) = (j / bs, (w.to_bits(), g.to_bits()));
            assert!(
                gb == wb,
                "{name} value {j} (block {b}, bytes {:02x?}): gguf-py {w:e} ({wb:#010x}), \
                 got {g:e} ({gb:#010x})",
                &raw[b * bb..(b + 1) * bb]
            );
        }
    }

    // row by row, and the dot product of each row with a seeded x.
    let mut rng = Rng::new(0x5eed ^ id as u64);
    let x: Vec<f32> = (0..n).map(|_| rng.gauss() as f32).collect();
    let row_bytes = ROW / bs * bb;
    let mut row = vec![0f32; ROW];
    let mut finite_dots = 0;
    for (r, ((raw_r, want_r), x_r)) in raw
        .chunks_exact(row_bytes)
        .zip(want.chunks_exact(ROW))
        .zip(x.chunks_exact(ROW))
        .enumerate()
    {
        t.dequantize_row(raw_r, &mut row).unwrap();
        let same = row
            .iter()
            .zip(want_r)
            .all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()));
        assert!(same, "{name} row {r}: differs from the whole-file row");

        let dot = t.dot_row(raw_r, x_r).unwrap();
        let (mut exact, mut scale) = (0f64, 0f64);
        for (&w, &xj) in want_r.iter().zip(x_r) {
            exact += w as f64 * xj as f64;
            scale += (w as f64 * xj as f64).abs();
        }
        finite_dots += exact.is_finite() as usize;
        let ok = if exact.is_nan() {
            dot.is_nan()
        } else if exact.is_infinite() {
            dot == exact
        } else {
            (dot - exact).abs() <= 1e-12 * scale
        };
        assert!(
            ok,
            "{name} row {r}: dot {dot:e}, want {exact:e} (Σ|w·x| = {scale:e})"
        );
    }
    (
        t,
        Checked {
            blocks,
            values: n,
            nans,
            nan_bits_differ,
            rows: n / ROW,
            finite_dots,
        },
    )
}

#[test]
#[ignore = "needs tests/quant/make_fixtures.py output: scripts/test.sh runs it"]
fn every_format_matches_gguf_py_bit_for_bit() {
    let dir = fixtures();
    let manifest: Value = serde_json::from_slice(&read(&dir.join("manifest.json")))
        .unwrap_or_else(|e| panic!("manifest.json: {e}"));
    println!(
        "fixtures from gguf {} and numpy {}",
        manifest["gguf"], manifest["numpy"]
    );
    let mut seen = Vec::new();
    for entry in manifest["formats"]
        .as_array()
        .expect("manifest.json without a formats array")
    {
        let (t, c) = check_format(&dir, entry);
        println!(
            "{:5} {:6} blocks, {:6} values equal ({:5} NaN, {:4} of them with other NaN bits), \
             {:4} row dots ({} finite)",
            t.name(),
            c.blocks,
            c.values,
            c.nans,
            c.nan_bits_differ,
            c.rows,
            c.finite_dots
        );
        assert!(!seen.contains(&t), "{t} twice in the manifest");
        seen.push(t);
    }
    let missing: Vec<&str> = GgmlType::ALL
        .iter()
        .filter(|t| t.can_read() && !seen.contains(t))
        .map(|t| t.name())
        .collect();
    assert!(missing.is_empty(), "no fixtures for {missing:?}");
    assert_eq!(seen.len(), 13);
}
