// node tests/node/query.mjs <model.gguf> <queries.json> [pkg dir]
// runs a batch of queries through the wasm build and prints the JSON array of results that
// `unembed query --batch` prints natively (the oracle compares both with numpy).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [model, batch, pkg = 'www/pkg'] = process.argv.slice(2);
if (!model || !batch) {
  console.error('usage: node tests/node/query.mjs <model.gguf> <queries.json> [pkg dir]');
  process.exit(2);
}
const wasm = await import(pathToFileURL(resolve(pkg, 'unembed.js')).href);
wasm.initSync({ module: readFileSync(resolve(pkg, 'unembed_bg.wasm')) });
const ex = new wasm.Explorer(readFileSync(model), new Uint8Array());
const queries = JSON.parse(readFileSync(batch, 'utf8'));
const out = queries.map((q) => ex.query(q));
process.stdout.write(JSON.stringify(out) + '\n');
