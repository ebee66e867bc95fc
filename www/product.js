// the exact product z = W_U·h of a large vocabulary, split by rows between the page's thread
// and one Worker (product-worker.js): at Gemma's 262,144 tokens one product is about 15 ms on
// one thread, most of a frame, and every new token, mix token or offset needs one. the Worker
// holds a copy of the rows from `split` on (no shared memory, so any static host serves it),
// the page computes the rows before it while the Worker computes the rest, and the two halves
// are the same bits as one product (the kernels take the rows one at a time).
//
// productPool(explorer) → null for a vocabulary small enough that one thread is quick (below
// SPLIT_MACS multiply-adds a product), else the explorer's pool, shared by every explorer
// mounted on it: { split, ready, failed, answered, tail(h) → Promise<Float64Array>,
// release() }. `ready` is false until the Worker holds its rows (built in idle time, so the
// first view does not wait) and for good once it failed; tail(h) rejects when the Worker
// fails. release() by each user; the last one terminates the Worker and frees its copy.

// rows·d above which a product is shared: SmolLM2 (49,152 × 576 = 28 M, 2.5 ms) stays on one
// thread, Gemma 3 (262,144 × 640 = 168 M, 15 ms) is split.
export const SPLIT_MACS = 64e6;
// the page's share of the rows: half (measured at Gemma's size: 9.4 and 8.6 ms a product;
// giving the page 55 % was no better, 9.0 and 11.7 ms).
const PAGE_SHARE = 0.5;
// a Worker that has not answered in this long (a half product is about 8 ms here, and would be
// well under a second on a slow phone) is taken for dead: the page computes alone from then on.
const ANSWER_MS = 5000;

const pools = new WeakMap();

export function productPool(explorer) {
  const { vocab, d } = explorer.info();
  // not on one core, nor where the browser says memory is short (the copy is ~100 MB at Gemma).
  if (vocab * d < SPLIT_MACS || typeof Worker === 'undefined' || (navigator.hardwareConcurrency || 1) < 2
    || (navigator.deviceMemory ?? 8) < 4) return null;
  let pool = pools.get(explorer);
  if (!pool) {
    pool = startPool(explorer, vocab, d);
    pools.set(explorer, pool);
  }
  pool.users += 1;
  return pool;
}

function startPool(explorer, vocab, d) {
  const split = Math.round(vocab * PAGE_SHARE);
  const waiting = new Map(); // id → { resolve, reject }
  let worker = null;
  let next = 0;
  const pool = {
    split,
    users: 0,
    ready: false,
    // why the Worker is not used (it failed to start or answer), else null.
    failed: null,
    // products the Worker has shared so far.
    answered: 0,
    tail(h) {
      if (!pool.ready) return Promise.reject(new Error(pool.failed ?? 'the product Worker is not ready'));
      const id = ++next;
      const p = new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(`the product Worker did not answer in ${ANSWER_MS / 1000} s`), ANSWER_MS);
        waiting.set(id, {
          resolve: (z) => { clearTimeout(timer); resolve(z); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
      });
      worker.postMessage({ op: 'product', id, h });
      return p;
    },
    release() {
      pool.users -= 1;
      if (pool.users > 0) return;
      fail('the product Worker was released');
      pools.delete(explorer);
    },
  };
  const fail = (message) => {
    pool.ready = false;
    pool.failed = message;
    if (worker) worker.terminate();
    worker = null;
    for (const { reject } of waiting.values()) reject(new Error(message));
    waiting.clear();
  };
  const start = () => {
    if (pool.users <= 0 || pool.failed) return;
    try {
      worker = new Worker(new URL('product-worker.js', import.meta.url), { type: 'module' });
    } catch (e) {
      fail(e.message);
      return;
    }
    worker.onerror = (e) => { e.preventDefault(); fail(e.message || 'the product Worker did not start'); };
    worker.onmessage = ({ data: m }) => {
      if (m.loaded !== undefined) {
        pool.ready = m.loaded === vocab - split;
        if (!pool.ready) fail(`the product Worker holds ${m.loaded} rows, not ${vocab - split}`);
        return;
      }
      const w = waiting.get(m.id);
      if (m.id === undefined || !w) {
        if (m.error) fail(m.error);
        return;
      }
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else { pool.answered += 1; w.resolve(m.z); }
    };
    // the copy of the Worker's rows, handed over (not copied again).
    let scales, quants;
    try {
      scales = explorer.unembeddingScales(split, vocab);
      quants = explorer.unembeddingQuants(split, vocab);
    } catch (e) {
      fail(e.message);
      return;
    }
    worker.postMessage({ op: 'load', d, scales, quants }, [scales.buffer, quants.buffer]);
  };
  const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 200));
  idle(start, { timeout: 2000 });
  return pool;
}
