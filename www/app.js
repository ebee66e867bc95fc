// wires the page to the wasm façade: load the manifest and model, run queries, fill tables.
// no maths here: every number comes from the Explorer in wasm.
import init, { Explorer } from './pkg/unembed.js';

const $ = (id) => document.getElementById(id);
let explorer = null;

function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

async function sha256Hex(buf) {
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** streams a file with a progress bar; checks its length and sha256 against the manifest. */
async function download(entry) {
  const res = await fetch(`models/${entry.file}`);
  if (!res.ok) throw new Error(`could not download ${entry.file}: HTTP ${res.status}`);
  const total = entry.bytes;
  const buf = new Uint8Array(total);
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > total) throw new Error(`${entry.file} is longer than the manifest says (${total} bytes)`);
    buf.set(value, got);
    got += value.length;
    $('progress').value = got / total;
    $('status').textContent = `${(got / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB (${Math.floor((100 * got) / total)}%)`;
  }
  if (got !== total) throw new Error(`${entry.file} ended after ${got} of ${total} bytes`);
  $('status').textContent = 'checking sha256…';
  const sha = await sha256Hex(buf);
  if (sha !== entry.sha256) throw new Error(`${entry.file}: sha256 is ${sha}, the manifest says ${entry.sha256}`);
  return buf;
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function fill(table, result, selfId) {
  const caption = table.querySelector('caption');
  table.replaceChildren(caption);
  const head = table.insertRow();
  for (const h of ['#', 'token', 'id', 'logit', 'p', '‖v‖', 'cos θ']) {
    const th = document.createElement('th');
    th.textContent = h;
    th.scope = 'col';
    head.appendChild(th);
  }
  result.top.forEach((e, k) => {
    const tr = table.insertRow();
    if (e.id === selfId) tr.className = 'self';
    cell(tr, String(k + 1));
    cell(tr, JSON.stringify(e.text), 'tok');
    cell(tr, String(e.id));
    cell(tr, e.logit.toFixed(3));
    cell(tr, e.prob.toExponential(2));
    cell(tr, e.norm.toFixed(3));
    cell(tr, e.cos.toFixed(3));
  });
}

function spec() {
  const text = $('token').value;
  const temperature = Number($('temperature').value);
  // an expression if it has an operator between words, else one token's text.
  const isExpr = /\s[-+]\s/.test(text) || /^#\d+$/.test(text.trim());
  return { ...(isExpr ? { expr: text } : { token: text }), temperature, top: 10 };
}

function run() {
  if (!explorer) return;
  try {
    const s = spec();
    const byLogit = explorer.query(s);
    const byCos = explorer.query({ ...s, cosine: true });
    const selfId = s.token !== undefined ? byCos.top[0]?.id : -1;
    fill($('by-logit'), byLogit, selfId);
    fill($('by-cosine'), byCos, selfId);
    showError('');
    if (s.token !== undefined) {
      const own = byLogit.top.findIndex((e) => e.id === selfId);
      $('lesson').textContent = own === 0
        ? `Here h = v(${JSON.stringify(s.token)}) and its own token is also the top logit.`
        : `h = v(${JSON.stringify(s.token)}), yet ${JSON.stringify(byLogit.top[0].text)} gets the top logit: its vector is longer (‖v‖ = ${byLogit.top[0].norm.toFixed(2)}). By angle alone, ${JSON.stringify(byCos.top[0].text)} comes first.`;
    } else {
      $('lesson').textContent = '';
    }
  } catch (e) {
    showError(e.message);
  }
}

async function readManifest() {
  const res = await fetch('models/models.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`could not read models/models.json: HTTP ${res.status}`);
  const { models } = await res.json();
  if (!models?.length) throw new Error('models/models.json lists no models');
  return models;
}

/** reads the manifest (again, so a Retry sees a fixed server) and loads `file` or the first. */
async function load(file) {
  explorer = null;
  $('retry').hidden = true;
  showError('');
  $('progress').value = 0;
  try {
    const models = await readManifest();
    const select = $('model-select');
    if (select.options.length !== models.length) {
      select.replaceChildren(...models.map((m) => new Option(`${m.name} (${(m.bytes / 1e6).toFixed(0)} MB)`, m.file)));
    }
    const entry = models.find((m) => m.file === file) ?? models[0];
    select.value = entry.file;
    const buf = await download(entry);
    $('status').textContent = 'reading the model…';
    explorer = new Explorer(buf, new Uint8Array());
    const info = explorer.info();
    $('n-vocab').textContent = info.vocab.toLocaleString('en');
    $('status').textContent = `${info.name}: ${info.vocab} tokens × d = ${info.d}, ${info.tied ? 'tied' : 'untied'} (${info.kernel} kernel)`;
    run();
  } catch (e) {
    $('status').textContent = 'failed';
    showError(e.message);
    $('retry').hidden = false;
    $('retry').onclick = () => load(file);
  }
}

async function main() {
  $('query').onsubmit = (ev) => { ev.preventDefault(); run(); };
  $('temperature').oninput = run;
  $('model-select').onchange = () => load($('model-select').value);
  try {
    await init();
  } catch (e) {
    $('status').textContent = 'failed';
    showError(`could not start WebAssembly: ${e.message}`);
    return;
  }
  await load(null);
}

main();
