// the explorer for an <iframe>: everything comes from the URL hash, in the same form as the
// full page's (#m=<model file>&s=<controls JSON>), plus views=topk,table, controls=temperature
// (the controls shown: by default those the views need), lang=vi and, for the
// Prompt panel, views=lens,… with prompt=<text> (run at once: an iframe's page is its panel).
// the state is handed to the core as text (it reads it field by field); the state the reader
// reaches is written back to the hash, and a new hash (the parent changed the iframe's src)
// is followed.
import { mountExplorer, parseControls } from './explorer.js';
import { mountLens } from './lens.js';
import { loadModel, modelOf } from './unembed-explorer.js';
import { strings, language } from './i18n.js';
import { followTheme, themeOf } from './theme.js';

const params = new URLSearchParams(location.hash.slice(1));
const lang = language(params.get('lang') ?? 'en');
document.documentElement.lang = lang;
// #theme=dark|light picks the iframe's theme (its parent's is out of reach); else the reader's.
if (params.has('theme')) document.documentElement.setAttribute('theme', params.get('theme'));
let shown = { explorer: null, lens: null };
followTheme(document.documentElement, (t) => { shown.explorer?.setTheme(t); shown.lens?.setTheme(t); });
const root = document.getElementById('explorer');
const T = strings(lang);
let mounted = null;

async function start() {
  const status = document.createElement('p');
  status.setAttribute('role', 'status');
  status.textContent = T.loading;
  root.replaceChildren(status);
  const file = params.get('m');
  const views = (params.get('views') ?? 'topk,cosnorm,spectrum,loss,table').split(',');
  const prompt = params.get('prompt') ?? '';
  const base = new URL('.', location.href);
  try {
    // the slim file's bytes are kept: a link's gradient steps are replayed in a Worker.
    const explorer = await loadModel(base, file, (got, total) => {
      status.textContent = T.loadingPct(Math.floor((100 * got) / total));
    }, { whole: views.includes('lens') && !!prompt, lang, keepSource: true });
    const { entry, spectrum } = modelOf(explorer);
    const host = document.createElement('div');
    const lensHost = document.createElement('div');
    root.replaceChildren(...(views.includes('lens') ? [lensHost] : []), host);
    mounted = mountExplorer(host, explorer, params.get('s') ?? '', {
      views: views.filter((v) => v !== 'lens'),
      controls: parseControls(params.get('controls'), views),
      lang,
      layers: entry?.full?.layers,
      theme: themeOf(document.documentElement),
      onChange: (c) => {
        params.set('s', JSON.stringify(c));
        history.replaceState(null, '', `#${params}`);
      },
    });
    spectrum?.then(() => mounted.refresh(), () => {});
    shown = { explorer: mounted, lens: null };
    if (views.includes('lens')) {
      window.unembedLens = mountLens(lensHost, { lang, prompt, autorun: !!prompt, explorer: () => mounted, source: () => ({ base, entry }), theme: themeOf(document.documentElement) });
      shown.lens = window.unembedLens;
    }
  } catch (e) {
    status.textContent = T.loadFailed(e.code ? T.loadError(e) : e.message);
    const retry = document.createElement('button');
    retry.textContent = T.retry;
    retry.onclick = start;
    status.append(retry);
  }
}

start();

window.addEventListener('hashchange', () => {
  const next = new URLSearchParams(location.hash.slice(1));
  // another model, other views, another language, prompt or theme: the page starts again.
  if (['m', 'views', 'controls', 'lang', 'prompt', 'theme'].some((k) => next.get(k) !== params.get(k)) || !mounted) {
    location.reload();
    return;
  }
  params.set('s', next.get('s') ?? '');
  mounted.load(next.get('s') ?? '');
});

// the page's height, to the parent whenever it changes: a host that loads unembed-frame.js
// sizes the iframe to it (else the iframe keeps its own height and scrolls). only a number is
// sent, so any parent may hear it.
if (window.parent !== window) {
  let sent = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === sent) return;
    sent = height;
    window.parent.postMessage({ unembed: 'height', height }, '*');
  }).observe(document.documentElement);
}
