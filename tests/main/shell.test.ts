// The Electron main process against Electron's security checklist, through a stand-in of the `electron` module (no
// Electron binary): the window's options and its page on the app:// protocol (not file://), the protocol handler
// (only the renderer's files, the CSP as a header), the sender check and argument check of every IPC handler, the
// permission handlers denying everything, the openExternal allow-list, navigation and <webview> refused; and the
// fuses of the packaged build in electron-builder.yml.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_CALL, IPC_PICK_FILE, IPC_PICK_FOLDER } from '../../src/protocol/ipc-channels';
import { ROOT } from '../helpers/fixtures';

type Handler = (...args: unknown[]) => unknown;

const fake = vi.hoisted(() => {
  const listeners = (): Map<string, Handler[]> => new Map();
  const on = (map: Map<string, Handler[]>) => (name: string, fn: Handler) => {
    map.set(name, [...(map.get(name) ?? []), fn]);
  };
  class FakeWebContents {
    readonly events = listeners();
    openHandler: Handler | null = null;
    on = on(this.events);
    send = vi.fn();
    setWindowOpenHandler(fn: Handler) {
      this.openHandler = fn;
    }
  }
  class FakeWindow {
    static readonly all: FakeWindow[] = [];
    readonly webContents = new FakeWebContents();
    url: string | null = null;
    constructor(readonly options: Record<string, unknown>) {
      FakeWindow.all.push(this);
    }
    once() {}
    show() {}
    isDestroyed() {
      return false;
    }
    loadURL(url: string) {
      this.url = url;
      return Promise.resolve();
    }
    static getAllWindows() {
      return FakeWindow.all;
    }
    static fromWebContents() {
      return null;
    }
  }
  const appEvents = listeners();
  const ipcHandlers = new Map<string, Handler>();
  const protocols = new Map<string, Handler>();
  const session = { request: null as Handler | null, check: null as Handler | null };
  return {
    FakeWebContents,
    FakeWindow,
    appEvents,
    ipcHandlers,
    protocols,
    session,
    module: {
      app: {
        isPackaged: true,
        on: on(appEvents),
        whenReady: () => Promise.resolve(),
        getName: () => 'SAE Studio',
        getVersion: () => '9.9.9',
        quit: vi.fn(),
      },
      BrowserWindow: FakeWindow,
      dialog: { showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/picked/path'] })) },
      ipcMain: { handle: (channel: string, fn: Handler) => ipcHandlers.set(channel, fn) },
      protocol: {
        registerSchemesAsPrivileged: vi.fn(),
        handle: (scheme: string, fn: Handler) => protocols.set(scheme, fn),
      },
      session: {
        defaultSession: {
          setPermissionRequestHandler: (fn: Handler) => (session.request = fn),
          setPermissionCheckHandler: (fn: Handler) => (session.check = fn),
        },
      },
      shell: { openExternal: vi.fn(async () => undefined) },
      utilityProcess: { fork: vi.fn() },
    },
  };
});

vi.mock('electron', () => ({ ...fake.module, default: fake.module }));

const shellModule = await import('../../src/main/shell');
const { APP_PAGE, RENDERER_CSP, RENDERER_CSP_META, registerAppScheme, startApp } = shellModule;

const PAGE_FRAME = { url: `${APP_PAGE}#/runs`, parent: null };
const event = (senderFrame: unknown) => ({ senderFrame, sender: {} });
const invoke = (channel: string, e: unknown, ...args: unknown[]) =>
  Promise.resolve().then(() => fake.ipcHandlers.get(channel)!(e, ...args));

beforeAll(async () => {
  process.env.SAE_STUDIO_HOME = mkdtempSync(join(tmpdir(), 'sae-main-'));
  registerAppScheme();
  await startApp();
});

afterAll(async () => {
  // Quitting closes the studio (its store), then quits.
  const quit = fake.appEvents.get('before-quit')![0]!;
  quit({ preventDefault: () => undefined });
  for (let waited = 0; fake.module.app.quit.mock.calls.length === 0 && waited < 10_000; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
});

describe('the main window', () => {
  it('is sandboxed, context-isolated, without Node or webviews, and shows app://studio/index.html', () => {
    expect(fake.FakeWindow.all).toHaveLength(1);
    const win = fake.FakeWindow.all[0]!;
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(win.url).toBe('app://studio/index.html');
    expect(win.url).not.toMatch(/^file:/);
  });

  it('stays on its page: other navigations are stopped', () => {
    const [willNavigate] = fake.FakeWindow.all[0]!.webContents.events.get('will-navigate')!;
    const tried = (target: string) => {
      const e = { preventDefault: vi.fn() };
      willNavigate!(e, target);
      return e.preventDefault.mock.calls.length === 1;
    };
    expect(['https://evil.example/', 'file:///etc/passwd', 'app://other/index.html'].map(tried)).toEqual([
      true,
      true,
      true,
    ]);
    expect(tried('app://studio/index.html#/dictionaries')).toBe(false);
  });

  it('opens only allow-listed https links in the system browser, and never a window', () => {
    const open = fake.FakeWindow.all[0]!.webContents.openHandler!;
    const allowed = ['https://huggingface.co/openai-community/gpt2', 'https://github.com/OpenMOSS/Language-Model-SAEs'];
    const refused = [
      'http://huggingface.co/',
      'https://evil.example/',
      'https://huggingface.co.evil.example/',
      'https://user@huggingface.co/',
      'https://huggingface.co:8443/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'app://studio/index.html',
      'not a url',
    ];
    for (const url of [...allowed, ...refused]) expect(open({ url })).toEqual({ action: 'deny' });
    expect(fake.module.shell.openExternal.mock.calls.map((c: unknown[]) => c[0])).toEqual(allowed);
  });

  it('refuses <webview> and new windows in every web contents', () => {
    const [created] = fake.appEvents.get('web-contents-created')!;
    const contents = new fake.FakeWebContents();
    created!({}, contents);
    const e = { preventDefault: vi.fn() };
    contents.events.get('will-attach-webview')![0]!(e);
    expect(e.preventDefault).toHaveBeenCalledOnce();
    expect(contents.openHandler!({ url: 'https://huggingface.co/' })).toEqual({ action: 'deny' });
  });

  it('denies every permission request and check', () => {
    const answers: unknown[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'fullscreen', 'openExternal'])
      fake.session.request!({}, permission, (granted: boolean) => answers.push(granted));
    expect(answers).toEqual(Array(6).fill(false));
    expect(fake.session.check!({}, 'media', 'app://studio')).toBe(false);
  });
});

describe('the app:// protocol', () => {
  const get = (url: string, method = 'GET') =>
    fake.protocols.get('app')!(new Request(url, { method })) as Promise<Response>;

  it('is registered as a standard, secure scheme and serves the renderer with the CSP as a header', async () => {
    expect(fake.module.protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
    ]);
    for (const url of ['app://studio/index.html', 'app://studio/']) {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(RENDERER_CSP);
      expect(await res.text()).toContain('<div id="root">');
    }
  });

  it("sends the meta tag's policy and more in the header", () => {
    const html = readFileSync(join(ROOT, 'src', 'renderer', 'index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(RENDERER_CSP_META);
    expect(RENDERER_CSP.startsWith(`${RENDERER_CSP_META}; `)).toBe(true);
    expect(RENDERER_CSP).toContain("object-src 'none'");
    expect(RENDERER_CSP).toContain("frame-ancestors 'none'");
  });

  it('serves nothing outside the renderer, for no other host, and only GET / HEAD', async () => {
    // src/main/shell.ts exists one level above the renderer folder the tests serve (src/renderer).
    for (const url of [
      'app://studio/%2e%2e/main/shell.ts',
      'app://studio/..%2fmain%2fshell.ts',
      'app://studio/../main/shell.ts',
      'app://other/index.html',
      'app://studio/no-such-file.js',
      'app://studio/%E0%A4%A',
    ])
      expect((await get(url)).status, url).toBe(404);
    expect((await get('app://studio/index.html', 'POST')).status).toBe(405);
  });
});

describe('IPC handlers', () => {
  const untrusted: [string, unknown][] = [
    ['a frame that is gone', null],
    ['a web page', { url: 'https://evil.example/', parent: null }],
    ['a file:// page', { url: 'file:///tmp/index.html', parent: null }],
    ['a sub-frame of our page', { url: APP_PAGE, parent: { url: APP_PAGE } }],
    ['another app:// host', { url: 'app://studio.evil/index.html', parent: null }],
  ];

  it('are exactly the call and the two dialogs', () => {
    expect([...fake.ipcHandlers.keys()].sort()).toEqual([IPC_CALL, IPC_PICK_FILE, IPC_PICK_FOLDER].sort());
  });

  it.each(untrusted)('refuse a message from %s on every channel, before doing anything', async (_, frame) => {
    for (const [channel, args] of [
      [IPC_CALL, ['appInfo', {}]],
      [IPC_PICK_FOLDER, ['Choose']],
      [IPC_PICK_FILE, ['Choose', []]],
    ] as const) {
      await expect(invoke(channel, event(frame), ...args)).rejects.toThrow(/refused a message from/);
    }
    expect(fake.module.dialog.showOpenDialog).not.toHaveBeenCalled();
  });

  it('answer our page', async () => {
    expect(await invoke(IPC_CALL, event(PAGE_FRAME), 'appInfo', {})).toEqual({
      ok: true,
      result: { name: 'SAE Studio', version: '9.9.9' },
    });
    expect(await invoke(IPC_PICK_FOLDER, event(PAGE_FRAME), 'Choose a model folder')).toBe('/picked/path');
    const filters = [{ name: 'Datasets', extensions: ['jsonl', 'parquet', 'txt'] }];
    expect(await invoke(IPC_PICK_FILE, event(PAGE_FRAME), 'Choose a dataset', filters)).toBe('/picked/path');
    expect(fake.module.dialog.showOpenDialog.mock.calls).toEqual([
      [{ title: 'Choose a model folder', properties: ['openDirectory'] }],
      [{ title: 'Choose a dataset', properties: ['openFile'], filters }],
    ]);
  });

  it.each([
    ['a title that is no string', IPC_PICK_FOLDER, [{ toString: 'x' }]],
    ['a title of 201 characters', IPC_PICK_FOLDER, ['x'.repeat(201)]],
    ['no title', IPC_PICK_FOLDER, []],
    ['filters that are no list', IPC_PICK_FILE, ['Choose', 'not filters']],
    ['an extension with a path', IPC_PICK_FILE, ['Choose', [{ name: 'x', extensions: ['../../etc'] }]]],
    [
      'a filter with a default path',
      IPC_PICK_FILE,
      ['Choose', [{ name: 'x', extensions: ['txt'], defaultPath: '/etc' }]],
    ],
    ['an extra argument', IPC_PICK_FILE, ['Choose', [], 'extra']],
    ['a method that is no string', IPC_CALL, [42, {}]],
  ] as const)('refuse %s (%s) in one line, before the dialog opens', async (_, channel, args) => {
    const before = fake.module.dialog.showOpenDialog.mock.calls.length;
    const error = await invoke(channel, event(PAGE_FRAME), ...args).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^${channel}: argument [\\w.]*: `));
    expect((error as Error).message).not.toContain('\n');
    expect(fake.module.dialog.showOpenDialog.mock.calls.length).toBe(before);
  });
});

describe('the packaged build', () => {
  /** The `electronFuses:` block of electron-builder.yml, as key → boolean. */
  function fuses(): Record<string, boolean> {
    const yml = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8').split('\n');
    const start = yml.indexOf('electronFuses:');
    expect(start).toBeGreaterThanOrEqual(0);
    const out: Record<string, boolean> = {};
    for (const line of yml.slice(start + 1)) {
      const m = /^ {2}(\w+): (true|false)\s*(#.*)?$/.exec(line);
      if (!m) break;
      out[m[1]!] = m[2] === 'true';
    }
    return out;
  }

  it('sets the fuses: runAsNode off, cookie encryption on, ASAR integrity, only load the app from the ASAR', () => {
    expect(fuses()).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("names only fuses electron-builder knows (its configuration schema's FuseOptionsV1)", () => {
    const scheme = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8')) as {
      definitions: { FuseOptionsV1: { properties: Record<string, unknown> } };
    };
    const known = Object.keys(scheme.definitions.FuseOptionsV1.properties);
    for (const name of Object.keys(fuses())) expect(known, name).toContain(name);
  });

  it('needs no runAsNode: the main process starts engines as utility processes, never with child_process', () => {
    for (const file of readdirSync(join(ROOT, 'src', 'main'))) {
      const text = readFileSync(join(ROOT, 'src', 'main', file), 'utf8');
      expect(text, file).not.toMatch(/node:child_process|ELECTRON_RUN_AS_NODE/);
    }
  });
});
