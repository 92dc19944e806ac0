/**
 * Electron main process: opens the SAE Studio window (sandboxed, context-isolated, no Node in the page, served from
 * the app's own `app://` protocol), serves the StudioService to it over IPC (one `invoke` channel through the same
 * dispatcher as `sae-studio serve`, sender and arguments checked), forwards job events, runs jobs in utility
 * processes under the supervisor, and gives the page the native file dialogs. The pieces are in shell.ts.
 */
import { registerAppScheme, startApp } from './shell';

registerAppScheme(); // before the app is ready
void startApp();
