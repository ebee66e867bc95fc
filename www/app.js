// wires the page to the wasm façade: load the manifest and model, run queries, fill tables.
// no maths here: every number comes from the Explorer in wasm.
import init, { Explorer } from './pkg/unembed.js';
import { mountExplorer } from './explorer.js';

const $ = (id) => document.getElementById(id);
let explorer = null;
let mounted = null;

function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** streams a file with a progress bar; checks its length and sha256 against the manifest. */
async function download(entry) {
  const res = await fetch(`models/${entry.file}`);
  if (!res.ok) throw new Error(`could not download ${entry.file}: HTTP ${res.status}`);
  const total = entry.bytes;
  const buf = new Uint8Array(total);
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > total) throw new Error(`${entry.file} is longer than the manifest says (${total} bytes)`);
    buf.set(value, got);
    got += value.length;
    $('progress').value = got / total;
    $('status').textContent = `${(got / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (${Math.floor((100 * got) / total)}%)`;
  }
  if (got !== total) throw new Error(`${entry.file} ended after ${got} of ${total} bytes`);
  $('status').textContent = 'checking sha256…';
  const sha = await sha256Hex(buf);
  if (sha !== entry.sha256) throw new Error(`${entry.file}: sha256 is ${sha}, the manifest says ${entry.sha256}`);
  return buf;
}

/** the state in the URL hash: #m=<model file>&s=<controls as JSON>. */
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  let controls = {};
  try { controls = JSON.parse(p.get('s') ?? '{}'); } catch { /* a broken hash starts fresh */ }
  return { file: p.get('m'), controls };
}

function writeHash(file, controls) {
  const p = new URLSearchParams({ m: file, s: JSON.stringify(controls) });
  history.replaceState(null, '', `#${p}`);
}

async function readManifest() {
  const res = await fetch('models/models.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`could not read models/models.json: HTTP ${res.status}`);
  const { models } = await res.json();
  if (!models?.length) throw new Error('models/models.json lists no models');
  return models;
}

/** reads the manifest (again, so a Retry sees a fixed server) and loads `file` or the first. */
async function load(file) {
  $('retry').hidden = true;
  showError('');
  $('progress').value = 0;
  try {
    const models = await readManifest();
    const select = $('model-select');
    if (select.options.length !== models.length) {
      select.replaceChildren(...models.map((m) => new Option(`${m.name} (${(m.bytes / 1e6).toFixed(0)} MB)`, m.file)));
    }
    const entry = models.find((m) => m.file === file) ?? models[0];
    select.value = entry.file;
    const buf = await download(entry);
    $('status').textContent = 'reading the model…';
    mounted?.destroy();
    explorer?.free();
    explorer = new Explorer(buf, new Uint8Array());
    const info = explorer.info();
    $('status').textContent = `${info.name}: ${info.vocab.toLocaleString('en')} tokens × d = ${info.d}, ${info.tied ? 'tied (W_U = E)' : 'untied'}`;
    const hash = readHash();
    const start = !hash.file || hash.file === entry.file ? hash.controls : {};
    mounted = mountExplorer($('explorer'), explorer, start, { onChange: (c) => writeHash(entry.file, c) });
  } catch (e) {
    $('status').textContent = 'failed';
    showError(e.message);
    $('retry').hidden = false;
    $('retry').onclick = () => load(file);
  }
}

async function main() {
  $('model-select').onchange = () => load($('model-select').value);
  try {
    await init();
  } catch (e) {
    $('status').textContent = 'failed';
    showError(`could not start WebAssembly: ${e.message}`);
    return;
  }
  await load(readHash().file);
}

// for benchmarks and tests: the mounted explorer.
window.unembedPage = { get mounted() { return mounted; } };

main();
