import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, describeError } from '../../lib/api';
import { DataTable, nextSort, type Column } from '../../components/data-table';
import { cluster, type NodeView } from '../../lib/cluster';
import { compareNames, compareVersions, formatBytes, parseLabels } from '../../lib/format';
import { refreshRollout, rollouts } from '../../lib/live';
import { useStore } from '../../lib/store';
import type { FirmwareRecord } from '../../../../src/contract/firmware';
import type { Rollout } from '../../lib/live';
import { parseWindowText, rolloutCounts } from './shared';

interface PickerCtx {
  chosen: Set<string>;
  setChosen: (s: Set<string>) => void;
  onTarget: (n: NodeView) => boolean;
}

/** The node picker: a chosen box, the node, its version (sortable; issue 15 §3 marks nodes already on the target). */
const PICKER_COLUMNS: Array<Column<NodeView, PickerCtx>> = [
  {
    label: 'Chosen',
    hiddenLabel: true,
    cell: (n, { chosen, setChosen }) => (
      <input
        type="checkbox"
        aria-label={`Update ${n.hostname}`}
        checked={chosen.has(n.ip)}
        onChange={(e) => {
          const next = new Set(chosen);
          if (e.currentTarget.checked) next.add(n.ip);
          else next.delete(n.ip);
          setChosen(next);
        }}
      />
    ),
  },
  {
    label: 'Node',
    sort: 'hostname',
    sortLabel: 'Sort nodes by hostname',
    cell: (n) => (
      <>
        {n.hostname} <span class="muted mono">{n.ip}</span>
      </>
    ),
  },
  {
    label: 'Version',
    sort: 'version',
    sortLabel: 'Sort nodes by version',
    cls: 'c-version',
    cellClass: 'mono',
    cellProps: () => ({ 'data-testid': 'picker-version' }),
    cell: (n, { onTarget }) => (
      <>
        {n.version ?? '–'}
        {onTarget(n) ? <span class="badge badge-on-target">already on target</span> : null}
      </>
    ),
  },
];

export function RolloutWizard({ firmware }: { firmware: FirmwareRecord[] }) {
  const st = useStore(cluster);
  const [firmwareId, setFirmwareId] = useState('');
  const [mode, setMode] = useState<'labels' | 'nodes'>('labels');
  const [labelText, setLabelText] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [nodeFilter, setNodeFilter] = useState('');
  const [pickerSort, setPickerSort] = useState<{ key: 'hostname' | 'version'; dir: 1 | -1 }>({ key: 'hostname', dir: 1 });
  const [batchSize, setBatchSize] = useState(2);
  const [maxFailures, setMaxFailures] = useState(0);
  const [bootTimeoutSec, setBootTimeoutSec] = useState(60);
  const [startAt, setStartAt] = useState('');
  const [windowText, setWindowText] = useState('');
  const [dynamic, setDynamic] = useState(false);
  const [autoRollback, setAutoRollback] = useState(false);
  const [plan, setPlan] = useState<Rollout | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  /** The rollout this wizard started: its message follows the rollout's real state. */
  const [startedId, setStartedId] = useState<string | null>(null);
  const live = useStore(rollouts);
  const started = startedId ? live.get(startedId) : undefined;

  useEffect(() => {
    if (!firmwareId && firmware.length) setFirmwareId(firmware[0]!.id);
    if (firmwareId && !firmware.some((f) => f.id === firmwareId)) setFirmwareId(firmware[0]?.id ?? '');
  }, [firmware]);

  const nodes = useMemo(() => [...st.nodes.values()].sort((a, b) => compareNames(a.hostname, b.hostname)), [st.structure]);
  const parsed = parseLabels(labelText);
  const matching = useMemo(() => {
    if (mode === 'nodes') return nodes.filter((n) => chosen.has(n.ip));
    return nodes.filter((n) => Object.entries(parsed.labels).every(([k, v]) => n.labels[k] === v));
  }, [mode, nodes, chosen, labelText]);
  // The target's version (issue 15 §3): nodes already running it are marked, in the picker and the match count.
  const targetVersion = firmware.find((f) => f.id === firmwareId)?.version ?? null;
  const onTarget = (n: { version: string | null }) => targetVersion !== null && n.version === targetVersion;
  const matchingOnTarget = matching.filter(onTarget);
  const visibleNodes = useMemo(() => {
    const needle = nodeFilter.trim().toLowerCase();
    const shown = nodes.filter((n) => !needle || `${n.hostname} ${n.ip} ${n.version ?? ''}`.toLowerCase().includes(needle));
    const cmp = pickerSort.key === 'version' ? (a: (typeof nodes)[0], b: (typeof nodes)[0]) => compareVersions(a.version, b.version) || compareNames(a.hostname, b.hostname) : (a: (typeof nodes)[0], b: (typeof nodes)[0]) => compareNames(a.hostname, b.hostname);
    return shown.sort((a, b) => pickerSort.dir * cmp(a, b));
  }, [nodes, nodeFilter, pickerSort, cluster.version]);

  const request = (dryRun: boolean) => ({
    firmwareId,
    target: mode === 'labels' ? (Object.keys(parsed.labels).length ? { labels: parsed.labels } : {}) : { ips: [...chosen] },
    batchSize,
    maxFailures,
    bootTimeoutSec,
    dryRun,
    ...(startAt ? { startAt: new Date(startAt).toISOString() } : {}),
    ...(win.window ? { window: win.window } : {}),
    ...(dynamic ? { dynamic: true } : {}),
    ...(autoRollback ? { autoRollback: true } : {}),
  });
  const win = parseWindowText(windowText);

  const submit = async (dryRun: boolean) => {
    setBusy(true);
    setMessage(null);
    try {
      const r = await api<Rollout>('/api/rollouts', { body: request(dryRun) });
      if (dryRun) setPlan(r);
      else {
        setPlan(null);
        // Its WebSocket progress may have arrived before this answer (a rollout can fail in
        // milliseconds): never replace newer state with the answer's snapshot, and read it again.
        const map = rollouts.get();
        const known = map.get(r.id);
        map.set(r.id, known ? { ...r, ...known, firmware: r.firmware } : r);
        rollouts.changed();
        void refreshRollout(r.id);
        setStartedId(r.id);
        setMessage(r.warnings?.length ? { kind: 'error', text: `Started despite: ${r.warnings.join(' ')}` } : null);
      }
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  const selected = firmware.find((f) => f.id === firmwareId);
  const invalid =
    !firmwareId || (mode === 'nodes' && chosen.size === 0) || parsed.error !== null || batchSize < 1 || maxFailures < 0 || bootTimeoutSec < 1 || win.error !== undefined || (dynamic && mode !== 'labels');

  return (
    <form class="card" aria-labelledby="wizard-title" onSubmit={(e) => (e.preventDefault(), void submit(false))} data-testid="rollout-wizard">
      <h2 id="wizard-title">New rollout</h2>
      {firmware.length === 0 ? <p class="muted">Upload a firmware image first.</p> : null}
      <fieldset>
        <legend>1. Firmware</legend>
        <label class="field">
          <span>Image</span>
          <select value={firmwareId} onChange={(e) => setFirmwareId(e.currentTarget.value)} name="firmware" aria-label="Firmware to roll out">
            {firmware.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name} {f.version} ({formatBytes(f.size)})
              </option>
            ))}
          </select>
        </label>
        {selected && selected.espImage === false ? (
          <p class="notice notice-warn" role="alert" data-testid="wizard-not-esp">
            {selected.name} {selected.version} is not an ESP8266 application image (it was stored with force): nodes will most likely reject it.
          </p>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>2. Nodes</legend>
        <div class="seg" role="radiogroup" aria-label="How to choose nodes">
          <label class="check">
            <input type="radio" name="target-mode" checked={mode === 'labels'} onChange={() => setMode('labels')} /> By labels
          </label>
          <label class="check">
            <input type="radio" name="target-mode" checked={mode === 'nodes'} onChange={() => setMode('nodes')} /> Choose nodes
          </label>
        </div>
        {mode === 'labels' ? (
          <label class="field">
            <span>Label selector (empty = every node)</span>
            <input value={labelText} onInput={(e) => setLabelText(e.currentTarget.value)} placeholder="role=sensor, site=lab" aria-invalid={parsed.error ? true : undefined} name="labels" />
          </label>
        ) : (
          <div class="node-picker">
            <div class="toolbar">
              <input type="search" placeholder="filter" aria-label="Filter nodes to choose" value={nodeFilter} onInput={(e) => setNodeFilter(e.currentTarget.value)} />
              <button type="button" class="small" onClick={() => setChosen(new Set(visibleNodes.map((n) => n.ip)))}>
                Select shown
              </button>
              <button type="button" class="small" onClick={() => setChosen(new Set())}>
                Clear
              </button>
            </div>
            <div class="picker-list" role="group" aria-label="Nodes to update">
              <DataTable
                compact
                testId="node-picker"
                columns={PICKER_COLUMNS}
                rows={visibleNodes.slice(0, 1000)}
                rowKey={(n) => n.ip}
                rowProps={(n) => ({ 'data-ip': n.ip, 'data-on-target': onTarget(n) ? 'true' : undefined, class: onTarget(n) ? 'on-target' : undefined })}
                ctx={{ chosen, setChosen, onTarget }}
                sort={pickerSort}
                onSort={(key) => setPickerSort((s) => nextSort(s, key as 'hostname' | 'version'))}
              />
            </div>
          </div>
        )}
        <p class="muted" data-testid="wizard-match">
          {matching.length} known node(s) match now.
        </p>
        {matchingOnTarget.length ? (
          <p class="notice" data-testid="wizard-on-target">
            {matchingOnTarget.length} of them already run {targetVersion}: {matchingOnTarget.slice(0, 5).map((n) => n.hostname).join(', ')}
            {matchingOnTarget.length > 5 ? ` and ${matchingOnTarget.length - 5} more` : ''}.{' '}
            {mode === 'nodes' ? (
              <button type="button" class="small" onClick={() => setChosen(new Set([...chosen].filter((ip) => !matchingOnTarget.some((n) => n.ip === ip))))}>
                Leave them out
              </button>
            ) : null}
          </p>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>3. Safety</legend>
        <div class="form-grid">
          <label class="field">
            <span>Batch size</span>
            <input type="number" min={1} value={batchSize} onInput={(e) => setBatchSize(Number(e.currentTarget.value))} name="batchSize" />
          </label>
          <label class="field">
            <span>Max failures</span>
            <input type="number" min={0} value={maxFailures} onInput={(e) => setMaxFailures(Number(e.currentTarget.value))} name="maxFailures" />
          </label>
          <label class="field">
            <span>Boot timeout (s)</span>
            <input type="number" min={1} value={bootTimeoutSec} onInput={(e) => setBootTimeoutSec(Number(e.currentTarget.value))} name="bootTimeoutSec" />
          </label>
        </div>
      </fieldset>
      <fieldset>
        <legend>4. When</legend>
        <div class="form-grid">
          <label class="field">
            <span>Start at (empty = now)</span>
            <input type="datetime-local" value={startAt} onInput={(e) => setStartAt(e.currentTarget.value)} name="startAt" />
          </label>
          <label class="field">
            <span>Maintenance window</span>
            <input value={windowText} onInput={(e) => setWindowText(e.currentTarget.value)} placeholder="sat,sun 02:00-05:00 Europe/Berlin" aria-invalid={win.error ? true : undefined} name="window" />
          </label>
        </div>
        {win.error ? <p class="notice notice-error">{win.error}</p> : null}
        <label class="check">
          <input type="checkbox" checked={dynamic} onChange={(e) => setDynamic(e.currentTarget.checked)} name="dynamic" /> Take nodes that join later (24 h, label selector only)
        </label>
        <label class="check">
          <input type="checkbox" checked={autoRollback} onChange={(e) => setAutoRollback(e.currentTarget.checked)} name="autoRollback" /> Roll back automatically if it fails
        </label>
      </fieldset>
      <div class="toolbar">
        <button type="button" disabled={invalid || busy} onClick={() => void submit(true)}>
          Preview (dry run)
        </button>
        <button type="submit" class="primary" disabled={invalid || busy}>
          Start rollout
        </button>
      </div>
      {started ? <StartedRollout rollout={started} /> : null}
      {message ? (
        <p class={`notice notice-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="wizard-error">
          {message.text}
        </p>
      ) : null}
      {plan ? <PlanPreview plan={plan} /> : null}
    </form>
  );
}

/** The state of the rollout the wizard started, as it changes (started → running → failed …). */
export function StartedRollout({ rollout: r }: { rollout: Rollout }) {
  const c = rolloutCounts(r);
  const settledBad = r.status === 'failed' || r.status === 'cancelled';
  const head =
    r.status === 'scheduled'
      ? `Rollout scheduled for ${c.toUpdate} node(s)`
      : r.status === 'pending' || r.status === 'running'
        ? `Rollout running on ${c.toUpdate} node(s)`
        : `Rollout ${r.status}`;
  return (
    <p class={`notice notice-${settledBad ? 'error' : r.status === 'succeeded' ? 'ok' : 'info'}`} role={settledBad ? 'alert' : 'status'} aria-live="polite" data-testid="wizard-message" data-status={r.status}>
      {head}: {c.text}
      {r.error ? ` — ${r.error}` : ''}
    </p>
  );
}

export function PlanPreview({ plan }: { plan: Rollout }) {
  const host = new Map(plan.nodes.map((n) => [n.ip, n.hostname]));
  const c = rolloutCounts(plan);
  return (
    <div class="plan" data-testid="rollout-plan" aria-live="polite">
      <h3>Dry run: {c.toUpdate} node(s) would be updated{c.skipped ? `, ${c.skipped} skipped` : ''}</h3>
      {plan.warnings?.length ? (
        <ul class="notice notice-warn" data-testid="plan-warnings">
          {plan.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      {plan.batches?.length ? (
        <ol>
          {plan.batches.map((b, i) => (
            <li key={i}>
              Batch {i + 1}: {b.map((ip) => `${host.get(ip) ?? ip} (${ip})`).join(', ')}
            </li>
          ))}
        </ol>
      ) : (
        <ul>
          {plan.nodes.map((n) => (
            <li key={n.ip}>
              {n.hostname} ({n.ip}) — {n.state}
            </li>
          ))}
        </ul>
      )}
      <p class="muted">Nothing was changed. Press “Start rollout” to run it.</p>
    </div>
  );
}
