// node bench/wasm_chromium.mjs [model file under www/models] [reps]
// the same measurement as bench/wasm_node.mjs, inside headless Chromium on the served page.
import { readFileSync } from 'node:fs';
import { serve, launch } from '../tests/e2e/harness.mjs';

const [file = 'smollm2-135m.gguf', reps = '200'] = process.argv.slice(2);
const benchSrc = readFileSync(new URL('./wasm_bench.mjs', import.meta.url), 'utf8');
const srv = await serve('www');
const browser = await launch();
try {
  const page = await browser.context.newPage();
  // the measurement is served from the page's own origin: its Content-Security-Policy allows
  // only 'self' scripts (a data: import is refused).
  await page.route('**/__bench/wasm_bench.mjs', (r) => r.fulfill({ contentType: 'text/javascript', body: benchSrc }));
  await page.goto(`${srv.url}bench-blank`).catch(() => {});
  await page.goto(srv.url);
  const r = await page.evaluate(async ({ file, reps }) => {
    const bench = await import('/__bench/wasm_bench.mjs');
    const w = await import('/pkg/unembed.js');
    await w.default();
    const bytes = new Uint8Array(await (await fetch(`/models/${file}`)).arrayBuffer());
    const ex = new w.Explorer(bytes, new Uint8Array());
    return bench.benchExplorer(ex, reps, () => performance.now());
  }, { file, reps: Number(reps) });
  const { report } = await import('./wasm_bench.mjs');
  console.log(report('wasm_chromium', r));
} finally {
  await browser.close();
  srv.stop();
}
