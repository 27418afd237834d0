import { useMemo, useRef, useState } from 'preact/hooks';
import { apiFetch, ApiError, describeError } from '../../lib/api';
import type { ApiEndpoint } from '../../../../src/protocol/types';

export function Endpoints({ ip, endpoints }: { ip: string; endpoints: ApiEndpoint[] }) {
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

export interface ParamRow {
  name: string;
  value: string;
  location: 'query' | 'body';
}

export function EndpointForm({ ip, endpoint }: { ip: string; endpoint: ApiEndpoint }) {
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
