// an ARIA combobox over a text input (the WAI-ARIA "list autocomplete" pattern), replacing a
// <datalist>: a listbox of suggestions under the input; ArrowDown/ArrowUp move through it,
// Enter picks, Escape (or leaving the input) closes it. Options are set as text only.
// `suggest(text)` returns [{ value, label }] (computed in wasm); `onPick(value)` is told the
// choice. `host` holds the listbox (outside any scrolling box, so nothing clips it).
let next = 0;

export function combobox(input, host, { suggest, onPick, label }) {
  next += 1;
  const id = `unembed-combo-${next}`;
  const list = document.createElement('ul');
  list.id = id;
  list.className = 'combo-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', label);
  list.hidden = true;
  host.append(list);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', id);
  input.setAttribute('autocomplete', 'off');
  let items = [];
  let active = -1;

  function close() {
    list.hidden = true;
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function open(options) {
    items = options;
    active = -1;
    input.removeAttribute('aria-activedescendant');
    list.replaceChildren(...options.map((o, i) => {
      const li = document.createElement('li');
      li.id = `${id}-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.dataset.value = o.value;
      li.textContent = o.label;
      // pointerdown, not click: the input keeps its focus.
      li.addEventListener('pointerdown', (e) => { e.preventDefault(); pick(i); });
      return li;
    }));
    if (!options.length) { close(); return; }
    place();
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  /** under the input, in the host's coordinates (the host contains its layout); again when
   * the page scrolls (the input may be in a pinned bar that moves with it). */
  function place() {
    const r = input.getBoundingClientRect();
    const h = host.getBoundingClientRect();
    list.style.left = `${r.left - h.left}px`;
    list.style.top = `${r.bottom - h.top + 2}px`;
    list.style.minWidth = `${r.width}px`;
  }
  const onScroll = () => { if (!list.hidden) place(); };

  function move(d) {
    if (!items.length) return;
    active = (active + d + items.length) % items.length;
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
    input.setAttribute('aria-activedescendant', `${id}-${active}`);
    list.children[active].scrollIntoView({ block: 'nearest' });
  }

  function pick(i) {
    input.value = items[i].value;
    close();
    onPick(input.value);
  }

  input.addEventListener('input', () => open(suggest(input.value)));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (list.hidden) open(suggest(input.value));
      move(e.key === 'ArrowDown' ? 1 : -1);
      e.preventDefault();
    } else if (e.key === 'Enter' && !list.hidden && active >= 0) {
      e.preventDefault();
      e.stopImmediatePropagation(); // the pick, not the text typed so far
      pick(active);
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      close();
    }
  });
  input.addEventListener('blur', close);
  window.addEventListener('scroll', onScroll, { passive: true });
  return { close, destroy() { window.removeEventListener('scroll', onScroll); list.remove(); } };
}
