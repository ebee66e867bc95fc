// wires the page to the wasm façade: load the manifest and model, run queries, fill tables.
// no maths here: every number comes from the Explorer in wasm.
import init, { Explorer, headerNeeds, tensorRanges } from './pkg/unembed.js';
import { mountExplorer } from './explorer.js';
import { mountLens } from './lens.js';
import { spectrumInWorkers } from './spectrum.js';
import { readManifest, downloadModel, cachedModels, clearModelCache, cacheLimit } from './loader.js';
import { strings, number, integer, language, licenseName } from './i18n.js';
import { remember } from './replay.js';
import { followTheme, themeOf } from './theme.js';

// the page's language: #lang=vi in the URL, else <html lang>; any other tag (en_US, vi_VN, x)
// is English, never an error.
const HTML_LANG = document.documentElement.lang;
const langOf = (hash) => language(new URLSearchParams(hash.slice(1)).get('lang') ?? HTML_LANG);
const LANG = langOf(location.hash);
document.documentElement.lang = LANG;
const T = strings(LANG);
const P = T.page;

const $ = (id) => document.getElementById(id);
let explorer = null;
let mounted = null;
let wasm = null;
let lens = null; // the Prompt panel
let shownEntry = null; // the manifest row of the model on screen (null: a local file)

function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

/** the state in the URL hash: #m=<model file>&s=<controls as JSON>. the state stays text:
 * the core reads it field by field (a broken value costs that value, not the rest). */
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  return { file: p.get('m'), state: p.get('s') ?? '' };
}

function writeHash(file, controls) {
  const p = new URLSearchParams({ m: file, s: JSON.stringify(controls) });
  if (new URLSearchParams(location.hash.slice(1)).has('lang')) p.set('lang', LANG);
  history.replaceState(null, '', `#${p}`);
}

/** shows a loaded model: one explorer mounted on the page. */
function install(ex, key, row = null) {
  shownKey = key;
  shownEntry = row;
  // a spectrum still being computed belongs to the model that is leaving.
  stopSpectrum();
  $('spectrum-status').hidden = true;
  mounted?.destroy();
  explorer?.free();
  explorer = ex;
  const info = explorer.info();
  const r = info.requantized;
  $('status').textContent = P.info(info.name, integer(LANG)(info.vocab), info.d, info.tied)
    + (r ? P.requant(r.from, number(LANG)(100 * r.max_rel, 3), number(LANG)(100 * r.rms_rel, 3)) : '');
  const hash = readHash();
  const start = !hash.file || hash.file === key ? hash.state : '';
  mounted = mountExplorer($('explorer'), explorer, start, { lang: LANG, layers: row?.full?.layers, theme: themeOf(document.documentElement), onChange: (c) => writeHash(key, c) });
  // the Prompt panel, once: it follows the model on screen through `source`.
  lens ??= mountLens($('lens'), {
    lang: LANG,
    theme: themeOf(document.documentElement),
    explorer: () => mounted,
    source: () => ({ base: new URL('.', location.href), entry: shownEntry }),
  });
}

/** a served model's licence beside the picker: its name, linked to its terms when the manifest
 * gives them (Gemma 3 is offered under the Gemma Terms of Use); hidden for a local file. */
function showLicense(entry) {
  const a = $('model-license');
  const known = entry?.license && entry.license !== 'unknown';
  a.hidden = !known;
  if (!known) return;
  a.textContent = P.license(licenseName(entry.license));
  a.title = P.licenseTitle;
  if (entry.license_url) a.href = entry.license_url;
  else a.removeAttribute('href');
}

/** a manifest row as the picker offers it: name, size and licence. */
function optionLabel(m) {
  const lic = m.license && m.license !== 'unknown' ? `, ${licenseName(m.license)}` : '';
  return `${m.name} (${(m.bytes / 1e6).toFixed(0)} MB${lic})`;
}

/** reads `length` bytes at `offset` of a File in chunks, reporting progress. */
async function readRange(file, offset, length, onBytes) {
  const out = new Uint8Array(length);
  const CHUNK = 8 << 20;
  for (let at = 0; at < length; at += CHUNK) {
    const end = Math.min(length, at + CHUNK);
    out.set(new Uint8Array(await file.slice(offset + at, offset + end).arrayBuffer()), at);
    onBytes(end - at);
  }
  return out;
}

/** opens a local model: only its header and the tensors the explorer needs are read. */
async function openLocal(files) {
  const list = [...files];
  const model = list.find((f) => /\.(gguf|safetensors)$/i.test(f.name)) ?? list.find((f) => !/\.json$/i.test(f.name));
  const tok = list.find((f) => /\.json$/i.test(f.name));
  if (!model) {
    showError(P.chooseFile);
    return;
  }
  loading?.abort();
  $('retry').hidden = true;
  showError('');
  try {
    const total = model.size;
    let n = Math.min(total, 1 << 20);
    let prefix;
    for (;;) {
      $('status').textContent = P.header(model.name);
      prefix = new Uint8Array(await model.slice(0, n).arrayBuffer());
      const need = headerNeeds(prefix, total);
      if (need === 0) break;
      n = Math.min(total, Math.max(need, 2 * n));
    }
    const ranges = tensorRanges(prefix, total);
    let want = 0;
    for (let i = 1; i < ranges.length; i += 2) want += ranges[i];
    let got = 0;
    const parts = [];
    for (let i = 0; i < ranges.length; i += 2) {
      parts.push(await readRange(model, ranges[i], ranges[i + 1], (b) => {
        got += b;
        $('progress').value = got / want;
        $('status').textContent = P.tensors(model.name, (got / 1e6).toFixed(1), (want / 1e6).toFixed(1), Math.floor((100 * got) / want));
      }));
    }
    const tokenizer = tok ? new Uint8Array(await tok.arrayBuffer()) : new Uint8Array();
    const ex = Explorer.fromRanges(prefix, total, parts, tokenizer);
    remember(ex, { prefix, total, parts, tokenizer });
    const select = $('model-select');
    select.querySelector('option[data-local]')?.remove();
    const opt = new Option(`${model.name} (local)`, `local:${model.name}`);
    opt.dataset.local = '1';
    select.add(opt);
    select.value = opt.value;
    showLicense(null);
    install(ex, `local:${model.name}`);
    if (/\.safetensors$/i.test(model.name) && !tok) {
      $('status').textContent += P.noTokenizer;
    }
    if (!ex.hasSpectrum()) computeSpectrum(ex);
  } catch (e) {
    $('status').textContent = explorer ? P.kept : P.failed;
    showError(`${model.name}: ${e.message}`);
    if (shownKey) $('model-select').value = shownKey;
    showLicense(shownModels.find((m) => m.file === shownKey));
  }
}

/** the spectrum of a file that does not carry one, off the main thread on every core
 * (spectrum.js) with its own progress bar; resolves true once installed. */
let spectrumJob = null;
function stopSpectrum() {
  spectrumJob?.cancel();
  spectrumJob = null;
}
function computeSpectrum(ex) {
  stopSpectrum();
  const show = (f) => {
    $('spectrum-progress').value = f;
    $('spectrum-text').textContent = P.spectrum(Math.floor(100 * f), job.workers);
  };
  const job = spectrumInWorkers(ex, (f) => show(f));
  spectrumJob = job;
  $('spectrum-status').hidden = false;
  $('spectrum-status').dataset.workers = job.workers;
  show(0);
  return job.done.then(({ sigma, v }) => {
    if (spectrumJob !== job) return false;
    spectrumJob = null;
    if (ex !== explorer) return false; // another model was opened meanwhile
    ex.setSpectrum(sigma, v);
    $('spectrum-status').hidden = true;
    mounted?.refresh();
    return true;
  }, (e) => {
    if (spectrumJob !== job) return false;
    spectrumJob = null;
    $('spectrum-text').textContent = P.spectrumFailed(e.message);
    return false;
  });
}

// ?stall=N: seconds a download may go without data before it is given up (default 30).
const STALL_S = Number(new URLSearchParams(location.search).get('stall')) || 0;
let loading = null; // the AbortController of the download in flight
let shownKey = null; // the key of the model on screen
let shownModels = []; // the manifest's rows, as last read

/** reads the manifest (again, so a Retry sees a fixed server) and loads `file` or the first.
 * a newer choice cancels an older download; a failed one leaves the model on screen working
 * and the picker showing it, with Retry offered for the one that failed. */
async function load(file) {
  loading?.abort();
  const ctl = new AbortController();
  loading = ctl;
  $('retry').hidden = true;
  showError('');
  $('progress').value = 0;
  const select = $('model-select');
  try {
    const models = await readManifest(location.href);
    if (ctl.signal.aborted) return;
    shownModels = models;
    const files = models.map((m) => m.file).join('\n');
    if (select.dataset.files !== files) {
      const local = select.querySelector('option[data-local]');
      select.replaceChildren(...models.map((m) => new Option(optionLabel(m), m.file)));
      if (local) select.add(local);
      select.dataset.files = files;
    }
    const entry = models.find((m) => m.file === file) ?? models[0];
    select.value = entry.file;
    showLicense(entry);
    let shown = -1;
    const buf = await downloadModel(location.href, entry, (got, total) => {
      // the DOM only when the percentage moves: a fast download has thousands of chunks.
      const pct = Math.floor((100 * got) / total);
      if (pct === shown) return;
      shown = pct;
      $('progress').value = got / total;
      $('status').textContent = pct < 100 ? P.mb((got / 1e6).toFixed(1), (total / 1e6).toFixed(1), pct) : P.checking;
    }, { signal: ctl.signal, ...(STALL_S ? { stallMs: STALL_S * 1000 } : {}) });
    if (ctl.signal.aborted) return;
    $('status').textContent = P.reading;
    const ex = new Explorer(buf, new Uint8Array());
    // kept for the Worker that replays a link's gradient steps (replay.js).
    remember(ex, { whole: buf });
    install(ex, entry.file, entry);
    // a served file normally carries its spectrum (unembed convert); one that does not gets it
    // computed like a local file's.
    if (!ex.hasSpectrum()) computeSpectrum(ex);
    showCache();
  } catch (e) {
    if (ctl.signal.aborted) return; // a newer choice took over
    $('status').textContent = explorer ? P.kept : P.failed;
    showError(e.code ? T.loadError(e) : e.message);
    if (shownKey) select.value = shownKey;
    showLicense(shownModels.find((m) => m.file === shownKey));
    // the bar belongs to the model on screen again (a first load keeps how far it got).
    if (explorer) $('progress').value = 1;
    $('retry').hidden = false;
    $('retry').onclick = () => load(file ?? select.value);
  } finally {
    if (loading === ctl) loading = null;
  }
}

/** the page's own words in its language. */
function translatePage() {
  if (LANG !== 'vi') return; // index.html is written in English
  document.title = P.title;
  for (const [id, text] of [['pipeline', P.pipeline], ['lead', P.lead], ['model-label', P.model], ['open-file', P.open], ['drop-hint', P.dropHint], ['status', P.loading]]) {
    const e = $(id);
    if (e) e.textContent = text;
  }
  $('open-file').title = P.openTitle;
  $('retry').textContent = T.retry;
}

/** a link opened in the same tab: another model loads it; the same model reads its state; a
 * new language needs the page's words again (a reload). */
function followHash() {
  if (langOf(location.hash) !== LANG) {
    location.reload();
    return;
  }
  const { file, state } = readHash();
  const served = ($('model-select').dataset.files ?? '').split('\n');
  if (file && file !== shownKey && served.includes(file)) load(file);
  else mounted?.load(state);
}

/** the model cache's button (loader.js): how much it holds; a click empties it. */
async function showCache() {
  const bytes = (await cachedModels()).reduce((n, r) => n + r.bytes, 0);
  $('clear-cache').hidden = bytes === 0;
  $('clear-cache').textContent = P.clearCache((bytes / 1e6).toFixed(0));
  $('clear-cache').title = P.cacheTitle(Math.round(cacheLimit() / 1048576));
}

async function main() {
  translatePage();
  window.addEventListener('hashchange', followHash);
  followTheme(document.documentElement, (t) => { mounted?.setTheme(t); lens?.setTheme(t); });
  $('clear-cache').onclick = async () => { await clearModelCache(); showCache(); };
  $('model-select').onchange = () => {
    if (!$('model-select').value.startsWith('local:')) load($('model-select').value);
  };
  $('open-file').onclick = () => $('file-input').click();
  $('file-input').onchange = () => { if ($('file-input').files.length) openLocal($('file-input').files); };
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    if (e.dataTransfer?.files.length) openLocal(e.dataTransfer.files);
  });
  try {
    wasm = await init();
  } catch (e) {
    $('status').textContent = P.failed;
    showError(P.noWasm(e.message));
    return;
  }
  await load(readHash().file);
}

// for benchmarks and tests: the mounted explorer.
window.unembedPage = {
  get mounted() { return mounted; },
  /** the Prompt panel (lens.js). */
  get lens() { return lens; },
  get explorer() { return explorer; },
  /** computes the shown model's spectrum again in the Workers: resolves true once installed. */
  recomputeSpectrum() {
    explorer.dropSpectrum();
    return computeSpectrum(explorer);
  },
  /** bytes of wasm linear memory (it grows, never shrinks). */
  get wasmBytes() { return wasm?.memory.buffer.byteLength ?? 0; },
};

main();
