// The preload's window.api over a recording IPC channel: one invoke channel for every StudioService call, events
// that can be unsubscribed, the dialogs, and the version passed by main.
import { describe, expect, it } from 'vitest';
import { createApi, type IpcChannel } from '../../src/preload/api';
import { IPC_CALL, IPC_EVENT, IPC_PICK_FILE, IPC_PICK_FOLDER } from '../../src/protocol/ipc-channels';
import { APP_VERSION_SWITCH } from '../../src/protocol/renderer-args';

function recordingChannel() {
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const channel: IpcChannel = {
    invoke: async (name, ...args) => {
      invoked.push([name, ...args]);
      return name === IPC_CALL ? { ok: true, result: { echoed: args[0] } } : '/picked';
    },
    on: (name, l) => void (listeners.get(name) ?? listeners.set(name, new Set()).get(name)!).add(l),
    removeListener: (name, l) => void listeners.get(name)?.delete(l),
  };
  const emit = (name: string, payload: unknown) => listeners.get(name)?.forEach((l) => l({ sender: 'main' }, payload));
  return { channel, invoked, emit, listeners };
}

describe('preload api', () => {
  it('carries calls, events and dialogs over its channels only', async () => {
    const ipc = recordingChannel();
    const api = createApi([`${APP_VERSION_SWITCH}=1.2.3`], ipc.channel);
    expect(api.version).toBe('1.2.3');
    expect(await api.call('listRuns', { limit: 5 })).toEqual({ ok: true, result: { echoed: 'listRuns' } });
    expect(await api.pickFolder('Choose')).toBe('/picked');
    expect(await api.pickFile('Choose a file', [{ name: 'Datasets', extensions: ['jsonl'] }])).toBe('/picked');
    expect(ipc.invoked).toEqual([
      [IPC_CALL, 'listRuns', { limit: 5 }],
      [IPC_PICK_FOLDER, 'Choose'],
      [IPC_PICK_FILE, 'Choose a file', [{ name: 'Datasets', extensions: ['jsonl'] }]],
    ]);

    const seen: unknown[] = [];
    const stop = api.onEvent((e) => seen.push(e));
    ipc.emit(IPC_EVENT, { jobId: 'j', kind: 'train', runId: 'r', message: { type: 'log', message: 'hi' } });
    stop();
    ipc.emit(IPC_EVENT, { jobId: 'j', kind: 'train', runId: 'r', message: { type: 'log', message: 'after' } });
    expect(seen).toEqual([{ jobId: 'j', kind: 'train', runId: 'r', message: { type: 'log', message: 'hi' } }]);
    expect(ipc.listeners.get(IPC_EVENT)?.size).toBe(0);
  });

  it('refuses to start without the version main passes', () => {
    expect(() => createApi([], recordingChannel().channel)).toThrow(/did not pass/);
  });
});
