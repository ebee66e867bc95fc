//! any bytes as a GGUF file: the header parser, the plan, and (when those pass) the model load
//! (from a source by ranges, and from an owned buffer as the page does) and one query. every
//! outcome must be Ok or Err; a panic, an abort or an allocation beyond libFuzzer's
//! -rss_limit_mb is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unembed::core::files::gguf;
use unembed::core::model::Model;
use unembed::core::plan;
use unembed::core::readout::{Readout, ReadoutOptions};
use unembed::core::source::SliceSource;

fuzz_target!(|data: &[u8]| {
    let src = SliceSource::whole(data);
    let _ = gguf::parse_header(&src);
    // a prefix of the file, as the page reads it by ranges: Truncated or an answer, never more.
    let cut = data.len() / 2;
    let _ = gguf::parse_header(&SliceSource {
        bytes: &data[..cut],
        total: data.len() as u64,
    });
    if plan::plan(&src).is_err() {
        return;
    }
    if let Ok(m) = Model::from_source(&src, None) {
        if let Ok(h) = m.token_vector(0) {
            let _ = Readout::of(&m, &h, &ReadoutOptions::default());
        }
    }
    // the page's path: the whole buffer handed over, the embedding converted in place.
    let _ = Model::from_bytes(data.to_vec(), None);
});
