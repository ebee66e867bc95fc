// the wasm measurement itself, shared by Node (bench/wasm_node.mjs) and Chromium
// (bench/wasm_chromium.mjs, which runs this same function inside the page).
// returns { kernel, exact: {median, p95}, fast: {median, p95}, spectrum_s }.
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
  ex.dropSpectrum();
  const s = now();
  ex.singularValues(null);
  return {
    kernel: info.kernel, exact, fast, spectrum_s: (now() - s) / 1000,
    floor: floor[Math.floor(floor.length / 2)],
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
    `${prefix}_spectrum_s ${f(r.spectrum_s)}`,
  ].join('\n');
}
