// <unembed-explorer model="smollm2-135m.gguf" token=" Paris" views="topk,cosnorm"
//                   temperature="0.8" target=" London">
// <unembed-explorer prompt="The capital of France is" views="lens,topk,table">
// the explorer as a custom element in a plain ES module. every element on a page shares one
// wasm instance and one download of each model; attributes can change at any time; removing
// the element frees its widget. models and the wasm are found beside this module
// (`pkg/`, `models/models.json`), or under the `base` attribute. the `lens` view adds the
// Prompt panel (lens.js); `prompt` fills it and runs it once the element is on screen.
// `controls="temperature,scale"` shows only those controls ("" none); by default the ones
// its views need. `views="compare" compare="gemma-3-270m.gguf"` shows the Compare view
// (compare.js) of `model` beside the served model `compare` (downloaded when the element is
// seen, with its progress), reading `token` (default Paris) as the text and word compared.
// it renders into its own (open) shadow root, with style.css linked inside: the host's styles
// do not reach in, the widget's do not leak out, and a React host that hydrates
// server-rendered HTML finds the element's light DOM as it left it (no error #418).
import init, { Explorer } from './pkg/unembed.js';
import { mountExplorer, parseControls } from './explorer.js';
import { mountLens, wholeModel, explorerFromWholeModel } from './lens.js';
import { mountCompare } from './compare.js';
import { readManifest, downloadModel, LoadError } from './loader.js';
// the model cache, for a course site's own "clear" button or settings page.
export { cachedModels, clearModelCache, CACHE_SETTING } from './loader.js';
import { strings, language } from './i18n.js';
import { remember } from './replay.js';
import { followTheme, themeOf } from './theme.js';

const HERE = new URL('.', import.meta.url);
let wasm = null;
const loaded = new Map(); // `${base}|${file}` → Promise<Explorer>
/** what came with a loaded Explorer: its manifest row, and a promise of its spectrum when
 * the file had none (a model taken from the whole file). */
const about = new WeakMap();

function ready() {
  wasm ??= init({ module_or_path: new URL('pkg/unembed_bg.wasm', HERE) });
  return wasm;
}

/** the shared Explorer for a model file (the manifest's first model when `file` is empty).
 * it is built from the slim served file, unless the page downloads the whole model anyway
 * (`whole`: a lens about to run, or one already downloading): then from that file, and the
 * slim file is not downloaded at all. `onProgress(got, total)`. `keepSource` keeps the slim
 * file's bytes for replaying a link's gradient steps in a Worker (embed.html); elements take
 * no steps from their attributes and keep nothing. */
export function loadModel(base, file, onProgress, { whole = false, lang, keepSource = false } = {}) {
  const key = `${base}|${file ?? ''}`;
  if (!loaded.has(key)) {
    const p = (async () => {
      await ready();
      const models = await readManifest(base);
      const entry = file ? models.find((m) => m.file === file) : models[0];
      if (!entry) throw new LoadError('noModel', file, new URL('models/models.json', base).pathname);
      if (whole && entry.full) wholeModel(base, entry, lang, (phase, got, total) => onProgress?.(got, total));
      const fromWhole = explorerFromWholeModel(base, entry);
      if (fromWhole) {
        const { explorer, spectrum } = await fromWhole;
        about.set(explorer, { entry, spectrum });
        return explorer;
      }
      const buf = await downloadModel(base, entry, onProgress);
      const explorer = new Explorer(buf, new Uint8Array());
      if (keepSource) remember(explorer, { whole: buf });
      about.set(explorer, { entry, spectrum: null });
      return explorer;
    })();
    // a failed download is not cached: the next element (or Retry) tries again.
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return loaded.get(key);
}

/** the manifest row a loaded Explorer came from, and its spectrum's promise (or null). */
export function modelOf(explorer) {
  return about.get(explorer) ?? { entry: null, spectrum: null };
}

// the first sight of each element: one observer whose first report says which elements are
// on screen as the page opens. lens elements that will run their prompt at once go first, so
// they start the whole model before any explorer asks for the slim file.
const sightings = new Map(); // element → resolve(visible)
const sight = new IntersectionObserver((entries) => {
  const first = (e) => (e.target.runsAtOnce?.() && e.isIntersecting ? 0 : 1);
  for (const e of [...entries].sort((a, b) => first(a) - first(b))) {
    const resolve = sightings.get(e.target);
    if (!resolve) continue;
    sightings.delete(e.target);
    sight.unobserve(e.target);
    resolve(e.isIntersecting);
  }
});
function firstSight(element) {
  return new Promise((resolve) => {
    sightings.get(element)?.(false);
    sightings.set(element, resolve);
    sight.unobserve(element);
    sight.observe(element);
  });
}

// the attributes that are controls; the core names and reads them (core::controls).
const CONTROL_ATTRS = ['token', 'temperature', 'target', 'mix', 'mix-with', 'scale', 'noise', 'seed', 'top'];
const VIEWS = 'topk,cosnorm,spectrum,loss,table';

export class UnembedExplorer extends HTMLElement {
  static observedAttributes = ['model', 'base', 'views', 'controls', 'lang', 'prompt', 'compare', ...CONTROL_ATTRS];

  #mounted = null;
  #lens = null;
  #compare = null;
  #generation = 0;
  #unfollow = null;
  #frame = null; // the shadow root's one child: the widget's box, marked with its theme

  /** the shadow root, with the stylesheet and the frame the widget fills (made once). */
  #root() {
    if (this.#frame) return this.#frame;
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = new URL('style.css', HERE).href;
    this.#frame = document.createElement('div');
    this.#frame.className = 'unembed-frame';
    shadow.replaceChildren(css, this.#frame);
    return this.#frame;
  }

  /** the control attributes as a JSON object of their text, for the core to read. */
  attributesText() {
    const c = {};
    for (const attr of CONTROL_ATTRS) {
      const v = this.getAttribute(attr);
      if (v !== null) c[attr] = v;
    }
    return JSON.stringify(c);
  }

  #views() {
    return (this.getAttribute('views') ?? VIEWS).split(',').map((v) => v.trim());
  }

  /** whether this element runs a prompt as soon as it is seen. */
  runsAtOnce() {
    return this.#views().includes('lens') && !!this.getAttribute('prompt');
  }

  connectedCallback() {
    // the host's light or dark theme, followed while the element is on the page (theme.js).
    const frame = this.#root();
    // the widget's text size (style.css's --u): the text's around the element, whatever the
    // host's root size (bounded, for a host that puts the element in tiny or huge text).
    const around = parseFloat(getComputedStyle(this).fontSize);
    if (around > 0) frame.style.setProperty('--u', `${Math.min(22, Math.max(13, around))}px`);
    this.#unfollow ??= followTheme(this, (t) => { this.#mounted?.setTheme(t); this.#lens?.setTheme(t); this.#compare?.setTheme(t); }, frame);
    this.#start();
  }

  disconnectedCallback() {
    if (!this.isConnected) {
      this.#unfollow?.();
      this.#unfollow = null;
    }
    this.#generation += 1;
    sightings.get(this)?.(false);
    this.#lens?.destroy();
    this.#lens = null;
    this.#compare?.destroy();
    this.#compare = null;
    this.#mounted?.destroy();
    this.#mounted = null;
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this.isConnected) return;
    if (name === 'prompt' && this.#lens) {
      this.#lens.setPrompt(value ?? '', { run: value ? 'visible' : false });
    } else if (name === 'model' || name === 'base' || name === 'views' || name === 'controls' || name === 'lang' || name === 'prompt' || name === 'compare' || !this.#mounted) {
      this.disconnectedCallback();
      this.#start();
    } else if (value !== null) {
      // only the attribute that changed, as text (the core reads and checks it); every other
      // control keeps the value in force, so what the reader did (a typed token, a dragged
      // slider, a lens cell's h) stays unless the attribute speaks of it. a removed attribute
      // changes nothing.
      this.#mounted.load(JSON.stringify({ [name]: value }), 'attributes', true);
    }
  }

  async #start() {
    const generation = ++this.#generation;
    const base = new URL(this.getAttribute('base') ?? '.', HERE);
    const views = this.#views();
    // the element's own lang, else the nearest ancestor's, else the page's.
    const lang = language(this.closest('[lang]')?.getAttribute('lang') ?? document.documentElement.lang);
    const T = strings(lang);
    const status = document.createElement('p');
    status.className = 'unembed-status';
    status.setAttribute('role', 'status');
    status.textContent = T.loading;
    const frame = this.#root();
    frame.replaceChildren(status);
    const visible = await firstSight(this);
    if (generation !== this.#generation) return;
    try {
      const explorer = await loadModel(base, this.getAttribute('model'), (got, total) => {
        status.textContent = T.loadingPct(Math.floor((100 * got) / total));
      }, { whole: visible && this.runsAtOnce(), lang });
      if (generation !== this.#generation) return; // removed or changed meanwhile
      const { entry, spectrum } = modelOf(explorer);
      const host = document.createElement('div');
      const lensHost = document.createElement('div');
      const compareHost = document.createElement('div');
      const shown = views.filter((v) => v !== 'lens' && v !== 'compare');
      frame.replaceChildren(...(views.includes('lens') ? [lensHost] : []), ...(shown.length ? [host] : []), ...(views.includes('compare') ? [compareHost] : []));
      if (shown.length) {
        this.#mounted = mountExplorer(host, explorer, this.attributesText(), {
          views: shown, lang, layers: entry?.full?.layers, kind: 'attributes', theme: themeOf(this),
          controls: parseControls(this.getAttribute('controls'), views),
        });
        spectrum?.then(() => { if (generation === this.#generation) this.#mounted?.refresh(); }, () => {});
      }
      if (views.includes('compare')) this.#startCompare(generation, compareHost, base, explorer, lang);
      if (views.includes('lens')) {
        const prompt = this.getAttribute('prompt') ?? '';
        this.#lens = mountLens(lensHost, {
          lang, prompt, autorun: !!prompt, explorer: () => this.#mounted, source: () => ({ base, entry }), theme: themeOf(this),
        });
      }
    } catch (e) {
      if (generation !== this.#generation) return;
      status.textContent = T.loadFailed(e.code ? T.loadError(e) : e.message);
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.textContent = T.retry;
      retry.onclick = () => this.#start();
      status.append(retry);
    }
  }

  /** the Compare view of `explorer` beside the model the `compare` attribute names. */
  async #startCompare(generation, host, base, explorer, lang) {
    const T = strings(lang);
    const status = document.createElement('p');
    status.className = 'unembed-status';
    status.setAttribute('role', 'status');
    host.replaceChildren(status);
    const file = this.getAttribute('compare');
    if (!file) {
      status.textContent = T.compare.noSecond;
      return;
    }
    try {
      const other = await loadModel(base, file, (got, total) => {
        status.textContent = T.compare.downloading(file, (got / 1e6).toFixed(1), (total / 1e6).toFixed(1), Math.floor((100 * got) / total));
      }, { lang });
      // a model taken from the whole file gets its spectrum in Workers: wait for it.
      status.textContent = T.compare.computing;
      await Promise.all([modelOf(explorer).spectrum, modelOf(other).spectrum]);
      if (generation !== this.#generation) return;
      if (other === explorer) {
        status.textContent = T.compare.same;
        return;
      }
      const text = this.getAttribute('token')?.trim() || 'Paris';
      const view = mountCompare(host, explorer, other, { lang, theme: themeOf(this), text, word: text });
      this.#compare = view;
      await view.ready;
    } catch (e) {
      if (generation !== this.#generation) return;
      status.textContent = T.compare.failed(e.code ? T.loadError(e) : e.message);
      host.replaceChildren(status);
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.textContent = T.retry;
      retry.onclick = () => this.#startCompare(generation, host, base, explorer, lang);
      status.append(retry);
    }
  }

  /** the Compare view's handle (for tests), or null. */
  get compare() {
    return this.#compare;
  }

  /** the Prompt panel's handle (for tests), or null. */
  get lens() {
    return this.#lens;
  }

  /** the theme the widget shows now, 'light' or 'dark' (theme.js decides it). */
  get theme() {
    return this.#frame?.getAttribute('data-unembed-theme') ?? null;
  }

  /** the explorer's handle (for tests), or null. */
  get explorer() {
    return this.#mounted;
  }
}

if (!customElements.get('unembed-explorer')) customElements.define('unembed-explorer', UnembedExplorer);
