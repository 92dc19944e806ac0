// A circuit computed from the app, in a real browser (Debian's chromium through playwright-core, the built
// `sae-studio serve` whose engine process computes the graph): a small random replacement set for pdlm-4l-256 is in
// the store; the researcher opens New circuit, types a 10-token prompt and sees the next-token probabilities, computes
// the graph, which is listed while it runs and opens when it is done; hovers a feature node, pins two, moves the node
// threshold, groups the pins into a supernode, exports the pinned subgraph and imports it again. Screenshots of the
// form and the computed graph in both themes (tests/.screenshots/).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveRandomReplacementSet } from '../helpers/replacement-set';
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

const PROMPT = 'The cat sat on the mat because it was';

beforeAll(async () => {
  if (noChromium) return; // every test below is skipped
  served = await startServe();
  saveRandomReplacementSet(served.home);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const at = (path: string) => `${served.url}#${path}`;
const node = (page: Page, id: string) => page.locator(`[data-node-id="${id}"]`);

interface JsonNode {
  node_id: string;
  feature_type: string;
  layer: string;
  ctx_idx: number;
}

/** A studio API call from the test, with the session token as the page sends it. */
async function api<T>(method: string, body: object): Promise<T> {
  const token = new URL(served.url).searchParams.get('token')!;
  const res = await fetch(`${served.origin}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  expect(res.status, `${method}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}

async function shownNodes(page: Page): Promise<number> {
  const text = (await page.getByTestId('graph-counts').textContent()) ?? '';
  return Number(/^(\d+) of/.exec(text)?.[1] ?? NaN);
}

async function importFile(page: Page, file: string): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId('import-graph').first().click();
  await (await chooser).setFiles(file);
}

/** Opens New circuit, types the prompt and waits for its preview; returns the preview's text. */
async function typePrompt(page: Page): Promise<string> {
  await page.getByTestId('new-circuit').click();
  await page.getByTestId('new-circuit-form').waitFor();
  await page.getByTestId('circuit-prompt').fill(PROMPT);
  const probs = page.getByTestId('new-circuit-form').getByTestId('next-token-probs');
  await probs.waitFor({ timeout: 60_000 });
  return (await probs.textContent()) ?? '';
}

/** Previews the prompt in the New circuit form, computes its graph, and waits for the graph to open. */
async function computeFromTheForm(page: Page): Promise<{ name: string; graph: { nodes: JsonNode[] } }> {
  // The preview: the model's ten most probable next tokens, as the service computes them.
  const previewText = await typePrompt(page);
  const preview = await api<{ top: { token: string; prob: number }[]; promptTokens: string[] }>('previewNextToken', {
    set: 'replacement',
    prompt: PROMPT,
  });
  expect(preview.promptTokens.length).toBeGreaterThanOrEqual(9);
  expect(preview.promptTokens.length).toBeLessThanOrEqual(13);
  expect(previewText).toContain(`${(preview.top[0]!.prob * 100).toFixed(1)}%`);
  expect(await page.getByTestId('new-circuit-form').getByTestId('circuit-set').inputValue()).toBe('replacement');
  await page.getByTestId('circuit-max_feature_nodes').fill('64');

  // Compute: the job is listed as starting, then its graph (running), which opens when it is done.
  await page.getByTestId('circuit-submit').click();
  // (The job is under way before its engine has recorded the graph: the page says so until the row appears.)
  await page.getByTestId('circuit-pending').or(page.getByTestId('graph-row')).first().waitFor({ timeout: 60_000 });
  await page.waitForURL(/#\/circuits\/graph-[^/]+$/, { timeout: 240_000 });
  await page.getByTestId('graph-canvas').waitFor();
  expect(await page.getByTestId('graph-title').textContent()).toBe(PROMPT);
  const name = decodeURIComponent(/#\/circuits\/(.+)$/.exec(page.url())![1]!);
  const { graph } = await api<{ graph: { nodes: JsonNode[] } }>('getGraph', { name });
  return { name, graph };
}

describe.skipIf(noChromium)(`a circuit computed from the app, in chromium${skipReason}`, () => {
  it('previews, computes, opens, hovers, pins, thresholds, groups and round-trips the subgraph', async () => {
    const { page, context, errors } = await newPage(browser);
    await page.goto(at('/circuits'));
    await page.getByText('No graphs yet').waitFor();

    const { name, graph } = await computeFromTheForm(page);
    const initial = await shownNodes(page);
    expect(initial).toBeGreaterThan(4);
    expect(await page.getByTestId('graph-node').count()).toBe(initial);

    // Two feature nodes on the screen.
    const onScreen = new Set(
      await page.getByTestId('graph-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-node-id') ?? '')),
    );
    const features = graph.nodes.filter(
      (n) => ['cross layer transcoder', 'lorsa'].includes(n.feature_type) && onScreen.has(n.node_id),
    );
    expect(features.length).toBeGreaterThanOrEqual(2);
    const [a, b] = features as [JsonNode, JsonNode];

    // Hover: the card names the node's place.
    await node(page, a.node_id).hover();
    await expect
      .poll(async () => (await page.getByTestId('node-card').textContent()) ?? '')
      .toContain(`position ${a.ctx_idx}`);

    // Pin two nodes: their subgraph's scores appear.
    await node(page, a.node_id).click();
    await node(page, b.node_id).click();
    await expect.poll(() => page.getByTestId('pinned-row').count()).toBe(2);
    expect(await node(page, a.node_id).getAttribute('data-pinned')).toBe('true');
    await page.getByTestId('score-replacement').waitFor();

    // Move the node threshold down: fewer nodes, the pins stay.
    const thumb = page.getByTestId('node-threshold').getByRole('slider');
    await thumb.focus();
    for (let i = 0; i < 60; i++) await page.keyboard.press('ArrowLeft');
    await expect.poll(() => shownNodes(page)).toBeLessThan(initial);
    expect(await node(page, a.node_id).count()).toBe(1);
    expect(await node(page, b.node_id).count()).toBe(1);

    // Group the two pins into a supernode.
    for (const box of await page.getByTestId('pinned-panel').getByRole('checkbox').all()) await box.check();
    await page.getByTestId('supernode-name').fill('the cat');
    await page.getByTestId('make-supernode').click();
    await expect.poll(() => page.getByTestId('supernode-row').textContent()).toContain('the cat');
    await screenshot(page, 'light', 'circuit-computed');

    // Export the pinned subgraph, and import it again.
    const download = page.waitForEvent('download');
    await page.getByTestId('export-subgraph').click();
    const saved = join(served.home, 'computed-subgraph.json');
    await (await download).saveAs(saved);
    const sub = JSON.parse(readFileSync(saved, 'utf8')) as {
      nodes: { node_id: string }[];
      qParams: { pinnedIds: string[]; supernodes: string[][] };
    };
    expect(sub.nodes.map((n) => n.node_id).sort()).toEqual([a.node_id, b.node_id].sort());
    expect(sub.qParams.supernodes).toEqual([['the cat', a.node_id, b.node_id]]);
    await importFile(page, saved);
    await page.waitForURL(new RegExp(`#/circuits/${name}-subgraph$`));
    // The page shows the previous graph until the imported one has loaded: wait for its two nodes.
    await expect.poll(() => page.getByTestId('graph-node').count()).toBe(2);
    expect(await page.getByTestId('pinned-row').count()).toBe(2);
    expect(await page.getByTestId('supernode-row').textContent()).toContain('the cat');

    await page.goto(at('/circuits'));
    await expect.poll(() => page.getByTestId('graph-row').count()).toBe(2);
    const rows = await api<{ graphs: { name: string; status: string; origin: string }[] }>('listGraphs', {});
    expect(rows.graphs.map((g) => [g.name, g.status, g.origin]).sort()).toEqual(
      [
        [name, 'done', 'computed'],
        [`${name}-subgraph`, 'done', 'imported'],
      ].sort(),
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a graph being computed with its progress, and cancels it from its page', async () => {
    const { page, context, errors } = await newPage(browser);
    const { name } = await api<{ name: string }>('computeCircuit', {
      set: 'replacement',
      prompt: Array.from({ length: 8 }, () => PROMPT).join(' '),
      settings: { max_feature_nodes: null, batch_size: 1 },
      name: 'long',
    });
    const listed = async () =>
      (await api<{ graphs: { name: string; status: string }[] }>('listGraphs', {})).graphs.find((g) => g.name === name)
        ?.status;
    await expect.poll(listed, { timeout: 60_000 }).toBe('running');
    await page.goto(at(`/circuits/${name}`));
    await expect
      .poll(async () => (await page.getByTestId('graph-status').textContent()) ?? '')
      .toMatch(/^Computing the graph: \d+%$/);
    await page.getByTestId('cancel-graph').click();
    await expect.poll(async () => (await page.getByTestId('graph-status').textContent()) ?? '').toBe('cancelled');
    expect(await listed()).toBe('cancelled');
    const row = (await api<{ graphs: { name: string; origin: string }[] }>('listGraphs', {})).graphs.find(
      (g) => g.name === name,
    );
    expect(row?.origin).toBe('computed');
    expect(await page.getByTestId('graph-canvas').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders the new-circuit form and the computed graph readably in both themes', async () => {
    const { graphs } = await api<{ graphs: { name: string; origin: string; status: string }[] }>('listGraphs', {});
    const computed = graphs.find((g) => g.origin === 'computed' && g.status === 'done')!.name;
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, errors } = await newPage(browser, scheme);
      await page.goto(at('/circuits'));
      await page.getByTestId('graph-row').first().waitFor();
      await typePrompt(page);
      const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      expect(bg, scheme).toBe(scheme === 'dark' ? 'rgb(36, 36, 36)' : 'rgb(255, 255, 255)');
      expect(await layoutProblems(page), `${scheme} new circuit`).toEqual([]);
      await screenshot(page, scheme, 'circuit-new');
      await page.goto(at(`/circuits/${encodeURIComponent(computed)}`));
      await page.getByTestId('graph-canvas').waitFor({ timeout: 30_000 });
      await page.getByTestId('graph-node').first().hover();
      expect(await layoutProblems(page), `${scheme} computed circuit`).toEqual([]);
      await screenshot(page, scheme, 'circuit-computed-graph');
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
