import { useMemo, useState } from 'preact/hooks';
import { ConfirmDialog, Empty, ErrorBox, Labels, Loading, PrimaryBadge, StatusBadge } from '../components/common';
import { Topology } from '../components/topology';
import { GridCells, nextSort, type Column } from '../components/data-table';
import { VirtualList } from '../components/virtual-list';
import { describeError } from '../lib/api';
import { clock, socket } from '../lib/app-state';
import { choosePrimary, cluster, randomPrimary, refreshCluster, type NodeView } from '../lib/cluster';
import { compareNames, compareVersions, formatAgo, formatBytes, formatLatency, labelsToText } from '../lib/format';
import { navigate, nodeHref } from '../lib/router';
import { useStore } from '../lib/store';

type SortKey = 'hostname' | 'ip' | 'status' | 'version' | 'freeHeap' | 'latency' | 'lastSeen';

const STATUS_ORDER: Record<string, number> = { ACTIVE: 0, INACTIVE: 1, DEAD: 2 };
const ROW_HEIGHT = 40; // px

function ipKey(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + (Number(part) || 0), 0);
}

function compare(a: NodeView, b: NodeView, key: SortKey): number {
  switch (key) {
    case 'hostname':
      return compareNames(a.hostname, b.hostname);
    case 'ip':
      return ipKey(a.ip) - ipKey(b.ip);
    case 'status':
      return (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3);
    case 'version':
      return compareVersions(a.version, b.version);
    case 'freeHeap':
      return (a.freeHeap ?? -1) - (b.freeHeap ?? -1);
    case 'latency':
      return (a.latency ?? Infinity) - (b.latency ?? Infinity);
    case 'lastSeen':
      return (b.lastSeen ?? 0) - (a.lastSeen ?? 0);
  }
}

/** What every cell of a node row needs besides the node. */
interface RowCtx {
  now: number;
  primary: string | null;
  busy: string | null;
  onPrimary: (n: NodeView) => void;
}

const COLUMNS: Array<Column<NodeView, RowCtx> & { sort?: SortKey }> = [
  { sort: 'status', label: 'Status', cls: 'c-status', cell: (n) => <StatusBadge status={n.status} /> },
  {
    sort: 'hostname',
    label: 'Hostname',
    cls: 'c-host',
    cell: (n) => (
      <a href={nodeHref(n.ip)} tabIndex={-1}>
        {n.hostname}
      </a>
    ),
  },
  { sort: 'version', label: 'Version', cls: 'c-version', cellProps: () => ({ 'data-testid': 'node-version' }), cell: (n) => n.version ?? '–' },
  { sort: 'ip', label: 'IP', cls: 'c-ip', cellClass: 'mono', cell: (n) => n.ip },
  { label: 'Primary', cls: 'c-primary', cell: (n, x) => <PrimaryCell n={n} {...x} /> },
  { label: 'Labels', cls: 'c-labels', cell: (n) => <Labels labels={n.labels} /> },
  { sort: 'freeHeap', label: 'Free heap', cls: 'c-num', cell: (n) => formatBytes(n.freeHeap) },
  { sort: 'latency', label: 'Latency', cls: 'c-num', cell: (n) => formatLatency(n.latency) },
  { sort: 'lastSeen', label: 'Last seen', cls: 'c-seen', cellProps: (n) => ({ title: n.lastSeen ? new Date(n.lastSeen).toISOString() : '' }), cell: (n, x) => formatAgo(n.lastSeen, x.now) },
];

export function ClusterPage() {
  const st = useStore(cluster);
  const conn = useStore(socket.state);
  const [text, setText] = useState('');
  const [status, setStatus] = useState('');
  const [label, setLabel] = useState('');
  const [version, setVersion] = useState<string | null>(null);
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'hostname', dir: 1 });
  const [view, setView] = useState<'list' | 'topology'>('list');
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirmRandom, setConfirmRandom] = useState(false);

  const all = useMemo(() => [...st.nodes.values()], [cluster.version]);
  const labelOptions = useMemo(() => {
    const set = new Set<string>();
    for (const n of all) for (const [k, v] of Object.entries(n.labels)) set.add(`${k}=${v}`);
    return [...set].sort();
  }, [st.structure]);

  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const filtered = all.filter((n) => {
      if (status && n.status !== status) return false;
      if (version !== null && (n.version ?? '') !== version) return false;
      if (label) {
        const eq = label.indexOf('=');
        if (n.labels[label.slice(0, eq)] !== label.slice(eq + 1)) return false;
      }
      if (needle) {
        const hay = `${n.hostname} ${n.ip} ${labelsToText(n.labels)} ${n.status} ${n.version ?? ''}`.toLowerCase();
        if (!needle.split(/\s+/).every((w) => hay.includes(w))) return false;
      }
      return true;
    });
    filtered.sort((a, b) => compare(a, b, sort.key) * sort.dir || compareNames(a.hostname, b.hostname));
    return filtered;
  }, [cluster.version, text, status, label, sort, version]);

  // How many nodes run each firmware version (issue 15 §3): a mixed fleet at a glance.
  const versions = useMemo(() => {
    const byVersion = new Map<string, number>();
    for (const n of all) byVersion.set(n.version ?? '', (byVersion.get(n.version ?? '') ?? 0) + 1);
    return [...byVersion].sort((a, b) => compareVersions(a[0] || null, b[0] || null));
  }, [cluster.version]);

  const counts = useMemo(() => {
    const c: Record<string, number> = { ACTIVE: 0, INACTIVE: 0, DEAD: 0 };
    for (const n of all) c[n.status] = (c[n.status] ?? 0) + 1;
    return c;
  }, [st.structure, all.length]);

  const primaryNode = st.primary ? st.nodes.get(st.primary) : undefined;

  const act = async (what: string, fn: () => Promise<string | void>) => {
    setBusy(what);
    setMessage(null);
    try {
      const text = await fn();
      if (text) setMessage({ kind: 'ok', text });
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(null);
    }
  };

  const makePrimary = (n: NodeView) => act(`primary:${n.ip}`, async () => `${n.hostname} (${await choosePrimary(n.ip)}) is now the primary node.`);

  const topology = useMemo(
    () => (view === 'topology' ? <Topology nodes={all} primary={st.primary} version={st.structure} /> : null),
    [view, st.structure, st.primary, all.length],
  );

  let body;
  if (!st.loaded) {
    body = st.error ? (
      <ErrorBox title="Cannot read the node list from the gateway">
        {conn.phase !== 'open' ? 'The gateway is unreachable; reconnecting…' : st.error}
      </ErrorBox>
    ) : (
      <Loading what="nodes" />
    );
  } else if (all.length === 0) {
    body = <NoNodes udpPort={st.udpPort} />;
  } else if (view === 'topology') {
    body = topology;
  } else {
    body = (
      <VirtualList
        label="Nodes"
        idPrefix="node-row"
        className="node-table"
        testId="node-list"
        count={rows.length}
        rowHeight={ROW_HEIGHT}
        version={cluster.version}
        activeIndex={active}
        onActiveChange={setActive}
        onActivate={(i) => rows[i] && navigate(nodeHref(rows[i]!.ip))}
        columns={COLUMNS}
        sort={sort}
        onSort={(key) => setSort((s) => nextSort(s, key as SortKey))}
        empty={<p class="muted">No node matches these filters.</p>}
        renderRow={(i) => <NodeRow n={rows[i]!} primary={st.primary} busy={busy} onPrimary={makePrimary} />}
      />
    );
  }

  return (
    <section class="page page-cluster" aria-labelledby="cluster-title">
      <div class="page-head">
        <h1 id="cluster-title">Cluster</h1>
        <p class="summary" data-testid="cluster-summary">
          <span data-testid="node-count">{all.length}</span> node{all.length === 1 ? '' : 's'} ·{' '}
          <span class="status-text-active">{counts.ACTIVE} active</span> · <span class="status-text-inactive">{counts.INACTIVE} inactive</span> ·{' '}
          <span class="status-text-dead">{counts.DEAD} dead</span> · primary:{' '}
          <strong data-testid="primary-node">{primaryNode ? `${primaryNode.hostname} (${primaryNode.ip})` : st.primary ?? 'none'}</strong>
        </p>
      </div>
      {versions.length ? (
        <div class="versions" data-testid="versions-summary" aria-label="Firmware versions">
          <span class="muted">Versions:</span>
          {versions.map(([v, count]) => (
            <button type="button" class="version-chip" key={v} data-version={v} aria-pressed={version === v} onClick={() => setVersion(version === v ? null : v)} title="Show only these nodes">
              {v || 'unknown'} × {count}
            </button>
          ))}
        </div>
      ) : null}
      <div class="toolbar" role="toolbar" aria-label="Node list controls">
        <label class="field grow">
          <span>Search</span>
          <input type="search" placeholder="hostname, IP, label or version" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-label="Filter nodes by text" />
        </label>
        <label class="field">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)} aria-label="Filter by status">
            <option value="">All</option>
            <option value="ACTIVE">ACTIVE</option>
            <option value="INACTIVE">INACTIVE</option>
            <option value="DEAD">DEAD</option>
          </select>
        </label>
        <label class="field">
          <span>Label</span>
          <select value={label} onChange={(e) => setLabel(e.currentTarget.value)} aria-label="Filter by label">
            <option value="">Any</option>
            {labelOptions.map((l) => (
              <option value={l} key={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <div class="seg" role="group" aria-label="View">
          <button type="button" aria-pressed={view === 'list'} onClick={() => setView('list')}>
            List
          </button>
          <button type="button" aria-pressed={view === 'topology'} onClick={() => setView('topology')}>
            Topology
          </button>
        </div>
        <button type="button" disabled={busy !== null} onClick={() => act('refresh', async () => (await refreshCluster(), 'Discovery probe sent; node list re-read.'))}>
          {busy === 'refresh' ? 'Refreshing…' : 'Refresh'}
        </button>
        <button type="button" disabled={busy !== null || counts.ACTIVE === 0} onClick={() => setConfirmRandom(true)}>
          Random primary
        </button>
      </div>
      {message ? (
        <p class={`notice notice-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="cluster-message">
          {message.text}
        </p>
      ) : null}
      {body}
      <ConfirmDialog
        open={confirmRandom}
        title="Pick a random primary?"
        confirmLabel="Pick at random"
        onCancel={() => setConfirmRandom(false)}
        onConfirm={() => {
          setConfirmRandom(false);
          void act('random', async () => `Primary set at random to ${await randomPrimary()}.`);
        }}
      >
        <p>A random ACTIVE node becomes the primary, the node the gateway asks for cluster-wide information.</p>
      </ConfirmDialog>
    </section>
  );
}

function NodeRow(p: { n: NodeView; primary: string | null; busy: string | null; onPrimary: (n: NodeView) => void }) {
  // Each row follows the clock itself: "last seen" ticks without re-rendering the page.
  const now = useStore(clock);
  const n = p.n;
  return (
    <div class="node-row" data-ip={n.ip} data-hostname={n.hostname} data-status={n.status} data-primary={n.ip === p.primary ? 'true' : 'false'}>
      <GridCells columns={COLUMNS} row={n} ctx={{ ...p, now }} />
    </div>
  );
}

function PrimaryCell({ n, primary, busy, onPrimary }: { n: NodeView } & Omit<RowCtx, 'now'>) {
  if (n.ip === primary) return <PrimaryBadge />;
  return (
    <button
      type="button"
      class="small"
      disabled={busy !== null || n.status !== 'ACTIVE'}
      onClick={(e) => {
        e.stopPropagation();
        onPrimary(n);
      }}
      aria-label={`Make ${n.hostname} the primary node`}
      title={n.status === 'ACTIVE' ? 'Make this node the primary' : 'Only an ACTIVE node can become primary'}
    >
      {busy === `primary:${n.ip}` ? '…' : 'Make primary'}
    </button>
  );
}

function NoNodes({ udpPort }: { udpPort: number | null }) {
  const port = udpPort ?? 4210;
  return (
    <Empty title="No nodes yet" testId="no-nodes">
      <p>The gateway listens for SPORE heartbeats on UDP port {port}; nodes appear here as soon as one is heard.</p>
      <p>No hardware? Start emulated nodes next to the gateway:</p>
      <pre class="code" data-testid="sim-command">{`npx spore-sim -count 5 -http-port <node-port>${port !== 4210 ? ` -udp-port ${port}` : ''}`}</pre>
      <p class="muted">
        where <code>{'<node-port>'}</code> is the gateway's <code>-node-port</code> (80 unless set; emulated nodes usually use 8080, so start the gateway with{' '}
        <code>-node-port 8080</code>).
      </p>
      <p>Real nodes? Check that they are powered and on the same network as the gateway, that UDP port {port} is not blocked by a firewall, and that broadcasts reach this machine.</p>
    </Empty>
  );
}
