import { ApiKeyBanner, ApiKeyButton } from './components/api-key';
import { ConnectionBanner, ConnectionPill } from './components/common';
import { ClusterPage } from './pages/cluster-page';
import { DevicesPage } from './pages/devices-page';
import { EventsPage } from './pages/events-page';
import { FirmwarePage } from './pages/firmware';
import { NodePage } from './pages/node';
import { AlertsPage } from './pages/alerts-page';
import { LogsPage } from './pages/logs-page';
import { SettingsPage } from './pages/settings-page';
import { HealthPill } from './components/health-pill';
import { ThemeSwitch } from './components/theme-switch';
import { route } from './lib/router';
import { useStore } from './lib/store';
import { useEffect } from 'preact/hooks';

const NAV: Array<{ href: string; label: string; page: string }> = [
  { href: '/', label: 'Cluster', page: 'cluster' },
  { href: '/firmware', label: 'Firmware & rollouts', page: 'firmware' },
  { href: '/events', label: 'Events', page: 'events' },
  { href: '/devices', label: 'Devices', page: 'devices' },
  { href: '/alerts', label: 'Alerts', page: 'alerts' },
  { href: '/logs', label: 'Log', page: 'logs' },
  { href: '/settings', label: 'Settings', page: 'settings' },
];

const TITLES: Record<string, string> = { cluster: 'Cluster', node: 'Node', firmware: 'Firmware & rollouts', events: 'Events', devices: 'Devices', settings: 'Settings', alerts: 'Alerts', logs: 'Log', missing: 'Not found' };

export function App() {
  const r = useStore(route);
  useEffect(() => {
    document.title = `${r.page === 'node' ? r.ip : TITLES[r.page]} · SPORE Gateway`;
    // Move focus to the new page's heading so keyboard and screen-reader users land on it.
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1 && document.activeElement && document.activeElement !== document.body && !h1.contains(document.activeElement)) {
      h1.tabIndex = -1;
      h1.focus({ preventScroll: true });
    }
  }, [r]);

  let page;
  switch (r.page) {
    case 'cluster':
      page = <ClusterPage />;
      break;
    case 'node':
      page = <NodePage ip={r.ip} key={r.ip} />;
      break;
    case 'firmware':
      page = <FirmwarePage />;
      break;
    case 'events':
      page = <EventsPage />;
      break;
    case 'devices':
      page = <DevicesPage />;
      break;
    case 'settings':
      page = <SettingsPage />;
      break;
    case 'alerts':
      page = <AlertsPage />;
      break;
    case 'logs':
      page = <LogsPage />;
      break;
    default:
      page = (
        <section class="page">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{r.path}</code>. <a href="/">Go to the cluster</a>.
          </p>
        </section>
      );
  }
  const current = r.page === 'node' ? 'cluster' : r.page;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label="SPORE Gateway home">
          <span class="logo" aria-hidden="true" />
          SPORE Gateway
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.page}>
                <a href={n.href} aria-current={current === n.page ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="topbar-end">
          <HealthPill />
          <ConnectionPill />
          <a class="docs-link" href="/api/docs" target="_blank" rel="noopener" data-testid="api-docs-link">
            API docs
          </a>
          <ThemeSwitch />
          <ApiKeyButton />
        </div>
      </header>
      <ApiKeyBanner />
      <ConnectionBanner />
      <main id="main">{page}</main>
    </>
  );
}
