// The Prometheus side of scaling out: the rule file passes `promtool check rules`, the edge's
// scrape job passes `promtool check config`, and `promtool test rules` evaluates the KEDA query
// (read from the ScaledObject) and the alerts over series made from exposition text: the real
// gpu-worker registry (createMetrics) and an edge sample written here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../gpu-worker/src/service/metrics.ts';
import { type InputSeries, toInputSeries } from '../../test/support/prometheus-exposition.ts';
import { promtool, scratchDir, writeYamlFile } from '../../test/support/promtool.ts';
import { findManifest, PROMETHEUS_DIR, readManifests } from './manifests.ts';

const RULES_FILE = join(PROMETHEUS_DIR, 'latent-edge-rules.yml');
const manifests = readManifests();
const trigger = findManifest(manifests, 'ScaledObject', 'gpu-worker-sd15').spec.triggers[0];
const KEDA_QUERY: string = trigger.metadata.query;
const MAX_BATCH = Number(findManifest(manifests, 'ConfigMap', 'gpu-worker-sd15').data?.MAX_BATCH);

const EDGE = { job: 'latent-edge-edge', instance: 'latent-edge.example.com' };
const worker = (n: number) => ({ job: 'latent-edge-gpu-worker', instance: `10.0.0.${n}:8788` });

type ByModelTier = Record<string, number>; // "sd15:interactive" → count

/**
 * The edge's /metrics as issue 17 names it (the lead's edge-side work). A stand-in written here
 * until the edge exports it; then this becomes the edge's real output.
 */
function edgeExposition(counts: {
  backlog?: ByModelTier;
  inFlight?: ByModelTier;
  waiting?: Record<string, number>;
}) {
  const gauge = (name: string, help: string, values: ByModelTier) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    ...Object.entries(values).map(([key, value]) => {
      const [model, tier] = key.split(':');
      return `${name}{model="${model}",tier="${tier}"} ${value}`;
    }),
  ];
  const waiting = Object.entries(counts.waiting ?? {});
  return [
    ...gauge('latent_edge_dispatch_backlog', 'Jobs enqueued, not yet claimed', counts.backlog ?? {}),
    ...gauge('latent_edge_dispatch_in_flight', 'Jobs claimed and running', counts.inFlight ?? {}),
    '# HELP latent_edge_dispatch_waiting Jobs held at the edge by a key fair-share cap',
    '# TYPE latent_edge_dispatch_waiting gauge',
    ...waiting.map(([model, value]) => `latent_edge_dispatch_waiting{model="${model}"} ${value}`),
    '',
  ].join('\n');
}

/** The worker registry's gauge, or, until gpu-worker/src/service/metrics.ts has it (issue 17), one declared here. */
function workerGauge(registry: Registry, name: string, labelNames: string[]): Gauge {
  const existing = registry.getSingleMetric(name);
  return (
    (existing as Gauge | undefined) ?? new Gauge({ name, help: name, labelNames, registers: [registry] })
  );
}

/** A gpu-worker's real /metrics text with these slots per model (and some ordinary activity). */
async function workerExposition(slots: Record<string, { free: number; busy: number }>, draining = 0) {
  const metrics = createMetrics();
  const slotGauge = workerGauge(metrics.registry, 'latent_edge_worker_slots', ['model', 'state']);
  for (const [model, { free, busy }] of Object.entries(slots)) {
    slotGauge.set({ model, state: 'free' }, free);
    slotGauge.set({ model, state: 'busy' }, busy);
    metrics.runningJobs.set({ model }, busy);
    metrics.stepSeconds.observe({ model }, 0.2);
    metrics.jobs.inc({ model, outcome: 'done' }, 3);
  }
  workerGauge(metrics.registry, 'latent_edge_worker_draining', []).set(draining);
  return metrics.registry.metrics();
}

const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

interface RulesTest {
  input_series: InputSeries[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] }[];
  alert_rule_test?: {
    eval_time: string;
    alertname: string;
    exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[];
  }[];
}

/** `promtool test rules` on one test group over the real rule file, one sample a minute. */
function promtoolTest(test: RulesTest) {
  const file = writeYamlFile(scratchDir(), 'scaling.test.yml', {
    rule_files: [RULES_FILE],
    evaluation_interval: '1m',
    tests: [{ interval: '1m', ...test }],
  });
  return promtool(['test', 'rules', file]);
}

/** Evaluates `query` at the last of 5 one-minute scrapes; `expected` undefined: an empty result. */
function evaluate(query: string, scrapes: InputSeries[], expected?: number) {
  return promtoolTest({
    input_series: scrapes,
    promql_expr_test: [
      {
        expr: query,
        eval_time: '4m',
        exp_samples: expected === undefined ? [] : [{ labels: '{}', value: expected }],
      },
    ],
  });
}

const steady = (target: Record<string, string>, text: string) => toInputSeries(times(5, text), target);

describe('Prometheus files for scaling out', () => {
  it('the rule file passes promtool check rules', () => {
    const run = promtool(['check', 'rules', RULES_FILE]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/SUCCESS: 8 rules found/);
  });

  it("the edge's authenticated scrape job passes promtool check config", () => {
    const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'));
    // Debian's promtool is built without Kubernetes service discovery, so the workers' job is
    // checked below by what it must match, not here.
    const edgeJob = config.scrape_configs.find((job: { job_name: string }) => job.job_name === EDGE.job);
    expect(edgeJob.authorization.type).toBe('Bearer');
    // promtool checks that the token file exists: a stand-in for the mounted Secret.
    const dir = scratchDir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'metrics-token');
    const path = writeYamlFile(dir, 'prometheus.yml', {
      ...config,
      rule_files: [RULES_FILE],
      scrape_configs: [
        { ...edgeJob, authorization: { ...edgeJob.authorization, credentials_file: tokenFile } },
      ],
    });
    const run = promtool(['check', 'config', path]);
    expect(run.status, run.output).toBe(0);
  });

  it("the workers' scrape job keeps exactly the gpu-worker Service's http port", () => {
    const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'));
    const workerJob = config.scrape_configs.find(
      (job: { job_name: string }) => job.job_name === worker(1).job,
    );
    const keep = workerJob.relabel_configs.find((r: { action?: string }) => r.action === 'keep');
    const service = findManifest(manifests, 'Service', 'gpu-worker');
    expect(keep.regex).toBe(`${service.metadata.name};${service.spec.ports[0].name}`);
    expect(workerJob.kubernetes_sd_configs[0].namespaces.names).toEqual([service.metadata.namespace]);
  });
});

describe('the KEDA query, evaluated by promtool', () => {
  it('asks for ceil((backlog + in flight) / slots per worker) workers', async () => {
    const busyWorker = await workerExposition({ sd15: { free: 3, busy: 5 }, sd21: { free: 4, busy: 0 } });
    const edge = edgeExposition({
      backlog: { 'sd15:interactive': 9, 'sd15:batch': 4, 'sd21:interactive': 50, 'sd21:batch': 0 },
      inFlight: { 'sd15:interactive': 5, 'sd15:batch': 2, 'sd21:interactive': 0, 'sd21:batch': 0 },
      waiting: { sd15: 30, sd21: 0 },
    });
    const series = [
      ...steady(EDGE, edge),
      ...steady(worker(1), busyWorker),
      ...steady(worker(2), busyWorker),
    ];
    // sd15 only, both tiers, waiting left out: (9 + 4 + 5 + 2) jobs / 8 slots per worker.
    const run = evaluate(KEDA_QUERY, series, 20 / 8);
    expect(run.status, run.output).toBe(0);
    // The HPA's AverageValue rule: ceil(value / threshold) replicas.
    expect(Math.ceil(20 / 8 / Number(trigger.metadata.threshold))).toBe(3);
    expect(trigger.metricType).toBe('AverageValue');
  });

  it('keeps busy workers when the backlog is empty but their jobs still run', async () => {
    const fullWorker = await workerExposition({ sd15: { free: 0, busy: 8 } });
    const edge = edgeExposition({
      backlog: { 'sd15:interactive': 0, 'sd15:batch': 0 },
      inFlight: { 'sd15:interactive': 10, 'sd15:batch': 6 },
    });
    const series = [
      ...steady(EDGE, edge),
      ...steady(worker(1), fullWorker),
      ...steady(worker(2), fullWorker),
    ];
    const run = evaluate(KEDA_QUERY, series, 2);
    expect(run.status, run.output).toBe(0);
  });

  it("falls back to the ConfigMap's MAX_BATCH slots per worker while no worker reports any", () => {
    const edge = edgeExposition({
      backlog: { 'sd15:interactive': 12, 'sd15:batch': 0 },
      inFlight: { 'sd15:interactive': 0, 'sd15:batch': 0 },
    });
    const run = evaluate(KEDA_QUERY, steady(EDGE, edge), 12 / MAX_BATCH);
    expect(run.status, run.output).toBe(0);
  });

  it('is empty without the edge series, so KEDA uses its fallback instead of scaling down', async () => {
    const idleWorker = await workerExposition({ sd15: { free: 8, busy: 0 } });
    const run = evaluate(KEDA_QUERY, steady(worker(1), idleWorker));
    expect(run.status, run.output).toBe(0);
    expect(trigger.metadata.ignoreNullValues).toBe('false');
  });

  it('fails the check when the query forgets the work in flight', async () => {
    const busyWorker = await workerExposition({ sd15: { free: 3, busy: 5 } });
    const edge = edgeExposition({
      backlog: { 'sd15:interactive': 9, 'sd15:batch': 4 },
      inFlight: { 'sd15:interactive': 5, 'sd15:batch': 2 },
    });
    const wrong = KEDA_QUERY.replace(/\+\s*sum\(latent_edge_dispatch_in_flight\{model="sd15"\}\)/, '');
    expect(wrong).not.toBe(KEDA_QUERY);
    const run = evaluate(wrong, [...steady(EDGE, edge), ...steady(worker(1), busyWorker)], 20 / 8);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/expected|exp/i);
  });
});

describe('the alerts, evaluated by promtool', () => {
  const growingBacklog = Array.from({ length: 21 }, (_, minute) =>
    edgeExposition({
      backlog: { 'sd15:interactive': minute + 1, 'sd15:batch': 0 },
      inFlight: { 'sd15:interactive': 16, 'sd15:batch': 0 },
    }),
  );
  const backlogAlert = {
    exp_labels: { model: 'sd15', severity: 'warning' },
    exp_annotations: { summary: 'sd15: backlog growing for 10 minutes with no free worker slot' },
  };

  it('warns when the backlog grows for 10 minutes and no worker has a free slot', async () => {
    const full = await workerExposition({ sd15: { free: 0, busy: 8 } });
    const run = promtoolTest({
      input_series: [...toInputSeries(growingBacklog, EDGE), ...toInputSeries(times(21, full), worker(1))],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'LatentEdgeBacklogGrowingWithNoFreeSlots', exp_alerts: [] },
        {
          eval_time: '20m',
          alertname: 'LatentEdgeBacklogGrowingWithNoFreeSlots',
          exp_alerts: [backlogAlert],
        },
      ],
    });
    expect(run.status, run.output).toBe(0);
  });

  it('stays quiet while a worker still has free slots', async () => {
    const roomy = await workerExposition({ sd15: { free: 2, busy: 6 } });
    const run = promtoolTest({
      input_series: [...toInputSeries(growingBacklog, EDGE), ...toInputSeries(times(21, roomy), worker(1))],
      alert_rule_test: [
        { eval_time: '20m', alertname: 'LatentEdgeBacklogGrowingWithNoFreeSlots', exp_alerts: [] },
      ],
    });
    expect(run.status, run.output).toBe(0);
  });

  it('warns about a worker still draining after 6 minutes, not one that drains for 3', async () => {
    const draining = await workerExposition({ sd15: { free: 0, busy: 1 } }, 1);
    const run = promtoolTest({
      input_series: toInputSeries(times(11, draining), worker(3)),
      alert_rule_test: [
        { eval_time: '3m', alertname: 'LatentEdgeWorkerDrainingTooLong', exp_alerts: [] },
        {
          eval_time: '10m',
          alertname: 'LatentEdgeWorkerDrainingTooLong',
          exp_alerts: [
            {
              exp_labels: { ...worker(3), severity: 'warning' },
              exp_annotations: { summary: '10.0.0.3:8788 has been draining for more than 6 minutes' },
            },
          ],
        },
      ],
    });
    expect(run.status, run.output).toBe(0);
  });
});
