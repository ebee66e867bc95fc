// the wasm measurement itself, shared by Node (bench/wasm_node.mjs) and Chromium
// (bench/wasm_chromium.mjs, which runs this same function inside the page).
// returns { kernel, exact: {median, p95}, fast: {median, p95}, many: {n, ms, gmacs, one_gmacs},
// spectrum_s (on this thread), floor }.
export function benchExplorer(ex, reps, now) {
  const info = ex.info();
  const h = new Float32Array(info.d).map((_, j) => Math.sin(j * 0.37));
  const stats = (fast) => {
    const t = [];
    for (let i = 0; i < reps + 10; i++) {
      const s = now();
      ex.logitsInPlace(h, fast);
      if (i >= 10) t.push(now() - s);
    }
    t.sort((a, b) => a - b);
    return { median: t[Math.floor(t.length / 2)], p95: t[Math.min(t.length - 1, Math.floor(t.length * 0.95))] };
  };
  const floor = [];
  for (let i = 0; i < reps + 10; i++) {
    const s = now();
    ex.streamMatrix();
    if (i >= 10) floor.push(now() - s);
  }
  floor.sort((a, b) => a - b);
  const exact = stats(false);
  const fast = stats(true);
  // E × 64 vectors in one call (the lens's kernel): GMAC/s beside one vector's fast product.
  const MANY = 64;
  const hs = new Float32Array(info.d * MANY).map((_, i) => Math.sin((i % info.d) * 0.37 * (1 + Math.floor(i / info.d))));
  const many = [];
  for (let i = 0; i < Math.max(3, Math.floor(reps / 20)) + 2; i++) {
    const s = now();
    ex.logitsManyInPlace(hs);
    if (i >= 2) many.push(now() - s);
  }
  many.sort((a, b) => a - b);
  const manyMs = many[Math.floor(many.length / 2)];
  const macs = info.vocab * info.d;
  ex.dropSpectrum();
  const s = now();
  ex.singularValues(null);
  return {
    kernel: info.kernel, exact, fast, spectrum_s: (now() - s) / 1000,
    floor: floor[Math.floor(floor.length / 2)],
    many: { n: MANY, ms: manyMs, gmacs: (macs * MANY) / manyMs / 1e6, one_gmacs: macs / fast.median / 1e6 },
  };
}

export function report(prefix, r) {
  const f = (x) => x.toFixed(3);
  return [
    `${prefix}_kernel ${r.kernel}`,
    `${prefix}_memory_floor_median_ms ${f(r.floor)}`,
    `${prefix}_matvec_exact_median_ms ${f(r.exact.median)}`,
    `${prefix}_matvec_exact_p95_ms ${f(r.exact.p95)}`,
    `${prefix}_matvec_fast_median_ms ${f(r.fast.median)}`,
    `${prefix}_matvec_fast_p95_ms ${f(r.fast.p95)}`,
    `${prefix}_many${r.many.n}_median_ms ${f(r.many.ms)}`,
    `${prefix}_many${r.many.n}_gmacs ${r.many.gmacs.toFixed(2)}`,
    `${prefix}_one_vector_fast_gmacs ${r.many.one_gmacs.toFixed(2)}`,
    `${prefix}_many${r.many.n}_vs_one_ratio ${(r.many.gmacs / r.many.one_gmacs).toFixed(2)}`,
    `${prefix}_spectrum_one_thread_s ${f(r.spectrum_s)}`,
  ].join('\n');
}
