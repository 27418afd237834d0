import { useEffect, useRef, useState } from 'preact/hooks';
import { alerts, health, healthReasons } from '../lib/gateway-health';
import { useStore } from '../lib/store';

/** The header's gateway health: healthy / degraded / unhealthy, the reasons on click (issue 15 §2). */
export function HealthPill() {
  const report = useStore(health);
  const list = useStore(alerts);
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, [open]);
  const status = report?.status ?? 'unknown';
  const reasons = healthReasons(report);
  return (
    <div class="health" ref={ref}>
      <button type="button" class={`pill health-${status}`} data-testid="health-pill" data-status={status} aria-expanded={open} onClick={() => setOpen(!open)} title="Gateway health">
        <span class="dot" aria-hidden="true" />
        {status}
        {list.active.length ? <span class="alert-count" data-testid="alert-count">{list.active.length}</span> : null}
      </button>
      {open ? (
        <div class="health-popover" role="dialog" aria-label="Gateway health" data-testid="health-reasons">
          {reasons.length === 0 ? <p>Every part of the gateway is up.</p> : (
            <ul>
              {reasons.map((r) => (
                <li key={r.component}>
                  <strong>{r.component}</strong>: {r.reason}
                </li>
              ))}
            </ul>
          )}
          {list.active.length ? <p><a href="/alerts">{list.active.length} alert{list.active.length > 1 ? 's' : ''} firing</a></p> : null}
        </div>
      ) : null}
    </div>
  );
}
