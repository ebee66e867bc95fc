//! any bytes as a safetensors file plus a tokenizer: the first byte picks tokenizer.json,
//! vocab.json or none, the next four give the tokenizer's length, the rest is split between the
//! two. the readers, the plan and the model load must return Ok or Err, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unembed::core::model::Model;
use unembed::core::plan;
use unembed::core::readout::{Readout, ReadoutOptions};
use unembed::core::files::safetensors;
use unembed::core::source::SliceSource;
use unembed::core::files::tokenizer;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let kind = data[0] % 3;
    let n = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) as usize;
    let rest = &data[5..];
    let n = n.min(rest.len());
    let (tok, file) = rest.split_at(n);
    let tokens = match kind {
        0 => tokenizer::parse_tokenizer_json(tok).ok(),
        1 => tokenizer::parse_vocab_json(tok).ok(),
        _ => None,
    };
    let src = SliceSource::whole(file);
    let _ = safetensors::parse_header(&src);
    if plan::plan(&src).is_err() {
        return;
    }
    if let Ok(m) = Model::from_source(&src, tokens) {
        if let Ok(h) = m.token_vector(0) {
            let _ = Readout::of(&m, &h, &ReadoutOptions::default());
        }
    }
});
