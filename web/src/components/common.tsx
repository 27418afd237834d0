import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { clock, socket } from '../lib/app-state';
import { useStore } from '../lib/store';

export function StatusBadge({ status }: { status: string }) {
  const s = status.toUpperCase();
  return (
    <span class={`status status-${s.toLowerCase()}`} data-status={s}>
      <span class="dot" aria-hidden="true" />
      {s}
    </span>
  );
}

export function PrimaryBadge() {
  return (
    <span class="badge badge-primary" title="The primary node answers cluster-wide calls">
      primary
    </span>
  );
}

export function Labels({ labels }: { labels: Record<string, string> | null | undefined }) {
  const entries = labels ? Object.entries(labels) : [];
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <span class="labels">
      {entries.map(([k, v]) => (
        <span class="label-chip" key={k}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorBox({ title, children, onRetry }: { title: string; children?: ComponentChildren; onRetry?: () => void }) {
  return (
    <div class="state state-error" role="alert">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function NotEnabled({ feature, children }: { feature: string; children?: ComponentChildren }) {
  return (
    <div class="state state-disabled" data-testid="not-enabled">
      <strong>{feature} is not enabled on this gateway.</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function Empty({ title, children, testId }: { title: string; children?: ComponentChildren; testId?: string }) {
  return (
    <div class="state state-empty" data-testid={testId}>
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

/** Shown at the top of every page while the WebSocket is down. */
export function ConnectionBanner() {
  const conn = useStore(socket.state);
  if (conn.phase === 'open') return null;
  return <Reconnecting />;
}

function Reconnecting() {
  const conn = useStore(socket.state);
  useStore(clock); // the countdown ticks
  if (conn.phase === 'connecting' && conn.attempt === 0) return null;
  const wait = conn.retryAt ? Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000)) : 0;
  return (
    <div class="banner banner-warn" role="status" aria-live="polite" data-testid="reconnecting-banner">
      <strong>Gateway unreachable — reconnecting…</strong>{' '}
      <span>
        {conn.lastError ? `${conn.lastError}. ` : ''}
        Attempt {conn.attempt}
        {wait ? `, next try in ${wait} s` : ''}. Live data on this page may be stale. Check that the gateway is running at {location.host}.
      </span>{' '}
      <button type="button" onClick={() => socket.reconnectNow()}>
        Retry now
      </button>
    </div>
  );
}

/** The header's connection indicator: word and colour. */
export function ConnectionPill() {
  const conn = useStore(socket.state);
  const text = conn.phase === 'open' ? 'Live' : conn.phase === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span class={`conn conn-${conn.phase}`} role="status" aria-live="polite" data-testid="connection-state" data-phase={conn.phase} title={conn.lastError ?? ''}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export interface ConfirmProps {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal confirmation (native <dialog>: focus trap and Esc for free). */
export function ConfirmDialog(props: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" onCancel={(e) => (e.preventDefault(), props.onCancel())}>
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      <div class="dialog-actions">
        {/* A dangerous action starts on Cancel, so a stray Enter does no harm. */}
        <button type="button" onClick={props.onCancel} autofocus={props.danger}>
          Cancel
        </button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm} autofocus={!props.danger}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function ProgressBar({ value, max = 100, label, state }: { value: number; max?: number; label: string; state?: string }) {
  const pct = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return (
    <div class={`progress ${state ? `progress-${state}` : ''}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <div class="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

/** Key/value pairs as a definition list. */
export function KeyValues({ pairs, testId }: { pairs: Array<[string, ComponentChildren]>; testId?: string }) {
  return (
    <dl class="kv" data-testid={testId}>
      {pairs.map(([k, v]) => (
        <div class="kv-row" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
