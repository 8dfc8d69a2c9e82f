// Reads the Kubernetes manifests of infra/k8s (every YAML document in manifests/ and the Secret
// template) for the tests that validate them and evaluate their scaling query.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const K8S_DIR = import.meta.dirname;
export const MANIFESTS_DIR = join(K8S_DIR, 'manifests');
export const SECRET_TEMPLATE = join(K8S_DIR, 'gpu-worker-secret.template.yaml');
export const PROMETHEUS_DIR = join(K8S_DIR, 'prometheus');

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: a manifest is whatever YAML says; schemas check it.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Every YAML document of one file; a YAML syntax error throws, naming the file. */
export function readManifestFile(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0].message}`);
    return { ...(document.toJS() as Omit<Manifest, 'file'>), file: path };
  });
}

export function readManifests(): Manifest[] {
  const files = readdirSync(MANIFESTS_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => join(MANIFESTS_DIR, name));
  return [...files, SECRET_TEMPLATE].flatMap(readManifestFile);
}

export function findManifest(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in infra/k8s`);
  return found;
}
