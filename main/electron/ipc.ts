import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { EventChannel, EventMap, InvokeChannel } from '../../preload/contract.js';
import { INVOKE_CHANNELS } from '../../preload/contract.js';
import type { Dispatch, SenderInfo } from '../ipc/dispatch.js';

export function senderOf(event: IpcMainInvokeEvent): SenderInfo {
  return { webContentsId: event.sender.id, frameUrl: event.senderFrame?.url ?? null };
}

/** Binds every invoke channel of the contract to the dispatcher; Electron only carries the call. */
export function bindIpc(ipcMain: IpcMain, dispatch: Dispatch): void {
  for (const channel of INVOKE_CHANNELS) {
    ipcMain.handle(channel, (event, args: unknown) => dispatch(channel as InvokeChannel, senderOf(event), args));
  }
}

export function sendEvent<C extends EventChannel>(targets: WebContents[], channel: C, payload: EventMap[C]): void {
  for (const wc of targets) if (!wc.isDestroyed()) wc.send(channel, payload);
}
