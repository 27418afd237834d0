import { useEffect, useState } from 'preact/hooks';
import { ConfirmDialog, ErrorBox, ProgressBar } from '../../components/common';
import { DataTable, type Column } from '../../components/data-table';
import { api, describeError } from '../../lib/api';
import { socket } from '../../lib/app-state';
import { refreshRollout, rollouts } from '../../lib/live';
import { nodeHref } from '../../lib/router';
import { useStore } from '../../lib/store';
import { useApi } from '../../lib/use-api';
import type { Rollout } from '../../lib/live';
import { ACTIVE, SETTLED_NODE, asList, countdown, summarise } from './shared';

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '–');

const HISTORY_COLUMNS: Array<Column<Rollout, { open: string | null; setOpen: (id: string | null) => void; followUp: (r: Rollout, action: 'retry' | 'rollback') => Promise<void> }>> = [
  { label: 'Status', cell: (r) => <span class={`rstatus rstatus-${r.status}`}>{r.status}</span> },
  { label: 'Firmware', cell: (r) => `${r.firmware.name} ${r.firmware.version}` },
  { label: 'Nodes', cell: (r) => summarise(r) },
  { label: 'Started', cell: (r) => when(r.startedAt) },
  { label: 'Finished', cell: (r) => when(r.finishedAt) },
  {
    label: 'Details',
    hiddenLabel: true,
    cell: (r, { open, setOpen, followUp }) => (
      <>
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
      </>
    ),
  },
];

type RolloutNode = NonNullable<Rollout['nodes']>[number];

const NODE_COLUMNS: Array<Column<RolloutNode>> = [
  {
    label: 'Node',
    cell: (n) => (
      <>
        <a href={nodeHref(n.ip)}>{n.hostname}</a> <span class="muted mono">{n.ip}</span>
      </>
    ),
  },
  { label: 'State', cell: (n) => <span class={`nstate nstate-${n.state}`}>{n.state}</span> },
  {
    label: 'Progress',
    cellClass: 'c-progress',
    cell: (n) => <ProgressBar value={n.state === 'succeeded' ? 100 : n.progress} label={`${n.hostname} progress`} state={n.state === 'failed' ? 'failed' : n.state === 'succeeded' ? 'succeeded' : undefined} />,
  },
  { label: 'Error', cell: (n) => n.error ?? '' },
];

export function RolloutsPanel() {
  const map = useStore(rollouts);
  const conn = useStore(socket.state);
  const [actionError, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  // Read again whenever the WebSocket (re)opens; the list merges into the live store.
  const { error: loadError } = useApi('/api/rollouts', {
    deps: [conn.opens],
    map: (body) => asList<Rollout>(body, 'rollouts'),
    onData: (list) => {
      const m = rollouts.get();
      for (const r of list) m.set(r.id, { ...m.get(r.id), ...r });
      rollouts.changed();
      for (const r of list) if (ACTIVE.includes(r.status) && (!r.nodes || r.nodes.length === 0)) void refreshRollout(r.id);
    },
  });
  const error = actionError ?? (loadError ? describeError(loadError) : null);

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
          <DataTable
            testId="rollout-history"
            columns={HISTORY_COLUMNS}
            rows={history}
            rowKey={(r) => r.id}
            rowProps={(r) => ({ 'data-rollout-id': r.id, 'data-status': r.status })}
            detail={(r) => (open === r.id ? <RolloutNodes rollout={r} /> : null)}
            ctx={{ open, setOpen, followUp }}
          />
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
    <DataTable compact testId="rollout-nodes" columns={NODE_COLUMNS} rows={r.nodes ?? []} rowKey={(n) => n.ip} rowProps={(n) => ({ 'data-ip': n.ip, 'data-state': n.state })} />
  );
}
