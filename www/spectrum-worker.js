// one of the Workers that compute a model's spectrum off the main thread (app.js splits the
// work): `gram` builds the part of the Gram matrix that a slice of rows contributes, `eigen`
// sums the parts and decomposes. both answer with progress messages, then their result.
import init, { gramPart, spectrumFromGram } from './pkg/unembed.js';

const ready = init();
const progress = (f) => self.postMessage({ progress: f });

self.onmessage = async ({ data }) => {
  try {
    await ready;
    if (data.op === 'gram') {
      const tiles = gramPart(data.d, data.scales, data.quants, progress);
      self.postMessage({ tiles }, [tiles.buffer]);
    } else if (data.op === 'eigen') {
      const s = spectrumFromGram(data.d, data.parts, progress);
      const sigma = s.sigma();
      const v = s.v();
      s.free();
      self.postMessage({ sigma, v }, [sigma.buffer, v.buffer]);
    }
  } catch (e) {
    self.postMessage({ error: e.message });
  }
};
