// Prometheus exposition text (what GET /metrics answers) turned into promtool's `input_series`, so
// `promtool test rules` can evaluate queries over what the services really export. Format:
// prometheus.io/docs/instrumenting/exposition_formats ("Text format details"); input_series
// notation: prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface InputSeries {
  series: string;
  values: string;
}

// name, optional {labels} (greedy to the last brace: a label value may hold "}"), value; a
// trailing timestamp is allowed and ignored, as promtool's series get their times from the test.
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL_PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function unescapeLabelValue(raw: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  while (LABEL_PAIR.lastIndex < text.length) {
    const start = LABEL_PAIR.lastIndex;
    const match = LABEL_PAIR.exec(text);
    if (!match) throw new Error(`bad labels at character ${start} of: ${line}`);
    labels[match[1]] = unescapeLabelValue(match[2]);
  }
  return labels;
}

/** The text format's float spellings: "+Inf", "-Inf" and "NaN" besides Go's ParseFloat numbers. */
function parseValue(text: string, line: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`bad sample value "${text}" in: ${line}`);
  return value;
}

/** Every sample of an exposition text; # HELP / # TYPE lines and blank lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    samples.push({
      name: match[1],
      labels: parseLabels(match[2] ?? '', line),
      value: parseValue(match[3], line),
    });
  }
  return samples;
}

/** A series selector as promtool reads it: the name and its labels, sorted, values quoted. */
export function seriesSelector(name: string, labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`);
  return `${name}{${pairs.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/**
 * One input series per sample seen in any of `scrapes` (successive exposition texts of one target,
 * one per test interval), with `target` labels added as a scrape adds job and instance. A series
 * absent from a scrape gets "_" (no sample) there.
 */
export function toInputSeries(scrapes: readonly string[], target: Record<string, string>): InputSeries[] {
  const values = new Map<string, string[]>();
  scrapes.forEach((text, i) => {
    for (const sample of parseExposition(text)) {
      const series = seriesSelector(sample.name, { ...sample.labels, ...target });
      const row = values.get(series) ?? Array.from({ length: scrapes.length }, () => '_');
      row[i] = formatValue(sample.value);
      values.set(series, row);
    }
  });
  return [...values].map(([series, row]) => ({ series, values: row.join(' ') }));
}
