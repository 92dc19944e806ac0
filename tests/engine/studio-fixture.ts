// A studio on a temporary home for the engine tests: store, supervisor (real engine child processes, started from
// the sources through tsx), the service, and a client over the in-memory transport; plus the events it published.
import { studioHome, type StudioHome } from '../../src/core/home';
import { openStore, type Store } from '../../src/core/store';
import type { EngineLauncher, EngineProcess } from '../../src/engine/engine-launcher';
import { nodeForkLauncher, sourceEngineEntry } from '../../src/engine/node-fork-launcher';
import { createStudioService, type StudioServiceHandle } from '../../src/engine/studio-service';
import { Supervisor } from '../../src/engine/supervisor';
import type { StudioEvent } from '../../src/protocol/jobs';
import { createInMemoryTransport, createStudioClient, type StudioClient } from '../../src/protocol/studio-client';
import { tempHome } from '../helpers/train-fixtures';

export interface StudioFixture {
  home: StudioHome;
  store: Store;
  supervisor: Supervisor;
  service: StudioServiceHandle;
  client: StudioClient;
  /** Every event published so far. */
  events: StudioEvent[];
  /** Engine processes started so far, oldest first. */
  engines: EngineProcess[];
  warnings: string[];
  close(): Promise<void>;
}

/** `root`: an existing home to open (default: a new temporary one). */
export function createStudioFixture(root: string = tempHome()): StudioFixture {
  const home = studioHome(root);
  const store = openStore({ dir: home.root });
  const engines: EngineProcess[] = [];
  const inner = nodeForkLauncher(sourceEngineEntry());
  const launcher: EngineLauncher = {
    launch: (env) => {
      const p = inner.launch(env);
      engines.push(p);
      return p;
    },
  };
  const warnings: string[] = [];
  const supervisor = new Supervisor({
    store,
    home,
    launcher,
    metricsBatch: { points: 5, ms: 200 },
    cancelGraceMs: 30_000,
    onWarning: (m) => warnings.push(m),
  });
  const service = createStudioService({
    store,
    home,
    supervisor,
    appInfo: { name: 'SAE Studio', version: '0.0.0-test' },
    backend: 'wasm',
  });
  const client = createStudioClient(createInMemoryTransport(service, supervisor));
  const events: StudioEvent[] = [];
  client.subscribe((e) => events.push(e));
  return {
    home,
    store,
    supervisor,
    service,
    client,
    events,
    engines,
    warnings,
    async close() {
      await supervisor.shutdown(10_000);
      service.close();
      store.close();
    },
  };
}

/** Resolves with the first event (from now or already published) that matches. */
export function nextEvent(
  f: StudioFixture,
  match: (e: StudioEvent) => boolean,
  timeoutMs = 60_000,
): Promise<StudioEvent> {
  const seen = f.events.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (stop(), reject(new Error('timed out waiting for an event'))), timeoutMs);
    const stop = f.supervisor.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      stop();
      resolve(e);
    });
  });
}

export const messagesOf = (f: StudioFixture, jobId: string) =>
  f.events.filter((e) => e.jobId === jobId).map((e) => e.message);
