// The playground's editing mode, as browser JavaScript inlined into the page (no build step): a
// source image from the file input or from a result ("Edit this"), inpaint or outpaint, and the
// request fields they add to POST /v1/images (init_image, mask or outpaint, strength, mask_blur,
// masked_content). The image is held as a data: URL, which the page's img-src allows (blob: it
// does not), and sent as the base64 after its comma. Needs the form and mask scripts' names.
//
// Kept free of backticks and `${`: it is a String.raw template.

// biome-ignore lint/complexity/noUselessStringRaw: browser code, whose escapes must reach the browser as written
export const EDIT_SCRIPT = String.raw`
const EDIT_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const sourceFile = byId('source-file');
const sourceImage = byId('source-image');
const editControls = byId('edit-controls');
const inpaintMode = byId('mode-inpaint');
const outpaintMode = byId('mode-outpaint');
const inpaintControls = byId('inpaint-controls');
const outpaintControls = byId('outpaint-controls');
const SIDE_NAMES = ['left', 'right', 'top', 'bottom'];
const outpaintSides = Object.fromEntries(SIDE_NAMES.map((side) => [side, byId('outpaint-' + side)]));
Object.assign(fields, {
  init_image: sourceFile,
  strength: byId('strength'),
  mask_blur: byId('mask-blur'),
  masked_content: byId('masked-content'),
  outpaint: outpaintSides.left,
});

/** The source image's base64 (no data: prefix), or null when not editing. */
let source = null;

/** Editing replaces the size fields (the picture brings its size) and makes the prompt optional. */
function setEditing(editing) {
  editControls.hidden = !editing;
  for (const control of [fields.width, fields.height, fields.size]) control.disabled = editing;
  fields.prompt.required = !editing;
}

function showMode() {
  const outpainting = outpaintMode.checked;
  inpaintControls.hidden = outpainting;
  maskCanvas.hidden = outpainting;
  outpaintControls.hidden = !outpainting;
}

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** Shows the picture with an empty mask of its size, ready to paint on. */
async function useSource(blob, description) {
  clearError();
  if (!EDIT_TYPES.includes(blob.type)) {
    showError('Source image: choose a PNG, JPEG or WebP picture, not ' + (blob.type || 'this file') + '.', 'init_image');
    return;
  }
  const url = await readAsDataUrl(blob);
  sourceImage.src = url;
  try {
    await sourceImage.decode();
  } catch {
    showError('Source image: the browser cannot read this picture.', 'init_image');
    return;
  }
  sourceImage.alt = 'Source image: ' + description;
  resetMask(sourceImage.naturalWidth, sourceImage.naturalHeight);
  source = url.slice(url.indexOf(',') + 1);
  setEditing(true);
  showMode();
  announce('Editing ' + description + ', ' + sourceImage.naturalWidth + ' × ' + sourceImage.naturalHeight + ' pixels.');
}

/** "Edit this": the result's own bytes, read from this origin (the page may connect nowhere else). */
async function editResult() {
  const url = new URL(resultImage.src);
  try {
    const response = await fetch(url.pathname);
    if (!response.ok) throw new Error('the server answered ' + response.status);
    await useSource(await response.blob(), 'the result with seed ' + resultSeed.textContent);
  } catch (error) {
    showError('Could not load the result to edit: ' + error.message);
    return;
  }
  sourceImage.scrollIntoView({ block: 'nearest' });
  inpaintMode.focus();
}

function stopEditing() {
  source = null;
  sourceFile.value = '';
  sourceImage.removeAttribute('src');
  setEditing(false);
  sourceFile.focus();
  announce('Editing stopped; Generate draws from the prompt alone.');
}

/**
 * A size for an inpainted picture: the source's own when the model makes it, else the nearest the
 * model makes (scaled to fit, in its multiples); the server scales the picture and its mask to it.
 * A model with fixed buckets gets the source's size and says if it is not one of them.
 */
function inpaintSize(model, width, height) {
  if (!model || model.sizes) return { width, height };
  const { max_width: maxWidth, max_height: maxHeight, size_multiple: multiple } = model.limits;
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  const side = (value, max) => Math.min(max, Math.max(minSize, Math.round((value * scale) / multiple) * multiple));
  return { width: side(width, maxWidth), height: side(height, maxHeight) };
}

/** The fields an edit adds to the request body; throws an ApiFailure naming the field at fault. */
function addEditFields(body) {
  if (source === null) return body;
  body.init_image = source;
  delete body.width;
  delete body.height;
  if (fields.strength.value !== '') body.strength = Number(fields.strength.value);
  if (fields.mask_blur.value !== '') body.mask_blur = Number(fields.mask_blur.value);
  body.masked_content = fields.masked_content.value;
  if (outpaintMode.checked) {
    // The server makes the canvas the picture's size plus these, and the mask its new border.
    body.outpaint = Object.fromEntries(SIDE_NAMES.map((side) => [side, Number(outpaintSides[side].value) || 0]));
    return body;
  }
  const mask = exportMask();
  if (mask === null) throw new api.ApiFailure('invalid_request', 'Mask: paint over the area to repaint first.');
  body.mask = mask;
  Object.assign(body, inpaintSize(selectedModel(), sourceImage.naturalWidth, sourceImage.naturalHeight));
  return body;
}

sourceFile.addEventListener('change', () => {
  const file = sourceFile.files[0];
  if (file) useSource(file, file.name);
});
inpaintMode.addEventListener('change', showMode);
outpaintMode.addEventListener('change', showMode);
byId('edit-result').addEventListener('click', editResult);
byId('stop-editing').addEventListener('click', stopEditing);
`;
