/**
 * The Electron shell, held to Electron's security checklist:
 * - the renderer is served from the app's own `app://studio/` protocol (not file://), whose handler serves only the
 *   built renderer's files and sends the Content-Security-Policy as a header (the meta tag stays, as a second copy);
 * - the window is sandboxed and context-isolated, without Node, and never navigates away from its page or opens
 *   windows; links go to the system browser only for https addresses on the allow-list (EXTERNAL_HOSTS);
 * - every IPC handler first checks its sender (the top frame of our own page) and then its arguments (zod schemas of
 *   src/protocol/ipc-channels.ts), and refuses anything else;
 * - every permission request (camera, notifications, …) and permission check is denied;
 * - `<webview>` is never attached, in any web contents.
 * The packaged app's fuses (runAsNode off, cookie encryption on, ASAR integrity, only load the app from the ASAR)
 * are set in electron-builder.yml.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  protocol,
  session,
  shell,
  type IpcMainInvokeEvent,
  type OpenDialogOptions,
  type Session,
} from 'electron';
import type { z } from 'zod';
import { openStudio } from '../engine/studio';
import type { AppInfo } from '../protocol/app-info';
import {
  CallArgsSchema,
  IPC_CALL,
  IPC_EVENT,
  IPC_PICK_FILE,
  IPC_PICK_FOLDER,
  PickFileArgsSchema,
  PickFolderArgsSchema,
} from '../protocol/ipc-channels';
import { APP_VERSION_SWITCH } from '../protocol/renderer-args';
import { dispatchStudioCall } from '../protocol/service-dispatch';
import { utilityLauncher } from './utility-launcher';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_PAGE = `${APP_ORIGIN}/index.html`;

/** The policy of src/renderer/index.html's meta tag. */
export const RENDERER_CSP_META = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'";
/** The header the protocol handler sends: the meta tag's policy and what only a header can say. */
export const RENDERER_CSP = `${RENDERER_CSP_META}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** Sites a link in the app may open in the system browser (https only, no port, no user info). */
export const EXTERNAL_HOSTS: readonly string[] = ['huggingface.co', 'github.com'];

/** How long running trainings get to write their checkpoint when the app quits. */
const QUIT_GRACE_MS = 60_000;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Must run before the app is ready: `app:` becomes a standard, secure scheme (origin, fetch, ES modules). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** The `app:` protocol: the files of `rendererDir` at `app://studio/…`, with the CSP header; nothing else. */
export function appProtocolHandler(rendererDir: string): (request: Request) => Promise<Response> {
  const base = resolve(rendererDir);
  const notFound = () => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain' } });
  return async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return notFound();
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('', { status: 405 });
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return notFound();
    }
    const file = resolve(join(base, path === '/' ? 'index.html' : path));
    if (!file.startsWith(base + sep)) return notFound();
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return notFound();
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: {
        'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Security-Policy': RENDERER_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      },
    });
  };
}

/** The page the window shows: `app://studio/index.html`, or the dev server's in `npm run dev` (unpackaged only). */
export function rendererPage(): string {
  const devServerUrl = process.env['ELECTRON_RENDERER_URL'];
  if (!app.isPackaged && devServerUrl) return devServerUrl;
  return APP_PAGE;
}

/** `scheme://host` of a URL (Node's URL gives 'null' as the origin of non-special schemes such as app:). */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host === '' ? null : `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/** An IPC message comes from our page when its frame is the top frame of a page of `origin`. */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>, origin: string): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return originOf(frame.url) === origin;
}

/** Whether a link may be opened in the system browser. */
export function isAllowedExternal(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (
    u.protocol === 'https:' &&
    u.username === '' &&
    u.password === '' &&
    u.port === '' &&
    EXTERNAL_HOSTS.includes(u.hostname)
  );
}

/**
 * Registers an IPC handler that answers only our page (the sender check), with arguments its schema accepts; anything
 * else is refused with a one-line error (the renderer's invoke rejects) before the handler runs.
 */
export function handleTrusted<A extends unknown[]>(
  channel: string,
  schema: z.ZodType<A>,
  origin: string,
  handler: (event: IpcMainInvokeEvent, ...args: A) => unknown,
): void {
  ipcMain.handle(channel, (event, ...raw: unknown[]) => {
    if (!isTrustedSender(event, origin)) {
      throw new Error(`${channel}: refused a message from ${event.senderFrame?.url ?? 'a frame that is gone'}`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${channel}: argument ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return handler(event, ...parsed.data);
  });
}

/** Denies every permission request and check of the session (the app needs none). */
export function denyPermissions(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

/** The page URL without its fragment, normalised (`http://host:port` and `http://host:port/` are the same page). */
function pageOf(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

export function createMainWindow(appInfo: AppInfo, page = rendererPage()): BrowserWindow {
  const window = new BrowserWindow({
    title: appInfo.name,
    width: 1360,
    height: 860,
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      additionalArguments: [`${APP_VERSION_SWITCH}=${appInfo.version}`],
    },
  });
  window.once('ready-to-show', () => window.show());

  // The window only ever shows our renderer (reloads included); allowed links open in the system browser.
  window.webContents.on('will-navigate', (event, target) => {
    if (pageOf(target) !== pageOf(page)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url: target }) => {
    if (isAllowedExternal(target)) void shell.openExternal(target);
    return { action: 'deny' };
  });

  void window.loadURL(page);
  return window;
}

async function pickPath(event: IpcMainInvokeEvent, options: OpenDialogOptions): Promise<string | null> {
  const owner = BrowserWindow.fromWebContents(event.sender);
  const r = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
  return r.canceled ? null : (r.filePaths[0] ?? null);
}

/** Opens the studio and the window once Electron is ready; resolves when everything is wired. */
export async function startApp(): Promise<void> {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  await app.whenReady();

  protocol.handle(APP_SCHEME, appProtocolHandler(join(import.meta.dirname, '../renderer')));
  denyPermissions(session.defaultSession);
  const page = rendererPage();
  const origin = originOf(page) ?? APP_ORIGIN;

  const appInfo: AppInfo = { name: app.getName(), version: app.getVersion() };
  const warn = (message: string) => console.warn(`SAE Studio: ${message}`);
  const { service, supervisor, close, markInterruptedRuns } = openStudio({
    launcher: utilityLauncher(join(import.meta.dirname, 'engine.js')),
    appInfo,
    ownerName: 'the SAE Studio app',
    onWarning: warn,
  });
  markInterruptedRuns();

  handleTrusted(IPC_CALL, CallArgsSchema, origin, (_event, method, request) =>
    dispatchStudioCall(service, method, request, {
      onInternalError: (m, err) =>
        warn(`internal error in ${m}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    }),
  );
  handleTrusted(IPC_PICK_FOLDER, PickFolderArgsSchema, origin, (event, title) =>
    pickPath(event, { title, properties: ['openDirectory'] }),
  );
  handleTrusted(IPC_PICK_FILE, PickFileArgsSchema, origin, (event, title, filters) =>
    pickPath(event, { title, properties: ['openFile'], filters }),
  );
  supervisor.subscribe((event) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send(IPC_EVENT, event);
  });

  createMainWindow(appInfo, page);
  // macOS keeps the app running without windows; clicking the dock icon opens a new one.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow(appInfo, page);
  });

  // Quitting lets running trainings write a checkpoint (so they can be resumed), then closes the store.
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void close(QUIT_GRACE_MS).finally(() => app.quit());
  });
}
