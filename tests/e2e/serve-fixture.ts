// Starts the built `sae-studio serve` in a fresh studio home and Debian's chromium through playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/fixtures';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'tests', '.screenshots');

export interface Served {
  url: string;
  origin: string;
  home: string;
  server: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `existingHome`: a studio home prepared beforehand (by CLI runs, say; default: a new empty one). */
export async function startServe(existingHome?: string): Promise<Served> {
  const cli = join(ROOT, 'out', 'cli', 'sae-studio.mjs');
  if (!existsSync(cli) || !existsSync(join(ROOT, 'out', 'renderer', 'index.html'))) {
    throw new Error('the built CLI and renderer are missing: run `npm run build` first');
  }
  const home = existingHome ?? mkdtempSync(join(tmpdir(), 'sae-studio-e2e-'));
  const server = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), 'serve', '--port', '0'], {
    env: { ...process.env, SAE_STUDIO_HOME: home, SAE_STUDIO_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  server.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    server.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    server.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return {
    url,
    origin: new URL(url).origin,
    home,
    server,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (server.exitCode !== null) return resolve();
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      }),
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
}

export async function newPage(
  browser: Browser,
  scheme: 'light' | 'dark' = 'light',
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: scheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A 400 is the API's designed answer to invalid input (shown on the field); the browser logs it as an error.
    if (m.type() === 'error' && !/status of 400 \(Bad Request\)/.test(m.text()))
      errors.push(`console error: ${m.text()}`);
  });
  return { context, page, errors };
}

/** A full-page screenshot under tests/.screenshots/<scheme>/<name>.png. */
export async function screenshot(page: Page, scheme: 'light' | 'dark', name: string): Promise<void> {
  const dir = join(SCREENSHOTS, scheme);
  mkdirSync(dir, { recursive: true });
  // The window is stretched to the page's height (a full-page capture would repeat the fixed header mid-page).
  const size = page.viewportSize()!;
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 6000)) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(dir, `${name}.png`) });
  await page.setViewportSize(size);
}

/**
 * Layout problems a reader would see: the page wider than the window (something cut off or forcing a sideways
 * scroll), or text whose box overflows its own element without a scroll container.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  // Runs in the page (a string, so this Node-typed file needs no DOM types).
  return page.evaluate<string[]>(`(() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth + 1) problems.push('page is ' + doc.scrollWidth + 'px wide in a ' + window.innerWidth + 'px window');
    for (const e of document.querySelectorAll('h1, h2, h3, h4, button, label, th, .mantine-Badge-label, .mantine-NavLink-label')) {
      const style = getComputedStyle(e);
      if (style.overflow !== 'visible' || style.textOverflow === 'ellipsis') continue;
      if (e.scrollWidth > e.clientWidth + 2 && e.clientWidth > 0) problems.push('text overflows its box: <' + e.tagName.toLowerCase() + '> "' + (e.textContent || '').slice(0, 40) + '"');
    }
    return problems;
  })()`);
}
