// el(tag, attrs, ...children): the one way the widget's modules (explorer.js, lens.js,
// compare.js) build their DOM: `class` sets the class name, `on…` adds a listener, any other
// key is an attribute; children are nodes or text. fitCanvas: a chart canvas's pixel size.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

/** sizes `canvas`'s bitmap to its CSS box (from `sizes`, the box a ResizeObserver last
 * reported, so drawing never forces a layout; else its client size) times the device pixel
 * ratio, at least 200 × 150; returns the ratio. */
export function fitCanvas(canvas, sizes) {
  const dpr = window.devicePixelRatio || 1;
  const [cw, ch] = sizes.get(canvas) ?? [canvas.clientWidth, canvas.clientHeight];
  const w = Math.max(200, Math.round(cw * dpr));
  const h = Math.max(150, Math.round(ch * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return dpr;
}
