// measurements run inside a served page, shared by bench/page_chromium.mjs and
// bench/two_models_chromium.mjs.

/** the median, p95 and max of one slider step on the page's mounted explorer (compute +
 * redraw of every visible chart and the table, timed inside the animation frame that runs it,
 * one step per frame as while dragging) over `n` steps of five sliders. */
export function sliderSteps(page, n) {
  return page.evaluate(async (n) => {
    const m = window.unembedPage.mounted;
    // where a step's time goes: each Widget call the explorer makes, timed by wrapping the
    // class's methods for this run (the rest of a step is the page's DOM work).
    const { Widget } = await import(new URL('pkg/unembed.js', location.href));
    const parts = {};
    const wrapped = ['update', 'drawTopk', 'drawCosnorm', 'drawSpectrum', 'drawLoss'];
    const saved = wrapped.map((k) => Widget.prototype[k]);
    wrapped.forEach((k, j) => {
      Widget.prototype[k] = function (...a) {
        const s = performance.now();
        try { return saved[j].apply(this, a); } finally { (parts[k] ??= []).push(performance.now() - s); }
      };
    });
    const plan = [
      (i) => ({ scale: 0.5 + (i % 60) / 20 }),
      (i) => ({ mix: (i % 50) / 50 }),
      (i) => ({ noise: (i % 40) / 200 }),
      (i) => ({ temperature: 0.2 + (i % 50) / 20 }),
      (i) => ({ coeffs: [Math.sin(i / 7), Math.cos(i / 5)] }),
    ];
    const t = [];
    const bySlider = plan.map(() => []);
    // one step per animation frame, as while dragging: the browser renders between steps.
    for (let i = 0; i < n; i++) {
      const patch = plan[i % plan.length](i);
      await new Promise((done) => requestAnimationFrame(() => {
        const s = performance.now();
        m.set(patch, { sync: true });
        t.push(performance.now() - s);
        bySlider[i % plan.length].push(t[t.length - 1]);
        done();
      }));
    }
    wrapped.forEach((k, j) => { Widget.prototype[k] = saved[j]; });
    const median = (x) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
    const breakdown = Object.fromEntries(Object.entries(parts).map(([k, x]) => [k, median(x)]));
    const sliders = Object.fromEntries(plan.map((f, k) => [Object.keys(f(0))[0], median(bySlider[k])]));
    t.sort((a, b) => a - b);
    return { median: t[Math.floor(t.length / 2)], p95: t[Math.floor(t.length * 0.95)], max: t[t.length - 1], n, breakdown, sliders };
  }, n);
}

/** the full-vocabulary product z = W_U·h of the page's model (`logitsInPlace`, no copy out),
 * exact and fast precision: median and p95 over `reps` after 10 warm-up runs. */
export function products(page, reps) {
  return page.evaluate((reps) => {
    const ex = window.unembedPage.explorer;
    const info = ex.info();
    const h = new Float32Array(info.d).map((_, j) => Math.sin(j * 0.37));
    const stats = (fast) => {
      const t = [];
      for (let i = 0; i < reps + 10; i++) {
        const s = performance.now();
        ex.logitsInPlace(h, fast);
        if (i >= 10) t.push(performance.now() - s);
      }
      t.sort((a, b) => a - b);
      return { median: t[Math.floor(t.length / 2)], p95: t[Math.min(t.length - 1, Math.floor(t.length * 0.95))] };
    };
    return { vocab: info.vocab, d: info.d, kernel: info.kernel, exact: stats(false), fast: stats(true) };
  }, reps);
}

// a new piece's product as the page pays it (Widget.requestFor, the product, Widget.install:
// the finite check and c = Vᵀh included), `reps` times with a different given h each: on one
// thread (install computes it all), and shared with the product Worker (product.js) when the
// mounted explorer has one, waiting up to a minute for it to hold its rows; `product` is the
// shared product alone (h posted to every row held). medians and p95 in ms; split and product
// are null without a pool. the state in force is put back afterwards.
export function pieceProducts(page, reps) {
  return page.evaluate(async (reps) => {
    const m = window.unembedPage.mounted;
    const { d } = window.unembedPage.explorer.info();
    for (let i = 0; m.pool && !m.pool.ready && !m.pool.failed && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const w = m.widget;
    const stats = (t) => {
      t.sort((a, b) => a - b);
      return { median: t[Math.floor(t.length / 2)], p95: t[Math.min(t.length - 1, Math.floor(t.length * 0.95))] };
    };
    const ask = (i) => w.requestFor(JSON.stringify({ ...m.controls, h: Array.from({ length: d }, (_, j) => Math.sin(j * 0.37 + i)) }));
    const one = [];
    for (let i = 0; i < reps + 3; i++) {
      const s = performance.now();
      ask(i);
      w.install(undefined);
      if (i >= 3) one.push(performance.now() - s);
      await new Promise((r) => setTimeout(r, 0));
    }
    let split = null;
    let product = null;
    if (m.pool?.ready) {
      const [t, p] = [[], []];
      for (let i = 0; i < reps + 3; i++) {
        const s = performance.now();
        const h = ask(1000 + i);
        // the product alone: from posting h to holding every row (the Worker's and the head).
        const q = performance.now();
        const tail = m.pool.tail(h);
        w.productHead(m.pool.split);
        const z = await tail;
        const r = performance.now();
        w.install(z);
        if (i >= 3) { t.push(performance.now() - s); p.push(r - q); }
        await new Promise((r) => setTimeout(r, 0));
      }
      split = stats(t);
      product = stats(p);
    }
    m.refresh();
    return { one: stats(one), split, product, pool: m.pool ? (m.pool.ready ? 'ready' : m.pool.failed) : 'none' };
  }, reps);
}
