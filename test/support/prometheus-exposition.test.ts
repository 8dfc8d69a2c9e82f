// The exposition-text → promtool input_series converter the scaling-query tests rely on: labels
// with escapes, the text format's special floats, and series missing from some scrapes.
import { describe, expect, it } from 'vitest';
import { parseExposition, toInputSeries } from './prometheus-exposition.ts';

describe('prometheus exposition text to promtool series', () => {
  it('reads names, labels (with escapes and a brace inside a value) and values', () => {
    const text = [
      '# HELP latent_edge_jobs_total Jobs finished',
      '# TYPE latent_edge_jobs_total counter',
      'latent_edge_jobs_total{model="sd15",outcome="done"} 3',
      'latent_edge_step_seconds_bucket{le="+Inf",model="sd15"} 1 1700000000000',
      'odd{path="a\\"b\\\\c}\\nd",} NaN',
      'latent_edge_worker_draining -Inf',
      '',
    ].join('\n');
    const samples = parseExposition(text);
    expect(samples[0]).toEqual({
      name: 'latent_edge_jobs_total',
      labels: { model: 'sd15', outcome: 'done' },
      value: 3,
    });
    expect(samples[1].labels.le).toBe('+Inf');
    expect(samples[2].labels.path).toBe('a"b\\c}\nd');
    expect(samples[2].value).toBeNaN();
    expect(samples[3]).toEqual({
      name: 'latent_edge_worker_draining',
      labels: {},
      value: Number.NEGATIVE_INFINITY,
    });
  });

  it('refuses a line that is not a sample, rather than dropping it', () => {
    expect(() => parseExposition('latent_edge_x{model=sd15} 1')).toThrow(/bad labels/);
    expect(() => parseExposition('latent_edge_x one')).toThrow(/bad sample value/);
  });

  it('gives one series per sample over the scrapes, with the target labels and "_" where absent', () => {
    const series = toInputSeries(['a{model="sd15"} 1\nb 2', 'a{model="sd15"} 4'], {
      job: 'edge',
      instance: 'e:1',
    });
    expect(series).toEqual([
      { series: 'a{instance="e:1",job="edge",model="sd15"}', values: '1 4' },
      { series: 'b{instance="e:1",job="edge"}', values: '2 _' },
    ]);
  });
});
