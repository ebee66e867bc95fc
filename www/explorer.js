// the explorer as a component: mountExplorer(element, explorer, state) builds the controls,
// charts and table inside `element` and wires them to a wasm Widget. JS only moves values
// between the DOM and the widget; every number and every chart comes from wasm, and every
// value from a link, an attribute or an input is handed to the core as the text it is
// (Widget.load, Widget.update), which checks it and says what was wrong.
// no task here runs long: a new state's full passes are built one per task (Widget.request,
// Widget.install; at a large vocabulary each shared with a Worker, product.js), and a link's
// gradient steps are replayed in a Worker (replay.js) with a progress bar and Cancel while the
// explorer stays usable.
import { Widget, shownText } from './pkg/unembed.js';
import { strings, number } from './i18n.js';
import { replaySteps } from './replay.js';
import { productPool } from './product.js';
import { combobox } from './combobox.js';
import { el, fitCanvas } from './dom.js';

const SLIDER_KEYS = [['scale', 0, 4, 0.01], ['mix', 0, 1, 0.01], ['noise', 0, 0.5, 0.005], ['temperature', 0, 3, 0.01]];
const N_DIRS = 8;
// how long the controls rest before a deferred target gradient is computed (gradientLater).
const GRADIENT_REST_MS = 150;
/** every control the explorer has, by the name the `controls` attribute uses. */
export const CONTROLS = ['token', 'scale', 'mix', 'noise', 'temperature', 'directions', 'target'];
const NEEDS = {
  topk: ['token', 'scale', 'mix', 'noise', 'temperature'],
  table: ['token', 'scale', 'mix', 'noise', 'temperature'],
  cosnorm: ['token', 'scale', 'mix', 'noise'],
  spectrum: ['token', 'scale', 'mix', 'noise', 'directions'],
  loss: ['token', 'temperature', 'target'],
};

/** the controls a set of views needs (an element's default): only what changes them. */
export function controlsFor(views) {
  return CONTROLS.filter((c) => views.some((v) => NEEDS[v]?.includes(c)));
}

/** a `controls` attribute or hash value: null (absent) means the views' own; "" means none. */
export function parseControls(value, views) {
  if (value === null || value === undefined) return controlsFor(views);
  return value.split(',').map((c) => c.trim()).filter((c) => CONTROLS.includes(c));
}


/** yields to the browser: the next task, not throttled like a timer. */
function nextTask() {
  return new Promise((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => { c.port1.close(); resolve(); };
    c.port2.postMessage(0);
  });
}

/** mounts an explorer on `root` over a loaded `explorer`. `state` is untrusted text: a link's
 * `s=` (JSON) when `kind` is 'link', an element's attributes as a JSON object of their text
 * when 'attributes'; the core reads it field by field and the explorer shows what it could
 * not use. returns a handle: set(patch) (values may be an input's text), load(text, kind,
 * keep) for a new state, refresh(), destroy(), and the controls and view in force. */
export function mountExplorer(root, explorer, state = '', { onChange = () => {}, views = ['topk', 'cosnorm', 'spectrum', 'loss', 'table'], controls: shown = CONTROLS, lang = document.documentElement.lang, kind = 'link', layers = null, theme = 'light' } = {}) {
  const T = strings(lang);
  const fmt = number(lang);
  const vi = T !== strings('en');
  const fmtP = (p) => (p === 0 ? '0' : p >= 1e-3 ? fmt(p, 4) : (vi ? p.toExponential(2).replace('.', ',') : p.toExponential(2)));
  // an infinite loss arrives as the string "Infinity", which Number() reads.
  const fmtLoss = (l) => (Number(l) === Infinity ? '∞' : fmt(l, 4));
  const widget = new Widget(explorer);
  widget.setLang(lang ?? '');
  widget.setTheme(theme);
  // at a large vocabulary, a Worker that computes part of each new piece's product (product.js);
  // null when one thread is quick enough.
  const pool = productPool(explorer);
  // set when building pieces failed: the next render updates directly, which says why.
  let skipSplit = false;
  let controls = {};
  let view = null;
  // where h comes from when it is given as numbers (a cell of the logit lens): set with set(…,
  // {origin}); null for a token or an expression, or numbers from elsewhere (a URL).
  let origin = null;
  let pending = false;
  let playing = null;
  let firstDrawn = false;
  let dead = false;
  // a new state's pieces are being built (render waits), and which load that is.
  let preparing = false;
  let loads = 0;
  // the idle-time building of pieces the sliders not moved yet would need (Widget.warm).
  let warming = null;
  // a deferred target gradient's timer (gradientLater).
  let gradientTimer = null;
  // what the core said about the last link or attributes (kept until the reader changes
  // something) and about the last input.
  let stateProblems = [];
  let inputProblems = [];
  let drawProblem = '';
  // the gradient steps of a link being replayed in a Worker: { job, steps }.
  let replaying = null;
  root.classList.add('unembed-explorer');
  root.replaceChildren();

  // ---- controls
  const base = el('input', { type: 'text', class: 'token', 'aria-label': T.hLabel });
  const mixWith = el('input', { type: 'text', class: 'token', 'aria-label': T.mixWith });
  const target = el('input', { type: 'text', class: 'token', 'aria-label': T.target });
  // text, not type=number: the core reads what was typed ("abc" is not a number, and says so).
  const lr = el('input', { type: 'text', inputmode: 'decimal', size: '5', 'aria-label': T.lr });
  const rows = el('input', { type: 'text', inputmode: 'numeric', size: '4', 'aria-label': T.rows });
  const seedOut = el('output', {});
  const error = el('p', { class: 'error', role: 'alert', hidden: '' });
  const pipeline = el('p', { class: 'pipeline-line', 'aria-live': 'polite' });
  const lesson = el('p', { class: 'lesson' });
  const sliders = {};
  const sliderRows = {};
  for (const [key, min, max, step] of SLIDER_KEYS) {
    const [label, help] = T[key];
    const helpId = uid();
    const input = el('input', { type: 'range', min, max, step, 'aria-label': label, 'aria-describedby': helpId, title: help });
    const out = el('output', {});
    sliders[key] = { input, out };
    input.addEventListener('input', () => set({ [key]: input.value }));
    const extra = key === 'mix' ? [mixWith] : [];
    sliderRows[key] = el('div', { class: `slider ${key}` }, el('label', {}, el('span', { class: 'name' }, label), input), out, ...extra, el('span', { class: 'help', id: helpId }, help));
  }
  const seedRow = el('div', { class: 'row seed' }, el('span', {}, `${T.noise[0]}: ${T.seed} `, seedOut), el('button', { type: 'button', title: T.rerollTitle, onclick: () => set({ seed: (controls.seed ?? 1) + 1 }) }, T.reroll));
  const coeffInputs = [];
  const coeffRows = [];
  for (let k = 0; k < N_DIRS; k++) {
    const input = el('input', { type: 'range', min: '-3', max: '3', step: '0.01', value: '0', 'aria-label': T.coeffLabel(k + 1) });
    const out = el('output', {});
    input.addEventListener('input', () => {
      const coeffs = Array.from({ length: N_DIRS }, (_, j) => coeffInputs[j].input.value);
      set({ coeffs });
    });
    coeffInputs.push({ input, out });
    coeffRows.push(el('div', { class: 'coeff' }, el('label', {}, `v${sub(k + 1)}`, input), out));
  }
  const stepBtn = el('button', { type: 'button', onclick: () => step(1) }, T.step);
  const playBtn = el('button', { type: 'button', onclick: () => togglePlay() }, T.play);
  // Reset takes h back: no steps, and no drift of earlier, folded steps.
  const resetBtn = el('button', { type: 'button', onclick: () => { cancelReplay(); set({ steps: 0, drift: [] }); } }, T.reset);
  const targetInfo = el('p', { class: 'target-info', 'aria-live': 'polite' });
  const replayBar = el('progress', { max: '1', value: '0' });
  const replayText = el('span', {});
  const replayBox = el('p', { class: 'replay', role: 'status', hidden: '' }, replayBar, ' ', replayText, ' ',
    el('button', { type: 'button', onclick: () => { cancelReplay(); inputProblems = [T.replayCancelled]; show(); } }, T.cancel));

  // a base typed by the reader replaces a given h; the description of a given h, left as it
  // was, keeps it.
  const typed = () => { if (base.value !== controls.base || !controls.h?.length) set({ base: base.value }); };
  // autocomplete (before the Enter handler below: a picked option stops that Enter).
  const combo = combobox(base, root, { suggest, onPick: typed, label: T.hLabel });
  base.addEventListener('change', typed);
  base.addEventListener('keydown', (e) => { if (e.key === 'Enter') typed(); });
  mixWith.addEventListener('change', () => set({ mix_with: mixWith.value }));
  // a new target or lr starts the descent from where h is (steps so far are folded in).
  target.addEventListener('change', () => set({ target: target.value }));
  lr.addEventListener('change', () => set({ lr: lr.value }));
  rows.addEventListener('change', () => set({ top: rows.value }));

  // the layout: the controls (a sticky column beside the views on a wide explorer, a bar
  // pinned above them on a narrow one) and the views, the top-k chart and its table first.
  // `shown` names the controls on screen; the others keep their state (URL, attributes).
  const want = (c) => shown.includes(c);
  const hRow = el('div', { class: 'row h' }, el('label', {}, 'h = ', base), el('span', { class: 'help' }, T.hHelp));
  // the less-used controls are folded; a state that already moves h along them opens them
  // (load, below).
  const fold = el('details', { class: 'more' }, el('summary', {}, T.more(want('directions'), want('noise'))),
    ...(want('noise') ? [seedRow] : []),
    ...(want('directions') ? [el('p', { class: 'help' }, T.coeffs), el('div', { class: 'coeffs' }, ...coeffRows)] : []));
  const inPanel = [
    ...(want('token') ? [hRow] : []),
    ...SLIDER_KEYS.filter(([k]) => want(k)).map(([k]) => sliderRows[k]),
    ...(want('directions') || want('noise') ? [fold] : []),
  ];
  const panel = el('section', { class: 'controls', 'aria-label': T.controlsLabel }, ...inPanel, error);
  const gradient = el('section', { class: 'gradient', 'aria-label': T.target },
    el('div', { class: 'row' }, el('label', {}, `${T.targetWord} `, target), el('label', {}, ` ${T.lrWord} `, lr), stepBtn, playBtn, resetBtn,
      el('label', {}, ` ${T.rowsWord} `, rows)),
    targetInfo);
  const anyControls = CONTROLS.some(want);
  const layout = el('div', { class: `layout${anyControls ? '' : ' static'}` });
  // a link's replayed steps show their progress beside the controls, whichever are shown.
  const side = el('div', { class: 'side' }, ...(inPanel.length ? [panel] : [error]), ...(want('target') ? [gradient] : []), replayBox);
  const viewsBox = el('div', { class: 'views' });
  const figures = {};

  // ---- charts
  const charts = {};
  const tooltip = el('div', { class: 'tooltip', role: 'status', hidden: '' });
  const formula = el('p', { class: 'formula', 'aria-live': 'polite' });
  let spectrumFront = null;
  for (const name of ['topk', 'cosnorm', 'spectrum', 'loss']) {
    if (!views.includes(name)) continue;
    const canvas = el('canvas', { role: 'img', 'aria-label': T.chart(name), 'data-chart': name });
    const dl = el('button', { type: 'button', class: 'small', onclick: () => download(pngOf(name), `unembed-${name}.png`) }, 'PNG');
    charts[name] = canvas;
    // the spectrum's static frame and its per-step overlay are two stacked canvases.
    let body = canvas;
    if (name === 'spectrum') {
      spectrumFront = el('canvas', { class: 'overlay', 'aria-hidden': 'true' });
      body = el('div', { class: 'stack' }, canvas, spectrumFront);
    }
    figures[name] = el('figure', { class: `chart ${name}` }, body, el('figcaption', {}, T.explain[name], ' ', dl));
  }

  /** a chart as PNG (the spectrum's two layers flattened). */
  function pngOf(name) {
    const c = charts[name];
    if (name !== 'spectrum') return c.toDataURL('image/png');
    const out = el('canvas', { width: String(c.width), height: String(c.height) });
    const ctx = out.getContext('2d');
    ctx.drawImage(c, 0, 0);
    ctx.drawImage(spectrumFront, 0, 0);
    return out.toDataURL('image/png');
  }
  const table = el('table', { class: 'topk-table' });
  const cosTable = el('table', { class: 'cos-table' });
  const csvBtn = el('button', { type: 'button', class: 'small', onclick: () => download(`data:text/csv;charset=utf-8,${encodeURIComponent(widget.csv())}`, 'unembed-topk.csv') }, 'CSV');
  if (views.includes('table')) {
    figures.table = el('section', { class: 'table' }, el('h3', {}, `${T.topTokens} `, csvBtn),
      // a box that scrolls sideways on a narrow screen: focusable, so keys scroll it too.
      el('div', { class: 'tables', tabindex: '0', role: 'region', 'aria-label': T.topTokens }, table, cosTable));
  }
  for (const name of ['topk', 'table', 'cosnorm', 'spectrum', 'loss']) if (figures[name]) viewsBox.append(figures[name]);
  // the sentence on the two rankings goes with the table or the scatter that show them.
  if (views.includes('table') || views.includes('cosnorm')) viewsBox.append(lesson);
  viewsBox.append(formula);
  if (anyControls) layout.append(side);
  else viewsBox.prepend(error, replayBox);
  layout.append(viewsBox);
  root.append(pipeline, layout, tooltip);

  for (const [name, canvas] of Object.entries(charts)) {
    const target = name === 'spectrum' ? spectrumFront : canvas;
    target.addEventListener('mousemove', (e) => hover(name, canvas, e));
    target.addEventListener('mouseleave', () => { tooltip.hidden = true; showFormula(null); });
  }
  const resize = new ResizeObserver((entries) => {
    for (const e of entries) sizes.set(e.target, [e.contentRect.width, e.contentRect.height]);
    draw();
  });
  for (const c of Object.values(charts)) resize.observe(c);

  function sub(n) { return String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[d]); }

  /** merges `patch` (an input's values, as text or numbers) into the controls and redraws on
   * the next frame (or now, with sync). what a link said is dropped: the reader moved on.
   * a new `base` without `h` drops a given h; `origin` says where a given h comes from. */
  function set(patch, { sync = false, origin: from } = {}) {
    if ('base' in patch && !('h' in patch)) patch = { ...patch, h: [] };
    if (from !== undefined || 'h' in patch) origin = from ?? null;
    controls = { ...controls, ...patch };
    stateProblems = [];
    if (sync) render();
    else schedule();
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  /** reads a new state (see mountExplorer) and shows it once its pieces are built, one full
   * pass per task. a newer load, or destroy(), abandons this one. */
  /** whether two states hold the same h: the same base and the same given numbers. */
  function sameH(a, b) {
    if (!a || !b || a.base !== b.base) return false;
    const [x, y] = [a.h ?? [], b.h ?? []];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }

  async function load(text, how = 'link', keep = false) {
    const mine = ++loads;
    cancelReplay();
    let r;
    try {
      r = widget.load(typeof text === 'string' ? text : '', how, keep);
    } catch (e) {
      r = { controls, problems: [{ message: e.message }] };
    }
    const before = controls;
    controls = r.controls;
    // a new state says where h comes from itself (a token, an expression, numbers); a change
    // kept on the state in force (an element's attribute) that leaves h as it was keeps its
    // origin (a lens cell's h stays that cell's).
    if (!(keep && sameH(before, controls))) origin = null;
    // the folded controls open when the state already moves h along them.
    if ((controls.coeffs ?? []).some((c) => Number(c) !== 0)) fold.open = true;
    stateProblems = r.problems.map((p) => p.message);
    preparing = true;
    root.dataset.busy = 'loading';
    // a piece that cannot be built is reported by the update that follows.
    if (!(await buildPieces(mine))) return;
    preparing = false;
    delete root.dataset.busy;
    render();
  }

  /** builds the missing pieces of the state the widget was asked about (Widget.load or
   * requestFor), one full pass per task; with a product pool each pass is shared with its
   * Worker, the rows before `pool.split` here. `h` is the first piece's when already
   * requested. false when a newer load or destroy() took over; a failure sets skipSplit (the
   * update that follows reports it). */
  async function buildPieces(mine, h) {
    try {
      if (h === undefined) h = widget.request();
      while (h) {
        let tail;
        if (pool?.ready) {
          const asked = pool.tail(h);
          widget.productHead(pool.split);
          // a Worker that failed: install computes the rest here.
          tail = await asked.catch(() => undefined);
          if (mine !== loads || dead) return false;
          widget.install(tail);
        } else {
          widget.install(undefined);
          await nextTask();
          if (mine !== loads || dead) return false;
        }
        h = widget.request();
      }
    } catch {
      skipSplit = true;
    }
    return mine === loads && !dead;
  }

  /** a render whose controls need a new piece (a new token, mix token, seed, offset) at a
   * large vocabulary: the piece's product is shared with the pool's Worker, then the render is
   * done again; controls changed meanwhile are picked up by it. */
  async function splitThenRender(h) {
    const mine = ++loads;
    preparing = true;
    root.dataset.busy = 'loading';
    if (!(await buildPieces(mine, h))) return;
    preparing = false;
    delete root.dataset.busy;
    render();
  }

  function render() {
    if (dead || preparing) return; // a frame or timer that outlived destroy(), or a load under way
    if (pool?.ready && !skipSplit) {
      let h;
      try { h = widget.requestFor(JSON.stringify(controls)); } catch { /* said by the update */ }
      if (h) { splitThenRender(h); return; }
    }
    skipSplit = false;
    let replay = 0;
    try {
      const r = widget.update(JSON.stringify(controls));
      view = r.view;
      inputProblems = r.problems.map((p) => p.message);
      replay = r.replay;
    } catch (e) {
      inputProblems = [e.message];
    }
    controls = widget.controls();
    if (!view) { showProblems(); return; }
    show();
    // (only where the target's sentence is on screen.)
    if (view.target?.gradient_deferred && want('target')) gradientLater();
    if (replay > 0) startReplay(replay);
    else warmLater();
  }

  /** a target's gradient at a large vocabulary: its transposed pass (about 40 ms at Gemma's
   * 262,144 tokens) would not fit in a slider step, so the update leaves it out and it is
   * computed here once the controls have rested for GRADIENT_REST_MS (not in idle time: that
   * comes between the frames of a drag, which one long task would stall). */
  function gradientLater() {
    clearTimeout(gradientTimer);
    gradientTimer = setTimeout(() => {
      gradientTimer = null;
      if (dead || preparing || !view?.target?.gradient_deferred) return;
      try {
        const t = widget.gradient();
        if (t) { view.target = t; describe(); }
      } catch (e) {
        inputProblems = [e.message];
        showProblems();
      }
    }, GRADIENT_REST_MS);
  }

  /** in idle time, one piece per callback, the pieces a slider not moved yet would need (the
   * noise, the singular directions): so that the first step of those sliders costs no pass over
   * the vocabulary, which at 262,144 tokens is a frame. asked again after every render: a new
   * state may need new ones, and asking when none is left is cheap. */
  function warmLater() {
    if (warming || dead) return;
    const idle = window.requestIdleCallback ?? ((f) => setTimeout(f, 100));
    warming = idle(() => {
      warming = null;
      if (dead || preparing || replaying) return;
      let more = false;
      try { more = widget.warm(); } catch { /* a piece that cannot be built waits for its slider */ }
      if (more) warmLater();
    });
  }

  /** the view and the controls in force, on screen. */
  function show() {
    if (dead || !view) return;
    // charts first: canvas text needs resolved styles, so drawing after DOM changes would force
    // a style recalculation on every step.
    draw();
    syncInputs();
    fillTable();
    fillCosTable();
    describe();
    describePipeline();
    showProblems();
    reportChange();
  }

  function showProblems() {
    const all = [...stateProblems, ...inputProblems, ...(drawProblem ? [drawProblem] : [])];
    const text = all.join('\n');
    if (error.textContent !== text) error.textContent = text;
    error.hidden = all.length === 0;
  }

  /** replays `steps` gradient steps of the controls in force in a Worker, then installs them. */
  function startReplay(steps) {
    cancelReplay();
    const from = JSON.stringify({ ...controls, steps });
    const job = replaySteps(explorer, from, (k) => {
      replayBar.value = k / steps;
      replayText.textContent = T.replaying(k, steps);
    }, lang);
    if (!job) {
      inputProblems.push(T.noReplay(steps));
      showProblems();
      return;
    }
    replaying = { job, steps };
    root.dataset.busy = 'replaying';
    replayBar.value = 0;
    replayText.textContent = T.replaying(0, steps);
    replayBox.hidden = false;
    syncButtons();
    job.done.then((r) => {
      if (replaying?.job !== job || dead) return;
      endReplay();
      try {
        const u = widget.adopt(from, r.steps, r.h, r.z, r.loss);
        view = u.view;
        inputProblems = [];
      } catch (e) {
        inputProblems = [T.replayFailed(e.message)];
      }
      controls = widget.controls();
      show();
    }, (e) => {
      if (replaying?.job !== job || dead) return;
      endReplay();
      inputProblems = [T.replayFailed(e.message)];
      show();
    });
  }

  function endReplay() {
    replaying = null;
    replayBox.hidden = true;
    if (root.dataset.busy === 'replaying') delete root.dataset.busy;
    syncButtons();
  }

  function cancelReplay() {
    if (!replaying) return;
    replaying.job.cancel();
    endReplay();
  }

  // the URL follows the state, at most every 200 ms (history updates are not free).
  let hashTimer = null;
  // while a link's steps are replayed the URL keeps them; it follows again once they land.
  function reportChange() {
    if (hashTimer || replaying) return;
    hashTimer = setTimeout(() => { hashTimer = null; if (!replaying && !dead) onChange(controls); }, 200);
  }

  function syncInputs() {
    for (const [key, { input, out }] of Object.entries(sliders)) {
      input.value = String(controls[key]);
      out.textContent = key === 'temperature' && controls[key] === 0 ? T.argmax : fmt(controls[key], 2);
    }
    seedOut.textContent = String(controls.seed);
    coeffInputs.forEach(({ input, out }, k) => {
      input.value = String(controls.coeffs?.[k] ?? 0);
      const c = view.coords[k];
      out.textContent = c === undefined ? '' : `c = ${fmt(c, 3)}`;
    });
    for (const { input } of coeffInputs) input.disabled = !explorer.hasSpectrum();
    syncButtons();
    // a text box shows the value in force, unless the reader is typing in it.
    for (const [input, value] of [[base, controls.base], [mixWith, controls.mix_with], [target, controls.target], [lr, String(controls.lr)], [rows, String(controls.top)]]) {
      if (input.getRootNode().activeElement !== input && input.value !== value) input.value = value;
    }
  }

  function syncButtons() {
    // no gradient without a target, nor at T = 0 (the loss is ∞ or 0 there), nor while a
    // link's steps are replayed.
    stepBtn.disabled = !controls.target || controls.temperature === 0 || !!replaying;
    playBtn.disabled = stepBtn.disabled && !playing;
  }

  /** fills `tableEl` with a caption, a header and `rows` (arrays of cell texts), reusing the
   * row elements from the last step so dragging does not rebuild the table. */
  function fillRows(tableEl, caption, head, rows, rowClass = () => '') {
    if (!tableEl.tHead) {
      tableEl.append(el('caption'), el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))), el('tbody'));
    }
    tableEl.caption.textContent = caption;
    const body = tableEl.tBodies[0];
    while (body.rows.length > rows.length) body.deleteRow(-1);
    rows.forEach((cells, k) => {
      let tr = body.rows[k];
      if (!tr) {
        tr = body.insertRow();
        cells.forEach((_, j) => { const td = tr.insertCell(); if (j === 1) td.className = 'tok'; });
      }
      tr.className = rowClass(k);
      cells.forEach((c, j) => { if (tr.cells[j].textContent !== c) tr.cells[j].textContent = c; });
    });
  }

  function fillTable() {
    const rows = view.top.map((r, k) => [String(k + 1), r.shown, String(r.id), fmt(r.logit), fmtP(r.prob), fmt(r.norm), fmt(r.cos), String(r.cos_rank)]);
    fillRows(table, T.tableCaption(rows.length, fmt(controls.temperature, 2).replace(/[.,]?0+$/, ''), fmt(view.entropy, 3), fmt(view.h_norm, 3)),
      T.tableHead, rows,
      (k) => (view.top[k].id === view.target?.id ? 'target' : ''));
  }

  /** the ranking by angle beside the one by dot product: who moves, and by how much. */
  function fillCosTable() {
    // (absent when it is empty: top = 0.)
    const rows = (view.by_cosine ?? []).map((r, k) => {
      const moved = r.rank - (k + 1);
      return [String(k + 1), r.shown, fmt(r.cos), String(r.rank), moved === 0 ? '=' : (moved > 0 ? `↓ ${moved}` : `↑ ${-moved}`)];
    });
    fillRows(cosTable, T.cosCaption, T.cosHead, rows);
  }

  function describe() {
    // top = 0 is a valid state: the tables are empty and the sentence says why.
    const top = view.top[0];
    const best = view.by_cosine?.[0];
    lesson.textContent = !top || !best ? T.noRows
      : top.id === best.id ? T.same(top.shown, fmt(best.cos))
        : T.differs(top.shown, fmt(top.norm, 2), best.shown, fmt(best.cos), best.rank);
    const t = view.target;
    const drift = view.drift_norm > 0 ? T.drift(fmt(view.drift_norm)) : '';
    targetInfo.textContent = (t
      ? T.targetInfo(t.shown, fmtP(t.prob), t.rank, t.cos_rank, fmtLoss(t.loss), t.gradient ? T.gradNorm(fmt(t.gradient.norm)) : t.gradient_deferred ? T.gradPending : '', controls.steps)
      : T.pickTarget) + drift;
    showFormula(null);
  }

  /** the pipeline, token → embedding → layers → h → unembedding → softmax, and where this h
   * comes from: a token's embedding row, an expression over rows, numbers given, or the
   * residual the model computed at one layer and position of a prompt. */
  function describePipeline() {
    const P = T.pipe;
    const L = origin?.layers ?? layers;
    const given = controls.h?.length > 0;
    let from;
    if (given && origin?.kind === 'lens') from = P.lens(origin.layer, L, origin.col, origin.token, origin.attn);
    else if (given) from = P.given(shownText(controls.base));
    else if (explorer.hasToken(controls.base)) from = P.token(shownText(controls.base));
    else from = P.expr(shownText(controls.base));
    const moved = [];
    if (controls.scale !== 1) moved.push(T.scale[0]);
    if (controls.mix > 0 && controls.mix_with) moved.push(T.mix[0]);
    if (controls.noise > 0) moved.push(T.noise[0]);
    if (controls.coeffs?.some((c) => c !== 0)) moved.push(P.dirs);
    if (controls.steps > 0) moved.push(P.steps(controls.steps));
    pipeline.replaceChildren(
      el('strong', {}, P.chain(L)), ' ',
      from, moved.length ? P.moved(moved.join(', ')) : '', '.');
  }

  function showFormula(tok) {
    const t = tok ?? view.top[0];
    if (!t) { formula.textContent = ''; return; }
    formula.textContent = T.formula(t.shown, fmt(t.norm), fmt(view.h_norm), fmt(t.cos), fmt(t.logit), fmtP(t.prob), fmt(controls.temperature, 2));
  }

  // canvas sizes come from the ResizeObserver, so drawing never forces a layout.
  const sizes = new Map();
  const fit = (canvas) => fitCanvas(canvas, sizes);

  function draw() {
    if (dead || !view) return;
    if (!firstDrawn) {
      firstDrawn = true;
      requestAnimationFrame(() => {
        performance.clearMarks('unembed:first-chart'); // one mark, however many mounts
        performance.mark('unembed:first-chart');
      });
    }
    try {
      if (charts.topk) widget.drawTopk(charts.topk, fit(charts.topk));
      if (charts.cosnorm) widget.drawCosnorm(charts.cosnorm, fit(charts.cosnorm));
      if (charts.spectrum && explorer.hasSpectrum()) {
        const dpr = fit(charts.spectrum);
        if (spectrumFront.width !== charts.spectrum.width || spectrumFront.height !== charts.spectrum.height) {
          spectrumFront.width = charts.spectrum.width;
          spectrumFront.height = charts.spectrum.height;
        }
        widget.drawSpectrum(charts.spectrum, spectrumFront, dpr);
      }
      if (charts.loss) widget.drawLoss(charts.loss, fit(charts.loss));
      drawProblem = '';
    } catch (e) {
      drawProblem = e.message;
    }
    showProblems();
  }

  function hover(name, canvas, e) {
    const r = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const it = widget.hover(name, (e.clientX - r.left) * dpr, (e.clientY - r.top) * dpr, 6 * dpr);
    if (!it) { tooltip.hidden = true; return; }
    tooltip.hidden = false;
    if (it.step !== undefined) {
      tooltip.textContent = T.lossAt(it.step, fmtLoss(it.loss));
    } else if (it.k !== undefined) {
      tooltip.textContent = T.direction(it.k, fmt(it.sigma), fmt(it.c ?? 0), fmt(it.contribution ?? 0), fmt(100 * it.energy, 1));
    } else {
      tooltip.textContent = `${it.shown} #${it.id}  z = ${fmt(it.logit)}  p = ${fmtP(it.prob)}  ‖v‖ = ${fmt(it.norm)}  cos θ = ${fmt(it.cos)}`;
      showFormula(it);
    }
    // the root is the tooltip's containing block (a size container contains its layout).
    const box = root.getBoundingClientRect();
    tooltip.style.left = `${e.clientX - box.left + 12}px`;
    tooltip.style.top = `${e.clientY - box.top + 12}px`;
  }

  function suggest(prefix) {
    if (!prefix || /\s[-+]\s/.test(prefix)) return [];
    // a token with invisible characters is offered as #id, so none of them reaches the input.
    return explorer.suggest(prefix, 12).map((s) => ({ value: s.plain ? s.text : `#${s.id}`, label: `${s.label}  #${s.id}` }));
  }

  function step(n) { set({ steps: (controls.steps ?? 0) + n }); }

  function togglePlay() {
    if (playing) { clearInterval(playing); playing = null; playBtn.textContent = T.play; return; }
    playBtn.textContent = T.pause;
    // one step per render: a tick while a frame is still pending waits for the next.
    playing = setInterval(() => {
      if (pending || preparing) return;
      if (stepBtn.disabled || (controls.steps ?? 0) >= 200) togglePlay(); else step(1);
    }, 120);
  }

  function download(href, name) {
    const a = el('a', { href, download: name });
    document.body.append(a);
    a.click();
    a.remove();
  }

  load(state, kind);
  return {
    widget,
    set,
    load,
    get controls() { return controls; },
    get view() { return view; },
    /** where a given h comes from (see set), or null. */
    get origin() { return origin; },
    /** whether a link's steps are being replayed. */
    get replaying() { return !!replaying; },
    /** the product Worker's pool (product.js), or null at a small vocabulary. */
    get pool() { return pool; },
    /** redraws after something outside the controls changed (the spectrum arrived). */
    refresh() { render(); },
    /** the charts' colours ('dark' or 'light', theme.js), redrawn. */
    setTheme(t) { widget.setTheme(t); render(); },
    destroy() {
      dead = true;
      pool?.release();
      clearTimeout(gradientTimer);
      if (warming) (window.cancelIdleCallback ?? clearTimeout)(warming);
      cancelReplay();
      resize.disconnect();
      combo.destroy();
      if (playing) clearInterval(playing);
      clearTimeout(hashTimer);
      widget.free();
      root.replaceChildren();
    },
  };
}

let nextId = 0;
function uid() { nextId += 1; return `unembed-${nextId}`; }
