import { useEffect, useState } from 'preact/hooks';
import { HistoryChart, RangePicker, type RangeKey } from '../../components/history-chart';
import { onSample, seriesOf } from '../../lib/history';

export function NodeCharts({ ip, hostname }: { ip: string; hostname: string }) {
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
