// the Prompt panel: a prompt run through the whole model, read at every layer through the
// unembedding (the logit lens), drawn as a heatmap by plotters; a cell's hidden state becomes
// the explorer's h. mountLens(root, {explorer, source, lang, prompt}) builds it inside `root`.
//
// the whole model is downloaded once per page (checked like every model: loader.js) and run
// by lens-worker.js; every panel of the page shares that worker. the heatmap is drawn here by
// LensChart, in the page's wasm instance. JS moves messages and values; the numbers and the
// pixels come from wasm.
import { LensChart, Explorer, headerNeeds, tensorRanges } from './pkg/unembed.js';
import { downloadModel } from './loader.js';
import { spectrumInWorkers } from './spectrum.js';
import { strings, number } from './i18n.js';
import { el } from './dom.js';

const HERE = new URL('.', import.meta.url);
/** the positions a lens holds (prompt and continuation); the core's MAX_POSITIONS. */
export const CAPACITY = 256;
const QUANTITIES = ['top_prob', 'token_prob', 'token_rank', 'kl', 'entropy'];
// the heatmap's cells in CSS pixels: wide enough for a short token, one row per layer; the
// margins are plot::lens's (64 left, 70 right; title, inputs and the commitment strip).
const CELL_W = 46;
const ROW_H = 16;
const MARGIN_W = 64 + 70;
const MARGIN_H = 22 + 34 + 3 * 16 + 20;

/** a failure of the lens: a code and its arguments, worded by the panel (i18n `lens.error`). */
export class LensFail extends Error {
  constructor(code, ...args) {
    super(`${code}: ${args.join(', ')}`);
    this.code = code;
    this.args = args;
  }
}

// ---- the whole model of a manifest entry, once per page --------------------------------

/** the main thread's side of lens-worker.js: requests with ids, events, a final answer. */
class LensClient {
  constructor(worker) {
    this.worker = worker;
    this.pending = new Map();
    this.req = 0;
    this.dead = null;
    worker.onmessage = ({ data: m }) => {
      if (m.type === 'ready' || m.type === 'failed') {
        this.onLoad?.(m);
        return;
      }
      const p = this.pending.get(m.req);
      if (!p) return;
      if (m.type === 'done') { this.pending.delete(m.req); p.resolve(m); } else if (m.type === 'error') { this.pending.delete(m.req); p.reject(new LensFail(m.code, ...(m.args ?? []))); } else p.onEvent(m);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.fail(e.message || 'error');
    };
  }

  fail(message) {
    this.dead = message;
    this.onLoad?.({ type: 'failed', message });
    for (const p of this.pending.values()) p.reject(new LensFail('crashed', message));
    this.pending.clear();
  }

  /** hands the file's bytes over (transferred: the page keeps no copy); resolves to info. */
  load(buffer, lang) {
    return new Promise((resolve, reject) => {
      this.onLoad = (m) => {
        this.onLoad = null;
        if (m.type === 'ready') resolve(m.info);
        else reject(new LensFail('core', m.message));
      };
      this.worker.postMessage({ type: 'load', bytes: buffer, capacity: CAPACITY, lang }, [buffer]);
    });
  }

  /** one request; `onEvent` sees what it streams (tokens, rows, columns, progress). */
  request(msg, onEvent = () => {}) {
    if (this.dead) return Promise.reject(new LensFail('crashed', this.dead));
    const req = ++this.req;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject, onEvent });
      this.worker.postMessage({ ...msg, req });
    });
  }

  /** a message without an answer (stop, forget). */
  post(msg) {
    if (!this.dead) this.worker.postMessage(msg);
  }
}

const records = new Map(); // `${base}|${file}` → the record of a whole model

function key(base, entry) { return `${base}|${entry.file}`; }

/** the whole model of `entry` (a manifest row with `full`), started on first call: its
 * download's progress goes to every `onProgress(phase, got, total)` listener; `client`
 * resolves to the worker's client once the model runs there. a failure forgets the record,
 * so the next call tries again. */
export function wholeModel(base, entry, lang, onProgress) {
  const k = key(base, entry);
  let r = records.get(k);
  if (!r) {
    r = { listeners: new Set(), state: ['download', 0, entry.full?.bytes ?? 0], explorer: null, client: null };
    const tell = (...state) => { r.state = state; for (const f of r.listeners) f(...state); };
    r.client = (async () => {
      if (!entry.full) throw new LensFail('noFull', entry.file);
      const { file, bytes, sha256 } = entry.full;
      const buf = await downloadModel(base, { file, bytes, sha256 }, (got, total) => tell(got < total ? 'download' : 'check', got, total));
      tell('start', bytes, bytes);
      // an explorer waiting for this model takes its embedding before the bytes move on.
      r.explorer?.take(buf);
      r.bytesGone = true;
      const client = new LensClient(new Worker(new URL('lens-worker.js', HERE), { type: 'module' }));
      client.info = await client.load(buf.buffer, lang);
      tell('ready', bytes, bytes);
      return client;
    })();
    r.client.catch(() => { if (records.get(k) === r) records.delete(k); });
    records.set(k, r);
  }
  if (onProgress) {
    r.listeners.add(onProgress);
    onProgress(...r.state);
  }
  return r;
}

/** an Explorer built from the whole model's file (only the embedding is copied into wasm),
 * when that file is on its way on this page: a page that downloads the whole model anyway
 * needs no second download of the slim file. resolves to {explorer, spectrum}: the file
 * carries no spectrum, so it is computed in Workers (spectrum.js) and `spectrum` resolves once
 * it is installed. null when the whole model was not asked for (or has already gone to the
 * worker): the caller downloads the slim file. */
export function explorerFromWholeModel(base, entry) {
  const r = records.get(key(base, entry));
  if (!r || r.bytesGone) return null;
  if (!r.explorer) {
    let resolve;
    const ready = new Promise((res) => { resolve = res; });
    r.explorer = {
      ready,
      take(buf) {
        try {
          const total = buf.length;
          let n = Math.min(total, 1 << 20);
          for (;;) {
            const need = headerNeeds(buf.subarray(0, n), total);
            if (need === 0) break;
            n = Math.min(total, Math.max(need, 2 * n));
          }
          const prefix = buf.subarray(0, n);
          const ranges = tensorRanges(prefix, total);
          const parts = [];
          for (let i = 0; i < ranges.length; i += 2) parts.push(buf.subarray(ranges[i], ranges[i] + ranges[i + 1]));
          const explorer = Explorer.fromRanges(prefix, total, parts, new Uint8Array());
          const spectrum = explorer.hasSpectrum() ? Promise.resolve()
            : spectrumInWorkers(explorer).done.then(({ sigma, v }) => explorer.setSpectrum(sigma, v));
          resolve({ explorer, spectrum });
        } catch (e) {
          resolve(Promise.reject(e));
        }
      },
    };
    r.client.catch((e) => resolve(Promise.reject(e)));
  }
  return r.explorer.ready;
}

// ---- the panel ---------------------------------------------------------------------------

let sessions = 0;

/**
 * mounts the Prompt panel in `root`.
 * - explorer(): the explorer handle (mountExplorer's) whose h a selected cell becomes, or null;
 * - source(): {base, entry} (a URL and the manifest row of the model on screen), or a promise
 *   of it; entry null (a local file) disables the lens;
 * - prompt: the text the box starts with; autorun: run it once the panel is visible.
 * - depth: when given, the heatmap's layers share this many CSS pixels of height, whatever
 *   their number (the Compare view aligns two models' lenses by the fraction of the stack).
 * returns {run, stop, setPrompt, destroy} and read-only state for tests.
 */
export function mountLens(root, { explorer = null, source, lang = document.documentElement.lang, prompt = '', autorun = false, theme = 'light', depth = 0 } = {}) {
  // without an explorer (the Compare view's lenses) a cell is only looked at, not taken as h.
  const pick = !!explorer;
  explorer ??= () => null;
  const S = strings(lang);
  const T = S.lens;
  const fmt = number(lang);
  const vi = /^vi\b/i.test(lang ?? '');
  const fmtP = (p) => (p === 0 || p >= 1e-3 ? fmt(p, 3) : (vi ? p.toExponential(1).replace('.', ',') : p.toExponential(1)));
  const session = ++sessions;
  const chart = new LensChart();
  chart.setLang(lang ?? '');
  chart.setTheme(theme);

  let client = null; // the LensClient once the whole model runs
  let layers = null; // L (rows are 0..=L, or 0..=2L with mid rows)
  let midRows = false; // whether the lens on screen has each layer's row after attention too
  let tokens = []; // the shown form of every position's token
  let ids = [];
  let cells = []; // cells[row][col]: top tokens, entropy, log Z (from the worker)
  let grid = null; // what the heatmap shows (from the worker)
  let selected = null; // [row, col] loaded into the explorer
  let focus = null; // [row, col] of the keyboard
  let busy = null; // 'run' | 'generate' | null
  let dead = false;
  let drawPending = false;
  let chosen = null; // the chosen token's id, or null: each position's final prediction
  const times = {};

  // ---- DOM
  const text = el('textarea', { rows: '2', class: 'lens-prompt', 'aria-label': T.promptLabel, spellcheck: 'false' });
  text.value = prompt;
  const runBtn = el('button', { type: 'button', class: 'lens-run' }, T.run);
  const stopBtn = el('button', { type: 'button', class: 'lens-stop', disabled: '' }, T.stop);
  const progress = el('progress', { max: '1', value: '0', hidden: '' });
  const status = el('span', { class: 'lens-status', role: 'status' });
  const retry = el('button', { type: 'button', hidden: '' }, S.retry);
  const error = el('p', { class: 'error lens-error', role: 'alert', hidden: '' });
  const tokenList = el('p', { class: 'lens-tokens', hidden: '' });
  const quantity = el('select', { 'aria-label': T.colourBy },
    ...QUANTITIES.map((q) => new Option(T.quantities[q], q)));
  const chosenBox = el('input', { type: 'text', class: 'token', placeholder: T.chosenHint, title: T.chosenHelp, 'aria-label': T.chosen });
  const count = el('input', { type: 'number', min: '1', max: String(CAPACITY), step: '1', value: '5', 'aria-label': T.count, class: 'lens-count' });
  const mode = el('select', { 'aria-label': T.generate }, new Option(T.greedy, 'greedy'), new Option(T.sample('1'), 'sample'));
  const genBtn = el('button', { type: 'button', class: 'lens-generate', disabled: '' }, T.generate);
  const midBox = el('input', { type: 'checkbox', class: 'lens-mid' });
  const jsonBtn = el('button', { type: 'button', class: 'small', title: T.exportTitle, disabled: '' }, 'JSON');
  const pngBtn = el('button', { type: 'button', class: 'small', title: T.exportTitle, disabled: '' }, 'PNG');
  const canvas = el('canvas', { tabindex: '0', role: 'img', 'aria-label': T.canvas, class: 'lens-canvas' });
  const scroller = el('div', { class: 'lens-scroll', hidden: '' }, canvas);
  const tip = el('div', { class: 'lens-tip', hidden: '' });
  const live = el('p', { class: 'lens-live', 'aria-live': 'polite' });
  const help = el('p', { class: 'help' }, T.help('…', pick));
  const panel = el('section', { class: 'unembed-lens', 'aria-label': T.title },
    el('h3', {}, T.title), help,
    el('div', { class: 'row' }, text, el('span', { class: 'buttons' }, runBtn, stopBtn)),
    el('div', { class: 'row lens-load' }, progress, status, retry),
    error, tokenList,
    el('div', { class: 'row lens-options' },
      el('label', {}, `${T.colourBy} `, quantity),
      el('label', {}, `${T.chosen} `, chosenBox),
      el('label', { title: T.midHelp }, midBox, ` ${T.mid}`),
      el('span', { class: 'lens-gen' }, genBtn, ' ', count, ' ', mode),
      el('span', { class: 'lens-export' }, jsonBtn, ' ', pngBtn)),
    scroller, live, tip);
  root.replaceChildren(panel);

  // ---- the model
  async function where() {
    const s = await source?.();
    if (!s?.entry) throw new LensFail('local');
    return s;
  }

  (async () => {
    try {
      const { entry } = await where();
      if (entry.full) help.textContent = T.help(fmt(entry.full.bytes / 1e6, 0), pick);
      layers = entry.full?.layers ?? null;
    } catch { /* said when Run is pressed */ }
  })();

  function showProgress(phase, got, total) {
    if (dead) return;
    if (phase === 'ready') { progress.hidden = true; return; }
    progress.hidden = false;
    progress.value = total ? got / total : 0;
    const pct = total ? Math.floor((100 * got) / total) : 0;
    status.textContent = phase === 'download' ? T.downloading((got / 1e6).toFixed(1), (total / 1e6).toFixed(1), pct)
      : phase === 'check' ? T.checking : T.starting;
  }

  let clientKey = null;
  async function ensureClient() {
    const { base, entry } = await where();
    // the model on screen may have changed since (the page's model picker).
    if (client && !client.dead && clientKey === key(base, entry)) return client;
    client = null;
    tokens = [];
    const r = wholeModel(base, entry, lang, showProgress);
    try {
      client = await r.client;
      clientKey = key(base, entry);
    } finally {
      r.listeners.delete(showProgress);
    }
    layers = client.info.n_layer;
    progress.hidden = true;
    return client;
  }

  function say(e) {
    if (dead) return;
    error.textContent = e instanceof LensFail ? T.error(e) : e?.code ? S.loadError(e) : (e?.message ?? String(e));
    error.hidden = false;
  }

  // ---- running
  async function run() {
    if (dead) return;
    error.hidden = true;
    retry.hidden = true;
    // an empty prompt is answered here: no download for nothing.
    if (text.value === '') { say(new LensFail('empty')); return; }
    const mine = { kind: 'run' };
    busy = mine;
    times.start = performance.now();
    times.first = times.complete = null;
    performance.clearMarks('unembed:lens-run');
    performance.mark('unembed:lens-run');
    setBusy('run');
    let c;
    try {
      c = await ensureClient();
    } catch (e) {
      if (busy === mine) { busy = null; setBusy(null); }
      status.textContent = '';
      say(e);
      retry.hidden = false;
      retry.onclick = () => run();
      return;
    }
    if (busy !== mine) return; // a newer run took over while the model downloaded
    let fresh = true;
    try {
      const mid = midBox.checked;
      const done = await c.request({ type: 'run', session, text: text.value, quantity: quantity.value, token: chosen ?? undefined, mid }, (m) => {
        if (m.type === 'tokens') {
          fresh = false;
          tokens = m.tokens; ids = m.ids;
          midRows = mid;
          cells = [];
          selected = focus = null;
          grid = null;
          showTokens();
        } else if (m.type === 'row') {
          (cells[m.row] ??= [])
            .splice(0, m.cells.length, ...m.cells);
          grid = m.grid;
          status.textContent = T.running(siteOf(m.row).layer, layers);
          if (times.first == null) {
            times.first = performance.now() - times.start;
            requestAnimationFrame(() => { performance.clearMarks('unembed:lens-first-row'); performance.mark('unembed:lens-first-row'); });
          }
          scheduleDraw();
        } else if (m.type === 'progress') {
          status.textContent = T.kl(m.done, m.total);
        }
      });
      if (busy !== mine) return;
      if (done.grid) grid = done.grid;
      if (done.stopped) status.textContent = T.stopped;
      else {
        times.complete = performance.now() - times.start;
        status.textContent = T.done(tokens.length, rowCount(), fmt(times.complete / 1000, 1));
        requestAnimationFrame(() => { performance.clearMarks('unembed:lens-complete'); performance.mark('unembed:lens-complete'); });
        // the explorer shows what the model predicts after the prompt, unless a cell was chosen.
        if (!selected && layers != null) select(rowCount() - 1, tokens.length - 1, { quiet: true });
      }
      scheduleDraw();
    } catch (e) {
      if (busy !== mine) return;
      if (fresh) status.textContent = '';
      say(e);
    } finally {
      if (busy === mine) { busy = null; setBusy(null); }
    }
  }

  async function generate() {
    if (dead || busy || !client || !tokens.length) return;
    error.hidden = true;
    const n = Math.max(1, Math.min(CAPACITY, Math.floor(Number(count.value)) || 1));
    count.value = String(n);
    const temperature = mode.value === 'greedy' ? 0 : (explorer()?.controls.temperature ?? 1);
    const mine = { kind: 'generate' };
    busy = mine;
    setBusy('generate');
    const start = performance.now();
    times.perToken = [];
    let k = 0;
    let last = start;
    try {
      const done = await client.request({ type: 'generate', session, n, temperature, quantity: quantity.value, token: chosen ?? undefined }, (m) => {
        if (m.type === 'column') {
          k += 1;
          const now = performance.now();
          times.perToken.push(now - last);
          last = now;
          tokens = [...tokens, m.token.shown];
          ids = [...ids, m.token.id];
          m.cells.forEach((c, row) => { (cells[row] ??= [])[m.col] = c; });
          grid = m.grid;
          status.textContent = T.generating(k, n);
          showTokens();
          scheduleDraw({ scrollEnd: true });
        } else if (m.type === 'row') {
          // a stopped run finished first.
          (cells[m.row] ??= []).splice(0, m.cells.length, ...m.cells);
          grid = m.grid;
          scheduleDraw();
        } else if (m.type === 'progress') {
          status.textContent = T.kl(m.done, m.total);
        }
      });
      if (done.grid) grid = done.grid;
      const s = fmt((performance.now() - start) / 1000, 1);
      status.textContent = done.end ? `${T.generated(k, s)} ${T.ended(done.end.shown)}`
        : done.full ? `${T.generated(k, s)} ${T.full(done.full)}`
          : done.stopped ? `${T.generated(k, s)} ${T.stopped}` : T.generated(k, s);
      scheduleDraw({ scrollEnd: true });
    } catch (e) {
      say(e);
    } finally {
      if (busy === mine) { busy = null; setBusy(null); }
    }
  }

  function stop() {
    client?.post({ type: 'stop', session });
  }

  /** the layer a row reads, and whether it is that layer's residual after attention (before
   * its MLP): with mid rows, row 2ℓ − 1 is layer ℓ after attention and row 2ℓ its output. */
  function siteOf(row) {
    return midRows && row > 0 ? { layer: Math.ceil(row / 2), attn: row % 2 === 1 } : { layer: row, attn: false };
  }
  const rowCount = () => (layers ?? 0) * (midRows ? 2 : 1) + 1;
  const rowName = (row) => { const { layer, attn } = siteOf(row); return T.rowName(layer, attn); };

  function setBusy(what) {
    runBtn.disabled = false;
    stopBtn.disabled = !what;
    const none = !tokens.length || !!what || !client;
    genBtn.disabled = none;
    jsonBtn.disabled = none;
    pngBtn.disabled = !grid;
    count.disabled = none;
    mode.disabled = none;
    panel.classList.toggle('busy', !!what);
  }

  function showTokens() {
    tokenList.hidden = false;
    // a space between chips, so a long prompt wraps.
    tokenList.replaceChildren(el('span', { class: 'count' }, T.tokens(tokens.length)),
      ...tokens.flatMap((t, k) => [' ', el('span', { class: 'tok', title: T.tokenTitle(k, ids[k]) }, t)]));
  }

  // ---- the heatmap
  function scheduleDraw({ scrollEnd = false } = {}) {
    if (scrollEnd) scroller.dataset.scrollEnd = '1';
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; draw(); });
  }

  let width = 0;
  const resize = new ResizeObserver((entries) => {
    for (const e of entries) width = e.contentRect.width;
    if (grid) draw();
  });
  resize.observe(panel);

  function draw() {
    if (dead || !grid) return;
    scroller.hidden = false;
    const dpr = window.devicePixelRatio || 1;
    const avail = width || panel.clientWidth;
    const cssW = Math.max(avail - 2, MARGIN_W + grid.cols * CELL_W);
    const cssH = MARGIN_H + (depth > 0 ? depth : grid.rows * ROW_H);
    const w = Math.round(cssW * dpr);
    const h = Math.round(cssH * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${cssW}px`;
      canvas.style.height = `${cssH}px`;
    }
    const mark = (canvas.getRootNode().activeElement === canvas ? focus : null) ?? selected;
    try {
      chart.draw(canvas, dpr, { ...grid, selected: mark });
    } catch (e) {
      say(e);
    }
    if (scroller.dataset.scrollEnd) {
      delete scroller.dataset.scrollEnd;
      scroller.scrollLeft = scroller.scrollWidth;
    }
    pngBtn.disabled = false;
  }

  function cellAt(e) {
    const r = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    return chart.at((e.clientX - r.left) * dpr, (e.clientY - r.top) * dpr);
  }

  /** a cell in words: where it is and its top tokens with their probabilities. */
  function describe(row, col) {
    const c = cells[row]?.[col];
    const whereText = T.base(rowName(row), col, tokens[col] ?? '');
    if (!c) return [whereText, null];
    const list = c.top.map((t) => `${t.shown} ${fmtP(t.prob)}`).join(', ');
    return [whereText, T.cell(whereText, list)];
  }

  canvas.addEventListener('mousemove', (e) => {
    const at = cellAt(e);
    const c = at && cells[at[0]]?.[at[1]];
    if (!c) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.replaceChildren(el('strong', {}, T.base(rowName(at[0]), at[1], tokens[at[1]] ?? '')),
      ...c.top.map((t, k) => el('div', { class: 'tip-row' }, el('span', { class: 'tok' }, `${k + 1}. ${t.shown}`), el('span', {}, fmtP(t.prob)))));
    // beside the cursor, kept inside the window.
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 14 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8 : e.clientY + 14;
    tip.style.left = `${Math.max(4, x)}px`;
    tip.style.top = `${Math.max(4, y)}px`;
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  canvas.addEventListener('click', (e) => {
    const at = cellAt(e);
    if (!at) return;
    focus = at;
    // a lens that feeds no explorer (Compare's) says the clicked cell's top tokens instead.
    if (pick) select(at[0], at[1]);
    else { announce(); scheduleDraw(); }
  });
  canvas.addEventListener('focus', () => {
    if (!grid) return;
    focus ??= selected ?? [grid.rows - 1, grid.cols - 1];
    announce();
    scheduleDraw();
  });
  canvas.addEventListener('blur', () => scheduleDraw());
  canvas.addEventListener('keydown', (e) => {
    if (!grid) return;
    const [r, c] = focus ?? selected ?? [grid.rows - 1, grid.cols - 1];
    const moves = {
      ArrowUp: [r + 1, c], ArrowDown: [r - 1, c], ArrowLeft: [r, c - 1], ArrowRight: [r, c + 1],
      Home: [r, 0], End: [r, grid.cols - 1], PageUp: [grid.rows - 1, c], PageDown: [0, c],
    };
    if (moves[e.key]) {
      e.preventDefault();
      const [nr, nc] = moves[e.key];
      focus = [Math.max(0, Math.min(grid.rows - 1, nr)), Math.max(0, Math.min(grid.cols - 1, nc))];
      announce();
      scrollToCell(focus[1]);
      scheduleDraw();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      focus = [r, c];
      if (pick) select(r, c);
      else announce();
    }
  });

  function scrollToCell(col) {
    const x = (64 + col * (canvas.clientWidth - MARGIN_W) / grid.cols);
    if (x < scroller.scrollLeft + 64 || x > scroller.scrollLeft + scroller.clientWidth - CELL_W) {
      scroller.scrollLeft = x - scroller.clientWidth / 2;
    }
  }

  function announce(extra = '') {
    if (!focus) return;
    const [whereText, said] = describe(focus[0], focus[1]);
    live.textContent = `${said ?? `${whereText}: ${T.noCell}`}${extra ? ` ${extra}` : ''}`;
  }

  /** makes a cell's normed hidden state the explorer's h. */
  async function select(row, col, { quiet = false } = {}) {
    if (!pick || !client || !cells[row]?.[col]) return;
    selected = [row, col];
    scheduleDraw();
    let h;
    try {
      ({ h } = await client.request({ type: 'hidden', session, row, col }));
    } catch (e) {
      say(e);
      return;
    }
    if (dead || selected?.[0] !== row || selected?.[1] !== col) return;
    const ex = explorer();
    const whereText = T.base(rowName(row), col, tokens[col] ?? '');
    ex?.set({ h: Array.from(h), base: whereText, scale: 1, mix: 0, noise: 0, coeffs: [], steps: 0 },
      { origin: { kind: 'lens', ...siteOf(row), layers, col, token: tokens[col] ?? '' } });
    if (!quiet) {
      focus = [row, col];
      if (pick) announce(T.loaded(whereText));
    }
  }

  // ---- options
  async function regrid() {
    if (!client || !tokens.length) return;
    try {
      const m = await client.request({ type: 'grid', session, quantity: quantity.value, token: chosen ?? undefined },
        (e) => { if (e.type === 'progress') status.textContent = T.kl(e.done, e.total); });
      grid = m.grid;
      scheduleDraw();
    } catch (e) {
      say(e);
    }
  }
  quantity.addEventListener('change', () => { error.hidden = true; regrid(); });
  // the rows between attention and MLP: the prompt on screen runs again with (or without) them.
  midBox.addEventListener('change', () => { if (tokens.length && midBox.checked !== midRows) run(); });
  chosenBox.addEventListener('change', async () => {
    error.hidden = true;
    const v = chosenBox.value;
    if (v === '') { chosen = null; regrid(); return; }
    try {
      const c = await ensureClient();
      chosen = (await c.request({ type: 'find', session, text: v })).id;
      // a chosen token only matters for its probability or rank.
      if (quantity.value !== 'token_prob' && quantity.value !== 'token_rank') quantity.value = 'token_prob';
      regrid();
    } catch (e) {
      say(e);
    }
  });
  const sampleLabel = () => { mode.options[1].textContent = T.sample(fmt(explorer()?.controls.temperature ?? 1, 2)); };
  mode.addEventListener('focus', sampleLabel);
  mode.addEventListener('pointerdown', sampleLabel);
  sampleLabel();

  runBtn.addEventListener('click', () => run());
  stopBtn.addEventListener('click', () => stop());
  genBtn.addEventListener('click', () => generate());
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  jsonBtn.addEventListener('click', async () => {
    try {
      const { json } = await client.request({ type: 'export', session, top: 5 });
      download(URL.createObjectURL(new Blob([json], { type: 'application/json' })), 'unembed-lens.json', true);
    } catch (e) {
      say(e);
    }
  });
  pngBtn.addEventListener('click', () => download(canvas.toDataURL('image/png'), 'unembed-lens.png'));

  function download(href, name, revoke = false) {
    const a = el('a', { href, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    if (revoke) setTimeout(() => URL.revokeObjectURL(href), 10000);
  }

  // ---- autorun: when the panel is first on screen
  let seen = null;
  function whenVisible() {
    seen?.disconnect();
    seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        seen.disconnect();
        seen = null;
        run();
      }
    });
    seen.observe(panel);
  }
  if (autorun && prompt) whenVisible();

  return {
    run,
    stop,
    /** a new prompt in the box; `run`: true runs it now, 'visible' once the panel is seen. */
    setPrompt(value, { run: go = false } = {}) {
      text.value = value;
      if (go === 'visible') whenVisible();
      else if (go) run();
    },
    /** the heatmap's colours ('dark' or 'light', theme.js), redrawn. */
    setTheme(t) { chart.setTheme(t); draw(); },
    destroy() {
      dead = true;
      seen?.disconnect();
      resize.disconnect();
      stop();
      client?.post({ type: 'forget', session });
      chart.free();
      root.replaceChildren();
    },
    /** the worker's hidden state of a cell (what selecting it hands the explorer). */
    async hidden(row, col) {
      const { h } = await client.request({ type: 'hidden', session, row, col });
      return Array.from(h);
    },
    // for tests and benchmarks: what the panel holds.
    get state() {
      return { tokens, ids, rows: cells.length, cols: tokens.length, grid, selected, busy: !!busy, times, layers, cells, mid: midRows };
    },
  };
}
