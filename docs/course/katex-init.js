// typesets the lesson's maths with the KaTeX copied beside the site (no request to any other
// host): arithmatex (mkdocs.yml, generic mode) leaves \( … \) and \[ … \] in elements of class
// "arithmatex"; Material's document$ reports every page, including instant-navigation swaps.
function typeset(root) {
  for (const el of root.querySelectorAll('.arithmatex')) {
    const text = el.textContent.trim();
    const display = text.startsWith('\\[');
    const tex = text.replace(/^\\[[(]|\\[\])]$/g, '');
    try {
      katex.render(tex, el, { displayMode: display, throwOnError: false });
    } catch (e) {
      console.warn('katex:', e.message); // leave the TeX as written
    }
  }
}
if (window.document$) document$.subscribe(({ body }) => typeset(body));
else typeset(document.body);
