// shared pieces of the browser tests and benchmarks: start `unembed serve` on a free port and
// launch Debian's Chromium through playwright-core (never a downloaded browser).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** serves `dir` with the project's own server (on a free port unless `port` is given);
 * resolves to { url, stop }. */
export function serve(dir = 'www', bin = 'target/release/unembed', port = 0) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** a fresh headless Chromium with the flags this machine needs. */
export async function launch() {
  const userDir = mkdtempSync(join(tmpdir(), 'unembed-chromium-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
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
