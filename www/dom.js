// el(tag, attrs, ...children): the one way the widget's modules (explorer.js, lens.js,
// compare.js) build their DOM: `class` sets the class name, `on…` adds a listener, any other
// key is an attribute; children are nodes or text.
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
