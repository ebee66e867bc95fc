// shared pieces of the browser tests and benchmarks: start `unembed serve` on a free port and
// launch Debian's Chromium through playwright-core (never a downloaded browser).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** serves `dir` with the project's own server (on a free port unless `port` is given; `args`
 * are more flags, e.g. `['--csp', policy]`); resolves to { url, stop }. */
export function serve(dir = 'www', bin = 'target/release/unembed', port = 0, args = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', dir, '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.on('error', reject);
    p.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/at (http:\/\/[^\s]+)/);
      if (m) resolve({ url: m[1], stop: () => p.kill() });
    });
  });
}

/** a copy of www/ without its models (copied, not linked: the server serves nothing that
 * resolves outside its folder); `except` names entries to leave out. returns the folder. */
export function copySite(prefix, except = []) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of readdirSync('www')) {
    if (!except.includes(f)) cpSync(resolve('www', f), join(dir, f), { recursive: true, dereference: true });
  }
  return dir;
}

/** a copy of the site whose models/ holds `models`, a list of `{ name, path }`; the manifest
 * is written with each file's real length and sha256.
 * returns { dir, manifest, writeManifest(m), remove() }. */
export function siteWith(models) {
  const dir = copySite('unembed-site-', ['models']);
  mkdirSync(join(dir, 'models'));
  const manifest = { models: [] };
  for (const { name, path } of models) {
    const file = basename(path);
    copyFileSync(resolve(path), join(dir, 'models', file));
    const bytes = readFileSync(path);
    manifest.models.push({ name, file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const writeManifest = (m) => writeFileSync(join(dir, 'models', 'models.json'), JSON.stringify(m));
  writeManifest(manifest);
  return { dir, manifest, writeManifest, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** a fresh headless Chromium with the flags this machine needs; other `options` go to the
 * context (viewport, hasTouch, isMobile, deviceScaleFactor…). its pages keep no model in the
 * model cache (www/loader.js) unless `modelCache` is true: most tests count what one page
 * downloads, and a model kept by the test before would hide that; the cache's own tests and
 * the course test turn it on. */
export async function launch({ modelCache = false, ...options } = {}) {
  const userDir = mkdtempSync(join(tmpdir(), 'unembed-chromium-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    ...options,
  });
  if (!modelCache) {
    await browser.addInitScript(() => {
      try { localStorage.setItem('unembed-model-cache-mb', '0'); } catch { /* an opaque origin */ }
    });
  }
  return {
    context: browser,
    close: async () => {
      await browser.close();
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** collects console errors and page exceptions; `check()` throws if there were any. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  return { errors, check() { if (errors.length) throw new Error(errors.join('\n')); } };
}

/** every text in the page's widgets (inside each <unembed-explorer>'s shadow root) whose contrast
 * with its ground is under 4.5:1, as lines; a widget without a shadow root is one line too. */
export const lowContrast = (page) => page.evaluate(() => {
  const rgba = (s) => { const m = s.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0]; return [m[0], m[1], m[2], m[3] ?? 1]; };
  const lum = ([r, g, b]) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  const ground = (e) => {
    for (let n = e; n; n = n.parentElement ?? n.getRootNode().host) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const bad = [];
  for (const w of document.querySelectorAll('unembed-explorer')) {
    if (!w.shadowRoot) { bad.push('the widget has no shadow root'); continue; }
    for (const e of w.shadowRoot.querySelectorAll('*')) {
      if (!e.getClientRects().length || e.closest(':disabled, [hidden], .tooltip')) continue;
      const text = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
      if (!text) continue;
      const fg = rgba(getComputedStyle(e).color);
      const bg = ground(e);
      const [a, b] = [lum(fg), lum(bg)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) bad.push(`${e.tagName.toLowerCase()}.${e.className} "${text.slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
  }
  return bad;
});
