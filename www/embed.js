// the explorer for an <iframe>: everything comes from the URL hash, in the same form as the
// full page's (#m=<model file>&s=<controls JSON>), plus views=topk,table, controls=temperature
// (the controls shown: by default those the views need), lang=vi and, for the
// Prompt panel, views=lens,… with prompt=<text> (run at once: an iframe's page is its panel).
// the state the reader reaches is written back to the hash.
import { mountExplorer, parseControls } from './explorer.js';
import { mountLens } from './lens.js';
import { loadModel, modelOf } from './unembed-explorer.js';
import { strings } from './i18n.js';

const params = new URLSearchParams(location.hash.slice(1));
const lang = params.get('lang') ?? 'en';
document.documentElement.lang = lang;
const root = document.getElementById('explorer');
const T = strings(lang);

function controlsFromHash() {
  try {
    return JSON.parse(params.get('s') ?? '{}');
  } catch {
    return {};
  }
}

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
    const explorer = await loadModel(base, file, (got, total) => {
      status.textContent = T.loadingPct(Math.floor((100 * got) / total));
    }, { whole: views.includes('lens') && !!prompt, lang });
    const { entry, spectrum } = modelOf(explorer);
    const host = document.createElement('div');
    const lensHost = document.createElement('div');
    root.replaceChildren(...(views.includes('lens') ? [lensHost] : []), host);
    const mounted = mountExplorer(host, explorer, controlsFromHash(), {
      views: views.filter((v) => v !== 'lens'),
      controls: parseControls(params.get('controls'), views),
      lang,
      layers: entry?.full?.layers,
      onChange: (c) => {
        params.set('s', JSON.stringify(c));
        history.replaceState(null, '', `#${params}`);
      },
    });
    spectrum?.then(() => mounted.refresh(), () => {});
    if (views.includes('lens')) {
      window.unembedLens = mountLens(lensHost, { lang, prompt, autorun: !!prompt, explorer: () => mounted, source: () => ({ base, entry }) });
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
