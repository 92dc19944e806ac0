/**
 * Electron main process: opens the SAE Studio window (sandboxed, context-isolated, no Node in the page) and loads
 * the renderer from the electron-vite dev server or from the built files.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, shell } from 'electron';
import type { AppInfo } from '../protocol/app-info';
import { APP_VERSION_SWITCH } from '../protocol/renderer-args';

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
    width: 1280,
    height: 800,
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
  createMainWindow(appInfo);
  // macOS keeps the app running without windows; clicking the dock icon opens a new one.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow(appInfo);
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
