// The API reference page: the OpenAPI document rendered on the server as one HTML page. No
// scripts, fonts or stylesheets from elsewhere (the CSS is inline), every text from the document
// escaped by hono's `html`; landmarks, one h1 and headings in order, a skip link, tables with
// captions and header cells, and colours above WCAG AA contrast in light and dark schemes.
import { html, raw } from 'hono/html';
import {
  HTTP_METHODS,
  type HttpMethod,
  type OpenApiDocument,
  type Operation,
  type PathItem,
} from './openapi-types.ts';
import { operationAnchor, operationHtml } from './operation-html.ts';
import { type Html, proseHtml } from './prose-html.ts';
import { schemaAnchor, schemaHtml } from './schema-html.ts';

const CSS = `
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#4a4a4a;--line:#d0d0d0;--code:#f3f3f3;--link:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#ececec;--bg:#141414;--muted:#c4c4c4;--line:#444;--code:#262626;--link:#9ec1ff}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus-visible{outline:3px solid var(--link);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.5rem}
.layout{display:grid;grid-template-columns:minmax(14rem,18rem) minmax(0,1fr);gap:2rem;max-width:84rem;margin:0 auto;padding:0 1rem}
@media (max-width:60rem){.layout{grid-template-columns:1fr}}
header,footer{max-width:84rem;margin:0 auto;padding:1rem}
nav{position:sticky;top:0;max-height:100vh;overflow:auto;padding:1rem 0;font-size:.9rem}
nav ul{list-style:none;padding-left:.75rem;margin:.25rem 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
code{background:var(--code);padding:0 .2em;border-radius:3px}
pre{background:var(--code);padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
pre code{padding:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-top:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
.operation{border-top:2px solid var(--line);padding-top:.5rem;margin-top:2rem}
.method{display:inline-block;min-width:4.2em;text-align:center;color:#fff;border-radius:4px;padding:0 .4em;font-size:.85em}
.get{background:#0b6b3a}.post{background:#1d4ed8}.delete{background:#b42318}.head{background:#4b5563}
.summary{font-weight:400}
.required{color:#b42318;font-size:.8em;font-weight:600}
@media (prefers-color-scheme:dark){.required{color:#ff9b8f}}
.rule{color:var(--muted);font-size:.9em}
`;

function operations(document: OpenApiDocument): [string, PathItem, HttpMethod, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [[path, item, method, operation] as [string, PathItem, HttpMethod, Operation]] : [];
    }),
  );
}

export function referencePage(document: OpenApiDocument): Html {
  const all = operations(document);
  const byTag = document.tags.map((tag) => ({
    tag,
    operations: all.filter(([, , , op]) => op.tags.includes(tag.name)),
  }));
  const tagAnchor = (name: string) => `tag-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${document.info.title} API reference</title>
<meta name="description" content="${document.info.summary ?? ''}">
<style>${raw(CSS)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the reference</a>
<header>
<h1>${document.info.title} API reference</h1>
<p>Version ${document.info.version} · OpenAPI ${document.openapi} · <a href="/openapi.json">openapi.json</a> · Server <code>${document.servers[0].url}</code></p>
</header>
<div class="layout">
<nav aria-label="Contents">
<ul>
<li><a href="#overview">Overview</a></li>
${byTag.map(
  ({ tag, operations: ops }) => html`<li><a href="#${tagAnchor(tag.name)}">${tag.name}</a>
<ul>${ops.map(([path, , method, op]) => html`<li><a href="#${operationAnchor(op)}">${method.toUpperCase()} ${path}</a></li>`)}</ul></li>`,
)}
<li><a href="#schemas">Schemas</a></li>
</ul>
</nav>
<main id="main">
<section aria-labelledby="overview">
<h2 id="overview">Overview</h2>
${proseHtml(document.info.description)}
</section>
${byTag.map(
  ({ tag, operations: ops }) => html`<section aria-labelledby="${tagAnchor(tag.name)}">
<h2 id="${tagAnchor(tag.name)}">${tag.name}</h2>
${proseHtml(tag.description)}
${ops.map(([path, item, method, op]) => operationHtml(document, path, item, method, op))}
</section>`,
)}
<section aria-labelledby="schemas">
<h2 id="schemas">Schemas</h2>
${Object.entries(document.components.schemas).map(
  ([name, schema]) => html`<section aria-labelledby="${schemaAnchor(name)}">
<h3 id="${schemaAnchor(name)}">${name}</h3>
${proseHtml(schema.description as string | undefined)}
${schemaHtml(schema, `Fields of ${name}`)}
</section>`,
)}
</section>
</main>
</div>
<footer><p>Generated from the zod schemas the routes validate with.</p></footer>
</body>
</html>`;
}
