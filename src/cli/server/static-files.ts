/**
 * The UI's files for `sae-studio serve`: the built renderer (out/renderer) when there is one — paths without an
 * extension fall back to index.html for client-side routes — else a placeholder page. Nothing outside the folder is
 * ever served.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { API_PREFIX, EVENTS_PATH, EVENTS_TICKET_PATH } from '../../protocol/http-api';
import { STUDIO_METHOD_NAMES } from '../../protocol/studio-service';

const HTML = 'text/html; charset=utf-8';
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': HTML,
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves `pathname` from `root` (null: the placeholder page). */
export function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, root: string | null): void {
  const head = req.method === 'HEAD';
  if (root === null || !existsSync(join(root, 'index.html'))) {
    if (pathname !== '/' && pathname !== '/index.html') return notFound(res);
    const body = placeholderPage();
    res.writeHead(200, {
      'Content-Type': HTML,
      'Content-Length': Buffer.byteLength(body),
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    });
    res.end(head ? undefined : body);
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return notFound(res);
  }
  const base = resolve(root);
  let file = resolve(join(base, decoded));
  if (file !== base && !file.startsWith(base + sep)) return notFound(res);
  if (!isFile(file)) {
    if (extname(decoded) !== '') return notFound(res);
    file = join(base, 'index.html'); // a client-side route
  }
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': statSync(file).size, 'Cache-Control': 'no-cache' });
  if (head) res.end();
  else createReadStream(file).pipe(res);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

function placeholderPage(): string {
  const methods = STUDIO_METHOD_NAMES.map((m) => `<code>${m}</code>`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SAE Studio</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h1>SAE Studio</h1>
<p>The studio is running, but its user interface has not been built (no <code>out/renderer</code>).</p>
<p>The API answers <code>POST ${API_PREFIX}&lt;method&gt;</code> with a JSON body and the session token
(<code>Authorization: Bearer …</code>); live job events stream from <code>GET ${EVENTS_PATH}</code> with the same
header, or with a single-use ticket from <code>POST ${EVENTS_TICKET_PATH}</code> (<code>?ticket=…</code>).</p>
<p>Methods: ${methods}.</p>
</body></html>
`;
}
