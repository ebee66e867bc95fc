// node tests/node/view.mjs <model.gguf> <queries.json> [pkg dir]
// the page's numbers for the oracle: each query of a batch ({id | h, temperature, top, target})
// becomes the explorer's controls, and the View that Widget.update returns (what the page
// renders: the readout with by_cosine, the target's loss, ranks and gradient, the last as
// Widget.gradient gives it once the sliders rest) is printed as a
// JSON array in the same order.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [model, batch, pkg = 'www/pkg'] = process.argv.slice(2);
if (!model || !batch) {
  console.error('usage: node tests/node/view.mjs <model.gguf> <queries.json> [pkg dir]');
  process.exit(2);
}
const wasm = await import(pathToFileURL(resolve(pkg, 'unembed.js')).href);
wasm.initSync({ module: readFileSync(resolve(pkg, 'unembed_bg.wasm')) });
const ex = new wasm.Explorer(readFileSync(model), new Uint8Array());
const widget = new wasm.Widget(ex);
const queries = JSON.parse(readFileSync(batch, 'utf8'));
// the state goes in as text, as the page sends it; the core must find nothing wrong with it.
const out = queries.map((q) => {
  const r = widget.update(JSON.stringify({
    base: q.id !== undefined ? `#${q.id}` : 'given',
    h: q.h ?? [],
    temperature: q.temperature,
    top: q.top,
    target: q.target ?? '',
  }));
  if (r.problems.length) throw new Error(`the state was not read whole: ${JSON.stringify(r.problems)}`);
  // at this vocabulary the update leaves the target's gradient for later; the page then asks
  // for it once the sliders rest (Widget.gradient), as here.
  if (r.view.target?.gradient_deferred) {
    r.view.target = widget.gradient();
    if (r.view.target.gradient_deferred || !r.view.target.gradient) throw new Error('Widget.gradient gave no gradient');
  }
  return r.view;
});
process.stdout.write(JSON.stringify(out) + '\n');
