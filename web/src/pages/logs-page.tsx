import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/common';
import { ApiError, describeError } from '../lib/api';
import { withToken } from '../lib/auth';
import { defaultSocketUrl } from '../lib/live-socket';
import { useApi } from '../lib/use-api';

interface LogLine {
  seq: number;
  time: string;
  level: string;
  msg: string;
  component: string | null;
  fields: Record<string, unknown>;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
/** Lines kept on the page; the gateway keeps more (GET /api/logs). */
const MAX_LINES = 2000;

/** The gateway's log: the newest lines, then live over /ws?logs=1 (issue 15 §7; admin scope). */
export function LogsPage() {
  const [lines, setLines] = useState<LogLine[] | null>(null);
  const [level, setLevel] = useState<string>('info');
  const [text, setText] = useState('');
  const [live, setLive] = useState(false);
  const last = useRef(0);

  // The newest lines first, then the live tail from the log's own WebSocket.
  const { data: first, error } = useApi<{ lines: LogLine[]; lastSeq: number }>(`/api/logs?limit=${MAX_LINES}`);
  useEffect(() => {
    if (!first) return;
    last.current = first.lastSeq;
    setLines(first.lines);
    const url = new URL(withToken(defaultSocketUrl()));
    url.searchParams.set('logs', '1');
    const ws = new WebSocket(url.toString());
    ws.onopen = () => setLive(true);
    ws.onclose = () => setLive(false);
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as LogLine & { topic: string };
      if (m.topic !== 'log/line' || m.seq <= last.current) return;
      last.current = m.seq;
      setLines((prev) => [...(prev ?? []).slice(-(MAX_LINES - 1)), m]);
    };
    return () => ws.close();
  }, [first]);

  if (error) {
    return (
      <section class="page">
        <h1>Log</h1>
        <ErrorBox title="The log could not be read">{error instanceof ApiError && error.status === 403 ? 'Reading the log needs an admin key.' : describeError(error)}</ErrorBox>
      </section>
    );
  }
  const needle = text.trim().toLowerCase();
  const shown = (lines ?? []).filter((l) => RANK[l.level]! >= RANK[level]! && (!needle || `${l.msg} ${l.component ?? ''} ${JSON.stringify(l.fields)}`.toLowerCase().includes(needle)));
  return (
    <section class="page">
      <h1>
        Log <span class={`pill ${live ? 'conn-open' : 'conn-connecting'}`}>{live ? 'live' : 'not live'}</span>
      </h1>
      <div class="toolbar">
        <label>
          Level{' '}
          <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
        </label>
        <input type="search" placeholder="Filter text" value={text} onInput={(e) => setText(e.currentTarget.value)} aria-label="Filter log lines" />
        <span class="muted small-print">{shown.length} lines</span>
      </div>
      {lines === null ? (
        <Loading what="the log" />
      ) : (
        <ol class="log-lines" data-testid="log-lines">
          {shown.map((l) => (
            <li key={l.seq} class={`log-line log-${l.level}`} data-level={l.level}>
              <time class="mono muted">{l.time.slice(11, 23)}</time> <span class={`log-level log-level-${l.level}`}>{l.level}</span>{' '}
              {l.component ? <span class="muted">[{l.component}]</span> : null} <span class="log-msg">{l.msg}</span>
              {Object.keys(l.fields).length ? <code class="log-fields">{JSON.stringify(l.fields)}</code> : null}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
