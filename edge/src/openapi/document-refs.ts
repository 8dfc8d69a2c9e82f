// `$ref`s inside the document point into its components (`#/components/<kind>/<name>`); the page
// and the curl examples follow them to show what they name.
import { isReference, type OpenApiDocument, type Reference } from './openapi-types.ts';

export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

export function resolve<T extends object>(document: OpenApiDocument, value: T | Reference): T {
  if (!isReference(value)) return value;
  const [hash, components, kind, name] = value.$ref.split('/');
  const section =
    hash === '#' && components === 'components'
      ? (document.components[kind as keyof OpenApiDocument['components']] as
          | Record<string, unknown>
          | undefined)
      : undefined;
  const target = section?.[name];
  if (!target) throw new Error(`unresolved reference ${value.$ref}`);
  return target as T;
}
