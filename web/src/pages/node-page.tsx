import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { HistoryChart, RangePicker, type RangeKey } from '../components/history-chart';
import { ConfirmDialog, Empty, ErrorBox, KeyValues, Labels, Loading, PrimaryBadge, ProgressBar, StatusBadge } from '../components/common';
import { FileDrop } from '../components/file-drop';
import { api, apiFetch, ApiError, describeError, uploadForm } from '../lib/api';
import { clock, every } from '../lib/app-state';
import { choosePrimary, cluster } from '../lib/cluster';
import { displayValue, formatAgo, formatBytes, formatDuration, humanize } from '../lib/format';
import { addSample, onSample, seriesOf } from '../lib/history';
import { uploads } from '../lib/live';
import { useStore } from '../lib/store';
import type { ApiEndpoint, TasksStatusResponse as TasksStatus } from '../../../src/protocol/types';

/** The node's status is re-read this often while its page is open, ms. */
const STATUS_POLL_MS = 3000;

export function NodePage({ ip }: { ip: string }) {
  const st = useStore(cluster);
  const now = useStore(clock);
  const node = st.nodes.get(ip);
  const [status, setStatus] = useState<Record<string, unknown> | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [confirmRestart, setConfirmRestart] = useState(false);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  useEffect(() => {
    setStatus(null);
    setStatusError(null);
    let cancelled = false;
    const poll = async () => {
      const t0 = performance.now();
      try {
        const s = await api<Record<string, unknown>>(`/api/node/status/${encodeURIComponent(ip)}`);
        if (cancelled) return;
        const roundTrip = performance.now() - t0;
        setStatus(s);
        setStatusError(null);
        addSample(ip, Date.now(), { heap: typeof s.freeHeap === 'number' ? s.freeHeap : null, roundTrip });
      } catch (err) {
        if (!cancelled) setStatusError(describeError(err));
      }
    };
    const stop = every(STATUS_POLL_MS, () => void poll());
    return () => {
      cancelled = true;
      stop();
    };
  }, [ip]);

  if (!st.loaded) return <Loading what="the node" />;
  if (!node) {
    return (
      <section class="page">
        <h1>Node {ip}</h1>
        <Empty title={`No node at ${ip} is known to the gateway.`}>
          <p>
            It may have been removed after being DEAD for a while, or moved to another address. <a href="/">Back to the cluster</a>.
          </p>
        </Empty>
      </section>
    );
  }
  const isPrimary = st.primary === ip;

  const restart = async () => {
    setConfirmRestart(false);
    try {
      const res = await apiFetch('/api/proxy-call', { body: { ip, method: 'POST', uri: '/api/node/restart', params: [] } });
      const text = await res.text();
      setNotice(res.ok ? { kind: 'ok', text: `Restart requested: ${text}` } : { kind: 'error', text: `The node refused (${res.status}): ${text}` });
    } catch (err) {
      setNotice({ kind: 'error', text: describeError(err) });
    }
  };

  const resources: Array<[string, preact.ComponentChildren]> = [];
  if (status) {
    for (const [k, v] of Object.entries(status)) {
      if (k === 'api' || k === 'labels') continue;
      let shown: string = displayValue(v);
      if (k === 'freeHeap' || k === 'flashChipSize') shown = `${formatBytes(Number(v))} (${displayValue(v)} B)`;
      if (k === 'uptime' && typeof v === 'number') shown = formatDuration(v);
      if (k === 'chipId' && typeof v === 'number') shown = `${v} (0x${v.toString(16)})`;
      resources.push([humanize(k), shown]);
    }
  }

  return (
    <section class="page page-node" aria-labelledby="node-title" data-ip={ip}>
      <div class="page-head">
        <p class="crumbs">
          <a href="/">Cluster</a> › {node.hostname}
        </p>
        <h1 id="node-title">
          {node.hostname} <StatusBadge status={node.status} /> {isPrimary ? <PrimaryBadge /> : null}
        </h1>
        <p class="summary">
          <span class="mono">{ip}</span> · last seen <span data-testid="node-last-seen">{formatAgo(node.lastSeen, now)}</span> · labels <Labels labels={node.labels} />
        </p>
        <div class="toolbar">
          {!isPrimary ? (
            <button
              type="button"
              disabled={node.status !== 'ACTIVE'}
              onClick={() =>
                void choosePrimary(ip).then(
                  () => setNotice({ kind: 'ok', text: `${node.hostname} is now the primary node.` }),
                  (err) => setNotice({ kind: 'error', text: describeError(err) }),
                )
              }
            >
              Make primary
            </button>
          ) : null}
          <button type="button" class="danger" onClick={() => setConfirmRestart(true)}>
            Restart…
          </button>
        </div>
      </div>
      {notice ? (
        <p class={`notice notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      ) : null}

      <div class="grid-2">
        <section class="card" aria-labelledby="res-title">
          <h2 id="res-title">Resources</h2>
          {statusError ? (
            <ErrorBox title="The node's status could not be read">
              {statusError}. {node.status !== 'ACTIVE' ? 'The node is not ACTIVE: check its power and network.' : 'Retrying every few seconds.'}
            </ErrorBox>
          ) : null}
          {status ? <KeyValues pairs={resources} testId="node-resources" /> : statusError ? null : <Loading what="resources" />}
        </section>
        <NodeCharts ip={ip} hostname={node.hostname} />
      </div>

      <FirmwareUpdate ip={ip} hostname={node.hostname} />
      <Tasks ip={ip} />
      <Endpoints ip={ip} endpoints={(Array.isArray(status?.api) ? (status!.api as ApiEndpoint[]) : node.api) ?? []} />

      <ConfirmDialog open={confirmRestart} title={`Restart ${node.hostname}?`} confirmLabel="Restart" danger onCancel={() => setConfirmRestart(false)} onConfirm={() => void restart()}>
        <p>The node reboots and is silent for a few seconds; its tasks return to their start-up state.</p>
      </ConfirmDialog>
    </section>
  );
}

function NodeCharts({ ip, hostname }: { ip: string; hostname: string }) {
  const [version, setVersion] = useState(0);
  const [range, setRange] = useState<RangeKey>('1h');
  useEffect(() => onSample((changed) => changed === ip && setVersion((v) => v + 1)), [ip]);
  const s = seriesOf(ip);
  return (
    <section class="card" aria-labelledby="charts-title" data-testid="node-charts">
      <h2 id="charts-title">
        History <RangePicker value={range} onChange={setRange} />
      </h2>
      <HistoryChart
        title="Free heap"
        unit="bytes"
        range={range}
        series={[{ name: `nodes/${hostname}/freeHeap`, label: 'free heap (B)', color: '#2f8f5b' }]}
        live={{ t: s.t, values: [s.heap], version }}
      />
      <HistoryChart
        title="Latency"
        unit="ms"
        range={range}
        series={[{ name: `nodes/${hostname}/latency`, label: 'status poll round trip (ms)', color: '#3a6fd8' }]}
        live={{ t: s.t, values: [s.latency], version }}
      />
    </section>
  );
}

function FirmwareUpdate({ ip, hostname }: { ip: string; hostname: string }) {
  const all = useStore(uploads);
  const live = all.get(ip);
  const [file, setFile] = useState<File | null>(null);
  const [sending, setSending] = useState<{ loaded: number; total: number } | null>(null);
  const [result, setResult] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirm, setConfirm] = useState(false);

  const start = async () => {
    setConfirm(false);
    if (!file) return;
    setResult(null);
    setSending({ loaded: 0, total: file.size });
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const res = await uploadForm<{ success: boolean; size: number; sha256: string; nodeResponse: unknown }>(
        `/api/node/update?ip=${encodeURIComponent(ip)}`,
        form,
        (p) => setSending(p),
      );
      setResult(
        res.success
          ? { kind: 'ok', text: `${hostname} accepted the image (${formatBytes(res.size)}, sha256 ${res.sha256.slice(0, 12)}…) and is rebooting.` }
          : { kind: 'error', text: `${hostname} refused the image: ${JSON.stringify(res.nodeResponse)}` },
      );
    } catch (err) {
      setResult({ kind: 'error', text: describeError(err) });
    } finally {
      setSending(null);
    }
  };

  const liveText = live
    ? {
        started: 'Upload started',
        progress: 'Sending to the node',
        succeeded: 'The node accepted the image; waiting for it to come back',
        failed: `Update failed${live.error ? `: ${live.error}` : ''}`,
        verified: `Verified: the node is back${live.version ? ` on ${live.version}` : ''}`,
        unverified: `Unverified: the node did not come back as expected${live.error ? ` (${live.error})` : ''}`,
      }[live.status]
    : null;
  const liveState = live ? (live.status === 'failed' || live.status === 'unverified' ? 'failed' : live.status === 'verified' || live.status === 'succeeded' ? 'succeeded' : 'running') : undefined;

  return (
    <section class="card" aria-labelledby="fw-title">
      <h2 id="fw-title">Firmware update</h2>
      <p class="muted">
        Streams an image to this node only. To update many nodes safely, use a <a href="/firmware">rollout</a>.
      </p>
      <FileDrop label="Firmware image for this node" accept=".bin,application/octet-stream" file={file} onFile={setFile} />
      <div class="toolbar">
        <button type="button" class="primary" disabled={!file || sending !== null} onClick={() => setConfirm(true)}>
          Update {hostname}
        </button>
      </div>
      {sending ? (
        <div>
          <p>
            Uploading to the gateway: {formatBytes(sending.loaded)} of {formatBytes(sending.total)}
          </p>
          <ProgressBar value={sending.loaded} max={sending.total || 1} label="Upload to the gateway" />
        </div>
      ) : null}
      {live ? (
        <div data-testid="node-update-progress" data-status={live.status}>
          <p>
            {liveText} — {formatBytes(live.sent)} of {formatBytes(live.total)}
          </p>
          <ProgressBar value={live.sent} max={live.total || 1} label="Firmware sent to the node" state={liveState} />
        </div>
      ) : null}
      {result ? (
        <p class={`notice notice-${result.kind}`} role={result.kind === 'error' ? 'alert' : 'status'}>
          {result.text}
        </p>
      ) : null}
      <ConfirmDialog open={confirm} title={`Flash ${file?.name ?? 'this image'} to ${hostname}?`} confirmLabel="Update" danger onCancel={() => setConfirm(false)} onConfirm={() => void start()}>
        <p>The node writes the image ({formatBytes(file?.size ?? 0)}) and reboots into it. A wrong image can leave it unreachable until reflashed by cable.</p>
      </ConfirmDialog>
    </section>
  );
}

function Tasks({ ip }: { ip: string }) {
  const [tasks, setTasks] = useState<TasksStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const load = async () => {
    try {
      setTasks(await api<TasksStatus>(`/api/tasks/status?ip=${encodeURIComponent(ip)}`));
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => {
    setTasks(null);
    void load();
  }, [ip]);

  const control = async (task: string, action: string) => {
    setBusy(`${task}:${action}`);
    try {
      const res = await apiFetch('/api/proxy-call', {
        body: {
          ip,
          method: 'POST',
          uri: '/api/tasks/control',
          params: [
            { name: 'task', value: task, location: 'body' },
            { name: 'action', value: action, location: 'body' },
          ],
        },
      });
      if (!res.ok) setError(`The node refused ${action} ${task}: ${await res.text()}`);
      await load();
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="card" aria-labelledby="tasks-title">
      <h2 id="tasks-title">
        Tasks{' '}
        <button type="button" class="small" onClick={() => void load()}>
          Reload
        </button>
      </h2>
      {error ? <ErrorBox title="Task status could not be read">{error}</ErrorBox> : null}
      {!tasks && !error ? <Loading what="tasks" /> : null}
      {tasks ? (
        <>
          <p class="muted">
            {tasks.summary.activeTasks} of {tasks.summary.totalTasks} tasks enabled · free heap {formatBytes(tasks.system.freeHeap)} · uptime {formatDuration(tasks.system.uptime)}
          </p>
          <table class="table" data-testid="tasks">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Interval</th>
                <th scope="col">Enabled</th>
                <th scope="col">Running</th>
                <th scope="col">Auto-start</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tasks.tasks.map((t) => (
                <tr key={t.name}>
                  <td class="mono">{t.name}</td>
                  <td>{formatDuration(t.interval)}</td>
                  <td>{t.enabled ? 'yes' : 'no'}</td>
                  <td>{t.running ? <span class="status-text-active">running</span> : <span class="muted">stopped</span>}</td>
                  <td>{t.autoStart ? 'yes' : 'no'}</td>
                  <td class="actions">
                    {(t.enabled ? ['disable', t.running ? 'stop' : 'start'] : ['enable']).map((a) => (
                      <button type="button" class="small" key={a} disabled={busy !== null} onClick={() => void control(t.name, a)} aria-label={`${a} task ${t.name}`}>
                        {a}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function Endpoints({ ip, endpoints }: { ip: string; endpoints: ApiEndpoint[] }) {
  const list = useMemo(() => endpoints.filter((e) => e && typeof e.uri === 'string'), [endpoints]);
  return (
    <section class="card" aria-labelledby="ep-title">
      <h2 id="ep-title">API endpoints</h2>
      <p class="muted">Each form calls the node through the gateway (POST /api/proxy-call) and shows the node's answer.</p>
      {list.length === 0 ? <p class="muted">The node has not listed its endpoints yet.</p> : null}
      <div class="endpoints">
        {list.map((e, i) => (
          // Keyed by the declared parameters too: the first list (from the members) may lack them.
          <EndpointForm key={`${e.method} ${e.uri} ${i} ${(e.params ?? []).map((p) => p.name).join(',')}`} ip={ip} endpoint={e} />
        ))}
      </div>
    </section>
  );
}

interface ParamRow {
  name: string;
  value: string;
  location: 'query' | 'body';
}

function EndpointForm({ ip, endpoint }: { ip: string; endpoint: ApiEndpoint }) {
  const method = (endpoint.method || 'GET').toUpperCase();
  const declared = (endpoint.params ?? []).filter((p) => p.type !== 'file');
  const fileOnly = (endpoint.params ?? []).some((p) => p.type === 'file');
  const isRestart = method === 'POST' && endpoint.uri === '/api/node/restart';
  const [params, setParams] = useState<ParamRow[]>(() =>
    declared.map((p) => ({ name: p.name, value: '', location: p.location === 'query' ? 'query' : method === 'GET' ? 'query' : 'body' })),
  );
  const [answer, setAnswer] = useState<{ status: number; body: string; ms: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useRef(`ep-${Math.random().toString(36).slice(2, 8)}`).current;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const t0 = performance.now();
    try {
      const res = await apiFetch('/api/proxy-call', {
        body: { ip, method, uri: endpoint.uri, params: params.filter((p) => p.name && p.value !== '').map((p) => ({ name: p.name, value: p.value, location: p.location })) },
      });
      const text = await res.text();
      let body = text;
      try {
        body = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: show as is
      }
      setAnswer({ status: res.status, body, ms: Math.round(performance.now() - t0) });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const set = (i: number, patch: Partial<ParamRow>) => setParams((ps) => ps.map((p, j) => (j === i ? { ...p, ...patch } : p)));

  return (
    <form class="endpoint" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`} data-method={method} data-uri={endpoint.uri}>
      <h3 id={`${id}-title`}>
        <span class={`method method-${method.toLowerCase()}`}>{method}</span> <span class="mono">{endpoint.uri}</span>
      </h3>
      {fileOnly ? (
        <p class="muted">Takes a firmware file: use “Firmware update” above.</p>
      ) : isRestart ? (
        <p class="muted">Reboots the node: use the “Restart…” button at the top, which asks first.</p>
      ) : (
        <>
          {params.map((p, i) => {
            const decl = declared.find((d) => d.name === p.name);
            const inputId = `${id}-p${i}`;
            return (
              <div class="param" key={i}>
                {decl ? (
                  <label for={inputId}>
                    {p.name}
                    {decl.required ? <span aria-label="required"> *</span> : null}
                    <span class="muted"> ({p.location})</span>
                  </label>
                ) : (
                  <input type="text" value={p.name} placeholder="name" aria-label="Parameter name" onInput={(e) => set(i, { name: e.currentTarget.value })} />
                )}
                {decl?.values?.length ? (
                  <select id={inputId} value={p.value} onChange={(e) => set(i, { value: e.currentTarget.value })} required={decl.required}>
                    <option value="">(choose)</option>
                    {decl.values.map((v) => (
                      <option key={String(v)} value={String(v)}>
                        {String(v)}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={inputId}
                    type="text"
                    inputMode={decl?.type === 'number' ? 'numeric' : undefined}
                    value={p.value}
                    required={decl?.required}
                    aria-label={decl ? undefined : 'Parameter value'}
                    placeholder={decl ? decl.type ?? 'value' : 'value'}
                    onInput={(e) => set(i, { value: e.currentTarget.value })}
                  />
                )}
                {!decl ? (
                  <>
                    <select value={p.location} aria-label="Parameter location" onChange={(e) => set(i, { location: e.currentTarget.value as 'query' | 'body' })}>
                      <option value="query">query</option>
                      <option value="body">body</option>
                    </select>
                    <button type="button" class="small" aria-label="Remove parameter" onClick={() => setParams((ps) => ps.filter((_, j) => j !== i))}>
                      ×
                    </button>
                  </>
                ) : null}
              </div>
            );
          })}
          <div class="toolbar">
            <button type="button" class="small" onClick={() => setParams((ps) => [...ps, { name: '', value: '', location: method === 'GET' ? 'query' : 'body' }])}>
              Add parameter
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Calling…' : `Call ${method} ${endpoint.uri}`}
            </button>
          </div>
        </>
      )}
      {error ? (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      {answer ? (
        <div class="answer" data-testid="proxy-answer" data-status={answer.status} aria-live="polite">
          <p>
            <span class={answer.status < 400 ? 'status-text-active' : 'status-text-dead'}>HTTP {answer.status}</span> <span class="muted">in {answer.ms} ms</span>
          </p>
          <pre class="code">{answer.body}</pre>
        </div>
      ) : null}
    </form>
  );
}
