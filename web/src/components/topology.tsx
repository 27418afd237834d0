import { useMemo } from 'preact/hooks';
import type { NodeView } from '../lib/cluster';
import { compareNames } from '../lib/format';
import { navigate, nodeHref } from '../lib/router';

/**
 * The cluster as a picture: the primary at the centre, every other node on
 * concentric rings around it (ring k holds 8·k nodes), coloured by status.
 * Click a node to open it; the table beside it is the keyboard path.
 */
export function Topology({ nodes, primary, version }: { nodes: NodeView[]; primary: string | null; version: number }) {
  const layout = useMemo(() => {
    const others = nodes.filter((n) => n.ip !== primary).sort((a, b) => compareNames(a.hostname, b.hostname));
    const placed: Array<{ n: NodeView; x: number; y: number }> = [];
    let ring = 1;
    let i = 0;
    while (i < others.length) {
      const capacity = 8 * ring;
      const inRing = Math.min(capacity, others.length - i);
      for (let j = 0; j < inRing; j++, i++) {
        const angle = (2 * Math.PI * j) / inRing - Math.PI / 2 + (ring % 2 ? 0 : Math.PI / inRing);
        placed.push({ n: others[i]!, x: Math.cos(angle) * ring, y: Math.sin(angle) * ring });
      }
      ring++;
    }
    const rings = Math.max(1, ring - 1);
    return { placed, rings, primaryNode: nodes.find((n) => n.ip === primary) ?? null };
  }, [version, primary, nodes.length]);

  const size = 520;
  const c = size / 2;
  const step = (c - 24) / layout.rings;
  const r = Math.max(3, Math.min(14, step / 2.6));
  const counts = { ACTIVE: 0, INACTIVE: 0, DEAD: 0 } as Record<string, number>;
  for (const n of nodes) counts[n.status] = (counts[n.status] ?? 0) + 1;

  return (
    <figure class="topology" data-testid="topology">
      <svg
        viewBox={`0 0 ${size} ${size}`}
        role="img"
        aria-label={`Cluster topology: primary ${layout.primaryNode?.hostname ?? 'none'} at the centre; ${counts.ACTIVE} active, ${counts.INACTIVE} inactive, ${counts.DEAD} dead nodes`}
      >
        {Array.from({ length: layout.rings }, (_, k) => (
          <circle key={`ring${k}`} cx={c} cy={c} r={(k + 1) * step} class="topo-ring" />
        ))}
        {layout.primaryNode
          ? layout.placed.map(({ n, x, y }) => <line key={`l${n.ip}`} x1={c} y1={c} x2={c + x * step} y2={c + y * step} class={`topo-link topo-link-${n.status.toLowerCase()}`} />)
          : null}
        {layout.placed.map(({ n, x, y }) => (
          <circle
            key={n.ip}
            cx={c + x * step}
            cy={c + y * step}
            r={r}
            class={`topo-node topo-${n.status.toLowerCase()}`}
            onClick={() => navigate(nodeHref(n.ip))}
          >
            <title>
              {n.hostname} ({n.ip}) — {n.status}
            </title>
          </circle>
        ))}
        {layout.primaryNode ? (
          <g class="topo-primary" onClick={() => navigate(nodeHref(layout.primaryNode!.ip))}>
            <circle cx={c} cy={c} r={Math.max(r * 1.8, 10)} class={`topo-node topo-${layout.primaryNode.status.toLowerCase()}`} />
            <text x={c} y={c + Math.max(r * 1.8, 10) + 14} text-anchor="middle" class="topo-label">
              {layout.primaryNode.hostname}
            </text>
            <title>
              primary: {layout.primaryNode.hostname} ({layout.primaryNode.ip}) — {layout.primaryNode.status}
            </title>
          </g>
        ) : null}
      </svg>
      <figcaption class="legend">
        <span class="status status-active"><span class="dot" aria-hidden="true" />ACTIVE {counts.ACTIVE}</span>
        <span class="status status-inactive"><span class="dot" aria-hidden="true" />INACTIVE {counts.INACTIVE}</span>
        <span class="status status-dead"><span class="dot" aria-hidden="true" />DEAD {counts.DEAD}</span>
      </figcaption>
    </figure>
  );
}
