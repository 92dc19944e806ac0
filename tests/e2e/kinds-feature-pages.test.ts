// A feature page of every non-SAE kind in a real browser: one tiny random dictionary of each kind (crosscoder, CLT,
// Lorsa, MoLT; tests/helpers/kind-dictionaries.ts) is put in the served studio home, analysed through the service's
// analysis job (the engine process `serve` forks), and its most frequent feature opened from the dictionary page in
// light and dark themes (screenshots in tests/.screenshots/<scheme>/feature-<kind>.png, with the dictionaries list
// and the CLT's feature list). Each page must show its kind's own view with the numbers computed here from the
// weights: a CLT's decoder norm per target layer, a crosscoder's per-head decoder norms and head-similarity heatmap,
// a Lorsa's QK head and z-patterns, a MoLT's rank.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cltDecoderNormsPerTarget } from '../../src/core/dictionary/kinds/clt';
import { crosscoderFeatureHeadStats } from '../../src/core/dictionary/kinds/crosscoder';
import { saveAnyDictionary } from '../../src/core/dictionary/registry';
import type { CltConfig } from '../../src/protocol/kind-configs/clt';
import type { CrossCoderConfig } from '../../src/protocol/kind-configs/crosscoder';
import type { JobInfo } from '../../src/protocol/jobs';
import { fmtNum } from '../../src/renderer/src/components/format';
import { kindDictionary, KIND_NAMES, type KindDictionary } from '../helpers/kind-dictionaries';
import { smallTextDataset } from '../helpers/train-fixtures';
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

const dicts = new Map<string, KindDictionary>();

/** A call of the studio service over HTTP, with the session token of the served URL. */
async function call<T>(method: string, body: object): Promise<T> {
  const token = new URL(served.url).searchParams.get('token')!;
  const r = await fetch(`${served.origin}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await r.json()) as T;
  if (!r.ok) throw new Error(`${method}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/** Waits until every job in `ids` has ended; each must have ended done. */
async function waitForJobs(ids: string[], timeoutMs = 400_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { jobs } = await call<{ jobs: JobInfo[] }>('listJobs', {});
    const mine = jobs.filter((j) => ids.includes(j.jobId));
    const ended = mine.filter((j) => j.status !== 'running' && j.status !== 'cancelling');
    if (ended.length === ids.length) {
      for (const j of ended) expect(j.status, `${j.dictionary}: ${j.error ?? ''}\n${served.stderr()}`).toBe('done');
      return;
    }
    if (Date.now() > until) throw new Error(`analysis jobs still running: ${JSON.stringify(mine)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  if (noChromium) return; // every test below is skipped
  served = await startServe();
  browser = await launchChromium();
  mkdirSync(join(served.home, 'dictionaries'), { recursive: true });
  // Inside the home: serve opens dataset paths only there (or in folders given with --allow).
  const dataset = join(served.home, 'text');
  cpSync(smallTextDataset(), dataset, { recursive: true });
  const jobIds: string[] = [];
  for (const saeType of KIND_NAMES) {
    const d = kindDictionary(saeType);
    dicts.set(saeType, d);
    saveAnyDictionary(join(served.home, 'dictionaries', d.name), d.kind, d.cfg, d.params);
    const { jobId } = await call<{ jobId: string }>('startAnalysis', {
      dictionary: d.name,
      dataset,
      tokens: 1500,
      backend: 'wasm',
    });
    jobIds.push(jobId);
  }
  await waitForJobs(jobIds);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const at = (path: string) => `${served.url}#${path}`;

/** The dictionary page, then its first feature row (the most frequent feature); returns the feature's index. */
async function openTopFeature(page: Page, d: KindDictionary): Promise<number> {
  await page.goto(at(`/dictionaries/${d.name}`));
  await page.getByTestId('feature-row').first().waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('dictionary-kind').textContent()).toMatch(
    { crosscoder: /Crosscoder/, clt: /Cross-layer transcoder/, lorsa: /Lorsa/, molt: /MoLT/ }[d.kind.saeType]!,
  );
  await page.getByTestId('feature-row').first().click();
  await page.getByTestId('feature-samples').waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  const index = Number(/\/features\/(\d+)$/.exec(new URL(page.url()).hash)?.[1]);
  expect(Number.isInteger(index), page.url()).toBe(true);
  expect(await page.getByTestId('feature-title').textContent()).toBe(`Feature ${index}`);
  return index;
}

const texts = async (page: Page, testId: string) => page.getByTestId(testId).allTextContents();

async function checkCltView(page: Page, d: KindDictionary, index: number): Promise<void> {
  const F = d.cfg.d_sae;
  const L = 4;
  const layer = Math.floor(index / F);
  expect(await page.getByTestId('clt-feature-layer').textContent()).toBe(`layer ${layer}, latent ${index % F}`);
  await page.getByTestId('clt-decoder-norms').locator('svg.recharts-surface').first().waitFor();
  const norms = cltDecoderNormsPerTarget(d.cfg as unknown as CltConfig, d.params);
  const rows = await texts(page, 'clt-norm-row');
  expect(rows).toEqual(
    Array.from(
      { length: L },
      (_, t) => `blocks.${t}.hook_mlp_out${t < layer ? '—' : fmtNum(norms[index * L + t]!, 4)}`,
    ),
  );
}

async function checkCrosscoderView(page: Page, d: KindDictionary, index: number): Promise<void> {
  const stats = crosscoderFeatureHeadStats(d.cfg as unknown as CrossCoderConfig, d.params, index);
  expect(await texts(page, 'head-norm')).toEqual(stats.decoderNorms.map((v) => fmtNum(v, 4)));
  const cells = await texts(page, 'similarity-cell');
  expect(cells).toEqual(stats.cosine.flat().map((v) => v.toFixed(2)));
  expect([cells[0], cells[4], cells[8]]).toEqual(['1.00', '1.00', '1.00']);
  expect(await page.getByTestId('head-activations').count()).toBeGreaterThan(0);
}

async function checkKindView(page: Page, d: KindDictionary, index: number): Promise<void> {
  switch (d.kind.saeType) {
    case 'clt':
      return checkCltView(page, d, index);
    case 'crosscoder':
      return checkCrosscoderView(page, d, index);
    case 'lorsa': {
      const head = Math.floor(index / (d.cfg.d_sae / 2));
      expect(await page.getByTestId('lorsa-head').textContent()).toContain(`on QK head ${head}`);
      const patterns = await texts(page, 'z-pattern');
      expect(patterns.length).toBeGreaterThan(0);
      expect(patterns[0]).toMatch(/^z-pattern at position \d+: reads most from position \d+/);
      return;
    }
    case 'molt':
      expect(await page.getByTestId('molt-rank').textContent()).toContain(`rank ${index < 8 ? 1 : index < 12 ? 2 : 4}`);
  }
}

describe.skipIf(noChromium)(`feature pages of every dictionary kind in chromium${skipReason}`, () => {
  it('shows each kind its own view with the numbers from its weights, in light and dark themes', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, errors } = await newPage(browser, scheme);
      for (const saeType of KIND_NAMES) {
        const d = dicts.get(saeType)!;
        const index = await openTopFeature(page, d);
        await checkKindView(page, d, index);
        const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
        expect(bg, `${scheme} ${saeType}`).toBe(scheme === 'dark' ? 'rgb(36, 36, 36)' : 'rgb(255, 255, 255)');
        expect(await layoutProblems(page), `${scheme} ${saeType}`).toEqual([]);
        await screenshot(page, scheme, `feature-${saeType}`);
      }
      await page.goto(at('/dictionaries'));
      await page.getByTestId('dictionary-row').first().waitFor({ timeout: 30_000 });
      expect((await texts(page, 'dictionary-row-kind')).sort()).toEqual([
        'topk · CLT',
        'topk · Crosscoder',
        'topk · Lorsa',
        'topk · MoLT',
      ]);
      expect(await page.getByText('blocks.0.ln2.hook_normalized … blocks.3.hook_mlp_out (4 layers)').count()).toBe(1);
      expect(await layoutProblems(page), `${scheme} dictionaries`).toEqual([]);
      await screenshot(page, scheme, 'dictionaries-kinds');
      await page.goto(at(`/dictionaries/${dicts.get('clt')!.name}`));
      await page.getByTestId('feature-row').first().waitFor({ timeout: 30_000 });
      await screenshot(page, scheme, 'dictionary-clt');
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
