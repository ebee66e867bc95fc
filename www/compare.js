// the Compare view: mountCompare(element, a, b, options) shows two loaded models' unembeddings
// side by side through a wasm Comparison: their summaries, spectra, histograms of ‖v_i‖ and
// cos(v_i, μ), a text's top tokens by logit and by cosine with Spearman's ρ, and a word's
// nearest neighbours matched across the vocabularies. JS only moves values between the DOM
// and the façade: every number and chart comes from wasm; token text reaches the DOM through
// textContent, in the shown (escaped) form.
import { Comparison, shownText } from './pkg/unembed.js';
import { strings, number, integer } from './i18n.js';
import { el, fitCanvas } from './dom.js';

function row(cells, head = false) {
  return el('tr', {}, ...cells.map((c, i) => {
    const cell = el(head || i === 0 ? 'th' : 'td', head ? { scope: 'col' } : (i === 0 ? { scope: 'row' } : {}));
    if (c instanceof Node) cell.append(c);
    else cell.textContent = c;
    return cell;
  }));
}

let uid = 0;

/** yields to the browser: the next task, not throttled like a timer. */
function nextTask() {
  return new Promise((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => { c.port1.close(); resolve(); };
    c.port2.postMessage(0);
  });
}

/** mounts the Compare view of explorers `a` and `b` on `root`. `text` is the first text whose
 * h both models read, `word` the first word whose neighbours they list. returns `{destroy,
 * setTheme, ready}`; `ready` resolves once the summaries and charts are shown (rejects with the
 * error shown when they cannot be). */
export function mountCompare(root, a, b, { lang = document.documentElement.lang, theme = 'light', text = 'Paris', word = 'Paris', k = 10 } = {}) {
  const T = strings(lang).compare;
  const fmt = number(lang);
  const int = integer(lang);
  const cmp = new Comparison(a, b);
  cmp.setLang(lang);
  cmp.setTheme(theme);
  const names = [a.info().name, b.info().name];
  const id = `unembed-compare-${++uid}`;
  let dead = false;

  const error = el('p', { class: 'problems', role: 'alert', hidden: '' });
  const summary = el('table', { class: 'cmp-summary' });
  const spectra = el('canvas', { class: 'chart cmp-spectra', role: 'img', 'aria-label': T.spectraLabel });
  const hists = el('canvas', { class: 'chart cmp-hists', role: 'img', 'aria-label': T.histsLabel });
  const textInput = el('input', { type: 'text', class: 'token', id: `${id}-text`, value: text });
  const textForm = el('form', { class: 'cmp-form' },
    el('label', { for: `${id}-text` }, T.textLabel), textInput, el('button', { type: 'submit' }, T.show));
  const textOut = el('div', { class: 'cmp-pair cmp-text', 'aria-live': 'polite' });
  const wordInput = el('input', { type: 'text', class: 'token', id: `${id}-word`, value: word });
  const wordForm = el('form', { class: 'cmp-form' },
    el('label', { for: `${id}-word` }, T.wordLabel), wordInput, el('button', { type: 'submit' }, T.show));
  const wordOut = el('div', { class: 'cmp-pair cmp-words', 'aria-live': 'polite' });

  const section = (title, explain, ...body) => el('section', { class: 'cmp-panel' },
    el('h3', {}, title), el('p', { class: 'explain' }, explain), ...body);
  root.replaceChildren(el('div', { class: 'unembed-compare' },
    error,
    section(T.summaryTitle, T.summaryExplain, summary),
    section(T.spectraTitle, T.spectraExplain, spectra),
    section(T.histsTitle, T.histsExplain, hists),
    section(T.textTitle, T.textExplain, textForm, textOut),
    section(T.wordTitle, T.wordExplain, wordForm, wordOut)));

  function showError(m) {
    error.textContent = m;
    error.hidden = !m;
  }

  function fillSummary(s) {
    const range = (st, d) => T.range(fmt(st.mean, d), fmt(st.std, d), fmt(st.min, d), fmt(st.max, d));
    summary.replaceChildren(
      el('thead', {}, row(['', ...names], true)),
      el('tbody', {},
        row([T.size, ...s.map((m) => T.sizeOf(int(m.vocab), m.d))]),
        row([T.effRank, ...s.map((m) => T.ofD(fmt(m.effective_rank, 1), m.d))]),
        row([T.energy90, ...s.map((m) => String(m.energy_90))]),
        row([T.norms, ...s.map((m) => range(m.norms, 4))]),
        row([T.cosMu, ...s.map((m) => range(m.anisotropy, 4))]),
        row([T.meanNorm, ...s.map((m) => fmt(m.mean_norm, 4))])));
    const cells = summary.querySelectorAll('tbody tr');
    const keys = ['size', 'effective_rank', 'energy_90', 'norms', 'anisotropy', 'mean_norm'];
    cells.forEach((tr, i) => { tr.dataset.key = keys[i]; });
  }

  // canvas sizes come from a ResizeObserver, so drawing never forces a layout.
  const sizes = new Map();
  const fit = (canvas) => fitCanvas(canvas, sizes);
  let drawn = false;
  let vocabs = [0, 0];
  function draw() {
    if (dead || !drawn) return;
    try {
      cmp.drawSpectra(spectra, fit(spectra));
      cmp.drawHistograms(hists, fit(hists));
    } catch (e) {
      showError(e.message);
    }
  }
  const resize = new ResizeObserver((entries) => {
    for (const e of entries) sizes.set(e.target, [e.contentRect.width, e.contentRect.height]);
    draw();
  });
  resize.observe(spectra);
  resize.observe(hists);

  const token = (t) => shownText(t.text);
  function side(i, body) {
    return el('div', { class: 'cmp-side', 'data-model': String(i) }, el('h4', {}, names[i]), ...body);
  }

  function showText() {
    const r = cmp.text(textInput.value, k);
    textOut.replaceChildren(...r.models.map((m, i) => {
      if (m.error !== undefined) return side(i, [el('p', { class: 'cmp-error' }, m.error)]);
      // the terms as read: " king" − " man" + " woman", a coefficient only when it is not ±1.
      const read = m.read.map((t, j) => {
        const sign = t.coef < 0 ? ' − ' : (j === 0 ? '' : ' + ');
        const c = Math.abs(t.coef);
        return `${j === 0 && t.coef < 0 ? '−' : sign}${c === 1 ? '' : `${fmt(c, 2)}·`}${t.shown}`;
      }).join('');
      const rho = el('p', { class: 'cmp-rho' }, T.rho(fmt(m.spearman_dot_cos, 4), int(vocabs[i]), m.shared_top, m.top_logit.length));
      rho.dataset.rho = String(m.spearman_dot_cos);
      const t = el('table', { class: 'cmp-top' },
        el('caption', {}, T.readAs(read, fmt(m.h_norm, 3))),
        el('thead', {}, row(['#', T.byLogit, 'z', T.byCos, 'cos θ'], true)),
        el('tbody', {}, ...m.top_logit.map((l, j) => {
          const c = m.top_cosine[j];
          const tr = row([String(j + 1), token(l), fmt(l.logit, 3), token(c), fmt(c.cos, 4)]);
          tr.dataset.logitId = l.id;
          tr.dataset.cosId = c.id;
          return tr;
        })));
      return side(i, [rho, t]);
    }));
  }

  function showWord() {
    const r = cmp.neighbours(wordInput.value, k);
    wordOut.replaceChildren(...r.models.map((m, i) => {
      if (m.error !== undefined) return side(i, [el('p', { class: 'cmp-error' }, m.error)]);
      const other = names[1 - i];
      const t = el('table', { class: 'cmp-nn' },
        el('caption', {}, T.nnCaption(m.shown, other)),
        el('thead', {}, row(['#', T.token, 'cos θ', T.thereCos, T.thereRank], true)),
        el('tbody', {}, ...m.list.map((n, j) => {
          const o = n.other;
          const tr = row([String(j + 1), token(n), fmt(n.cos, 4), o ? fmt(o.cos, 4) : '—', o ? `#${o.rank}` : T.absent]);
          tr.dataset.id = n.id;
          if (o && o.rank <= k) tr.classList.add('shared');
          return tr;
        })));
      return side(i, [t]);
    }));
  }

  const guard = (f) => (e) => {
    e?.preventDefault();
    try { showError(''); f(); } catch (err) { showError(err.message); }
  };
  textForm.addEventListener('submit', guard(showText));
  wordForm.addEventListener('submit', guard(showWord));

  // the summaries cost two passes over each vocabulary: after the view is on screen.
  // `timings` (for benchmarks): ms of each model's profile (one task each), from mounting to
  // the summaries, to the charts drawn, and of the first text's and word's answers.
  const timings = {};
  const t0 = performance.now();
  const ready = new Promise((resolve) => requestAnimationFrame(resolve)).then(async () => {
    if (dead) return;
    const ts = performance.now();
    // one model's profile per task: no task holds the page for both.
    timings.profiles = [];
    for (let more = true; more;) {
      const tp = performance.now();
      more = cmp.prepare();
      timings.profiles.push(performance.now() - tp);
      await nextTask();
      if (dead) return;
    }
    const s = cmp.summaries();
    timings.summaries = performance.now() - ts;
    vocabs = s.map((m) => m.vocab);
    fillSummary(s);
    drawn = true;
    draw();
    timings.charts = performance.now() - t0;
    await nextTask();
    let t = performance.now();
    guard(showText)();
    timings.text = performance.now() - t;
    await nextTask();
    t = performance.now();
    guard(showWord)();
    timings.word = performance.now() - t;
  }).catch((e) => { showError(e.message); throw e; });

  return {
    ready,
    timings,
    comparison: cmp,
    setTheme(t) { cmp.setTheme(t); draw(); },
    destroy() {
      dead = true;
      resize.disconnect();
      root.replaceChildren();
      cmp.free();
    },
  };
}
