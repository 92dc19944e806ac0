// The dictionary kinds through the wizard in a real browser (Debian's chromium, playwright-core) against the built
// `sae-studio serve`: one tiny crosscoder, CLT, Lorsa and MoLT on pdlm-4l-256, each chosen on the kind step with
// only its own fields, trained in seconds, finished on its dashboard with its evaluation, and listed among the
// dictionaries with its kind. The wizard's hook and dictionary steps of each kind are screenshotted in light and
// dark (tests/.screenshots/<scheme>/wizard-<kind>-*.png) and checked for layout overflow.
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

type Kind = 'crosscoder' | 'clt' | 'lorsa' | 'molt';

/** Per kind: what its hook step shows, and how it is made tiny on the dictionary step. */
const KINDS: { kind: Kind; hooks: string; tiny: (page: Page) => Promise<void> }[] = [
  {
    kind: 'crosscoder',
    hooks: 'crosscoder-hooks',
    tiny: async (page) => {
      await page.getByTestId('d-sae').fill('256');
      await page.getByTestId('top-k').fill('8');
    },
  },
  {
    kind: 'clt',
    hooks: 'clt-last-layer',
    tiny: async (page) => {
      await page.getByTestId('d-sae').fill('128');
      await page.getByTestId('top-k').fill('8');
    },
  },
  {
    kind: 'lorsa',
    hooks: 'lorsa-layer',
    tiny: async (page) => {
      await page.getByTestId('d-sae').fill('128');
      await page.getByTestId('top-k').fill('8');
      await page.getByTestId('n-qk-heads').fill('4');
    },
  },
  {
    kind: 'molt',
    hooks: 'hook-in',
    tiny: async (page) => {
      for (const [i, count] of ['32', '16', '8', '8'].entries()) await page.getByTestId(`rank-count-${i}`).fill(count);
      await page.getByTestId('top-k').fill('4');
      await expect.poll(async () => (await page.getByTestId('molt-d-sae').textContent()) ?? '').toMatch(/d_sae = 64/);
    },
  },
];

const next = async (page: Page) => {
  await expect.poll(() => page.getByTestId('wizard-next').isDisabled(), { timeout: 30_000 }).toBe(false);
  await page.getByTestId('wizard-next').click();
};

/** The run's log as the dashboard shows it (the message of a run that did not finish). */
const runLog = async (page: Page) =>
  (await page
    .getByTestId('run-log')
    .textContent()
    .catch(() => null)) ?? '';

/** Opens the wizard, picks the kind, and stops on its hook step. */
async function toHookStep(page: Page, kind: Kind, hooks: string): Promise<void> {
  // A fresh load: going to the same #/new again would keep the wizard where it was.
  await page.goto('about:blank');
  await page.goto(`${served.url}#/new`);
  await page.getByTestId('model-card').waitFor({ timeout: 60_000 });
  await page.getByTestId('step-kind').click();
  await page.getByTestId(`kind-${kind}`).click();
  await next(page);
  await page.getByTestId(hooks).waitFor();
}

describe.skipIf(noChromium)(`the dictionary kinds through the wizard${skipReason}`, () => {
  // One test per kind (each trains in seconds, but the first also tokenizes the corpus on a shared machine).
  for (const { kind, hooks, tiny } of KINDS) {
    it(`trains a tiny ${kind} from the wizard to a finished run with its evaluation`, async () => {
      const { page, context, errors } = await newPage(browser);
      await toHookStep(page, kind, hooks);
      await next(page);
      await tiny(page);
      await next(page);
      await page.getByTestId('dict-name').fill(`e2e-${kind}`);
      await page.getByTestId('total-tokens').fill('4096');
      await page.getByTestId('batch-size').fill('1024');
      await page.getByTestId('eval-windows').fill('2');
      await page.getByTestId('analyze-tokens').fill('0');
      await next(page);
      await next(page); // compute: auto
      await expect
        .poll(async () => (await page.getByTestId('review-config').textContent()) ?? '', { timeout: 30_000 })
        .toContain(`"sae_type": "${kind}"`);
      await expect.poll(() => page.getByTestId('wizard-launch').isDisabled(), { timeout: 30_000 }).toBe(false);
      await page.getByTestId('wizard-launch').click();
      await page.waitForURL(/#\/runs\//);
      await expect
        .poll(async () => (await page.getByTestId('run-status').first().textContent()) ?? '', {
          timeout: 480_000,
          interval: 500,
        })
        .toMatch(/^(done|failed|cancelled)$/);
      expect(await page.getByTestId('run-status').first().textContent(), await runLog(page)).toBe('done');
      await page.getByTestId('evaluation-table').waitFor({ timeout: 60_000 });
      await screenshot(page, 'light', `run-dashboard-${kind}`);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('lists each trained dictionary with its kind and hooks', async () => {
    const { page, context, errors } = await newPage(browser);
    await page.goto(`${served.url}#/dictionaries`);
    await page.getByTestId('dictionary-row').first().waitFor({ timeout: 60_000 });
    const rows = await page.getByTestId('dictionary-row').allTextContents();
    for (const [kind, shown] of [
      ['crosscoder', /e2e-crosscoder.*Crosscoder.*blocks\.1\.hook_resid_post, blocks\.2\.hook_resid_post/],
      ['clt', /e2e-clt.*CLT.*\(4 layers\)/],
      ['lorsa', /e2e-lorsa.*Lorsa.*blocks\.2\.ln1\.hook_normalized → blocks\.2\.hook_attn_out/],
      ['molt', /e2e-molt.*MoLT.*blocks\.2\.ln2\.hook_normalized → blocks\.2\.hook_mlp_out/],
    ] as const)
      expect(rows.find((r) => r.includes(`e2e-${kind}`)) ?? `no row for ${kind}`).toMatch(shown);
    await screenshot(page, 'light', 'dictionaries-kinds');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("screenshots each kind's hook and dictionary steps in light and dark, without overflow", async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, errors } = await newPage(browser, scheme);
      await page.goto(`${served.url}#/new`);
      await page.getByTestId('model-card').waitFor({ timeout: 60_000 });
      await page.getByTestId('step-kind').click();
      await page.getByTestId('kind-lorsa').waitFor();
      await screenshot(page, scheme, 'wizard-kinds');
      for (const { kind, hooks } of KINDS) {
        await toHookStep(page, kind, hooks);
        expect(await layoutProblems(page), `${scheme} ${kind} hooks`).toEqual([]);
        await screenshot(page, scheme, `wizard-${kind}-hooks`);
        await next(page);
        await page.getByTestId('top-k').waitFor();
        expect(await layoutProblems(page), `${scheme} ${kind} dictionary`).toEqual([]);
        await screenshot(page, scheme, `wizard-${kind}-dictionary`);
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
