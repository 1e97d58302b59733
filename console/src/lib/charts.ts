import type { GrowthDoc, Stats } from '../api';

// ECharts options from the hub's documents. Pure functions: the charts' content is tested here, the drawing by ECharts.

export function coverageOption(stats: Stats, labels: { persons: string; withUnionId: string }) {
  const apps = stats.unionid_coverage.map((c) => c.appid);
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [labels.persons, labels.withUnionId], top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 70 },
    xAxis: { type: 'category', data: apps, axisLabel: { rotate: 20 } },
    yAxis: { type: 'value' },
    series: [
      { name: labels.persons, type: 'bar', data: stats.unionid_coverage.map((c) => c.persons) },
      { name: labels.withUnionId, type: 'bar', data: stats.unionid_coverage.map((c) => c.with_unionid) },
    ],
  };
}

/** Apps × apps: persons holding openids of both (the diagonal is the app's own persons). */
export function overlapMatrix(stats: Stats): { apps: string[]; cells: [number, number, number][] } {
  const apps = [...new Set([...stats.unionid_coverage.map((c) => c.appid), ...stats.overlap.flatMap((o) => o.apps)])].sort();
  const index = new Map(apps.map((a, i) => [a, i]));
  const cells: [number, number, number][] = [];
  for (const c of stats.unionid_coverage) cells.push([index.get(c.appid)!, index.get(c.appid)!, c.persons]);
  for (const o of stats.overlap) {
    const [a, b] = o.apps;
    cells.push([index.get(a)!, index.get(b)!, o.persons]);
    cells.push([index.get(b)!, index.get(a)!, o.persons]);
  }
  return { apps, cells };
}

export function overlapOption(stats: Stats) {
  const { apps, cells } = overlapMatrix(stats);
  const max = Math.max(1, ...cells.map((c) => c[2]));
  return {
    tooltip: { position: 'top' },
    grid: { left: 140, right: 20, bottom: 80 },
    xAxis: { type: 'category', data: apps, axisLabel: { rotate: 20 } },
    yAxis: { type: 'category', data: apps },
    visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, show: false },
    series: [{ type: 'heatmap', data: cells, label: { show: true } }],
  };
}

/** One bar per day, with the days that had no new person filled in as zero. */
export function growthSeries(growth: GrowthDoc, days: number, today: Date): { labels: string[]; values: number[] } {
  const byDay = new Map(growth.days.map((d) => [d.day, d.persons]));
  const labels: string[] = [];
  const values: number[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const key = d.toISOString().slice(0, 10);
    labels.push(key.slice(5));
    values.push(byDay.get(key) ?? 0);
  }
  return { labels, values };
}

export function growthOption(growth: GrowthDoc, days: number, today: Date, label: string) {
  const { labels, values } = growthSeries(growth, days, today);
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 50, right: 20, bottom: 30 },
    xAxis: { type: 'category', data: labels },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ name: label, type: 'bar', data: values }],
  };
}
