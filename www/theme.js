// which theme the widget shows, light or dark, following its host: the element's (or an
// ancestor's) theme="dark|light" attribute first ("auto" or none: go on), then the host's own
// switch (MkDocs Material's data-md-color-scheme="slate" on <body>; Docusaurus, Jupyter Book
// and pydata's <html data-theme="dark">), then the reader's prefers-color-scheme. the choice
// is written as data-unembed-theme on the marked element (the followed one, or the custom
// element's frame inside its shadow root: style.css keys its dark colours on it) and handed to the charts (Widget/LensChart.setTheme: the palette is Rust's).
const dark = globalThis.matchMedia?.('(prefers-color-scheme: dark)');

/** 'dark' or 'light' for element `el`. */
export function themeOf(el) {
  const own = el.closest?.('[theme]')?.getAttribute('theme');
  if (own === 'dark' || own === 'light') return own;
  const md = document.querySelector('[data-md-color-scheme]')?.getAttribute('data-md-color-scheme');
  if (md) return md === 'slate' ? 'dark' : 'light';
  const host = document.documentElement.getAttribute('data-theme');
  if (host === 'dark' || host === 'light') return host;
  return dark?.matches ? 'dark' : 'light';
}

/** marks `mark` (by default `el`) with `el`'s theme now and whenever the host switches;
 * `onChange(theme)` on each change. returns the stop function. */
export function followTheme(el, onChange = () => {}, mark = el) {
  let current = null;
  const check = () => {
    const t = themeOf(el);
    if (t === current) return;
    current = t;
    mark.setAttribute('data-unembed-theme', t);
    onChange(t);
  };
  const watch = new MutationObserver(check);
  watch.observe(document.documentElement, { attributes: true, subtree: true, attributeFilter: ['theme', 'data-theme', 'data-md-color-scheme'] });
  dark?.addEventListener('change', check);
  check();
  return () => {
    watch.disconnect();
    dark?.removeEventListener('change', check);
  };
}
