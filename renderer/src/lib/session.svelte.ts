import { getApi } from './api.svelte';

const KEY = 'ssse-actor';

/** Who is acting: recorded with every training, certification and request in the audit log. */
class Session {
  actor = $state(typeof localStorage === 'undefined' ? '' : (localStorage.getItem(KEY) ?? ''));
  databasePath = $state('');

  async start(): Promise<void> {
    const r = await getApi().appInfo();
    if (!r.ok) return;
    this.databasePath = r.value.databasePath;
    if (!this.actor) this.actor = r.value.user;
  }

  setActor(actor: string): void {
    this.actor = actor;
    localStorage.setItem(KEY, actor);
  }
}

export const session = new Session();
