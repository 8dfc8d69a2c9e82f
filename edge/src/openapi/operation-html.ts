// One operation on the reference page: what it does, how it authenticates, its parameters,
// request body, an example curl command, and each response with its headers and body.
import { html } from 'hono/html';
import { curlExample } from './curl-example.ts';
import { refName, resolve } from './document-refs.ts';
import type {
  Header,
  HttpMethod,
  JsonSchema,
  MediaType,
  OpenApiDocument,
  Operation,
  Parameter,
  PathItem,
  Response,
} from './openapi-types.ts';
import { type Html, inlineHtml, proseHtml } from './prose-html.ts';
import { schemaHtml, typeHtml } from './schema-html.ts';

export function operationAnchor(operation: Operation): string {
  return `op-${operation.operationId}`;
}

function authenticationHtml(document: OpenApiDocument, operation: Operation): Html {
  const requirements = operation.security ?? document.security;
  if (requirements.length === 0) return html`<p><strong>Public:</strong> no API key.</p>`;
  const schemes = requirements.flatMap((r) => Object.keys(r));
  return html`<p><strong>API key:</strong> ${schemes.map((name, i) => html`${i > 0 ? ' or ' : ''}${document.components.securitySchemes[name]?.scheme === 'basic' ? 'HTTP Basic (the key as the password)' : html`<code>Authorization: Bearer &lt;key&gt;</code>`}`)}.</p>`;
}

function parametersHtml(parameters: Parameter[]): Html {
  if (parameters.length === 0) return html``;
  return html`<h4>Parameters</h4>
<table>
<caption>Parameters</caption>
<thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
<tbody>${parameters.map(
    (p) =>
      html`<tr><th scope="row"><code>${p.name}</code>${p.required ? html` <span class="required">required</span>` : ''}</th><td>${p.in}</td><td>${typeHtml(p.schema)}</td><td>${p.description ? inlineHtml(p.description) : ''}${p.example !== undefined ? html` <span class="rule">e.g. <code>${String(p.example)}</code></span>` : ''}</td></tr>`,
  )}</tbody>
</table>`;
}

/** A body's media type and schema; its fields in full for requests and successes, not errors. */
function contentHtml(
  document: OpenApiDocument,
  content: Record<string, MediaType> | undefined,
  caption: string,
  fields: boolean,
) {
  return Object.entries(content ?? {}).map(([mediaType, { schema }]) => {
    const ref = typeof schema?.$ref === 'string' ? schema.$ref : undefined;
    const shown = ref ? resolve<JsonSchema>(document, { $ref: ref }) : schema;
    const json = mediaType === 'application/json';
    return html`<p>Body: <code>${mediaType}</code>${ref ? html`, <a href="#schema-${refName(ref)}">${refName(ref)}</a>` : ''}</p>
${shown && json && (fields || !ref) ? schemaHtml(shown, caption) : !json && shown?.description ? proseHtml(String(shown.description)) : ''}`;
  });
}

function headersHtml(document: OpenApiDocument, headers: Response['headers']): Html {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return html``;
  return html`<ul class="headers">${entries.map(([name, header]) => {
    const h = resolve<Header>(document, header);
    return html`<li><code>${name}</code>: ${typeHtml(h.schema)}${h.description ? html` — ${inlineHtml(h.description)}` : ''}</li>`;
  })}</ul>`;
}

function responsesHtml(document: OpenApiDocument, operation: Operation): Html[] {
  return Object.entries(operation.responses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, value]) => {
      const response = resolve<Response>(document, value);
      return html`<h5>${status}</h5>
${proseHtml(response.description)}${headersHtml(document, response.headers)}${contentHtml(document, response.content, `${status} response body`, status.startsWith('2'))}`;
    });
}

export function operationHtml(
  document: OpenApiDocument,
  path: string,
  pathItem: PathItem,
  method: HttpMethod,
  operation: Operation,
): Html {
  const id = operationAnchor(operation);
  const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((p) =>
    resolve<Parameter>(document, p),
  );
  return html`<section class="operation" aria-labelledby="${id}">
<h3 id="${id}"><span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code> <span class="summary">${operation.summary}</span></h3>
${proseHtml(operation.description)}
${authenticationHtml(document, operation)}
${parametersHtml(parameters)}
${operation.requestBody ? html`<h4>Request body</h4>${contentHtml(document, operation.requestBody.content, 'Request body fields', true)}` : ''}
<h4>Example</h4>
<pre><code>${curlExample(document, path, pathItem, method, operation)}</code></pre>
<h4>Responses</h4>
${responsesHtml(document, operation)}
</section>`;
}
