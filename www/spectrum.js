// a model's spectrum computed off the main thread, on every core: the façade splits W_U's rows
// (`spectrumSplit`, one part per core up to 8), each Worker (spectrum-worker.js) builds the part
// of the Gram matrix its slice contributes, and the first sums the parts and decomposes. no
// shared memory: the slices are copied out of wasm and handed over, so any static host serves it.
//
// spectrumInWorkers(explorer, onProgress(fraction)) → { workers, done, cancel() }: `done`
// resolves to { sigma, v } (Float64Arrays, as Explorer.setSpectrum takes them) or rejects with
// the Worker's message; cancel() terminates every Worker and rejects with 'cancelled'.
export function spectrumInWorkers(ex, onProgress = () => {}) {
  const { d } = ex.info();
  const bounds = Array.from(ex.spectrumSplit(Math.min(navigator.hardwareConcurrency || 2, 8)));
  const k = bounds.length - 1;
  const rows = bounds[k];
  const done = new Array(k).fill(0); // each Worker's fraction of its rows
  const parts = new Array(k);
  let left = k;
  let live = true;
  const workers = bounds.slice(1).map(() => new Worker(new URL('spectrum-worker.js', import.meta.url), { type: 'module' }));
  const stop = () => { live = false; for (const w of workers) w.terminate(); };
  let settle;
  const result = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  const fail = (m) => { if (!live) return; stop(); settle.reject(new Error(m)); };
  // a Worker that cannot start (its script or the wasm fails to load) says so here.
  for (const w of workers) w.onerror = (e) => { e.preventDefault(); fail(e.message || 'the Worker did not start'); };
  // phase 2, in the first Worker: sum the parts, decompose (the last tenth of the progress).
  const eigen = () => {
    const w = workers[0];
    w.onmessage = ({ data: m }) => {
      if (!live) return;
      if (m.progress !== undefined) return onProgress(0.9 + 0.1 * m.progress);
      if (m.error) return fail(m.error);
      stop();
      settle.resolve({ sigma: m.sigma, v: m.v });
    };
    w.postMessage({ op: 'eigen', d, parts }, parts.map((p) => p.buffer));
  };
  // phase 1: every Worker its slice of rows.
  workers.forEach((w, i) => {
    const [start, end] = [bounds[i], bounds[i + 1]];
    w.onmessage = ({ data: m }) => {
      if (!live) return;
      if (m.error) return fail(m.error);
      if (m.progress !== undefined) {
        done[i] = m.progress;
        let f = 0;
        for (let j = 0; j < k; j++) f += done[j] * (bounds[j + 1] - bounds[j]);
        return onProgress((0.9 * f) / rows);
      }
      parts[i] = m.tiles;
      if (i > 0) w.terminate();
      if (--left === 0) eigen();
    };
    const scales = ex.unembeddingScales(start, end);
    const quants = ex.unembeddingQuants(start, end);
    w.postMessage({ op: 'gram', d, scales, quants }, [scales.buffer, quants.buffer]);
  });
  return {
    workers: k,
    done: result,
    cancel() { if (live) { stop(); settle.reject(new Error('cancelled')); } },
  };
}
