// Validates a manifest offline against its schema: Kubernetes' own OpenAPI schemas as packaged by
// kubernetes-models, and KEDA's CRD schemas by @kubernetes-models/keda. A kind without a schema
// here is an error, so no document goes unchecked. Note: these schemas, like the API server's
// OpenAPI, allow unknown fields, so a misspelt field name is not caught (kubectl's server-side
// strict validation would); the tests check the fields that matter by name.
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import type { Manifest } from './manifests.ts';

type Validated = { validate(): void };

const MODELS: Record<string, new (data: never) => Validated> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Throws kubernetes-models' ValidationError (its message names the path and the rule). */
export function validateManifest(manifest: Manifest): void {
  const { file: _file, ...document } = manifest;
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind} (${manifest.file})`);
  new Model(document as never).validate();
}
