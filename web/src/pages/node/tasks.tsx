import { useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../../components/common';
import { DataTable, type Column } from '../../components/data-table';
import { apiFetch, describeError } from '../../lib/api';
import { formatBytes, formatDuration } from '../../lib/format';
import { useApi } from '../../lib/use-api';
import type { TasksStatusResponse as TasksStatus } from '../../../../src/protocol/types';

type Task = TasksStatus['tasks'][number];

const TASK_COLUMNS: Array<Column<Task, { busy: string | null; control: (task: string, action: string) => void }>> = [
  { label: 'Task', cellClass: 'mono', cell: (t) => t.name },
  { label: 'Interval', cell: (t) => formatDuration(t.interval) },
  { label: 'Enabled', cell: (t) => (t.enabled ? 'yes' : 'no') },
  { label: 'Running', cell: (t) => (t.running ? <span class="status-text-active">running</span> : <span class="muted">stopped</span>) },
  { label: 'Auto-start', cell: (t) => (t.autoStart ? 'yes' : 'no') },
  {
    label: 'Actions',
    cellClass: 'actions',
    cell: (t, { busy, control }) =>
      (t.enabled ? ['disable', t.running ? 'stop' : 'start'] : ['enable']).map((a) => (
        <button type="button" class="small" key={a} disabled={busy !== null} onClick={() => void control(t.name, a)} aria-label={`${a} task ${t.name}`}>
          {a}
        </button>
      )),
  },
];

export function Tasks({ ip }: { ip: string }) {
  const { data: tasks, error: loadError, reload: load } = useApi<TasksStatus>(`/api/tasks/status?ip=${encodeURIComponent(ip)}`);
  const [controlError, setError] = useState<string | null>(null);
  const error = controlError ?? (loadError ? describeError(loadError) : null);
  const [busy, setBusy] = useState<string | null>(null);

  const control = async (task: string, action: string) => {
    setBusy(`${task}:${action}`);
    setError(null);
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
          <DataTable testId="tasks" columns={TASK_COLUMNS} rows={tasks.tasks} rowKey={(t) => t.name} ctx={{ busy, control }} />
        </>
      ) : null}
    </section>
  );
}
