// The user's edited prompt templates, kept in the home as autointerp-prompts.json (written atomically); a key
// missing there falls back to lm-saes's default.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { writeFileAtomic } from '../util/atomic-file';
import { DEFAULT_PROMPT_TEMPLATES, PROMPT_TEMPLATE_KEYS, type PromptTemplates } from './prompts';

export const PROMPTS_FILE = 'autointerp-prompts.json';

export function promptsFile(home: StudioHome): string {
  return join(home.root, PROMPTS_FILE);
}

function checkTemplates(raw: unknown, where: string): Partial<PromptTemplates> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${where}: expected a JSON object`);
  const out: Partial<PromptTemplates> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!(PROMPT_TEMPLATE_KEYS as readonly string[]).includes(k))
      throw new InputError(`${where}: unknown field '${k}', expected ${PROMPT_TEMPLATE_KEYS.join(', ')}`);
    if (typeof v !== 'string' || v.trim() === '')
      throw new InputError(`${where}: field '${k}' must be a non-empty string`);
    out[k as keyof PromptTemplates] = v;
  }
  return out;
}

/** The templates in use: the saved ones over lm-saes's defaults. */
export function loadPromptTemplates(home: StudioHome): PromptTemplates {
  const file = promptsFile(home);
  if (!existsSync(file)) return { ...DEFAULT_PROMPT_TEMPLATES };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return { ...DEFAULT_PROMPT_TEMPLATES, ...checkTemplates(raw, file) };
}

/** Saves the templates that differ from the defaults; null resets them all. Returns the templates in use. */
export function savePromptTemplates(home: StudioHome, templates: Partial<PromptTemplates> | null): PromptTemplates {
  const file = promptsFile(home);
  if (templates === null) {
    rmSync(file, { force: true });
    return { ...DEFAULT_PROMPT_TEMPLATES };
  }
  const checked = checkTemplates(templates, 'prompt templates');
  const changed = Object.fromEntries(
    Object.entries(checked).filter(([k, v]) => v !== DEFAULT_PROMPT_TEMPLATES[k as keyof PromptTemplates]),
  );
  writeFileAtomic(file, `${JSON.stringify(changed, null, 2)}\n`);
  return { ...DEFAULT_PROMPT_TEMPLATES, ...changed };
}
