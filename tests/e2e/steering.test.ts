// Steering in a real browser: an SAE on pdlm-4l-256 put in the served studio home and analysed through the service,
// then its feature page's Steer panel and "try text" steering, in light and dark themes (screenshots in
// tests/.screenshots/<scheme>/steer-feature.png, steer-clamp.png and steer-try-text.png). Strength 0 shows the same
// text on both sides; a large strength changes it, and the page shows what the API returns for the same request;
// clamping colours every generated token with the clamped activation.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/validate';
import { kindOf, saveAnyDictionary } from '../../src/core/dictionary/registry';
import type { JobInfo } from '../../src/protocol/jobs';
import type { SteerFeatureResponse } from '../../src/protocol/steering';
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
const NAME = 'steer-sae';
const FEATURE = 6;
const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;
const skipReason = noChromium ? ` [skipped: ${noChromium}]` : '';

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

async function waitForJob(jobId: string): Promise<void> {
  const until = Date.now() + 300_000;
  for (;;) {
    const { jobs } = await call<{ jobs: JobInfo[] }>('listJobs', {});
    const job = jobs.find((j) => j.jobId === jobId);
    if (job && job.status !== 'running' && job.status !== 'cancelling') {
      expect(job.status, `${job.error ?? ''}\n${served.stderr()}`).toBe('done');
      return;
    }
    if (Date.now() > until) throw new Error(`analysis still running: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  if (noChromium) return; // every test below is skipped
  served = await startServe();
  browser = await launchChromium();
  const kind = kindOf('sae');
  const cfg = parseConfig(
    kind.schema,
    {
      hook_point_in: 'blocks.1.hook_resid_post',
      d_model: 256,
      d_sae: 32,
      act_fn: 'relu',
      norm_activation: 'inference',
      model_name: 'pdlm-4l-256',
    },
    'e2e sae',
  );
  mkdirSync(join(served.home, 'dictionaries'), { recursive: true });
  saveAnyDictionary(join(served.home, 'dictionaries', NAME), kind, cfg, kind.init(cfg, 5));
  const dataset = join(served.home, 'text'); // inside the home: serve opens dataset paths only there
  cpSync(smallTextDataset(), dataset, { recursive: true });
  const { jobId } = await call<{ jobId: string }>('startAnalysis', {
    dictionary: NAME,
    dataset,
    tokens: 1000,
    backend: 'wasm',
  });
  await waitForJob(jobId);
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

const at = (path: string) => `${served.url}#${path}`;
const sideText = (page: Page, side: 'steered' | 'unsteered') => page.getByTestId(`steer-${side}-text`).textContent();

/** Sets strength (and the other fields given), presses Steer and waits for the new result. */
async function steer(page: Page, strength: string, extra: (p: Page) => Promise<void> = async () => {}) {
  await page.getByTestId('steer-strength').fill(strength);
  await extra(page);
  const before = await page.getByTestId('steer-summary').count();
  const answered = page.waitForResponse((r) => r.url().endsWith('/api/steerFeature'));
  await page.getByTestId('steer-run').click();
  expect((await answered).status()).toBe(200);
  await page.getByTestId('steer-summary').waitFor();
  expect(await page.getByTestId('steer-summary').count()).toBeGreaterThanOrEqual(before);
  await page.waitForLoadState('networkidle');
}

async function featurePage(page: Page, scheme: 'light' | 'dark'): Promise<void> {
  await page.goto(at(`/dictionaries/${NAME}/features/${FEATURE}`));
  await page.getByTestId('steer-panel').waitFor({ timeout: 30_000 });
  await page.getByTestId('steer-prompt').fill('The old man walked to the river');
  await page.getByTestId('steer-max-tokens').fill('12');
  await steer(page, '0');
  expect(await sideText(page, 'steered')).toBe(await sideText(page, 'unsteered'));
  await steer(page, '300');
  const api = await call<SteerFeatureResponse>('steerFeature', {
    dictionary: NAME,
    index: FEATURE,
    prompt: 'The old man walked to the river',
    strength: 300,
    maxNewTokens: 12,
  });
  expect(api.steered.text).not.toBe(api.unsteered.text);
  expect(await sideText(page, 'steered')).toBe(api.steered.text);
  expect(await sideText(page, 'unsteered')).toBe(api.unsteered.text);
  expect(await page.locator('[data-testid="steer-steered"] .token').count()).toBe(api.steered.tokens.length);
  expect(await layoutProblems(page), `${scheme} feature steer`).toEqual([]);
  await screenshot(page, scheme, 'steer-feature');

  // Clamp the generated tokens to 4: each generated token carries activation 4 (its colour and its hover).
  await steer(page, '4', async (p) => {
    await p.getByTestId('steer-mode').getByText('Clamp').click();
    await p.getByTestId('steer-positions').getByText('Generated').click();
  });
  const values = await page
    .locator('[data-testid="steer-steered"] .token')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
  const promptLength = values.length - 12;
  for (const v of values.slice(promptLength)) expect(v).toBeCloseTo(4, 3);
  expect(await layoutProblems(page), `${scheme} clamp`).toEqual([]);
  await screenshot(page, scheme, 'steer-clamp');
}

async function tryText(page: Page, scheme: 'light' | 'dark'): Promise<void> {
  await page.goto(at(`/dictionaries/${NAME}`));
  await page.getByTestId('tab-try').click();
  await page.getByTestId('try-text-input').fill('Emma went to the market and bought');
  await page.getByTestId('try-text-run').click();
  await page.getByTestId('try-text-result').waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('steer-hint').count()).toBe(1);
  await page.locator('[data-testid="try-text-result"] .mantine-Badge-root').first().click();
  await page.getByTestId('steer-panel').waitFor();
  expect(await page.getByTestId('steer-prompt').count(), 'the typed text is the prompt').toBe(0);
  await steer(page, '300');
  expect((await sideText(page, 'steered'))!.length).toBeGreaterThan(0);
  expect(await layoutProblems(page), `${scheme} try text`).toEqual([]);
  await screenshot(page, scheme, 'steer-try-text');
}

describe.skipIf(noChromium)(`steering from the feature page and try text in chromium${skipReason}`, () => {
  it('shows steered beside unsteered, as the API computes them, in light and dark themes', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, errors } = await newPage(browser, scheme);
      await featurePage(page, scheme);
      await tryText(page, scheme);
      const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      expect(bg, scheme).toBe(scheme === 'dark' ? 'rgb(36, 36, 36)' : 'rgb(255, 255, 255)');
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
