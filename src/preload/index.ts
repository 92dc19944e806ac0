/**
 * Preload for the sandboxed renderer: exposes our API object as `window.api` and nothing else. It is built as one
 * CommonJS file (see electron.vite.config.ts) because sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createApi } from './api';

const api = createApi(process.argv, ipcRenderer);

contextBridge.exposeInMainWorld('api', api);
