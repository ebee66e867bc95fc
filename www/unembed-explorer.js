// <unembed-explorer model="smollm2-135m.gguf" token=" Paris" views="topk,cosnorm"
//                   temperature="0.8" target=" London">
// the explorer as a custom element in a plain ES module. every element on a page shares one
// wasm instance and one download of each model; attributes can change at any time; removing
// the element frees its widget. models and the wasm are found beside this module
// (`pkg/`, `models/models.json`), or under the `base` attribute.
import init, { Explorer } from './pkg/unembed.js';
import { mountExplorer } from './explorer.js';
import { readManifest, downloadModel, LoadError } from './loader.js';
import { strings, language } from './i18n.js';
import { remember } from './replay.js';

const HERE = new URL('.', import.meta.url);
let wasm = null;
const loaded = new Map(); // `${base}|${file}` → Promise<Explorer>

function ready() {
  wasm ??= init({ module_or_path: new URL('pkg/unembed_bg.wasm', HERE) });
  return wasm;
}

/** the shared Explorer for a model file (the manifest's first model when `file` is empty).
 * `keepSource` keeps the file's bytes for replaying a link's gradient steps in a Worker
 * (embed.html); elements take no steps from their attributes and keep nothing. */
export function loadModel(base, file, onProgress, { keepSource = false } = {}) {
  const key = `${base}|${file ?? ''}`;
  if (!loaded.has(key)) {
    const p = (async () => {
      await ready();
      const models = await readManifest(base);
      const entry = file ? models.find((m) => m.file === file) : models[0];
      if (!entry) throw new LoadError('noModel', file, new URL('models/models.json', base).pathname);
      const buf = await downloadModel(base, entry, onProgress);
      const explorer = new Explorer(buf, new Uint8Array());
      if (keepSource) remember(explorer, { whole: buf });
      return explorer;
    })();
    // a failed download is not cached: the next element (or Retry) tries again.
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return loaded.get(key);
}

// the attributes that are controls; the core names and reads them (core::controls).
const CONTROL_ATTRS = ['token', 'temperature', 'target', 'mix', 'mix-with', 'scale', 'noise', 'seed', 'top'];

export class UnembedExplorer extends HTMLElement {
  static observedAttributes = ['model', 'base', 'views', 'lang', ...CONTROL_ATTRS];

  #mounted = null;
  #generation = 0;

  /** the control attributes as a JSON object of their text, for the core to read. */
  attributesText() {
    const c = {};
    for (const attr of CONTROL_ATTRS) {
      const v = this.getAttribute(attr);
      if (v !== null) c[attr] = v;
    }
    return JSON.stringify(c);
  }

  connectedCallback() {
    this.#start();
  }

  disconnectedCallback() {
    this.#generation += 1;
    this.#mounted?.destroy();
    this.#mounted = null;
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this.isConnected) return;
    if (name === 'model' || name === 'base' || name === 'views' || name === 'lang' || !this.#mounted) {
      this.disconnectedCallback();
      this.#start();
    } else {
      // what the attributes do not say keeps its value in force.
      this.#mounted.load(this.attributesText(), 'attributes', true);
    }
  }

  async #start() {
    const generation = ++this.#generation;
    const base = new URL(this.getAttribute('base') ?? '.', HERE);
    const views = (this.getAttribute('views') ?? 'topk,cosnorm,spectrum,loss,table').split(',').map((v) => v.trim());
    // the element's own lang, else the nearest ancestor's, else the page's.
    const lang = language(this.closest('[lang]')?.getAttribute('lang') ?? document.documentElement.lang);
    const T = strings(lang);
    const status = document.createElement('p');
    status.className = 'unembed-status';
    status.setAttribute('role', 'status');
    status.textContent = T.loading;
    this.replaceChildren(status);
    try {
      const explorer = await loadModel(base, this.getAttribute('model'), (got, total) => {
        status.textContent = T.loadingPct(Math.floor((100 * got) / total));
      });
      if (generation !== this.#generation) return; // removed or changed meanwhile
      const host = document.createElement('div');
      this.replaceChildren(host);
      this.#mounted = mountExplorer(host, explorer, this.attributesText(), { views, lang, kind: 'attributes' });
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
}

if (!customElements.get('unembed-explorer')) customElements.define('unembed-explorer', UnembedExplorer);
