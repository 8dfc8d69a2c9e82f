// The gpu-worker's Kubernetes manifests: every document valid against its schema (offline), and
// wired to each other and to the worker as it really is: the grace period against the drain time
// in the ConfigMap, the ConfigMap against the worker's own config validation, the probes against
// the worker's HTTP app.
import { describe, expect, it } from 'vitest';
import { BUNDLED_MODEL_DIR, loadConfig } from '../../gpu-worker/src/config.ts';
import { createApp, type WorkerState } from '../../gpu-worker/src/server/app.ts';
import { createMetrics } from '../../gpu-worker/src/service/metrics.ts';
import { validateManifest } from './kubernetes-schemas.ts';
import { findManifest, type Manifest, readManifests } from './manifests.ts';

const manifests = readManifests();
const deployment = findManifest(manifests, 'Deployment', 'gpu-worker-sd15');
const configMap = findManifest(manifests, 'ConfigMap', 'gpu-worker-sd15');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const clone = (m: Manifest): Manifest => structuredClone(m);

describe('gpu-worker manifests against their schemas', () => {
  it('finds the Deployment, Service, ConfigMap, Secret, PodDisruptionBudget and ScaledObject', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'ScaledObject', 'Secret', 'Service'].sort(),
    );
  });

  it.each(manifests.map((m) => [`${m.kind} ${m.metadata.name}`, m] as const))(
    '%s is valid',
    (_, manifest) => {
      expect(() => validateManifest(manifest)).not.toThrow();
    },
  );

  it('refuses a Deployment whose container port is a name instead of a number', () => {
    const broken = clone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => validateManifest(broken)).toThrow(/containerPort must be integer/);
  });

  it('refuses a ScaledObject without its scale target', () => {
    const broken = clone(findManifest(manifests, 'ScaledObject', 'gpu-worker-sd15'));
    delete broken.spec.scaleTargetRef;
    expect(() => validateManifest(broken)).toThrow(/scaleTargetRef/);
  });

  it('refuses a kind it has no schema for, rather than passing it unchecked', () => {
    const unknown = { ...clone(configMap), apiVersion: 'example.com/v1', kind: 'Widget' };
    expect(() => validateManifest(unknown)).toThrow(/no schema for example.com\/v1 Widget/);
  });
});

describe('gpu-worker manifests wired together', () => {
  it('gives the pod a grace period above preStop + DRAIN_TIMEOUT_MS + the longest job', () => {
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const drainSeconds = Number(configMap.data?.DRAIN_TIMEOUT_MS) / 1000;
    const longestJobSeconds = Number(configMap.data?.JOB_TIMEOUT_MS) / 1000;
    expect(drainSeconds).toBeGreaterThan(0);
    expect(longestJobSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(preStop[1]) + drainSeconds + longestJobSeconds,
    );
    // A job claimed just before SIGTERM finishes within the drain instead of being redelivered.
    expect(drainSeconds).toBeGreaterThanOrEqual(longestJobSeconds);
  });

  it("passes the ConfigMap's values through the gpu-worker's own config validation", () => {
    // Only the model folder (not on this machine) and the secrets (in the Secret) are swapped.
    const env = {
      ...configMap.data,
      MODELS: `sd15=${BUNDLED_MODEL_DIR}`,
      GPU_SHARED_SECRET: 'x'.repeat(64),
      QUEUES_API_TOKEN: 'y'.repeat(40),
    };
    const config = loadConfig(env);
    expect(config.DRAIN_TIMEOUT_MS).toBe(Number(configMap.data?.DRAIN_TIMEOUT_MS));
    expect(config.HOST).toBe('0.0.0.0');
    expect(container.ports[0].containerPort).toBe(config.PORT);
    // Pull mode, from the ConfigMap's PULL_QUEUES: both tiers of sd15.
    expect(config.PULL_QUEUES.map((q) => `${q.model}:${q.tier}`).sort()).toEqual([
      'sd15:batch',
      'sd15:interactive',
    ]);
  });

  it('takes the environment from the ConfigMap and the secrets from the Secret', () => {
    const sources = container.envFrom.map(
      (s: Record<string, { name: string }>) => s.configMapRef ?? s.secretRef,
    );
    expect(sources.map((s: { name: string }) => s.name)).toEqual([
      configMap.metadata.name,
      findManifest(manifests, 'Secret', 'gpu-worker').metadata.name,
    ]);
    const secret = findManifest(manifests, 'Secret', 'gpu-worker');
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(['GPU_SHARED_SECRET', 'QUEUES_API_TOKEN']);
    expect(Object.keys(configMap.data ?? {})).not.toContain('GPU_SHARED_SECRET');
    expect(Object.keys(configMap.data ?? {})).not.toContain('QUEUES_API_TOKEN');
  });

  it('asks for one GPU and points the Service, PDB and ScaledObject at these pods', () => {
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    const podLabels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(matches(findManifest(manifests, 'Service', 'gpu-worker').spec.selector)).toBe(true);
    expect(
      matches(findManifest(manifests, 'PodDisruptionBudget', 'gpu-worker-sd15').spec.selector.matchLabels),
    ).toBe(true);
    const scaledObject = findManifest(manifests, 'ScaledObject', 'gpu-worker-sd15');
    expect(scaledObject.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(deployment.spec.replicas).toBeUndefined();
  });
});

describe('gpu-worker probes against the worker', () => {
  const state: WorkerState = { ready: false, draining: false };
  const app = createApp({
    config: { GPU_SHARED_SECRET: 'x'.repeat(64), JOB_TIMEOUT_MS: 120_000, MAX_BODY_BYTES: 1 << 20 },
    models: new Map(),
    batchers: new Map(),
    metrics: createMetrics(),
    state,
  });
  const probe = async (name: 'startupProbe' | 'readinessProbe' | 'livenessProbe') => {
    const { path, port } = container[name].httpGet;
    expect(container.ports.find((p: { name: string }) => p.name === port)).toBeDefined();
    return (await app.request(path)).status;
  };

  it('holds startup and readiness back while models load, and keeps liveness up', async () => {
    state.ready = false;
    state.draining = false;
    expect(await probe('startupProbe')).toBe(503);
    expect(await probe('readinessProbe')).toBe(503);
    expect(await probe('livenessProbe')).toBe(200);
  });

  it('passes all three once the worker is ready', async () => {
    state.ready = true;
    state.draining = false;
    expect(await probe('startupProbe')).toBe(200);
    expect(await probe('readinessProbe')).toBe(200);
    expect(await probe('livenessProbe')).toBe(200);
  });

  it('turns unready while draining but stays alive, so the kubelet does not kill the drain', async () => {
    state.ready = true;
    state.draining = true;
    expect(await probe('readinessProbe')).toBe(503);
    expect(await probe('livenessProbe')).toBe(200);
  });
});
