/**
 * The whole back end of one studio, as the desktop app's main process and `sae-studio serve` both open it: the home
 * folder, the store, the supervisor running jobs through the given launcher, and the StudioService over them.
 */
import { studioHome, type StudioHome } from '../core/home';
import { openStore, type Store } from '../core/store';
import type { BackendRequest } from '../core/tensor/backend';
import type { AppInfo } from '../protocol/app-info';
import type { EngineLauncher } from './engine-launcher';
import { confinedPaths } from './path-policy';
import { createStudioService, type StudioServiceHandle } from './studio-service';
import { Supervisor } from './supervisor';

export interface Studio {
  home: StudioHome;
  store: Store;
  supervisor: Supervisor;
  service: StudioServiceHandle;
  /** Runs the store still called running when the studio opened: marked failed (and resumable). */
  interrupted: string[];
  /** Cancels running jobs (trainings checkpoint within graceMs), then closes the service and the store. */
  close(graceMs: number): Promise<void>;
}

export function openStudio(opts: {
  launcher: EngineLauncher;
  appInfo: AppInfo;
  backend?: BackendRequest;
  onWarning?: (message: string) => void;
  home?: StudioHome;
  /**
   * Confines the files requests may name to the home and these folders (`sae-studio serve`); undefined: no
   * confinement (the desktop app).
   */
  allowFolders?: readonly string[];
}): Studio {
  const home = opts.home ?? studioHome();
  const store = openStore({ dir: home.root });
  const supervisor = new Supervisor({ store, home, launcher: opts.launcher, onWarning: opts.onWarning });
  const interrupted = supervisor.markInterruptedRuns();
  const paths = opts.allowFolders ? confinedPaths([home.root, ...opts.allowFolders]) : null;
  const service = createStudioService({
    store,
    home,
    supervisor,
    backend: opts.backend,
    appInfo: opts.appInfo,
    paths,
  });
  let closed: Promise<void> | null = null;
  return {
    home,
    store,
    supervisor,
    service,
    interrupted,
    close: (graceMs) =>
      (closed ??= supervisor.shutdown(graceMs).finally(() => {
        service.close();
        store.close();
      })),
  };
}
