// Auto-interpretation from the app in a real browser: a small SAE trained and analysed on pdlm-4l-256 in the served
// home, two of its features explained from the dictionary page's "Explain features" tab with pdlm-4l-256 as the
// stand-in local explainer (a tiny token budget; it writes nonsense, stored with its scores all the same), the job's
// progress followed to its summary, then the feature page's Explain panel showing the explainer's model, the
// detection and fuzzing scores and the prompts. Screenshots in both themes (tests/.screenshots/<scheme>/).
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysedDictionary } from '../helpers/analysed-dictionary';
import { runCli } from '../helpers/cli';
import { tempHome } from '../helpers/train-fixtures';
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
let live: number[];

const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;

beforeAll(async () => {
  if (noChromium) return; // every test below is skipped
  const home = tempHome();
  analysedDictionary(home);
  const list = runCli(['features', '--dictionary', 'small', '--sort', 'frequency', '--json', '--limit', '2'], {
    SAE_STUDIO_HOME: home,
  });
  live = (JSON.parse(list.stdout) as { index: number }[]).map((f) => f.index);
  served = await startServe(home);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
});

async function openExplainTab(page: Page): Promise<void> {
  await page.goto(served.url + '#/dictionaries/small');
  await page.getByTestId('tab-explain').click();
  await page.getByTestId('explain-start').waitFor();
}

describe.skipIf(noChromium)('explaining features from the app', () => {
  it('runs an Explain job with pdlm-4l-256 and shows progress, then the scores on the feature page', async () => {
    const { page, errors, context } = await newPage(browser, 'light');
    await openExplainTab(page);
    await page.getByTestId('explain-features').fill(live.join(','));
    await page.getByTestId('explainer-max-tokens').fill('3');
    await expect.poll(() => page.getByTestId('explainer-local-model').inputValue()).toBe('pdlm-4l-256');
    await page.getByTestId('explain-start').click();
    await page.getByTestId('explain-progress').waitFor({ timeout: 60_000 });
    const summary = page.getByTestId('explain-summary');
    await summary.waitFor({ timeout: 300_000 });
    expect(await summary.textContent()).toMatch(/^2 explained, 0 skipped, 0 failed by local:pdlm-4l-256/);
    await page.getByTestId('prompts-toggle').click();
    await page.getByTestId('prompt-explanationSystem').waitFor();
    expect(await page.getByTestId('prompt-explanationSystem').inputValue()).toContain(
      "We're studying features in a neural network.",
    );
    await screenshot(page, 'light', 'explain-features');

    await page.goto(served.url + `#/dictionaries/small/features/${live[0]}`);
    const panel = page.getByTestId('explain-panel');
    await panel.getByTestId('explainer-model').waitFor();
    expect(await panel.getByTestId('explainer-model').textContent()).toBe('local:pdlm-4l-256');
    expect(await panel.getByTestId('score-detection').count()).toBe(1);
    expect(await panel.getByTestId('score-fuzzing').count()).toBe(1);
    await screenshot(page, 'light', 'feature-explained');
    expect(await layoutProblems(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 600_000);

  it('renders the Explain tab and the explained feature readably in the dark theme', async () => {
    const { page, errors, context } = await newPage(browser, 'dark');
    await openExplainTab(page);
    await page.getByTestId('prompts-toggle').click();
    await page.getByTestId('prompt-explanationSystem').waitFor();
    await screenshot(page, 'dark', 'explain-features');
    await page.goto(served.url + `#/dictionaries/small/features/${live[0]}`);
    await page.getByTestId('explain-panel').getByTestId('explainer-model').waitFor();
    await screenshot(page, 'dark', 'feature-explained');
    expect(await layoutProblems(page)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
