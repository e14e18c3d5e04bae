/** Hash routes: #/requests, #/requests/new, #/requests/12, #/models, #/audit. */
export type Route =
  | { view: 'requests' }
  | { view: 'new-request'; modelVersionId: number | null }
  | { view: 'report'; requestId: number }
  | { view: 'models' }
  | { view: 'audit' };

export function parseRoute(hash: string): Route {
  const [pathPart = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = pathPart.split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  if (parts[0] === 'requests' && parts[1] === 'new') {
    const v = Number(params.get('model'));
    return { view: 'new-request', modelVersionId: Number.isInteger(v) && v > 0 ? v : null };
  }
  if (parts[0] === 'requests' && parts[1] && /^\d+$/.test(parts[1])) return { view: 'report', requestId: Number(parts[1]) };
  if (parts[0] === 'models') return { view: 'models' };
  if (parts[0] === 'audit') return { view: 'audit' };
  return { view: 'requests' };
}
