// the explorer for an <iframe>: everything comes from the URL hash, in the same form as the
// full page's (#m=<model file>&s=<controls JSON>), plus views=topk,table and lang=vi.
// the state the reader reaches is written back to the hash.
import { mountExplorer } from './explorer.js';
import { loadModel } from './unembed-explorer.js';
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
  try {
    const explorer = await loadModel(new URL('.', location.href), file, (got, total) => {
      status.textContent = T.loadingPct(Math.floor((100 * got) / total));
    });
    const views = (params.get('views') ?? 'topk,cosnorm,spectrum,loss,table').split(',');
    mountExplorer(root, explorer, controlsFromHash(), {
      views,
      lang,
      onChange: (c) => {
        params.set('s', JSON.stringify(c));
        history.replaceState(null, '', `#${params}`);
      },
    });
  } catch (e) {
    status.textContent = T.loadFailed(e.code ? T.loadError(e) : e.message);
    const retry = document.createElement('button');
    retry.textContent = T.retry;
    retry.onclick = start;
    status.append(retry);
  }
}

start();
