import { Store } from './store';

/** The app's routes; the gateway serves index.html for every one of them (SPA fallback). */
export type Route =
  | { page: 'cluster' }
  | { page: 'node'; ip: string }
  | { page: 'firmware' }
  | { page: 'events' }
  | { page: 'devices' }
  | { page: 'settings' }
  | { page: 'alerts' }
  | { page: 'logs' }
  | { page: 'missing'; path: string };

export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/cluster') return { page: 'cluster' };
  const node = /^\/nodes\/([^/]+)$/.exec(path);
  if (node) return { page: 'node', ip: decodeURIComponent(node[1]!) };
  if (path === '/firmware') return { page: 'firmware' };
  if (path === '/events') return { page: 'events' };
  if (path === '/devices') return { page: 'devices' };
  if (path === '/settings') return { page: 'settings' };
  if (path === '/alerts') return { page: 'alerts' };
  if (path === '/logs') return { page: 'logs' };
  return { page: 'missing', path };
}

export const route = new Store<Route>(parseRoute(location.pathname));

export function navigate(href: string, replace = false): void {
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  route.set(parseRoute(location.pathname));
  window.scrollTo(0, 0);
}

export function startRouter(): void {
  window.addEventListener('popstate', () => route.set(parseRoute(location.pathname)));
  // Same-origin links navigate without a reload (modifier keys still open new tabs).
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}

export const nodeHref = (ip: string): string => `/nodes/${encodeURIComponent(ip)}`;
