// The Circuits page in a real browser (Debian's chromium through playwright-core, the built `sae-studio serve`): a
// researcher imports a graph JSON made elsewhere (a realistic Neuronpedia-style graph with Lorsa and transcoder
// features, errors, logits and a Lorsa node carrying QK-tracing results), hovers a node, pins two, moves the node
// threshold, groups the pins into a supernode, exports the pinned subgraph and imports it again, which opens with
// its pins and supernode. A broken file is refused in one line. Screenshots in both themes (tests/.screenshots/).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureGraphJson } from '../helpers/graph-json-fixture';
import {
  CHROMIUM,
  launchChromium,
  layoutProblems,
  newPage,
  screenshot,
  startServe,
  type Served,
} from './serve-fixture';

let served: Served;
let browser: Browser;

const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;
const skipReason = noChromium ? ` [skipped: ${noChromium}]` : '';

beforeAll(async () => {
  if (noChromium) return; // every test below is skipped
  served = await startServe();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const at = (path: string) => `${served.url}#${path}`;
const node = (page: Page, id: string) => page.locator(`[data-node-id="${id}"]`);

/** Chooses `file` in the page's import file picker. */
async function importFile(page: Page, file: string): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('import-graph').first().click();
  await (await chooser).setFiles(file);
}

async function shownNodes(page: Page): Promise<number> {
  const text = (await page.getByTestId('graph-counts').textContent()) ?? '';
  return Number(/^(\d+) of/.exec(text)?.[1] ?? NaN);
}

describe.skipIf(noChromium)(`the circuits view in chromium${skipReason}`, () => {
  it('imports a graph, hovers, pins, thresholds, groups a supernode, and round-trips the subgraph', async () => {
    const { page, context, errors } = await newPage(browser);
    await page.goto(at('/circuits'));
    await page.getByText('No graphs yet').waitFor();

    // A broken file: one line naming the file and the field.
    const broken = join(served.home, 'broken-graph.json');
    const bad = fixtureGraphJson('broken');
    (bad.nodes[3] as Record<string, unknown>).ctx_idx = 'three';
    writeFileSync(broken, JSON.stringify(bad));
    await importFile(page, broken);
    await expect
      .poll(async () => (await page.getByTestId('import-error').textContent()) ?? '')
      .toMatch(/broken-graph\.json: graph JSON: nodes\[3\]\.ctx_idx: .*expected number.*"three"/);

    const file = join(served.home, 'france-capital.json');
    writeFileSync(file, JSON.stringify(fixtureGraphJson()));
    await importFile(page, file);
    await page.waitForURL(/#\/circuits\/france-capital$/);
    await page.getByTestId('graph-canvas').waitFor();
    expect(await page.getByTestId('graph-title').textContent()).toBe('The capital of France is');
    const initial = await shownNodes(page);
    expect(initial).toBe(16); // the graph's own node threshold, 0.8
    expect(await page.getByTestId('graph-node').count()).toBe(initial);
    expect(await page.getByTestId('graph-counts').textContent()).toBe('16 of 30 nodes · 23 of 55 edges');
    expect(await page.locator('.graph-edge').count()).toBe(23);
    expect((await page.getByTestId('next-token-probs').textContent()) ?? '').toContain('41.2%');

    // Hover: the card names the feature.
    await node(page, '3_cro_101_4').hover();
    await expect.poll(() => page.getByTestId('node-card-label').textContent()).toBe('say "Paris"');
    // The Lorsa node's QK tracing.
    await node(page, '2_lor_7_4').hover();
    await expect.poll(async () => (await page.getByTestId('qk-k').textContent()) ?? '').toContain('country names @3');

    // Pin two nodes.
    await node(page, '3_cro_101_4').click();
    await node(page, '2_cro_300_4').click();
    await expect.poll(() => page.getByTestId('pinned-row').count()).toBe(2);
    expect(await node(page, '3_cro_101_4').getAttribute('data-pinned')).toBe('true');
    await page.getByTestId('score-replacement').waitFor();

    // Move the node threshold down: fewer nodes, the pins stay.
    const thumb = page.getByTestId('node-threshold').getByRole('slider');
    await thumb.focus();
    for (let i = 0; i < 60; i++) await page.keyboard.press('ArrowLeft');
    await expect.poll(() => shownNodes(page)).toBeLessThan(initial);
    expect(await node(page, '2_cro_300_4').count()).toBe(1);

    // Group the two pins into a supernode.
    for (const box of await page.getByTestId('pinned-panel').getByRole('checkbox').all()) await box.check();
    await page.getByTestId('supernode-name').fill('say a capital');
    await page.getByTestId('make-supernode').click();
    await expect.poll(() => page.getByTestId('supernode-row').textContent()).toContain('say a capital');
    await screenshot(page, 'light', 'circuit-graph');

    // Export the pinned subgraph, and import it again.
    const download = page.waitForEvent('download');
    await page.getByTestId('export-subgraph').click();
    const saved = join(served.home, 'france-capital-subgraph.json');
    await (await download).saveAs(saved);
    const sub = JSON.parse(readFileSync(saved, 'utf8')) as {
      nodes: { node_id: string }[];
      links: unknown[];
      qParams: { pinnedIds: string[]; supernodes: string[][] };
    };
    expect(sub.nodes.map((n) => n.node_id).sort()).toEqual(['2_cro_300_4', '3_cro_101_4']);
    expect(sub.links).toHaveLength(1);
    expect(sub.qParams.supernodes).toEqual([['say a capital', '3_cro_101_4', '2_cro_300_4']]);
    await importFile(page, saved);
    await page.waitForURL(/#\/circuits\/france-capital-subgraph$/);
    await expect.poll(() => page.getByTestId('pinned-row').count()).toBe(2);
    // The re-imported subgraph replaces the view once it has loaded (the pins alone match both graphs).
    await expect.poll(() => page.getByTestId('graph-node').count()).toBe(2);
    expect(await page.getByTestId('supernode-row').textContent()).toContain('say a capital');

    await page.goto(at('/circuits'));
    await expect.poll(() => page.getByTestId('graph-row').count()).toBe(2);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders the circuits pages readably in light and dark themes, without overflow', async () => {
    const pages: [string, string, string][] = [
      ['circuits', '/circuits', 'graph-row'],
      ['circuit', '/circuits/france-capital', 'graph-canvas'],
    ];
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, errors } = await newPage(browser, scheme);
      for (const [name, path, ready] of pages) {
        await page.goto(at(path));
        await page.getByTestId(ready).first().waitFor({ timeout: 30_000 });
        if (name === 'circuit') {
          await node(page, '2_lor_7_4').hover();
          await node(page, '3_cro_101_4').click();
        }
        const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
        expect(bg, `${scheme} ${name}`).toBe(scheme === 'dark' ? 'rgb(36, 36, 36)' : 'rgb(255, 255, 255)');
        expect(await layoutProblems(page), `${scheme} ${name}`).toEqual([]);
        await screenshot(page, scheme, name);
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
