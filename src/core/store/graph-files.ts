// Attribution graphs kept as files under the studio home: graphs/<slug>.json holds the graph JSON as the frontends
// load it (spec §6.6), graphs/<slug>.summary.json what the Circuits list shows without reading the graph. Both are
// written atomically, the graph first, so a listed summary always has its graph.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphSummarySchema, type GraphJson, type GraphSummary } from '../../protocol/graphs';
import { isPathSegment } from '../../protocol/path-segment';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { writeFileAtomic } from '../util/atomic-file';

const SUMMARY = '.summary.json';

export function graphsDir(home: StudioHome): string {
  const dir = join(home.root, 'graphs');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A slug made safe as one file name: characters outside [A-Za-z0-9._-] become '-', at most 100 characters. */
export function safeSlug(slug: string): string {
  const cleaned = slug
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 100);
  return isPathSegment(cleaned) ? cleaned : 'graph';
}

export function listGraphFiles(home: StudioHome): GraphSummary[] {
  const dir = graphsDir(home);
  const out: GraphSummary[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(SUMMARY)) continue;
    const parsed = GraphSummarySchema.safeParse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.slug.localeCompare(b.slug));
}

export function readGraphFile(home: StudioHome, slug: string): { summary: GraphSummary; graph: unknown } {
  const dir = graphsDir(home);
  if (!isPathSegment(slug) || !existsSync(join(dir, `${slug}${SUMMARY}`))) {
    throw new InputError(`no graph '${slug}' in ${dir}`);
  }
  const summary = GraphSummarySchema.parse(JSON.parse(readFileSync(join(dir, `${slug}${SUMMARY}`), 'utf8')));
  return { summary, graph: JSON.parse(readFileSync(join(dir, `${slug}.json`), 'utf8')) };
}

/**
 * Stores `graph` under `slug` (default metadata.slug, made file-safe); a taken slug gets the first free numbered
 * suffix (`-2`, `-3`, …). metadata.slug is set to the slug it is stored under.
 */
export function writeGraphFile(
  home: StudioHome,
  graph: GraphJson,
  options: { slug?: string; origin: GraphSummary['origin'] },
): GraphSummary {
  const dir = graphsDir(home);
  const base = safeSlug(options.slug ?? graph.metadata.slug);
  let slug = base;
  for (let i = 2; existsSync(join(dir, `${slug}${SUMMARY}`)); i++) slug = `${base}-${i}`;
  const stored: GraphJson = { ...graph, metadata: { ...graph.metadata, slug } };
  const scan = graph.metadata.scan;
  const summary: GraphSummary = {
    slug,
    prompt: graph.metadata.prompt,
    scan: Array.isArray(scan) ? scan.join(', ') : scan,
    nodes: graph.nodes.length,
    links: graph.links.length,
    origin: options.origin,
    createdAt: new Date().toISOString(),
  };
  writeFileAtomic(join(dir, `${slug}.json`), JSON.stringify(stored));
  writeFileAtomic(join(dir, `${slug}${SUMMARY}`), JSON.stringify(summary));
  return summary;
}
