import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ConfirmDialog, ErrorBox, ProgressBar } from '../../components/common';
import { api, describeError } from '../../lib/api';
import { socket } from '../../lib/app-state';
import { refreshRollout, rollouts } from '../../lib/live';
import { nodeHref } from '../../lib/router';
import { useStore } from '../../lib/store';
import type { Rollout } from '../../lib/live';
import { ACTIVE, SETTLED_NODE, asList, countdown, summarise } from './shared';

export function RolloutsPanel() {
  const map = useStore(rollouts);
  const conn = useStore(socket.state);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    void api('/api/rollouts')
      .then((body) => {
        const list = asList<Rollout>(body, 'rollouts');
        const m = rollouts.get();
        for (const r of list) m.set(r.id, { ...m.get(r.id), ...r });
        rollouts.changed();
        setError(null);
        for (const r of list) if (ACTIVE.includes(r.status) && (!r.nodes || r.nodes.length === 0)) void refreshRollout(r.id);
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [conn.opens]);

  /** Retry / rollback of a finished rollout (issue 17 §4, §7): the new rollout joins the running ones. */
  const followUp = async (r: Rollout, action: 'retry' | 'rollback') => {
    setError(null);
    try {
      const next = await api<Rollout>(`/api/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST' });
      rollouts.get().set(next.id, next);
      if (action === 'rollback') rollouts.get().set(r.id, { ...r, rollbackId: next.id });
      rollouts.changed();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const all = [...map.values()].filter((r) => !r.dryRun).sort((a, b) => (b.createdAt ?? b.startedAt ?? '').localeCompare(a.createdAt ?? a.startedAt ?? ''));
  const active = all.filter((r) => ACTIVE.includes(r.status));
  const history = all.filter((r) => !ACTIVE.includes(r.status));

  return (
    <>
      <section class="card" aria-labelledby="active-title">
        <h2 id="active-title">Running rollouts</h2>
        {error ? <ErrorBox title="Rollouts could not be read">{error}</ErrorBox> : null}
        {active.length === 0 ? <p class="muted">No rollout is running.</p> : active.map((r) => <RolloutCard key={r.id} rollout={r} />)}
      </section>
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {history.length === 0 ? (
          <p class="muted">No finished rollout yet.</p>
        ) : (
          <table class="table" data-testid="rollout-history">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Firmware</th>
                <th scope="col">Nodes</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">
                  <span class="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {history.map((r) => (
                <Fragment key={r.id}>
                  <tr data-rollout-id={r.id} data-status={r.status}>
                    <td>
                      <span class={`rstatus rstatus-${r.status}`}>{r.status}</span>
                    </td>
                    <td>
                      {r.firmware.name} {r.firmware.version}
                    </td>
                    <td>{summarise(r)}</td>
                    <td>{r.startedAt ? new Date(r.startedAt).toLocaleString() : '–'}</td>
                    <td>{r.finishedAt ? new Date(r.finishedAt).toLocaleString() : '–'}</td>
                    <td>
                      <button type="button" class="small" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                        {open === r.id ? 'Hide' : 'Details'}
                      </button>{' '}
                      {(r.nodes ?? []).some((n) => n.state === 'failed') ? (
                        <button type="button" class="small" onClick={() => void followUp(r, 'retry')}>
                          Retry failed
                        </button>
                      ) : null}{' '}
                      {(r.nodes ?? []).some((n) => n.state === 'succeeded') && !r.rollbackId ? (
                        <button type="button" class="small danger" onClick={() => void followUp(r, 'rollback')}>
                          Roll back
                        </button>
                      ) : null}
                    </td>
                  </tr>
                  {open === r.id ? (
                    <tr>
                      <td colSpan={6}>
                        <RolloutNodes rollout={r} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

export function RolloutCard({ rollout: r }: { rollout: Rollout }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const done = (r.nodes ?? []).filter((n) => SETTLED_NODE.includes(n.state)).length;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (r.status !== 'scheduled') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [r.status]);
  const control = async (action: 'pause' | 'resume' | 'cancel') => {
    setBusy(true);
    setError(null);
    try {
      const res = await api<Rollout>(`/api/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST' });
      if (res && typeof res === 'object' && 'id' in res) {
        rollouts.get().set(r.id, { ...r, ...res });
        rollouts.changed();
      } else void refreshRollout(r.id);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article class="rollout" data-testid="rollout" data-rollout-id={r.id} data-status={r.status} aria-label={`Rollout of ${r.firmware.name} ${r.firmware.version}`}>
      <header class="rollout-head">
        <h3>
          {r.firmware.name} {r.firmware.version} <span class={`rstatus rstatus-${r.status}`}>{r.status}</span>
        </h3>
        <span class="muted">
          {done} of {r.nodes?.length ?? 0} node(s) finished
        </span>
        <div class="toolbar">
          {r.status === 'paused' ? (
            <button type="button" disabled={busy} onClick={() => void control('resume')}>
              Resume
            </button>
          ) : (
            <button type="button" disabled={busy || (r.status !== 'running' && r.status !== 'scheduled')} onClick={() => void control('pause')}>
              Pause
            </button>
          )}
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirmCancel(true)}>
            Cancel…
          </button>
        </div>
      </header>
      {r.status === 'scheduled' ? (
        <p class="notice" data-testid="rollout-countdown">
          {r.waitingFor === 'window' ? 'Waiting for its maintenance window' : 'Scheduled'}
          {r.nextRunAt ? `: starts ${countdown(r.nextRunAt, now)} (${new Date(r.nextRunAt).toLocaleString()})` : ''}
        </p>
      ) : r.waitingFor === 'joiners' ? (
        <p class="notice" data-testid="rollout-joiners">Open for nodes that join later{r.dynamicUntil ? ` until ${new Date(r.dynamicUntil).toLocaleString()}` : ''}.</p>
      ) : null}
      <ProgressBar value={done} max={r.nodes?.length || 1} label="Rollout progress" state={r.status === 'failed' ? 'failed' : undefined} />
      {error ? (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      <RolloutNodes rollout={r} />
      <ConfirmDialog open={confirmCancel} title="Cancel this rollout?" confirmLabel="Cancel rollout" danger onCancel={() => setConfirmCancel(false)} onConfirm={() => (setConfirmCancel(false), void control('cancel'))}>
        <p>Nodes being updated now finish their update; no other node is touched.</p>
      </ConfirmDialog>
    </article>
  );
}

export function RolloutNodes({ rollout: r }: { rollout: Rollout }) {
  return (
    <table class="table compact" data-testid="rollout-nodes">
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">State</th>
          <th scope="col">Progress</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {(r.nodes ?? []).map((n) => (
          <tr key={n.ip} data-ip={n.ip} data-state={n.state}>
            <td>
              <a href={nodeHref(n.ip)}>{n.hostname}</a> <span class="muted mono">{n.ip}</span>
            </td>
            <td>
              <span class={`nstate nstate-${n.state}`}>{n.state}</span>
            </td>
            <td class="c-progress">
              <ProgressBar value={n.state === 'succeeded' ? 100 : n.progress} label={`${n.hostname} progress`} state={n.state === 'failed' ? 'failed' : n.state === 'succeeded' ? 'succeeded' : undefined} />
            </td>
            <td>{n.error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
