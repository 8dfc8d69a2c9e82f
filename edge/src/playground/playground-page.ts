// The playground's HTML: one self-contained page (inline style and script, no external assets)
// whose every control has a label. The page is the same for everyone; what depends on the API key
// (the models, their sizes and defaults) is filled in by the script from GET /v1/models, and until
// then each choice is the server's default. Scheduler names are rendered from the shared list so
// the choice is there before a key is. Editing (a source image, its mask) is in edit-fieldset.ts.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import { html, raw } from 'hono/html';
import { editFieldset } from './edit-fieldset.ts';
import { PLAYGROUND_SCRIPT } from './playground-script.ts';
import { PLAYGROUND_STYLE } from './playground-style.ts';

const MODEL_DEFAULT = html`<option value="">model default</option>`;

export function playgroundPage() {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Playground · latent-edge</title>
<link rel="icon" href="data:,">
<style>${raw(PLAYGROUND_STYLE)}</style>
</head>
<body>
<header><h1>latent-edge playground</h1></header>
<main>
<noscript><p>The playground needs JavaScript. The HTTP API (POST /v1/images) works without it.</p></noscript>
<form id="key-form" class="key">
<div>
<label for="api-key">API key</label>
<input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" aria-describedby="api-key-hint">
<p id="api-key-hint" class="hint">Kept in this browser only (localStorage) and sent only to this server.</p>
</div>
<button type="submit" id="use-key" class="secondary">Use key</button>
<button type="button" id="forget-key" class="secondary">Forget key</button>
</form>

<form id="generate-form" data-min-size="${LIMITS.minSize}">
<h2>Image</h2>
<div class="field">
<label for="prompt">Prompt</label>
<textarea id="prompt" name="prompt" rows="3" required maxlength="${LIMITS.promptChars}"></textarea>
</div>
<div class="field">
<label for="negative-prompt">Negative prompt</label>
<textarea id="negative-prompt" name="negative_prompt" rows="2" maxlength="${LIMITS.promptChars}" aria-describedby="negative-prompt-hint"></textarea>
<p id="negative-prompt-hint" class="hint">What the image should not look like; may be left empty.</p>
</div>
<div class="grid">
<div class="field">
<label for="model">Model</label>
<select id="model" name="model">${MODEL_DEFAULT}</select>
</div>
<div class="field" hidden>
<label for="size">Size (pixels)</label>
<select id="size" name="size" aria-describedby="size-hint"></select>
<p id="size-hint" class="hint">This model makes these sizes only.</p>
</div>
<div class="field">
<label for="width">Width (pixels)</label>
<select id="width" name="width">${MODEL_DEFAULT}</select>
</div>
<div class="field">
<label for="height">Height (pixels)</label>
<select id="height" name="height">${MODEL_DEFAULT}</select>
</div>
<div class="field">
<label for="scheduler">Scheduler</label>
<select id="scheduler" name="scheduler">${MODEL_DEFAULT}${SCHEDULER_NAMES.map((name) => html`<option value="${name}">${name}</option>`)}</select>
</div>
<div class="field">
<label for="steps">Steps</label>
<input id="steps" name="steps" type="number" inputmode="numeric" min="1" max="${LIMITS.maxSteps}" step="1">
</div>
<div class="field">
<label for="guidance">Guidance scale</label>
<input id="guidance" name="guidance_scale" type="number" inputmode="decimal" min="0" max="${LIMITS.maxGuidanceScale}" step="any">
</div>
<div class="field" hidden>
<label for="lora">LoRA</label>
<select id="lora" name="loras" aria-describedby="lora-hint"><option value="">None</option></select>
<p id="lora-hint" class="hint">Or write &lt;lora:name:weight&gt; in the prompt.</p>
</div>
<div class="field" hidden>
<label for="lora-weight">LoRA weight</label>
<input id="lora-weight" name="lora_weight" type="number" inputmode="decimal" min="-${LIMITS.maxLoraWeight}" max="${LIMITS.maxLoraWeight}" step="0.05" value="1">
</div>
<div class="field">
<label for="seed">Seed</label>
<input id="seed" name="seed" type="number" inputmode="numeric" min="-1" max="${LIMITS.maxSeed}" step="1" placeholder="random" aria-describedby="seed-hint">
<p id="seed-hint" class="hint">Blank or −1: a random seed.</p>
</div>
</div>
${editFieldset()}
<div class="actions">
<button type="submit" id="generate">Generate</button>
<button type="button" id="cancel" class="secondary" disabled>Cancel</button>
</div>
</form>

<section aria-label="Progress">
<p id="status" role="status" aria-live="polite" aria-atomic="true"></p>
<p id="error" role="alert" hidden></p>
<div id="progress-box" hidden>
<label for="progress">Progress</label>
<progress id="progress" aria-describedby="progress-text"></progress>
<p id="progress-text" class="hint"></p>
</div>
<figure id="preview-box" hidden>
<img id="preview" class="picture" alt="">
<figcaption>Preview of the image so far</figcaption>
</figure>
</section>

<section id="result" aria-labelledby="result-heading" hidden>
<h2 id="result-heading">Result</h2>
<img id="result-image" class="picture" alt="">
<p>Seed: <span id="result-seed"></span></p>
<label for="share-link">Share link</label>
<div class="share">
<input id="share-link" name="share-link" type="url" readonly>
<button type="button" id="copy-share">Copy share link</button>
<a id="open-share" href="#result">Open share page</a>
</div>
<div class="actions">
<button type="button" id="edit-result" class="secondary">Edit this</button>
</div>
</section>
</main>
<script>${raw(PLAYGROUND_SCRIPT)}</script>
</body>
</html>`;
}
