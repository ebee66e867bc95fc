// the Worker of product.js: holds a copy of some of W_U's rows (a wasm ProductRows) and answers
// each h with those rows' part of the exact product z = W_U·h, the same bits as the page's own.
import init, { ProductRows } from './pkg/unembed.js';

const ready = init();
let rows = null;

self.onmessage = async ({ data }) => {
  try {
    await ready;
    if (data.op === 'load') {
      rows = new ProductRows(data.d, data.scales, data.quants);
      self.postMessage({ loaded: rows.rows() });
    } else if (data.op === 'product') {
      const z = rows.logits(data.h);
      self.postMessage({ id: data.id, z }, [z.buffer]);
    }
  } catch (e) {
    self.postMessage({ id: data.id, error: e.message ?? String(e) });
  }
};
