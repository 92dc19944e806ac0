// The SAE Studio home folder (SAE_STUDIO_HOME, default ~/.sae-studio) and where things live inside it.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface StudioHome {
  root: string;
  dictionaries: string;
  runs: string;
  tokens: string;
  activations: string;
}

export function studioHome(root = process.env.SAE_STUDIO_HOME || join(homedir(), '.sae-studio')): StudioHome {
  const abs = resolve(root);
  const home = {
    root: abs,
    dictionaries: join(abs, 'dictionaries'),
    runs: join(abs, 'runs'),
    tokens: join(abs, 'tokens'),
    activations: join(abs, 'activations'),
  };
  for (const dir of Object.values(home)) mkdirSync(dir, { recursive: true });
  return home;
}
