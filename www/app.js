// wires the page to the wasm façade: load the manifest and model, run queries, fill tables.
// no maths here: every number comes from the Explorer in wasm.
import init, { Explorer, headerNeeds, tensorRanges } from './pkg/unembed.js';
import { mountExplorer } from './explorer.js';
import { mountLens } from './lens.js';
import { mountCompare } from './compare.js';
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
  return { file: p.get('m'), state: p.get('s') ?? '', view: p.get('view'), with: p.get('with') };
}

/** the hash: the model and its controls, and (view=compare&with=<file>) the Compare view. */
function writeHash(file, controls) {
  const old = new URLSearchParams(location.hash.slice(1));
  const p = new URLSearchParams({ m: file, s: JSON.stringify(controls ?? JSON.parse(old.get('s') || '{}')) });
  if (old.has('lang')) p.set('lang', LANG);
  if (view === 'compare') {
    p.set('view', 'compare');
    if (second?.key && !second.key.startsWith('local:')) p.set('with', second.key);
  }
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
  // a comparison holds the leaving model: let it go with it (the tab mounts a new one).
  compared?.destroy();
  compared = null;
  dropLenses();
  explorer?.free();
  explorer = ex;
  const info = explorer.info();
  const r = info.requantized;
  $('status').textContent = P.info(info.name, integer(LANG)(info.vocab), info.d, info.tied)
    + (r ? P.requant(r.from, number(LANG)(100 * r.max_rel, 3), number(LANG)(100 * r.rms_rel, 3)) : '');
  const hash = readHash();
  const start = !hash.file || hash.file === key ? hash.state : '';
  mounted = mountExplorer($('explorer'), explorer, start, { lang: LANG, layers: row?.full?.layers, theme: themeOf(document.documentElement), onChange: (c) => writeHash(key, c) });
  fillCompareSelect();
  if (view === 'compare') showCompare();
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
function showLicense(entry, a = $('model-license')) {
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

/** reads a local model from `files` (the model and maybe its tokenizer.json): only its header
 * and the tensors the explorer needs. `status(text, fraction)` tells how far it got. */
async function readLocal(files, status) {
  const list = [...files];
  const model = list.find((f) => /\.(gguf|safetensors)$/i.test(f.name)) ?? list.find((f) => !/\.json$/i.test(f.name));
  const tok = list.find((f) => /\.json$/i.test(f.name));
  if (!model) throw new Error(P.chooseFile);
  try {
    const total = model.size;
    let n = Math.min(total, 1 << 20);
    let prefix;
    for (;;) {
      status(P.header(model.name));
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
        status(P.tensors(model.name, (got / 1e6).toFixed(1), (want / 1e6).toFixed(1), Math.floor((100 * got) / want)), got / want);
      }));
    }
    const tokenizer = tok ? new Uint8Array(await tok.arrayBuffer()) : new Uint8Array();
    const ex = Explorer.fromRanges(prefix, total, parts, tokenizer);
    return { ex, name: model.name, tok, data: { prefix, total, parts, tokenizer } };
  } catch (e) {
    throw new Error(`${model.name}: ${e.message}`);
  }
}

/** opens a local model: only its header and the tensors the explorer needs are read. */
async function openLocal(files) {
  if (![...files].some((f) => !/\.json$/i.test(f.name))) {
    showError(P.chooseFile);
    return;
  }
  loading?.abort();
  $('retry').hidden = true;
  showError('');
  try {
    const { ex, name, tok, data } = await readLocal(files, (text, f) => {
      $('status').textContent = text;
      if (f !== undefined) $('progress').value = f;
    });
    remember(ex, data);
    const select = $('model-select');
    select.querySelector('option[data-local]')?.remove();
    const opt = new Option(`${name} (local)`, `local:${name}`);
    opt.dataset.local = '1';
    select.add(opt);
    select.value = opt.value;
    showLicense(null);
    install(ex, `local:${name}`);
    if (/\.safetensors$/i.test(name) && !tok) {
      $('status').textContent += P.noTokenizer;
    }
    if (!ex.hasSpectrum()) computeSpectrum(ex);
  } catch (e) {
    $('status').textContent = explorer ? P.kept : P.failed;
    showError(e.message);
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
    if (view === 'compare') mountComparison();
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
    const buf = await downloadModel(location.href, entry, perPercent((got, total, pct) => {
      $('progress').value = got / total;
      $('status').textContent = pct < 100 ? P.mb((got / 1e6).toFixed(1), (total / 1e6).toFixed(1), pct) : P.checking;
    }), { signal: ctl.signal, ...(STALL_S ? { stallMs: STALL_S * 1000 } : {}) });
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
  const { file, state, view: wanted, with: other } = readHash();
  const served = ($('model-select').dataset.files ?? '').split('\n');
  if (other && served.includes(other) && other !== file) $('compare-select').value = other;
  if ((wanted === 'compare') !== (view === 'compare')) selectView(wanted === 'compare' ? 'compare' : 'explore');
  else if (view === 'compare' && other && other !== second?.key) showCompare();
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

// ---- the Compare view: the model on screen beside a second one (compare.js) ----
let view = 'explore'; // the tab shown
let second = null; // {key, ex}: the second model
let compared = null; // the mounted Compare view
let comparing = null; // the AbortController of the second model's download
const C = T.compare;

function compareError(msg) {
  $('compare-error').textContent = msg;
  $('compare-error').hidden = !msg;
}

/** the picker of the second model: every served model but the one on screen. */
function fillCompareSelect() {
  const select = $('compare-select');
  const want = select.value || readHash().with;
  const local = select.querySelector('option[data-local]');
  const rows = shownModels.filter((m) => m.file !== shownKey);
  select.replaceChildren(...rows.map((m) => new Option(optionLabel(m), m.file)));
  if (local) select.add(local);
  if ([...select.options].some((o) => o.value === want)) select.value = want;
  showCompareLicense();
}

/** a download's progress callback that calls `show(got, total, pct)` only when the whole
 * percentage moves: a fast download has thousands of chunks, and the DOM need not see each. */
function perPercent(show) {
  let shown = -1;
  return (got, total) => {
    const pct = Math.floor((100 * got) / total);
    if (pct === shown) return;
    shown = pct;
    show(got, total, pct);
  };
}

function showCompareLicense() {
  showLicense(shownModels.find((m) => m.file === $('compare-select').value), $('compare-license'));
}

/** shows a tab: 'explore' or 'compare' (which loads the second model when needed). */
function selectView(name, { focus = false } = {}) {
  view = name;
  for (const [tab, panel, v] of [['tab-explore', 'explore-panel', 'explore'], ['tab-compare', 'compare-panel', 'compare']]) {
    const on = v === name;
    $(tab).setAttribute('aria-selected', String(on));
    $(tab).tabIndex = on ? 0 : -1;
    $(panel).hidden = !on;
    if (on && focus) $(tab).focus();
  }
  if (shownKey) writeHash(shownKey, null);
  if (name === 'compare') showCompare();
}

/** the Compare view of the model on screen and the chosen second model (downloaded first). */
async function showCompare() {
  if (!explorer) return;
  const key = $('compare-select').value;
  if (!key) { compareError(C.same); return; }
  compareError('');
  $('compare-retry').hidden = true;
  if (second?.key !== key) {
    if (key.startsWith('local:')) return; // a local file is opened by its button
    const entry = shownModels.find((m) => m.file === key);
    if (!entry) return;
    comparing?.abort();
    const ctl = new AbortController();
    comparing = ctl;
    try {
      const buf = await downloadModel(location.href, entry, perPercent((got, total, pct) => {
        $('compare-progress').value = got / total;
        $('compare-status').textContent = pct < 100 ? C.downloading(entry.name, (got / 1e6).toFixed(1), (total / 1e6).toFixed(1), pct) : C.checking(entry.name);
      }), { signal: ctl.signal, ...(STALL_S ? { stallMs: STALL_S * 1000 } : {}) });
      if (ctl.signal.aborted) return;
      $('compare-status').textContent = C.reading(entry.name);
      await new Promise((r) => requestAnimationFrame(r));
      const ex = new Explorer(buf, new Uint8Array());
      if (ctl.signal.aborted) { ex.free(); return; }
      await setSecond(key, ex, entry.name);
    } catch (e) {
      if (ctl.signal.aborted) return;
      $('compare-status').textContent = '';
      compareError(C.failed(e.code ? T.loadError(e) : e.message));
      $('compare-retry').hidden = false;
      $('compare-retry').onclick = () => showCompare();
      return;
    } finally {
      if (comparing === ctl) comparing = null;
    }
  }
  mountComparison();
}

/** installs `ex` as the second model, its spectrum computed in Workers when the file has none. */
async function setSecond(key, ex, name) {
  if (!ex.hasSpectrum()) {
    const job = spectrumInWorkers(ex, (f) => {
      $('compare-progress').value = f;
      $('compare-status').textContent = C.spectrum(name, Math.floor(100 * f));
    });
    const { sigma, v } = await job.done;
    ex.setSpectrum(sigma, v);
  }
  compared?.destroy();
  compared = null;
  second?.ex.free();
  second = { key, ex };
  $('compare-progress').value = 1;
  writeHash(shownKey, null);
}

// the two lenses of the Compare tab, mounted on the first Run both.
let lenses = null;
const ROW_PX = 16; // lens.js's row height: the taller stack keeps it, the other is stretched

function dropLenses() {
  lenses?.forEach((l) => l.destroy());
  lenses = null;
}

/** shows the lenses' section when both models are served with their whole files. */
function showLensSection() {
  const entryB = shownModels.find((m) => m.file === second?.key);
  const ok = !!(shownEntry?.full && entryB?.full);
  $('compare-lens').hidden = !second;
  $('compare-run').disabled = !ok;
  $('compare-lens-help').textContent = ok ? C.lensHelp : C.noLens;
  $('compare-lens-name-a').textContent = explorer?.info().name ?? '';
  $('compare-lens-name-b').textContent = second?.ex.info().name ?? '';
  return ok ? [shownEntry, entryB] : null;
}

function runLenses() {
  const entries = showLensSection();
  if (!entries) return;
  const text = $('compare-prompt').value;
  if (!lenses) {
    const depth = ROW_PX * (1 + Math.max(...entries.map((e) => e.full.layers ?? 0)));
    const base = new URL('.', location.href);
    lenses = entries.map((entry, i) => mountLens($(i ? 'compare-lens-b' : 'compare-lens-a'), {
      lang: LANG, theme: themeOf(document.documentElement), prompt: text, depth, source: () => ({ base, entry }),
    }));
  }
  for (const l of lenses) l.setPrompt(text, { run: true });
}

function mountComparison() {
  if (!second || !explorer) return;
  if (compared?.a === explorer && compared?.b === second.ex) return;
  compared?.destroy();
  dropLenses();
  showLensSection();
  $('compare-status').textContent = C.computing;
  if (!explorer.hasSpectrum()) return; // computeSpectrum remounts when it is done
  const v = mountCompare($('compare'), explorer, second.ex, { lang: LANG, theme: themeOf(document.documentElement) });
  compared = { ...v, a: explorer, b: second.ex };
  v.ready.then(() => {
    $('compare-status').textContent = C.shown(explorer.info().name, second.ex.info().name);
  }, (e) => {
    $('compare-status').textContent = '';
    compareError(e.message);
  });
}

/** a local file as the second model: only its header and the tensors compared are read. */
async function openSecondLocal(files) {
  compareError('');
  // a download of another second model in flight gives way to the file.
  comparing?.abort();
  comparing = null;
  try {
    const { ex, name } = await readLocal(files, (t, f) => { $('compare-status').textContent = t; if (f !== undefined) $('compare-progress').value = f; });
    const select = $('compare-select');
    select.querySelector('option[data-local]')?.remove();
    const opt = new Option(`${name} (local)`, `local:${name}`);
    opt.dataset.local = '1';
    select.add(opt);
    select.value = opt.value;
    showCompareLicense();
    await setSecond(opt.value, ex, name);
    mountComparison();
  } catch (e) {
    $('compare-status').textContent = '';
    compareError(C.failed(e.message));
  }
}

function wireCompare() {
  $('tab-explore').textContent = C.exploreTab;
  $('tab-compare').textContent = C.tab;
  $('view-tabs').setAttribute('aria-label', C.tabsLabel);
  $('compare-label').textContent = C.withLabel;
  $('compare-open').textContent = C.openOther;
  $('compare-open').title = P.openTitle;
  $('compare-intro').textContent = C.intro;
  $('compare-retry').textContent = T.retry;
  $('tab-explore').onclick = () => selectView('explore');
  $('tab-compare').onclick = () => selectView('compare');
  // the tabs' keys (WAI-ARIA tabs): arrows move between them, Home/End to the ends.
  $('view-tabs').addEventListener('keydown', (e) => {
    const order = ['explore', 'compare'];
    const at = order.indexOf(view);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: order.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    selectView(order[(to + order.length) % order.length], { focus: true });
  });
  $('compare-select').onchange = () => {
    showCompareLicense();
    if (!$('compare-select').value.startsWith('local:')) showCompare();
  };
  $('compare-open').onclick = () => $('compare-file').click();
  $('compare-lens-title').textContent = C.lensTitle;
  $('compare-prompt-label').textContent = C.promptLabel;
  $('compare-run').textContent = C.runBoth;
  $('compare-run').onclick = runLenses;
  $('compare-file').onchange = () => { if ($('compare-file').files.length) openSecondLocal($('compare-file').files); };
}

async function main() {
  translatePage();
  wireCompare();
  window.addEventListener('hashchange', followHash);
  followTheme(document.documentElement, (t) => { mounted?.setTheme(t); lens?.setTheme(t); compared?.setTheme(t); lenses?.forEach((l) => l.setTheme(t)); });
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
  const first = readHash();
  if (first.view === 'compare') {
    view = 'compare';
    for (const [tab, panel, on] of [['tab-explore', 'explore-panel', false], ['tab-compare', 'compare-panel', true]]) {
      $(tab).setAttribute('aria-selected', String(on));
      $(tab).tabIndex = on ? 0 : -1;
      $(panel).hidden = !on;
    }
  }
  await load(first.file);
}

// for benchmarks and tests: the mounted explorer.
window.unembedPage = {
  get mounted() { return mounted; },
  /** the Prompt panel (lens.js). */
  get lens() { return lens; },
  get explorer() { return explorer; },
  /** the Compare view (compare.js), once mounted; its `ready` resolves when it is shown. */
  get compare() { return compared; },
  /** the Compare tab's two lenses (lens.js), once Run both was pressed. */
  get lenses() { return lenses; },
  /** the second model's Explorer. */
  get second() { return second?.ex ?? null; },
  /** computes the shown model's spectrum again in the Workers: resolves true once installed. */
  recomputeSpectrum() {
    explorer.dropSpectrum();
    return computeSpectrum(explorer);
  },
  /** bytes of wasm linear memory (it grows, never shrinks). */
  get wasmBytes() { return wasm?.memory.buffer.byteLength ?? 0; },
};

main();
