// A curl command for an operation, from the document alone: its URL with the path parameters'
// examples, the API key unless the operation is public, required headers, and the request
// body's example (JSON, or multipart fields as -F, files as "@name"). For a POSIX shell: the key comes from $API_KEY, everything else is quoted.
import { resolve } from './document-refs.ts';
import type { HttpMethod, OpenApiDocument, Operation, Parameter, PathItem } from './openapi-types.ts';

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function curlExample(
  document: OpenApiDocument,
  path: string,
  pathItem: PathItem,
  method: HttpMethod,
  operation: Operation,
): string {
  const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((p) =>
    resolve<Parameter>(document, p),
  );
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const example = parameters.find((p) => p.in === 'path' && p.name === name)?.example;
    return example === undefined ? `<${name}>` : String(example);
  });
  const start = method === 'head' ? 'curl -I' : method === 'get' ? 'curl' : `curl -X ${method.toUpperCase()}`;
  const lines = [`${start} ${shellQuote(document.servers[0].url + url)}`];
  if ((operation.security ?? document.security).length > 0) lines.push('-H "Authorization: Bearer $API_KEY"');
  for (const p of parameters) {
    if (p.in === 'header' && p.required) lines.push(`-H ${shellQuote(`${p.name}: <${p.name}>`)}`);
  }
  const body = operation.requestBody?.content['application/json'];
  if (body?.example !== undefined) {
    lines.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(body.example))}`);
  }
  const form = operation.requestBody?.content['multipart/form-data'];
  for (const [name, value] of Object.entries((form?.example ?? {}) as Record<string, unknown>)) {
    // "@file" is curl's own syntax for a file part.
    lines.push(`-F ${shellQuote(`${name}=${String(value)}`)}`);
  }
  return lines.join(' \\\n  ');
}
