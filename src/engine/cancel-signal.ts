/**
 * The abort signal a job sees. Besides the `cancel` message it answers to two things it can check synchronously:
 * the supervisor's cancel file, and the parent process going away (the engine is re-parented). Both matter because
 * the trainer's step loop never yields to the event loop, so neither a message nor 'disconnect' is delivered while it
 * runs; the trainer does read `signal.aborted` once per step, which is where these checks happen.
 */
import { existsSync } from 'node:fs';

export function cancelSignal(controller: AbortController, cancelFile: string | undefined): AbortSignal {
  const parent = process.ppid;
  const poll = () => {
    if (controller.signal.aborted) return;
    if ((cancelFile !== undefined && existsSync(cancelFile)) || process.ppid !== parent) controller.abort();
  };
  return new Proxy(controller.signal, {
    get(target, property) {
      if (property === 'aborted') poll();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    // Accessors such as `onabort` check that `this` is a real AbortSignal.
    set: (target, property, value) => Reflect.set(target, property, value, target),
  });
}
