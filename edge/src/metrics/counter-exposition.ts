// The operator's counters in Prometheus text (prometheus.io/docs/instrumenting/exposition_formats):
// each metric's # HELP and # TYPE, then its series, grouped; the series every scrape should see
// (jobs by outcome, images by source) are present at 0 before anything happened, so a rate()
// has a start.
import type { CounterSeries } from './operator-counters.ts';

export const COUNTER_HELP: Readonly<Record<string, string>> = {
  latent_edge_requests_total: 'Answers of the edge, by route pattern, method and status',
  latent_edge_refusals_total: 'Requests refused with a 4xx, by error code',
  latent_edge_jobs_total: 'Generation jobs by outcome (completed, cache_hit, failed, refused by a quota)',
  latent_edge_images_total: 'Images of finished jobs by source (gpu: made; cache: the result cache)',
};

const ALWAYS_PRESENT: readonly CounterSeries[] = [
  ...['completed', 'cache_hit', 'failed', 'refused'].map((outcome) => ({
    name: 'latent_edge_jobs_total',
    labels: { outcome },
  })),
  ...['gpu', 'cache'].map((source) => ({ name: 'latent_edge_images_total', labels: { source } })),
];

/** Label values are quoted; escape backslash, quote and newline as the format says. */
export const labelValue = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const seriesText = ({ name, labels }: CounterSeries) => {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${labelValue(value)}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
};

export function counterLines(counters: readonly { series: CounterSeries; value: number }[]): string[] {
  const values = new Map<string, { name: string; value: number }>();
  for (const series of ALWAYS_PRESENT) values.set(seriesText(series), { name: series.name, value: 0 });
  for (const { series, value } of counters) {
    if (!(series.name in COUNTER_HELP)) continue; // a series this version no longer exports
    const text = seriesText(series);
    values.set(text, { name: series.name, value: (values.get(text)?.value ?? 0) + value });
  }
  const lines: string[] = [];
  for (const [name, help] of Object.entries(COUNTER_HELP)) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [text, sample] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
      if (sample.name === name) lines.push(`${text} ${sample.value}`);
    }
  }
  return lines;
}
