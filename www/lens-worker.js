// the logit lens off the main thread: one whole model (LensModel, in this Worker's own wasm
// instance) serving every Prompt panel of a page. the page transfers the file's bytes once
// ({type: 'load'}); then each request names its panel's `session` and a request id `req`:
//
//   run {text, quantity, token, mid} → tokens, a row as soon as each layer has run, done (with
//                                  mid, each layer's two rows: after attention, then its output)
//   generate {n, temperature, quantity, token} → a column per token, done (stopped, end)
//   grid {quantity, token} · hidden {row, col} · export · forget
//   stop                          → the session's run or generation ends at its next step
//
// every answer is {req, session, type, …}; an error is {type: 'error', code, args, message}
// (codes: empty, tooLong, noTokenizer, full, core), worded by the panel in its language.
// one model holds one sequence: panels take turns (a request for another panel's sequence
// runs that sequence again first), so a page with several panels holds the model once.
// no maths here: the wasm does it; this file moves messages.
import init, { LensModel } from './pkg/unembed.js';

let model = null;
let info = null;
/** session → its tokens (prompt and continuation). */
const sequences = new Map();
/** session → what its heatmap is coloured by: {quantity, token} (the latest request's). */
const views = new Map();
/** session → whether its lens reads each layer's residual between attention and MLP too. */
const mids = new Map();
/** session → the number of its job in force; a loop whose number is no longer it stops. */
const jobs = new Map();
/** the session whose tokens are in the model, and whether its pass is complete. */
let loaded = null;
let complete = false;
/** whether every cell of the sequence in the model has its KL to the last row. */
let klFresh = false;
/** exclusive work (anything that starts, steps or appends), one after another. */
let chain = Promise.resolve();

class Fail extends Error {
  constructor(code, ...args) {
    super(code);
    this.code = code;
    this.args = args;
  }
}

// between two steps the worker hands control back to its event loop, so a Stop or a new
// prompt (queued messages) is seen. a MessageChannel turn is not clamped like setTimeout.
const channel = new MessageChannel();
const woken = [];
channel.port1.onmessage = () => woken.shift()?.();
const breathe = () => new Promise((r) => { woken.push(r); channel.port2.postMessage(null); });

function post(m, transfer = []) { self.postMessage(m, transfer); }

/** the top tokens, entropy and log Z of each cell of a row (what hover shows). */
function rowCells(row, cols) {
  const out = [];
  for (let c = 0; c < cols; c++) out.push(model.cell(row, c));
  return out;
}

/** the rows a session's lens has: L + 1, or 2L + 1 with mid rows (embed, 1a, 1, 2a, …). */
const rowsOf = (session) => (mids.get(session) ? 2 * info.n_layer + 1 : info.n_layer + 1);

function columnCells(session, col) {
  const out = [];
  for (let r = 0; r < rowsOf(session); r++) out.push(model.cell(r, col));
  return out;
}

/** the rows one step read: its output row, and with mid rows the one before it (the same
 * layer after attention), first. */
const stepRows = (session, row) => (mids.get(session) && row > 0 ? [row - 1, row] : [row]);

function grid(m) {
  const v = views.get(m.session) ?? {};
  return model.grid(v.quantity ?? 'top_prob', v.token ?? undefined);
}

const stale = (session, job) => jobs.get(session) !== job;

/** puts `session`'s tokens back in the model, run whole: after another panel had it (quietly),
 * or to finish a pass that was stopped (its rows are sent, as a run sends them). */
async function restore(session, m, emit) {
  if (loaded === session && complete) return;
  const ids = sequences.get(session);
  if (!ids?.length) throw new Fail('core', 'nothing to show yet: run a prompt first');
  const finishing = loaded === session;
  if (!finishing) {
    loaded = null;
    model.setMid(!!mids.get(session)); // (a change forgets the sequence: start follows)
    model.start(Uint32Array.from(ids));
    loaded = session;
  }
  klFresh = false;
  complete = false;
  let row;
  while ((row = model.step()) !== undefined) {
    if (finishing) for (const r of stepRows(session, row)) emit({ type: 'row', row: r, grid: grid(m), cells: rowCells(r, ids.length) });
    await breathe();
  }
  complete = true;
}

async function run(m, job, emit) {
  const { session } = m;
  if (info.no_tokenizer) throw new Fail('noTokenizer', info.no_tokenizer);
  if (typeof m.text !== 'string' || m.text.length === 0) throw new Fail('empty');
  const tok = model.tokenize(m.text);
  if (tok.ids.length === 0) throw new Fail('empty');
  if (tok.ids.length > info.capacity) throw new Fail('tooLong', tok.ids.length, info.capacity, info.n_ctx);
  emit({ type: 'tokens', ids: tok.ids, tokens: tok.tokens });
  sequences.set(session, tok.ids);
  mids.set(session, !!m.mid);
  loaded = null;
  model.setMid(!!m.mid);
  model.start(Uint32Array.from(tok.ids));
  loaded = session;
  complete = false;
  klFresh = false;
  const cols = tok.ids.length;
  emit({ type: 'row', row: 0, grid: grid(m), cells: rowCells(0, cols) });
  for (;;) {
    await breathe();
    if (stale(session, job)) return { stopped: true };
    const row = model.step();
    if (row === undefined) break;
    for (const r of stepRows(session, row)) emit({ type: 'row', row: r, grid: grid(m), cells: rowCells(r, cols) });
  }
  complete = true;
  return { stopped: false, grid: finalGrid(m, emit) };
}

/** the grid once a pass or a generation is over (KL needs every last row: computed here). */
function finalGrid(m, emit) {
  if (views.get(m.session)?.quantity === 'kl' && !klFresh) {
    model.kl((done, total) => emit({ type: 'progress', what: 'kl', done, total }));
    klFresh = true;
  }
  return grid(m);
}

async function generate(m, job, emit) {
  const { session } = m;
  await restore(session, m, emit);
  const ids = sequences.get(session);
  const over = (r) => ({ ...r, grid: finalGrid(m, emit) });
  for (let k = 0; k < m.n; k++) {
    if (stale(session, job)) return over({ stopped: true });
    if (ids.length >= info.capacity) return over({ full: info.capacity });
    // u uniform in [0, 1): the core draws from softmax(z/T) with it (T = 0: the arg-max).
    const u = crypto.getRandomValues(new Uint32Array(1))[0] / 4294967296;
    const id = model.pick(m.temperature, u);
    if (model.isEnd(id)) return over({ end: { id, shown: model.shown(id) } });
    model.append(id);
    klFresh = false;
    ids.push(id);
    const col = ids.length - 1;
    emit({ type: 'column', col, token: { id, shown: model.shown(id) }, grid: grid(m), cells: columnCells(session, col) });
    await breathe();
  }
  return over({ stopped: false });
}

/** one request: exclusive ones wait their turn; reads of the sequence in the model answer at once. */
function handle(m) {
  const emit = (e) => post({ req: m.req, session: m.session, ...e });
  if ('quantity' in m) views.set(m.session, { quantity: m.quantity, token: m.token ?? undefined });
  const answer = (p) => p.then(
    (r) => emit({ type: 'done', ...r }),
    (e) => emit(e instanceof Fail
      ? { type: 'error', code: e.code, args: e.args, message: e.message }
      : { type: 'error', code: 'core', args: [e?.message ?? String(e)], message: e?.message ?? String(e) }),
  );
  const exclusive = (fn) => {
    const p = chain.then(fn);
    chain = p.catch(() => {});
    return answer(p);
  };
  switch (m.type) {
    case 'stop':
      jobs.set(m.session, (jobs.get(m.session) ?? 0) + 1);
      return;
    case 'find':
      // the chosen token of a panel's token box: the model's vocabulary answers at once.
      return answer(new Promise((r) => { const id = model.find(m.text); r({ id, shown: model.shown(id) }); }));
    case 'forget':
      jobs.set(m.session, (jobs.get(m.session) ?? 0) + 1);
      sequences.delete(m.session);
      mids.delete(m.session);
      return;
    case 'run':
    case 'generate': {
      // a new prompt (or generation) in a panel ends that panel's job in flight.
      const job = (jobs.get(m.session) ?? 0) + 1;
      jobs.set(m.session, job);
      return exclusive(async () => {
        if (stale(m.session, job)) return { stopped: true };
        return m.type === 'run' ? run(m, job, emit) : generate(m, job, emit);
      });
    }
    case 'hidden':
    case 'grid':
      // the cells already read can be answered while the pass goes on.
      if (loaded === m.session && (m.type === 'hidden' || complete || m.quantity !== 'kl')) {
        return answer(new Promise((r) => { r(read(m, emit)); }));
      }
      return exclusive(async () => { await restore(m.session, m, emit); return read(m, emit); });
    case 'export':
      return exclusive(async () => {
        await restore(m.session, m, emit);
        return { json: model.export(m.top ?? 5) };
      });
    default:
      return answer(Promise.reject(new Fail('core', `unknown request ${m.type}`)));
  }
}

function read(m, emit) {
  if (m.type === 'hidden') return { h: model.hidden(m.row, m.col) };
  return { grid: finalGrid(m, emit) };
}

self.onmessage = async ({ data: m }) => {
  if (m.type !== 'load') {
    if (!model) post({ req: m.req, session: m.session, type: 'error', code: 'core', args: ['no model'], message: 'no model' });
    else handle(m);
    return;
  }
  try {
    await init();
    model = new LensModel(new Uint8Array(m.bytes), m.capacity ?? 256);
    model.setLang(m.lang ?? '');
    info = model.info();
    post({ type: 'ready', info });
  } catch (e) {
    post({ type: 'failed', message: e?.message ?? String(e) });
  }
};
