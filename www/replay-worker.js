// replays a link's gradient steps off the main thread (see replay.js): opens the model from
// the same bytes the page did, runs Widget.replay and answers with progress messages, then
// δ, its logits and the loss history as transferred Float64Arrays.
import init, { Explorer, Widget } from './pkg/unembed.js';

self.onmessage = async ({ data }) => {
  try {
    await init();
    const m = data.model;
    const bytes = async (b) => new Uint8Array(await b.arrayBuffer());
    const ex = m.whole
      ? new Explorer(await bytes(m.whole), new Uint8Array())
      : Explorer.fromRanges(await bytes(m.prefix), m.total, await Promise.all(m.parts.map(bytes)), await bytes(m.tokenizer));
    const widget = new Widget(ex);
    widget.setLang(data.lang ?? '');
    const result = widget.replay(data.state, (k) => self.postMessage({ progress: k }));
    self.postMessage({ result }, [result.h.buffer, result.z.buffer, result.loss.buffer]);
  } catch (e) {
    self.postMessage({ error: e.message });
  }
};
