/**
 * Electron main process: opens the SAE Studio window (sandboxed, context-isolated, no Node in the page), serves the
 * StudioService to it over IPC (one `invoke` channel through the same dispatcher as `sae-studio serve`), forwards
 * job events, runs jobs in utility processes under the supervisor, and gives the page the native file dialogs.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, shell } from 'electron';
import { openStudio } from '../engine/studio';
import type { AppInfo } from '../protocol/app-info';
import { IPC_CALL, IPC_EVENT, IPC_PICK_FILE, IPC_PICK_FOLDER } from '../protocol/ipc-channels';
import { APP_VERSION_SWITCH } from '../protocol/renderer-args';
import { dispatchStudioCall } from '../protocol/service-dispatch';
import { utilityLauncher } from './utility-launcher';

/** How long running trainings get to write their checkpoint when the app quits. */
const QUIT_GRACE_MS = 60_000;

function rendererUrl(): string {
  const devServerUrl = process.env['ELECTRON_RENDERER_URL'];
  if (!app.isPackaged && devServerUrl) return devServerUrl;
  return pathToFileURL(join(import.meta.dirname, '../renderer/index.html')).href;
}

/** The page URL without its fragment, normalised (`http://host:port` and `http://host:port/` are the same page). */
function pageOf(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

function createMainWindow(appInfo: AppInfo): BrowserWindow {
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
      additionalArguments: [`${APP_VERSION_SWITCH}=${appInfo.version}`],
    },
  });
  window.once('ready-to-show', () => window.show());

  // The window only ever shows our renderer (reloads included); links to the web open in the system browser.
  const url = rendererUrl();
  window.webContents.on('will-navigate', (event, target) => {
    if (pageOf(target) !== pageOf(url)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url: target }) => {
    if (target.startsWith('https://')) void shell.openExternal(target);
    return { action: 'deny' };
  });

  void window.loadURL(url);
  return window;
}

void app.whenReady().then(() => {
  const appInfo: AppInfo = { name: app.getName(), version: app.getVersion() };
  const warn = (message: string) => console.warn(`SAE Studio: ${message}`);
  const { service, supervisor, close, markInterruptedRuns } = openStudio({
    launcher: utilityLauncher(join(import.meta.dirname, 'engine.js')),
    appInfo,
    ownerName: 'the SAE Studio app',
    onWarning: warn,
  });
  markInterruptedRuns();

  ipcMain.handle(IPC_CALL, (_event, method: unknown, request: unknown) =>
    dispatchStudioCall(service, String(method), request, {
      onInternalError: (m, err) =>
        warn(`internal error in ${m}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    }),
  );
  supervisor.subscribe((event) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send(IPC_EVENT, event);
  });
  ipcMain.handle(IPC_PICK_FOLDER, async (event, title: unknown) => {
    const owner = BrowserWindow.fromWebContents(event.sender);
    const options = { title: String(title), properties: ['openDirectory' as const] };
    const r = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    return r.canceled ? null : (r.filePaths[0] ?? null);
  });
  ipcMain.handle(IPC_PICK_FILE, async (event, title: unknown, filters: unknown) => {
    const owner = BrowserWindow.fromWebContents(event.sender);
    const options = {
      title: String(title),
      properties: ['openFile' as const],
      filters: Array.isArray(filters) ? (filters as Electron.FileFilter[]) : [],
    };
    const r = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    return r.canceled ? null : (r.filePaths[0] ?? null);
  });

  createMainWindow(appInfo);
  // macOS keeps the app running without windows; clicking the dock icon opens a new one.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow(appInfo);
  });

  // Quitting lets running trainings write a checkpoint (so they can be resumed), then closes the store.
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void close(QUIT_GRACE_MS).finally(() => app.quit());
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
