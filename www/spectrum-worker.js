// computes the spectrum of a model off the main thread: receives the same buffers the page
// loaded the model from, answers with progress messages and then σ and V.
import init, { Explorer } from './pkg/unembed.js';

self.onmessage = async ({ data }) => {
  try {
    await init();
    // a downloaded model arrives whole; a local file as its header and tensor ranges.
    const ex = data.whole ? new Explorer(data.whole, new Uint8Array()) : Explorer.fromRanges(data.prefix, data.total, data.parts, data.tokenizer);
    const sigma = ex.singularValues((f) => self.postMessage({ progress: f }));
    const v = ex.rightSingularVectors();
    self.postMessage({ sigma, v }, [sigma.buffer, v.buffer]);
  } catch (e) {
    self.postMessage({ error: e.message });
  }
};
