import type { ArgsOf, InvokeChannel, IpcResult, ResultOf } from '../../preload/contract.js';
import { APP_ORIGIN, INVOKE_CHANNELS } from '../../preload/contract.js';
import { toIpcError } from './errors.js';
import { SCHEMAS } from './schemas.js';

/** Who sent a call, as Electron's IpcMainInvokeEvent tells it (or a test transport). */
export interface SenderInfo {
  /** The id of the sending webContents. */
  webContentsId: number;
  /** The URL of the frame that sent it; null when the frame is gone. */
  frameUrl: string | null;
}

/** Which senders may call: our own windows, showing a page from our own origin. */
export interface TrustPolicy {
  origin: string;
  isOurWindow(webContentsId: number): boolean;
}

export type Handler<C extends InvokeChannel> = (args: ArgsOf<C>) => Promise<ResultOf<C>> | ResultOf<C>;
export type Handlers = { [C in InvokeChannel]: Handler<C> };

export function originOf(url: string | null): string | null {
  if (url === null) return null;
  try {
    const u = new URL(url);
    // Custom schemes have an opaque origin ("null") in the URL standard; compare scheme://host.
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

export function isTrustedSender(sender: SenderInfo, policy: TrustPolicy): boolean {
  return policy.isOurWindow(sender.webContentsId) && originOf(sender.frameUrl) === policy.origin;
}

export const ELECTRON_TRUST = (windows: () => number[]): TrustPolicy => ({
  origin: APP_ORIGIN,
  isOurWindow: (id) => windows().includes(id),
});

export type Dispatch = <C extends InvokeChannel>(channel: C, sender: SenderInfo, rawArgs: unknown) => Promise<IpcResult<ResultOf<C>>>;

/**
 * The one path every call takes, whatever the transport: refuse foreign senders, refuse unknown
 * channels, validate the argument against the channel's schema, run the handler, and return a
 * result instead of throwing.
 */
export function createDispatcher(handlers: Handlers, policy: TrustPolicy): Dispatch {
  return async function dispatch<C extends InvokeChannel>(channel: C, sender: SenderInfo, rawArgs: unknown): Promise<IpcResult<ResultOf<C>>> {
    if (!isTrustedSender(sender, policy)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: `${String(channel)}: refused a call from ${sender.frameUrl ?? 'a closed frame'} (not this app's window)` } };
    }
    if (!(INVOKE_CHANNELS as string[]).includes(channel)) {
      return { ok: false, error: { code: 'VALIDATION', message: `unknown channel "${String(channel)}"` } };
    }
    const parsed = SCHEMAS[channel].safeParse(rawArgs);
    if (!parsed.success) {
      return { ok: false, error: toIpcError(parsed.error) };
    }
    try {
      const handler = handlers[channel] as Handler<C>;
      const value = await handler(parsed.data as ArgsOf<C>);
      return { ok: true, value };
    } catch (e) {
      const error = toIpcError(e);
      if (error.code === 'INTERNAL') console.error(`ssse: ${String(channel)} failed:`, e);
      return { ok: false, error };
    }
  };
}
