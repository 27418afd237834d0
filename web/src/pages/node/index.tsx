import { useState } from 'preact/hooks';
import { ConfirmDialog, Empty, ErrorBox, KeyValues, Labels, Loading, PrimaryBadge, StatusBadge } from '../../components/common';
import { apiFetch, describeError } from '../../lib/api';
import { clock } from '../../lib/app-state';
import { choosePrimary, cluster } from '../../lib/cluster';
import { displayValue, formatAgo, formatBytes, formatDuration, humanize } from '../../lib/format';
import { addSample } from '../../lib/history';
import { useStore } from '../../lib/store';
import { useApi } from '../../lib/use-api';
import type { ApiEndpoint } from '../../../../src/protocol/types';
import { Endpoints } from './endpoints';
import { FirmwareUpdate } from './firmware-update';
import { NodeCharts } from './node-charts';
import { Tasks } from './tasks';

/** The node's status is re-read this often while its page is open, ms. */
export const STATUS_POLL_MS = 3000;

export function NodePage({ ip }: { ip: string }) {
  const st = useStore(cluster);
  const now = useStore(clock);
  const node = st.nodes.get(ip);
  const [confirmRestart, setConfirmRestart] = useState(false);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  const { data: status, error: statusFailure } = useApi<Record<string, unknown>>(`/api/node/status/${encodeURIComponent(ip)}`, {
    everyMs: STATUS_POLL_MS,
    onData: (s, roundTrip) => addSample(ip, Date.now(), { heap: typeof s.freeHeap === 'number' ? s.freeHeap : null, roundTrip }),
  });
  const statusError = statusFailure ? describeError(statusFailure) : null;

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
