// node bench/wasm_node.mjs <model.gguf> [reps] [pkg dir]
// the full-vocabulary product z = E·h in the wasm build under Node: median and p95 (exact and
// fast precision), and the time to compute the spectrum from scratch. prints `name value` lines.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { benchExplorer, report } from './wasm_bench.mjs';

const [model, reps = '200', pkg = 'www/pkg'] = process.argv.slice(2);
const wasm = await import(pathToFileURL(resolve(pkg, 'unembed.js')).href);
wasm.initSync({ module: readFileSync(resolve(pkg, 'unembed_bg.wasm')) });
const ex = new wasm.Explorer(readFileSync(model), new Uint8Array());
console.log(report('wasm_node', benchExplorer(ex, Number(reps), () => performance.now())));
