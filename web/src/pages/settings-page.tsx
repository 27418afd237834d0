import { useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/common';
import { api, ApiError, apiFetch, describeError } from '../lib/api';
import { withToken } from '../lib/auth';
import { useApi } from '../lib/use-api';
import type { ConfigInfo } from '../../../src/contract/config';
import { AddConnector } from '../components/add-connector';
import { ProblemList, problemsOf, SaveOutcome, type Problem, type SaveResult } from '../components/config-feedback';

type JsonSchema = { type?: string | string[]; enum?: unknown[]; default?: unknown; properties?: Record<string, JsonSchema>; description?: string; anyOf?: JsonSchema[]; const?: unknown; items?: JsonSchema; minimum?: number; maximum?: number };

/** The scalar settings of a section, as a form generated from its JSON Schema (types, enums, defaults, descriptions from the zod `.describe()`). */
function scalarFields(schema: JsonSchema, prefix: string[] = [], depth = 0): Array<{ path: string[]; schema: JsonSchema }> {
  const out: Array<{ path: string[]; schema: JsonSchema }> = [];
  for (const [name, raw] of Object.entries(schema.properties ?? {})) {
    // A union of constants (mqtt.protocolVersion: 3 | 4 | 5) is an enum; the description is on the outer schema.
    const consts = raw.anyOf?.every((x) => x.const !== undefined) ? raw.anyOf.map((x) => x.const) : undefined;
    const inner = consts ? { type: raw.anyOf![0]!.type, enum: consts } : (raw.anyOf?.find((x) => x.type !== 'null') ?? raw);
    const s: JsonSchema = { ...inner, description: raw.description ?? inner.description, default: raw.default ?? inner.default };
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    if (s.enum || type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') out.push({ path: [...prefix, name], schema: s });
    else if (type === 'object' && s.properties && depth < 1) out.push(...scalarFields(s, [...prefix, name], depth + 1));
  }
  return out;
}

const getIn = (obj: unknown, path: string[]): unknown => path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
function setIn(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const copy = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete copy[head!];
    else copy[head!] = value;
  } else copy[head!] = setIn((copy[head!] as Record<string, unknown>) ?? {}, rest, value);
  return copy;
}

function SectionForm({ name, hot, schema, readOnly }: { name: string; hot: boolean; schema: JsonSchema; readOnly: boolean }) {
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<SaveResult | null>(null);
  // The section as the file has it; the form edits a draft of it.
  const { data: doc, error: loadError } = useApi(`/api/config/${name}`, {
    map: (body) => {
      const d = (body as { document: Record<string, unknown> | null }).document;
      return d && typeof d === 'object' && !Array.isArray(d) ? d : {};
    },
    onData: setDraft,
  });
  const fields = scalarFields(schema);
  if (loadError && !doc) return <ErrorBox title={`Could not read ${name}`}>{describeError(loadError)}</ErrorBox>;
  if (!doc) return <Loading what={name} />;
  const save = async (e: Event) => {
    e.preventDefault();
    setProblems([]);
    setError(null);
    setResult(null);
    try {
      setResult(await api<SaveResult>(`/api/config/${name}`, { method: 'PUT', body: draft }));
    } catch (err) {
      setProblems(problemsOf(err));
      setError(err);
    }
  };
  return (
    <form class="settings-form" data-section={name} onSubmit={save}>
      <p class="muted small-print">{hot ? 'Changes apply at once.' : 'Changes take effect at the next restart.'}</p>
      {fields.length === 0 ? <p class="muted">This section is a list: edit it in the YAML editor below{name === 'pipeline' ? ' or with “Add a connector”' : ''}.</p> : null}
      <div class="form-grid">
        {fields.map(({ path, schema: s }) => {
          const id = `cfg-${name}-${path.join('-')}`;
          const value = getIn(draft, path);
          const problem = problems.find((p) => p.path === [name, ...path].join('.'));
          const type = Array.isArray(s.type) ? s.type[0] : s.type;
          const set = (v: unknown) => setDraft(setIn(draft, path, v));
          const help = s.description ? `${id}-help` : undefined;
          let input;
          if (s.enum) {
            input = (
              <select id={id} aria-describedby={help} disabled={readOnly} value={value === undefined ? '' : String(value)} onChange={(e) => set(e.currentTarget.value === '' ? undefined : s.enum!.find((x) => String(x) === e.currentTarget.value))}>
                <option value="">default ({String(s.default ?? '–')})</option>
                {s.enum.map((v) => (
                  <option key={String(v)} value={String(v)}>
                    {String(v)}
                  </option>
                ))}
              </select>
            );
          } else if (type === 'boolean') {
            input = (
              <select id={id} aria-describedby={help} disabled={readOnly} value={value === undefined ? '' : String(value)} onChange={(e) => set(e.currentTarget.value === '' ? undefined : e.currentTarget.value === 'true')}>
                <option value="">default ({String(s.default ?? '–')})</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            );
          } else {
            const numeric = type === 'number' || type === 'integer';
            input = (
              <input
                id={id}
                aria-describedby={help}
                disabled={readOnly}
                type={(numeric ? 'number' : 'text') as 'text'}
                inputMode={numeric ? 'decimal' : undefined}
                value={value === undefined ? '' : String(value)}
                placeholder={s.default === undefined ? '' : String(s.default)}
                onInput={(e) => {
                  const t = e.currentTarget.value;
                  set(t === '' ? undefined : numeric && Number.isFinite(Number(t)) ? Number(t) : t);
                }}
              />
            );
          }
          return (
            <div class={`field ${problem ? 'field-invalid' : ''}`} key={id}>
              <label for={id}>{path.join('.')}</label>
              {input}
              {s.description ? (
                <span class="muted small-print field-help" id={`${id}-help`}>
                  {s.description}
                </span>
              ) : null}
              {problem ? (
                <span class="field-problem" role="alert">
                  {problem.message}
                </span>
              ) : null}
            </div>
          );
        })}
      </div>
      <ProblemList problems={problems.filter((p) => !fields.some((f) => [name, ...f.path].join('.') === p.path))} error={problems.length ? undefined : error} />
      <SaveOutcome result={result} />
      {fields.length && !readOnly ? (
        <button type="submit" class="primary">
          Save {name}
        </button>
      ) : null}
    </form>
  );
}

function RawEditor({ readOnly }: { readOnly: boolean }) {
  const [text, setText] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [valid, setValid] = useState<boolean | null>(null);
  const [result, setResult] = useState<SaveResult | null>(null);
  // The file as saved; the textarea edits a copy, read again after a save.
  const { error: loadError, reload: load } = useApi<{ text: string }>('/api/config/raw', { onData: (r) => setText(r.text) });
  if (text === null) return loadError ? <ErrorBox title="Could not read the file">{describeError(loadError)}</ErrorBox> : <Loading what="the file" />;
  const validate = async () => {
    setResult(null);
    const r = await api<{ valid: boolean; problems: Problem[] }>('/api/config/validate', { method: 'POST', body: { text } });
    setValid(r.valid);
    setProblems(r.problems);
  };
  const save = async () => {
    setProblems([]);
    setError(null);
    setValid(null);
    try {
      setResult(await api<SaveResult>('/api/config/raw', { method: 'PUT', body: { text } }));
      await load();
    } catch (err) {
      setProblems(problemsOf(err));
      setError(err);
    }
  };
  return (
    <div class="raw-editor">
      <textarea data-testid="raw-config" spellcheck={false} readOnly={readOnly} value={text} onInput={(e) => setText(e.currentTarget.value)} rows={18} aria-label="Configuration file" />
      <div class="toolbar">
        <button type="button" onClick={() => void validate()}>
          Validate
        </button>
        {!readOnly ? (
          <button type="button" class="primary" onClick={() => void save()}>
            Save file
          </button>
        ) : null}
        {valid === true ? <span class="ok-text" data-testid="raw-valid">Valid.</span> : null}
      </div>
      <ProblemList problems={problems} error={problems.length ? undefined : error} />
      <SaveOutcome result={result} />
    </div>
  );
}

function ApiKeys({ readOnly }: { readOnly: boolean }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const [actionError, setError] = useState<unknown>(null);
  const { data: keys, error: loadError, reload: load } = useApi('/api/config/auth', {
    map: (body) => (body as { document: { apiKeys?: Array<{ name: string; scope: string }> } | null }).document?.apiKeys ?? [],
  });
  const error = actionError ?? loadError;
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ name: string; key: string }>('/api/config/auth/keys', { method: 'POST', body: { name: name.trim(), scope } });
      setSecret({ name: r.name, key: r.key });
      setName('');
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (n: string) => {
    setError(null);
    try {
      await api(`/api/config/auth/keys/${encodeURIComponent(n)}`, { method: 'DELETE' });
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div data-testid="api-keys">
      {keys === null ? <Loading what="API keys" /> : keys.length === 0 ? <p class="muted">No API key: the API is open (docs/security.md).</p> : (
        <ul class="key-list">
          {keys.map((k) => (
            <li key={k.name} data-key={k.name}>
              <strong>{k.name}</strong> <span class="muted">{k.scope}</span>{' '}
              {!readOnly ? (
                <button type="button" class="danger" onClick={() => void revoke(k.name)}>
                  Revoke
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {secret ? (
        <p class="banner banner-warn" data-testid="new-key">
          Key <strong>{secret.name}</strong>: <code class="secret">{secret.key}</code> — copy it now, it is not shown again.
        </p>
      ) : null}
      {!readOnly ? (
        <form class="toolbar" onSubmit={create}>
          <input placeholder="key name" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="New key name" required />
          <select value={scope} onChange={(e) => setScope(e.currentTarget.value)} aria-label="Scope">
            <option value="read">read</option>
            <option value="admin">admin</option>
          </select>
          <button type="submit">Create key</button>
        </form>
      ) : null}
      {error ? <ErrorBox title="API keys">{describeError(error)}</ErrorBox> : null}
    </div>
  );
}

function BackupPanel() {
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const restore = async (file: File) => {
    setError(null);
    setResult(null);
    try {
      const res = await apiFetch('/api/restore', { method: 'POST', body: file, contentType: 'application/gzip' });
      const body = (await res.json()) as { restored?: string[]; needRestart?: string[]; message?: string };
      if (!res.ok) throw new Error(body.message ?? `HTTP ${res.status}`);
      setResult(`Restored ${body.restored!.join(', ')}.${body.needRestart!.length ? ` Restart the gateway to apply: ${body.needRestart!.join(', ')}.` : ''}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="toolbar" data-testid="backup">
      <a class="button" href={withToken('/api/backup')} download>
        Download a backup
      </a>
      <label class="button">
        Restore from a file…
        <input type="file" accept=".gz,.tgz,application/gzip" class="sr-only" onChange={(e) => e.currentTarget.files?.[0] && void restore(e.currentTarget.files[0])} />
      </label>
      {result ? <span role="status">{result}</span> : null}
      {error ? <span class="bad-text" role="alert">{describeError(error)}</span> : null}
    </div>
  );
}

/** Settings (issue 15 §1): every editable section as a form, the raw file, API keys, connectors, backups. */
export function SettingsPage() {
  const { data: info, error: infoError } = useApi<ConfigInfo>('/api/config');
  const { data: schemas, error: schemaError } = useApi<Record<string, JsonSchema>>('/api/config/schema');
  const error = infoError ?? schemaError;
  if (error) {
    return (
      <section class="page">
        <h1>Settings</h1>
        <ErrorBox title="The configuration could not be read">{error instanceof ApiError && error.status === 403 ? 'Settings need an admin key.' : describeError(error)}</ErrorBox>
      </section>
    );
  }
  if (!info || !schemas) return <section class="page"><h1>Settings</h1><Loading what="the configuration" /></section>;
  return (
    <section class="page settings">
      <h1>Settings</h1>
      {info.readOnly ? (
        <p class="banner banner-warn" data-testid="config-readonly">
          Read-only: {info.remoteHost ? <>managed remotely by <strong>{info.remoteHost}</strong> — change it there.</> : info.readOnlyReason}
        </p>
      ) : (
        <p class="muted">
          Saved to <code>{info.file}</code> ({info.format.toUpperCase()}, comments kept; the previous version as <code>.bak</code>).
        </p>
      )}
      <div class="card">
        <h2>Add a connector</h2>
        <AddConnector readOnly={info.readOnly} />
      </div>
      {info.sections.map((s) => (
        <details class="card" key={s.name} data-testid={`section-${s.name}`}>
          <summary>
            <h2>{s.name}</h2> <span class="muted small-print">{s.hot ? 'applies at once' : 'applies at restart'}</span>
          </summary>
          <SectionForm name={s.name} hot={s.hot} schema={schemas[s.name] ?? {}} readOnly={info.readOnly} />
        </details>
      ))}
      <div class="card">
        <h2>API keys</h2>
        <ApiKeys readOnly={info.readOnly} />
      </div>
      <div class="card">
        <h2>Configuration file</h2>
        <RawEditor readOnly={info.readOnly} />
      </div>
      <div class="card">
        <h2>Backup and restore</h2>
        <BackupPanel />
      </div>
    </section>
  );
}
