/**
 * The whole back end of one studio, as the desktop app's main process and `sae-studio serve` both open it: the home
 * folder, the store, the supervisor running jobs through the given launcher, and the StudioService over them.
 *
 * Several studios may open one home; the first holds its lock (`<home>/locks/studio.lock`, with its pid) and is the
 * store's owner. Only the owner, and only once it is up (`markInterruptedRuns`, called by serve after it listens),
 * marks the runs the store still calls running as failed — never a run whose lock a live process holds. A studio
 * that is not the owner takes the lock over when the owner is gone.
 */
import { studioHome, type StudioHome } from '../core/home';
import { describeOwner, lockPath, tryLock, type HeldLock, type LockOwner } from '../core/util/pid-lock';
import { openStore, type Store } from '../core/store';
import type { BackendRequest } from '../core/tensor/backend';
import type { AppInfo } from '../protocol/app-info';
import type { EngineLauncher } from './engine-launcher';
import { confinedPaths } from './path-policy';
import { createStudioService, type StudioServiceHandle } from './studio-service';
import { Supervisor } from './supervisor';

/** How long a write of the studio's process blocks waiting for another process's write lock. */
export const STORE_BUSY_TIMEOUT_MS = 100;

export interface Studio {
  home: StudioHome;
  store: Store;
  supervisor: Supervisor;
  service: StudioServiceHandle;
  /**
   * Marks the runs the store still calls running, that no live process runs, as failed (resumable) — when this
   * studio owns the home (taking its lock over from an owner that is gone); returns their ids, and the owner that
   * kept this studio from doing it, if any.
   */
  markInterruptedRuns(): { marked: string[]; ownedBy: LockOwner | null };
  /** Cancels running jobs (trainings checkpoint within graceMs), then closes the service and the store. */
  close(graceMs: number): Promise<void>;
}

export function openStudio(opts: {
  launcher: EngineLauncher;
  appInfo: AppInfo;
  backend?: BackendRequest;
  onWarning?: (message: string) => void;
  home?: StudioHome;
  /** Names this process in its locks (`sae-studio serve`, `the desktop app`); default 'a studio'. */
  ownerName?: string;
  /** How long service calls retry a store locked by another process (default BUSY_RETRY_MS). */
  busyRetryMs?: number;
  /**
   * Confines the files requests may name to the home and these folders (`sae-studio serve`); undefined: no
   * confinement (the desktop app).
   */
  allowFolders?: readonly string[];
}): Studio {
  const home = opts.home ?? studioHome();
  // A write waits at most STORE_BUSY_TIMEOUT_MS for another process's lock, blocking the thread: the service and
  // the supervisor retry later rather than stall every request of the app or the server.
  const store = openStore({ dir: home.root, busyTimeoutMs: STORE_BUSY_TIMEOUT_MS });
  const ownerName = opts.ownerName ?? 'a studio';
  const supervisor = new Supervisor({
    store,
    home,
    launcher: opts.launcher,
    onWarning: opts.onWarning,
    lockOwnerName: ownerName,
  });
  let homeLock: HeldLock | null = null;
  const paths = opts.allowFolders ? confinedPaths([home.root, ...opts.allowFolders]) : null;
  const service = createStudioService({
    store,
    home,
    supervisor,
    backend: opts.backend,
    appInfo: opts.appInfo,
    paths,
    busyRetryMs: opts.busyRetryMs,
  });
  let closed: Promise<void> | null = null;
  return {
    home,
    store,
    supervisor,
    service,
    markInterruptedRuns() {
      if (!homeLock) {
        const attempt = tryLock(lockPath(home.root, 'studio'), ownerName);
        if (!attempt.ok) {
          opts.onWarning?.(
            `${home.root} is open in ${describeOwner(attempt.owner)}: runs it left running are its to mark`,
          );
          return { marked: [], ownedBy: attempt.owner };
        }
        homeLock = attempt.lock;
      }
      return { marked: supervisor.markInterruptedRuns(), ownedBy: null };
    },
    close: (graceMs) =>
      (closed ??= supervisor.shutdown(graceMs).finally(() => {
        service.close();
        store.close();
        homeLock?.release();
      })),
  };
}
