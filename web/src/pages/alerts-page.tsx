import { useState } from 'preact/hooks';
import { Empty } from '../components/common';
import { alerts, type AlertView } from '../lib/gateway-health';
import { useStore } from '../lib/store';

function AlertRow({ a }: { a: AlertView }) {
  return (
    <li class={`alert-item alert-${a.state}`} data-testid="alert" data-alert={a.id} data-state={a.state}>
      <div class="alert-head">
        <strong>{a.subject}</strong> <span class="muted">{a.rule}</span>
      </div>
      <div>{a.message}</div>
      <div class="muted small-print">
        since {new Date(a.since).toLocaleString()}
        {a.resolvedAt ? ` · resolved ${new Date(a.resolvedAt).toLocaleString()}` : ''}
      </div>
    </li>
  );
}

/** Firing and recently resolved alerts, live; browser notifications on request (issue 15 §2). */
export function AlertsPage() {
  const list = useStore(alerts);
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);
  return (
    <section class="page">
      <h1>Alerts</h1>
      <p class="muted">
        Rules live in the <code>alerts</code> section of the configuration (<a href="/settings">Settings</a>). Alerts resolve by themselves when their condition clears.
      </p>
      <div class="toolbar">
        {permission === 'default' ? (
          <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>
            Notify me in this browser
          </button>
        ) : (
          <span class="muted small-print">Browser notifications: {permission}</span>
        )}
      </div>
      <div class="card">
        <h2>Firing</h2>
        {list.active.length === 0 ? <Empty title="No alert is firing." testId="no-alerts" /> : <ul class="alert-list" data-testid="active-alerts">{list.active.map((a) => <AlertRow key={a.id} a={a} />)}</ul>}
      </div>
      <div class="card">
        <h2>Resolved recently</h2>
        {list.recent.length === 0 ? <p class="muted">None.</p> : <ul class="alert-list" data-testid="recent-alerts">{list.recent.map((a) => <AlertRow key={`${a.id}-${a.resolvedAt}`} a={a} />)}</ul>}
      </div>
    </section>
  );
}
