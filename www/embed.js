// the explorer for an <iframe>: everything comes from the URL hash, in the same form as the
// full page's (#m=<model file>&s=<controls JSON>), plus views=topk,table and lang=vi.
// the state is handed to the core as text (it reads it field by field); the state the reader
// reaches is written back to the hash, and a new hash (the parent changed the iframe's src)
// is followed.
import { mountExplorer } from './explorer.js';
import { loadModel } from './unembed-explorer.js';
import { strings, language } from './i18n.js';

const params = new URLSearchParams(location.hash.slice(1));
const lang = language(params.get('lang') ?? 'en');
document.documentElement.lang = lang;
const root = document.getElementById('explorer');
const T = strings(lang);
let mounted = null;

async function start() {
  const status = document.createElement('p');
  status.setAttribute('role', 'status');
  status.textContent = T.loading;
  root.replaceChildren(status);
  const file = params.get('m');
  try {
    // the model's bytes are kept: a link's gradient steps are replayed in a Worker from them.
    const explorer = await loadModel(new URL('.', location.href), file, (got, total) => {
      status.textContent = T.loadingPct(Math.floor((100 * got) / total));
    }, { keepSource: true });
    const views = (params.get('views') ?? 'topk,cosnorm,spectrum,loss,table').split(',');
    mounted = mountExplorer(root, explorer, params.get('s') ?? '', {
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

window.addEventListener('hashchange', () => {
  const next = new URLSearchParams(location.hash.slice(1));
  // another model, other views or another language: the page starts again.
  if (['m', 'views', 'lang'].some((k) => next.get(k) !== params.get(k)) || !mounted) {
    location.reload();
    return;
  }
  params.set('s', next.get('s') ?? '');
  mounted.load(next.get('s') ?? '');
});

start();
