// One history and exploration in a real browser. The CLI fills a studio home — `demo` on 81,920 tokens (20 steps, so
// each curve has two logged points), two tiny SAEs of one hook trained with `train` and analysed with `analyze` — then `sae-studio serve` opens it: the demo
// run is listed with its loss curves, the demo dictionary shows the EV, L0 and CE loss recovered that `demo` printed,
// a search by token lists the features the token index finds and a hit's deep link opens the sample, a live-text
// search agrees with "try text", and the Compare page shows the matches computed here from the decoders.
// Screenshots in light and dark under tests/.screenshots/<scheme>/.
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDecoders } from '../../src/core/analysis/compare-decoders';
import { initBackend } from '../../src/core/tensor/backend';
import { openSafetensors } from '../../src/core/tensor/safetensors';
import { fmtInt, fmtNum } from '../../src/renderer/src/components/format';
import { runCli } from '../helpers/cli';
import { smallTextDataset, smallTrainConfig } from '../helpers/train-fixtures';
import {
  CHROMIUM,
  launchChromium,
  layoutProblems,
  newPage,
  screenshot,
  startServe,
  type Served,
} from './serve-fixture';

const noChromium = !existsSync(CHROMIUM);
const SCHEMES = ['light', 'dark'] as const;

let served: Served;
let browser: Browser;
let demo: { run_id: string; explained_variance: number; l0: number; ce_loss_recovered: number };

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

/** The demo evaluates on the whole validation split: minutes on a busy machine. */
const CLI_TIMEOUT_MS = 1_800_000;

function cli(home: string, args: string[]): string {
  const r = runCli(args, { SAE_STUDIO_HOME: home, SAE_STUDIO_BACKEND: 'wasm' }, CLI_TIMEOUT_MS);
  expect(r.status, `${args[0]}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Two SAEs of blocks.1.hook_resid_post, 512 latents k 8 and 1,024 latents k 16, each analysed on 3,000 tokens. */
function trainPair(home: string): void {
  const dataset = join(home, 'text');
  cpSync(smallTextDataset(), dataset, { recursive: true });
  for (const [name, d_sae, top_k] of [
    ['small-a', 512, 8],
    ['small-b', 1024, 16],
  ] as const) {
    const base = smallTrainConfig(dataset);
    const cfg = { ...base, name, total_training_tokens: 256 * 8, sae: { ...base.sae, d_sae, top_k } };
    const file = join(mkdtempSync(join(tmpdir(), 'sae-studio-cfg-')), 'train.json');
    writeFileSync(file, JSON.stringify(cfg));
    cli(home, ['train', '--config', file]);
    cli(home, ['analyze', '--dictionary', name, '--dataset', dataset, '--split', 'all', '--tokens', '3000']);
  }
}

function decoder(home: string, name: string): tf.Tensor2D {
  const f = openSafetensors(join(home, 'dictionaries', name, 'sae_weights.safetensors'));
  const [rows, cols] = f.info('W_D').shape;
  return tf.tensor2d(f.readFloat32('W_D'), [rows!, cols!]);
}

const at = (path: string) => `${served.url}#${path}`;

describe.skipIf(noChromium)('the CLI history and exploration in chromium', () => {
  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'sae-studio-e2e-history-'));
    const out = cli(home, ['demo', '--tokens', '81920', '--analyze-tokens', '2048']);
    demo = JSON.parse(out.trim().split('\n').at(-1)!) as typeof demo;
    trainPair(home);
    served = await startServe(home);
    browser = await launchChromium();
  }, 2_700_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('CLI demo then serve: the run with its loss curves, the dictionary with EV, L0 and CE loss recovered', async () => {
    const run = await call<{ run: { status: string }; metrics: { values: { loss: number } }[]; log: string[] }>(
      'getRun',
      { id: demo.run_id },
    );
    expect(run.run.status).toBe('done');
    expect(run.metrics.length).toBeGreaterThan(0);
    expect(run.log.some((l) => /feature analysis of \d+ tokens saved/.test(l))).toBe(true);
    for (const scheme of SCHEMES) {
      const { page, context, errors } = await newPage(browser, scheme);
      await page.goto(at('/runs'));
      await page.getByRole('link', { name: demo.run_id }).click();
      await page
        .getByTestId('metric-chart')
        .first()
        .locator('svg.recharts-surface path.recharts-curve')
        .first()
        .waitFor();
      await page.getByTestId('evaluation-table').waitFor();
      await screenshot(page, scheme, 'history-cli-run');
      await page.goto(at('/dictionaries'));
      const row = page.getByTestId('dictionary-row').filter({ hasText: 'demo' });
      await row.first().waitFor(); // the list loads after the page
      const cells = await row.locator('td').allTextContents();
      expect(cells).toEqual(
        expect.arrayContaining([fmtNum(demo.explained_variance), fmtNum(demo.l0, 2), fmtNum(demo.ce_loss_recovered)]),
      );
      await page.goto(at('/dictionaries/demo'));
      await page.getByTestId('tab-overview').click();
      await page.getByTestId('dictionary-overview').locator('svg.recharts-surface').first().waitFor();
      expect(await page.getByTestId('overview-ev').textContent()).toBe(fmtNum(demo.explained_variance));
      expect(await page.getByTestId('overview-ce').textContent()).toBe(fmtNum(demo.ce_loss_recovered));
      await screenshot(page, scheme, 'history-dictionary-overview');
      expect(await layoutProblems(page)).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it('search by token: the hits of the token index, and a deep link to the sample where a hit peaks', async () => {
    type Hits = { hits: { index: number; contextIndex: number | null; maxActivation: number }[]; indexMs: number };
    const api = await call<Hits>('searchFeatures', { dictionary: 'demo', query: ' the' });
    expect(api.hits.length).toBeGreaterThan(0);
    for (const scheme of SCHEMES) {
      const { page, context, errors } = await newPage(browser, scheme);
      await page.goto(at('/search?dictionary=demo&q=%20the'));
      await page.getByTestId('search-run').click();
      await page.getByTestId('search-hit').first().waitFor();
      expect(await page.getByTestId('search-hit').count()).toBe(api.hits.length);
      const first = page.getByTestId('search-hit').first();
      expect(await first.locator('a').textContent()).toBe(`#${api.hits[0]!.index}`);
      await screenshot(page, scheme, 'search-by-token');
      expect(await layoutProblems(page)).toEqual([]);
      await first.locator('a').click();
      await page.getByTestId('linked-sample').waitFor();
      expect(new URL(page.url()).hash).toBe(
        `#/dictionaries/demo/features/${api.hits[0]!.index}?sample=${api.hits[0]!.contextIndex}`,
      );
      await screenshot(page, scheme, 'feature-sample-deep-link');
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it('search in a live pass agrees with "try text" at the positions of the query', async () => {
    const text = 'The people of the town met the king at the gate.';
    type Live = { hits: { index: number; maxActivation: number; hits: number }[] };
    const live = await call<Live>('searchFeatures', { dictionary: 'demo', query: ' the', source: 'text', text });
    type Rows = { tokens: { token: string; features: { index: number; activation: number }[] }[] };
    const rows = await call<Rows>('featuresOnText', { dictionary: 'demo', text, topFeatures: 32 });
    const want = new Map<number, number>();
    for (const r of rows.tokens.filter((t) => t.token === ' the'))
      for (const f of r.features)
        if (f.activation > 0) want.set(f.index, Math.max(want.get(f.index) ?? 0, f.activation));
    expect(want.size).toBeGreaterThan(0);
    expect(new Map(live.hits.map((h) => [h.index, h.maxActivation]))).toEqual(
      new Map([...want].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 50)),
    );
  });

  it('compares two dictionaries of one hook: the counts and splits computed from their decoders', async () => {
    await initBackend('cpu');
    const [A, B] = [decoder(served.home, 'small-a'), decoder(served.home, 'small-b')];
    const c = await compareDecoders(A, B, { threshold: 0.7 });
    tf.dispose([A, B]);
    for (const scheme of SCHEMES) {
      const { page, context, errors } = await newPage(browser, scheme);
      await page.goto(at('/compare?a=small-a&b=small-b'));
      await page.getByTestId('compare-run').click();
      const summary = await page.getByTestId('compare-summary').textContent();
      expect(summary).toContain(`${fmtInt(c.splits.length)} splits, ${fmtInt(c.newInB.length)} new,`);
      expect(summary).toContain(`${fmtInt(c.mutual.length)} mutual pairs`);
      expect(await page.getByTestId('compare-split').count()).toBe(Math.min(50, c.splits.length));
      await screenshot(page, scheme, 'compare-dictionaries');
      expect(await layoutProblems(page)).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
