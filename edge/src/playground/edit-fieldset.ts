// The playground's editing controls, inside the generation form: a source image (uploaded, or a
// result taken over with "Edit this"), the mask canvas laid over it for inpainting, the sides to
// add for outpainting, and the fields both share (strength, mask blur, masked content). Hidden
// until there is a source image; edit-script.ts and mask-canvas-script.ts bring them to life.

import {
  MASKED_CONTENT,
  MAX_MASK_BLUR,
  type MaskedContent,
} from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { html } from 'hono/html';

const MASKED_CONTENT_LABELS: Readonly<Record<MaskedContent, string>> = {
  original: 'Original image',
  fill: 'Fill (the colours around it)',
  latent_noise: 'Latent noise',
  latent_nothing: 'Latent nothing',
};

const SIDES = ['left', 'right', 'top', 'bottom'] as const;

const sideField = (side: (typeof SIDES)[number]) => html`<div class="field">
<label for="outpaint-${side}">${side[0].toUpperCase()}${side.slice(1)} (pixels)</label>
<input id="outpaint-${side}" name="outpaint_${side}" type="number" inputmode="numeric" min="0" max="${LIMITS.maxSize}" step="${LIMITS.sizeMultiple}" value="0">
</div>`;

export function editFieldset() {
  return html`<fieldset id="edit-box">
<legend>Edit an image</legend>
<div class="field">
<label for="source-file">Source image</label>
<input id="source-file" name="source_file" type="file" accept="image/png,image/jpeg,image/webp" aria-describedby="source-file-hint">
<p id="source-file-hint" class="hint">PNG, JPEG or WebP, or press “Edit this” under a result. Without one, Generate draws from the prompt alone.</p>
</div>
<div id="edit-controls" hidden>
<fieldset class="choice">
<legend>Edit mode</legend>
<input type="radio" id="mode-inpaint" name="edit_mode" value="inpaint" checked>
<label for="mode-inpaint">Inpaint: repaint what you paint over</label>
<input type="radio" id="mode-outpaint" name="edit_mode" value="outpaint">
<label for="mode-outpaint">Outpaint: extend the picture</label>
</fieldset>
<p id="edit-size-hint" class="hint">Width and height come from the source image.</p>
<div class="stack">
<img id="source-image" alt="">
<canvas id="mask-canvas" role="img" aria-label="Mask over the source image: paint the area to repaint" aria-describedby="mask-hint"></canvas>
</div>
<div id="inpaint-controls">
<p id="mask-hint" class="hint">Drag over the picture to paint the mask; only the painted area is repainted. Invert an empty mask to repaint everything.</p>
<fieldset class="choice">
<legend>Brush</legend>
<input type="radio" id="brush-paint" name="brush" value="paint" checked>
<label for="brush-paint">Paint</label>
<input type="radio" id="brush-erase" name="brush" value="erase">
<label for="brush-erase">Erase</label>
</fieldset>
<div class="field">
<label for="brush-size">Brush diameter (pixels)</label>
<input id="brush-size" name="brush_size" type="range" min="1" max="128" step="1" value="8" aria-describedby="brush-size-hint">
<p id="brush-size-hint" class="hint">In the image’s own pixels.</p>
</div>
<div class="actions">
<button type="button" id="clear-mask" class="secondary">Clear mask</button>
<button type="button" id="invert-mask" class="secondary">Invert mask</button>
</div>
</div>
<div id="outpaint-controls" class="grid" hidden>
${SIDES.map(sideField)}
<p id="outpaint-hint" class="hint">The image’s size plus these must be a size the model makes.</p>
</div>
<div class="grid">
<div class="field">
<label for="strength">Strength</label>
<input id="strength" name="strength" type="number" inputmode="decimal" min="0.01" max="1" step="0.01" placeholder="0.75" aria-describedby="strength-hint">
<p id="strength-hint" class="hint">How much to repaint; 1 ignores what is there.</p>
</div>
<div class="field">
<label for="mask-blur">Mask blur (pixels)</label>
<input id="mask-blur" name="mask_blur" type="number" inputmode="decimal" min="0" max="${MAX_MASK_BLUR}" step="any" value="4">
</div>
<div class="field">
<label for="masked-content">Masked content</label>
<select id="masked-content" name="masked_content">${MASKED_CONTENT.map((value) => html`<option value="${value}"${value === 'original' ? ' selected' : ''}>${MASKED_CONTENT_LABELS[value]}</option>`)}</select>
</div>
</div>
<button type="button" id="stop-editing" class="secondary">Stop editing</button>
</div>
</fieldset>`;
}
