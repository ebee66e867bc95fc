// gradient steps of a link, replayed off the main thread: a Worker opens its own copy of the
// model from the bytes the page opened it from and runs the core's replay (Widget.replay),
// reporting each step; the page installs the result (Widget.adopt). the page keeps working
// meanwhile, and cancel() stops the Worker at once.
//
// remember(explorer, data) records where a model came from ({ whole } for a download, or
// { prefix, total, parts, tokenizer } for a local file read by ranges): only then can its
// links' steps be replayed. the bytes are kept as Blobs, which the browser holds outside the
// JS heap and hands to a Worker without a copy.
const sources = new WeakMap();

export function remember(explorer, data) {
  const blob = (bytes) => new Blob([bytes]);
  sources.set(explorer, data.whole
    ? { whole: blob(data.whole) }
    : { prefix: blob(data.prefix), total: data.total, parts: data.parts.map(blob), tokenizer: blob(data.tokenizer) });
}

export function canReplay(explorer) {
  return sources.has(explorer);
}

/** starts replaying the steps of `state` (the controls as JSON, with `steps`);
 * `onProgress(k)` after step k; errors are worded in `lang`. returns { done: Promise<{steps, h, z, loss}>, cancel() }, or
 * null when the model's bytes were not kept. */
export function replaySteps(explorer, state, onProgress, lang = 'en') {
  const model = sources.get(explorer);
  if (!model) return null;
  const worker = new Worker(new URL('replay-worker.js', import.meta.url), { type: 'module' });
  let fail = () => {};
  const done = new Promise((resolve, reject) => {
    fail = reject;
    worker.onmessage = ({ data: m }) => {
      if (m.progress !== undefined) {
        onProgress(m.progress);
        return;
      }
      worker.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.result);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || 'the replay worker failed'));
    };
  });
  worker.postMessage({ model, state, lang });
  return {
    done,
    cancel() {
      worker.terminate();
      fail(new Error('cancelled'));
    },
  };
}
