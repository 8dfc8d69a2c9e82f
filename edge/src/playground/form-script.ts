// The playground's form, as browser JavaScript inlined into the page (no build step): the API key
// (from `#key=…`, which is then taken out of the address bar, or from localStorage), the model's
// sizes (a Size list in place of Width and Height for a model with aspect buckets, SDXL's),
// steps, schedulers and LoRAs (a LoRA list and its weight, shown for a model that has any) from
// GET /v1/models, the fields pre-filled from the share page's
// remix link (`/?prompt=…&seed=…`), the request body, and the status and error regions.
//
// Kept free of backticks and `${`: it is a String.raw template.

// biome-ignore lint/complexity/noUselessStringRaw: browser code, whose escapes must reach the browser as written
export const FORM_SCRIPT = String.raw`
const KEY_STORAGE = 'latent-edge.api-key';
const byId = (id) => document.getElementById(id);
const form = byId('generate-form');
const keyForm = byId('key-form');
const keyInput = byId('api-key');
const fields = {
  prompt: byId('prompt'),
  negative_prompt: byId('negative-prompt'),
  model: byId('model'),
  size: byId('size'),
  width: byId('width'),
  height: byId('height'),
  steps: byId('steps'),
  seed: byId('seed'),
  scheduler: byId('scheduler'),
  guidance_scale: byId('guidance'),
  loras: byId('lora'),
  lora_weight: byId('lora-weight'),
};
const statusLine = byId('status');
const errorLine = byId('error');
const minSize = Number(form.dataset.minSize);
const remix = new URLSearchParams(location.search);
const api = apiClient(() => keyInput.value.trim());

let models = [];

function storeKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage is off in this browser: the key lives in the field until the page closes.
  }
}

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

/** A key handed over in the URL fragment (never sent to the server), then removed from the address bar. */
function keyFromFragment() {
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  if (key === null) return '';
  history.replaceState(null, '', location.pathname + location.search);
  return key.trim();
}

function announce(text) {
  statusLine.textContent = text;
}

function showError(message, field) {
  errorLine.textContent = message;
  errorLine.hidden = false;
  let control = field && fields[field.split(/[.[]/)[0]];
  // A bucketed model shows Size in place of Width and Height.
  if (control && control.closest('.field').hidden) control = fields.size;
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }
}

function clearError() {
  errorLine.hidden = true;
  errorLine.textContent = '';
  for (const control of Object.values(fields)) control.removeAttribute('aria-invalid');
}

function fillSelect(select, values, preferred) {
  const texts = values.map(String);
  select.replaceChildren(...texts.map((value) => new Option(value, value)));
  const choice = preferred.map((value) => (value == null ? '' : String(value))).find((v) => texts.includes(v));
  if (choice !== undefined) select.value = choice;
}

/** Sides a model accepts: multiples of its size_multiple from the API's minimum up to its maximum. */
function sides(max, multiple) {
  const out = [];
  for (let side = Math.ceil(minSize / multiple) * multiple; side <= max; side += multiple) out.push(side);
  return out;
}

/** Shows the Size list (a model with aspect buckets) or the Width and Height lists (any other). */
function showSizeFields(bucketed) {
  fields.size.closest('.field').hidden = !bucketed;
  fields.width.closest('.field').hidden = bucketed;
  fields.height.closest('.field').hidden = bucketed;
}

/**
 * Fills the fields from a model: sizes it makes (the current one kept if it is among them), and
 * its scheduler, steps and guidance. A newly chosen model brings its own of those three (a
 * few-step Turbo model wants 1 step and no guidance), unless the remix link asked for them.
 */
function applyModel(model, wanted, chosen) {
  const { defaults, limits } = model;
  const multiple = limits.size_multiple;
  const pair = (width, height) => (width && height ? width + 'x' + height : null);
  showSizeFields(Boolean(model.sizes));
  if (model.sizes) {
    const current = pair(fields.width.value, fields.height.value);
    const preferred = [pair(wanted.width, wanted.height), fields.size.value, current, pair(defaults.width, defaults.height)];
    fillSelect(fields.size, model.sizes, preferred);
  }
  fillSelect(fields.width, sides(limits.max_width, multiple), [wanted.width, fields.width.value, defaults.width]);
  fillSelect(fields.height, sides(limits.max_height, multiple), [wanted.height, fields.height.value, defaults.height]);
  const currentScheduler = chosen ? null : fields.scheduler.value;
  fillSelect(fields.scheduler, model.schedulers, [wanted.scheduler, currentScheduler, defaults.scheduler]);
  fields.steps.max = String(limits.max_steps);
  fields.steps.placeholder = String(defaults.steps);
  if (chosen || !fields.steps.value) fields.steps.value = String(defaults.steps);
  fields.guidance_scale.placeholder = String(defaults.guidance_scale);
  if (chosen || !fields.guidance_scale.value) fields.guidance_scale.value = String(defaults.guidance_scale);
  applyLoras(model.loras || [], wanted.loras);
}

/** The model's LoRAs, "None" first; both LoRA fields hidden for a model that has none. */
function applyLoras(loras, wanted) {
  const current = fields.loras.value;
  const names = loras.map((lora) => lora.name);
  fields.loras.replaceChildren(new Option('None', ''), ...names.map((name) => new Option(name, name)));
  fields.loras.value = [wanted, current].find((name) => name && names.includes(name)) || '';
  fields.loras.closest('.field').hidden = names.length === 0;
  fields.lora_weight.closest('.field').hidden = names.length === 0;
}

function selectedModel() {
  return models.find((m) => m.id === fields.model.value) || models[0];
}

async function loadModels(wanted) {
  if (!keyInput.value.trim()) {
    announce('Enter your API key to start.');
    return;
  }
  announce('Loading models…');
  let response;
  try {
    response = await api.request('/v1/models');
  } catch {
    announce('');
    showError('Could not reach the server to load the models.');
    return;
  }
  if (!response.ok) {
    const failure = await api.failureOf(response);
    announce('');
    showError('Models: ' + failure.message);
    if (response.status === 401) keyInput.focus();
    return;
  }
  models = (await response.json()).data;
  fillSelect(fields.model, models.map((m) => m.id), [wanted.model, fields.model.value]);
  applyModel(selectedModel(), wanted);
  announce('Ready.');
}

function requestBody() {
  const body = { prompt: fields.prompt.value, negative_prompt: fields.negative_prompt.value };
  if (fields.model.value) body.model = fields.model.value;
  for (const name of ['width', 'height', 'steps', 'guidance_scale']) {
    if (fields[name].value !== '') body[name] = Number(fields[name].value);
  }
  if (!fields.size.closest('.field').hidden && fields.size.value) {
    const [width, height] = fields.size.value.split('x').map(Number);
    body.width = width;
    body.height = height;
  }
  if (fields.scheduler.value) body.scheduler = fields.scheduler.value;
  if (fields.loras.value && !fields.loras.closest('.field').hidden) {
    const weight = fields.lora_weight.value === '' ? 1 : Number(fields.lora_weight.value);
    body.loras = [{ name: fields.loras.value, weight }];
  }
  body.seed = fields.seed.value === '' ? -1 : Number(fields.seed.value);
  // A preview frame every other step on the job's event stream (GET /v1/jobs/:id/events).
  body.preview_every = 2;
  return body;
}

const fragmentKey = keyFromFragment();
if (fragmentKey) storeKey(fragmentKey);
keyInput.value = fragmentKey || storedKey();
for (const [name, control] of Object.entries(fields)) {
  const value = remix.get(name);
  if (value !== null && control.tagName !== 'SELECT') control.value = value;
}
keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearError();
  storeKey(keyInput.value.trim());
  loadModels({});
});
byId('forget-key').addEventListener('click', () => {
  storeKey('');
  keyInput.value = '';
  keyInput.focus();
  announce('The API key is forgotten in this browser.');
});
fields.model.addEventListener('change', () => applyModel(selectedModel(), {}, true));
loadModels(Object.fromEntries(remix));
`;
