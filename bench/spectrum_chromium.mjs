// node bench/spectrum_chromium.mjs [model file under www/models] [runs]
// the full spectrum (every σ and V) as the page computes it for a file that carries none (a
// local file opened in the page): W_U's rows split among one Worker per core (up to 8,
// www/spectrum.js), each builds its part of the Gram matrix, the first sums and decomposes.
// the file's stored spectrum, if any, is not used. prints `name value` lines: the Workers'
// count, each run's seconds and their median, and the matrix's shape.
import { loadavg } from 'node:os';
import { serve, launch } from '../tests/e2e/harness.mjs';

const [file = 'gemma-3-270m.gguf', runs = '3'] = process.argv.slice(2);
const srv = await serve('www');
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(srv.url);
  await page.waitForSelector('.topk-table tbody tr', { timeout: 60000 });
  const r = await page.evaluate(async ({ file, runs }) => {
    const w = await import('/pkg/unembed.js');
    await w.default();
    const { spectrumInWorkers } = await import('/spectrum.js');
    const bytes = new Uint8Array(await (await fetch(`/models/${file}`)).arrayBuffer());
    const ex = new w.Explorer(bytes, new Uint8Array());
    const info = ex.info();
    const times = [];
    let workers = 0;
    let sigma1 = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const job = spectrumInWorkers(ex);
      workers = job.workers;
      const { sigma } = await job.done;
      times.push((performance.now() - t) / 1000);
      sigma1 = sigma[0];
    }
    ex.free();
    return { times, workers, rows: info.vocab ?? info.n_vocab ?? info.rows, d: info.d, sigma1 };
  }, { file, runs: Number(runs) });
  const sorted = [...r.times].sort((a, b) => a - b);
  console.log(`spectrum_chromium_file ${file}`);
  console.log(`spectrum_chromium_shape ${r.rows}x${r.d}`);
  console.log(`spectrum_chromium_workers ${r.workers}`);
  console.log(`spectrum_chromium_runs_s ${r.times.map((t) => t.toFixed(3)).join(',')}`);
  console.log(`spectrum_chromium_median_s ${sorted[Math.floor(sorted.length / 2)].toFixed(3)}`);
  console.log(`spectrum_chromium_sigma1 ${r.sigma1.toFixed(4)}`);
  console.log(`spectrum_chromium_load_average_1min ${loadavg()[0].toFixed(1)}`);
} finally {
  await browser.close();
  srv.stop();
}
