// node bench/gemm_wasm.mjs [reps] [pkg dir]
// the quantized matmul kernels of the wasm build (one thread) under Node: the same
// `core::quant::gemm::bench::Bench` as `unembed bench --gemm`, through the `GemmBench` export,
// on the SmolLM2-135M block shapes (K-quants on 576 × 1536 and Gemma 3's 640 × 2048) at n = 1
// (decode) and n = 32 (prefill). prints `name value` lines: ms and GMAC/s per shape and kernel,
// and for 32-blocks one token's block matrices (30 layers, 106 M multiply-adds) with and
// without quantizing the activations. benchGemm is exported for a page to run the same.

const SMOLLM2 = [[576, 576], [192, 576], [1536, 576], [576, 1536]];
const COUNTS = [2, 2, 2, 1]; // q·o, k·v, gate·up, down per layer
const LAYERS = 30;
const TYPES = ['Q4_1', 'Q8_0', 'Q5_0', 'Q4_K', 'Q6_K'];

// {median, min} ms of one call over `reps` samples after 100 ms of warm-up (V8 runs wasm in
// its baseline compiler until a function is hot, then swaps in optimized code); a sample
// times a batch of calls lasting ≥ 2 ms (Chromium's performance.now() is 0.1 ms coarse).
function timeMs(reps, now, f) {
  const w = now();
  for (let i = 0; i < 3 || now() - w < 100; i++) f();
  let m = 1;
  for (;;) {
    const s = now();
    for (let i = 0; i < m; i++) f();
    if (now() - s >= 2 || m >= 1 << 16) break;
    m *= 2;
  }
  const t = [];
  for (let i = 0; i < reps; i++) {
    const s = now();
    for (let j = 0; j < m; j++) f();
    t.push((now() - s) / m);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], min: t[0] };
}

// returns the `name value` lines; `wasm` is the initialised wasm-bindgen module.
export function benchGemm(wasm, { reps = 30, now, prefix = 'wasm', types = TYPES } = {}) {
  const lines = [];
  const put = (name, v, digits = 4) => lines.push(`${prefix}_${name} ${v.toFixed(digits)}`);
  for (const ty of types) {
    const smollm2 = !ty.endsWith('_K');
    const shapes = smollm2 ? SMOLLM2 : [[576, 1536], [640, 2048]];
    for (const n of [1, 32]) {
      const benches = shapes.map(([rows, k], i) => new wasm.GemmBench(ty, rows, k, n, i + 1));
      let quantMs = 0;
      let quantMin = 0;
      if (smollm2) {
        for (const [b, count] of [[0, 3], [3, 1]]) {
          const { median, min } = timeMs(reps, now, () => benches[b].quantize());
          const name = `quantize_${ty === 'Q4_1' ? 'Q8_1' : 'Q8_0'}_k${shapes[b][1]}_n${n}`;
          put(`${name}_ms`, median);
          put(`${name}_min_ms`, min);
          quantMs += count * median;
          quantMin += count * min;
        }
      }
      for (const kernel of benches[0].kernels()) {
        // the scalar kernel emulates fused multiply-adds in software in wasm: a few runs.
        const r = kernel === 'scalar' ? Math.max(2, Math.floor(reps / 10)) : reps;
        if (kernel === 'scalar' && n > 1) continue;
        let tokenMs = 0;
        let tokenMin = 0;
        benches.forEach((b, i) => {
          const { median, min } = timeMs(r, now, () => b.run(kernel));
          const name = `gemm_${ty}_${shapes[i][0]}x${shapes[i][1]}_n${n}_${kernel}`;
          put(`${name}_ms`, median);
          put(`${name}_min_ms`, min);
          put(`${name}_gmacs`, b.macs() / median / 1e6, 2);
          put(`${name}_best_gmacs`, b.macs() / min / 1e6, 2);
          b.checksum();
          if (smollm2) {
            tokenMs += COUNTS[i] * median;
            tokenMin += COUNTS[i] * min;
          }
        });
        if (smollm2) {
          // per token: 30 layers of the seven matmuls (and four quantizations), over n tokens.
          const perToken = (tokenMs * LAYERS) / n;
          const withQ = ((tokenMs + quantMs) * LAYERS) / n;
          const best = ((tokenMin + quantMin) * LAYERS) / n;
          const name = `gemm_${ty}_${kernel}_smollm2_n${n}`;
          put(`${name}_ms_per_token`, perToken, 3);
          put(`${name}_ms_per_token_with_quantize`, withQ, 3);
          put(`${name}_best_ms_per_token_with_quantize`, best, 3);
          put(`${name}_tokens_per_s`, 1e3 / withQ, 1);
        }
      }
      benches.forEach((b) => b.free());
    }
  }
  return lines;
}

if (typeof process !== 'undefined' && import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1]).href) {
  const { readFileSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const { performance } = await import('node:perf_hooks');
  const [reps = '30', pkg = 'www/pkg', only] = process.argv.slice(2);
  const wasm = await import(pathToFileURL(resolve(pkg, 'unembed.js')).href);
  wasm.initSync({ module: readFileSync(resolve(pkg, 'unembed_bg.wasm')) });
  console.log(`# quantized matmul in wasm under Node ${process.version}, median and min of ${reps} samples (each ≥ 2 ms of calls) after 100 ms of warm-up`);
  const types = only ? only.split(',') : TYPES;
  for (const line of benchGemm(wasm, { reps: Number(reps), now: () => performance.now(), prefix: 'wasm_node', types })) {
    console.log(line);
  }
}
