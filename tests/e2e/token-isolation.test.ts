// The session token stays with the studio's own page. Debian's chromium logs into the built `sae-studio serve` (opens
// the printed URL, loads runs, opens the live event stream), then visits a second web server on 127.0.0.1 — another
// port, the same host, so it would receive any cookie the studio set — in the same tab and in a new one. That server
// records every request the browser sends it, and its page tries to call the studio's API with the browser's
// credentials. Nothing it receives may contain the token, a cookie or an Authorization header, replaying what it
// received against the API must get 401 every time, and its page's own calls must be refused.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, newPage, startServe, type Served } from './serve-fixture';

const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;
const skipReason = noChromium ? ` [skipped: ${noChromium}]` : '';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A second local web server: records every request; its page tries the studio's API from the browser. */
async function startOtherServer(studioOrigin: string): Promise<{ server: Server; origin: string; got: Received[] }> {
  const got: Received[] = [];
  const page = `<!doctype html><title>another local site</title><body>
<img src="/pixel.png"><script>
(async () => {
  const results = {};
  try {
    const r = await fetch('${studioOrigin}/api/listRuns', { method: 'POST', credentials: 'include',
      headers: { 'content-type': 'application/json' }, body: '{}' });
    results.call = r.status;
  } catch (e) { results.call = 'blocked: ' + e.message; }
  try {
    const r = await fetch('${studioOrigin}/api/events/ticket', { method: 'POST', credentials: 'include', mode: 'no-cors' });
    results.ticket = r.type;
  } catch (e) { results.ticket = 'blocked: ' + e.message; }
  results.events = await new Promise((resolve) => {
    const es = new EventSource('${studioOrigin}/api/events', { withCredentials: true });
    es.onopen = () => { es.close(); resolve('open'); };
    es.onerror = () => { es.close(); resolve('refused'); };
  });
  results.storage = sessionStorage.length + localStorage.length;
  await fetch('/report', { method: 'POST', body: JSON.stringify(results) });
  document.title = 'done';
})();
</script></body>`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (req.url === '/' || req.url?.startsWith('/?')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(page);
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

let served: Served;
let browser: Browser;

beforeAll(async () => {
  if (noChromium) return; // the test below is skipped
  served = await startServe();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

describe.skipIf(noChromium)(`the session token in chromium${skipReason}`, () => {
  it('a second local server the browser visits never receives anything that opens the API', async () => {
    const token = new URL(served.url).searchParams.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { page, context, errors } = await newPage(browser);

    // Log in: the printed URL, the home page's calls, and a live event stream.
    const eventStreams: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/api/events') eventStreams.push(r.status());
    });
    await page.goto(served.url);
    await page.getByText('Recent runs').first().waitFor({ timeout: 30_000 });
    await page.goto(`${served.url}#/runs`); // the runs page follows the live events
    await expect.poll(() => eventStreams, { timeout: 20_000 }).toContain(200);
    expect(page.url()).not.toContain(token); // taken out of the address bar
    expect(await context.cookies()).toEqual([]);
    await page.reload(); // a reload of the tab keeps the session (sessionStorage of this origin)
    await expect
      .poll(() => eventStreams.filter((s) => s === 200).length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(2);
    expect(await page.getByText('needs the session token').count()).toBe(0);

    const other = await startOtherServer(served.origin);
    try {
      // The same tab, then a new tab of the same browser session.
      await page.goto(`${other.origin}/`);
      await expect.poll(() => page.title(), { timeout: 20_000 }).toBe('done');
      const second = await context.newPage();
      await second.goto(`${other.origin}/?again`);
      await expect.poll(() => second.title(), { timeout: 20_000 }).toBe('done');

      expect(other.got.length).toBeGreaterThanOrEqual(6); // two pages, their pixels and reports
      for (const r of other.got) {
        const raw = JSON.stringify(r);
        expect(raw, `${r.method} ${r.url}`).not.toContain(token);
        expect(r.headers.cookie, `${r.method} ${r.url}`).toBeUndefined();
        expect(r.headers.authorization, `${r.method} ${r.url}`).toBeUndefined();
      }

      // Whatever it received, replayed against the studio's API from a script (no Origin), opens nothing.
      const dropped = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'origin']);
      for (const r of other.got) {
        const headers = Object.fromEntries(
          Object.entries(r.headers as Record<string, string>).filter(([name]) => !dropped.has(name)),
        );
        const call = await fetch(`${served.origin}/api/listRuns${r.url.replace(/^\/[^?]*/, '')}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(call.status, `replayed ${r.method} ${r.url}`).toBe(401);
        const events = await fetch(`${served.origin}/api/events${r.url.replace(/^\/[^?]*/, '')}`, { headers });
        expect(events.status, `replayed events ${r.url}`).toBe(401);
      }

      // Its page's own tries with the browser's credentials: refused, and no studio storage visible to it.
      const reports = other.got
        .filter((r) => r.url === '/report')
        .map((r) => JSON.parse(r.body) as Record<string, unknown>);
      expect(reports).toHaveLength(2);
      for (const report of reports) {
        expect(report.call).not.toBe(200);
        expect(report.events).toBe('refused');
        expect(report.storage).toBe(0);
      }
      await second.close();
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
    // Console errors here are the refused cross-origin tries of the other page, which is the point.
    expect(errors.filter((e) => e.startsWith('page error'))).toEqual([]);
    await context.close();
  });
});
