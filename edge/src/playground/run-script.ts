// The playground's run, as browser JavaScript inlined into the page (no build step): POST
// /v1/images with `Prefer: respond-async`, the job followed to its end (api-client-script.ts) with
// queue position, progress and previews shown, then the image, its seed and its share link; the
// Cancel button while it runs. The body is the form's, plus an edit's fields (edit-script.ts).
// Phase changes are announced in the status region; step counts are not, so a screen reader is
// not flooded. Needs the form script's names (same scope).
//
// Kept free of backticks and `${`: it is a String.raw template.

// biome-ignore lint/complexity/noUselessStringRaw: browser code, whose escapes must reach the browser as written
export const RUN_SCRIPT = String.raw`
const generateButton = byId('generate');
const cancelButton = byId('cancel');
const progressBox = byId('progress-box');
const progressBar = byId('progress');
const progressText = byId('progress-text');
const previewBox = byId('preview-box');
const previewImage = byId('preview');
const resultBox = byId('result');
const resultImage = byId('result-image');
const resultSeed = byId('result-seed');
const shareLink = byId('share-link');
const openShare = byId('open-share');

let running = null;
let phase = '';

function enterPhase(name, text) {
  if (phase === name) return;
  phase = name;
  announce(text);
}

function showQueued(position) {
  enterPhase('queued', 'Waiting in the queue…');
  progressBox.hidden = false;
  progressBar.removeAttribute('value');
  // Position 1 is the next job to start (shared/src/protocol/job-events.ts).
  progressText.textContent =
    typeof position !== 'number' ? 'Queued' : position <= 1 ? 'Next in the queue' : 'Queue position ' + position;
}

function showProgress(step, steps, etaMs) {
  enterPhase('running', 'Generating…');
  progressBox.hidden = false;
  if (typeof step !== 'number' || typeof steps !== 'number') {
    progressBar.removeAttribute('value');
    progressText.textContent = 'Generating';
    return;
  }
  progressBar.max = steps;
  progressBar.value = step;
  const left = typeof etaMs === 'number' && etaMs > 0 ? ', about ' + Math.ceil(etaMs / 1000) + ' s left' : '';
  progressText.textContent = 'Step ' + step + ' of ' + steps + left;
}

function showPreview(step, image) {
  if (typeof image !== 'string' || !image.startsWith('data:image/')) return;
  previewImage.src = image;
  previewImage.alt = 'Preview at step ' + step + ': ' + running.prompt;
  previewBox.hidden = false;
}

function onUpdate(type, data) {
  if (type === 'queued') showQueued(data.position);
  else if (type === 'progress') showProgress(data.step, data.steps, data.eta_ms);
  else if (type === 'preview') showPreview(data.step, data.image);
  else if (type === 'job' && data.status === 'queued') showQueued(data.position);
  else if (type === 'job' && data.status === 'running') {
    const progress = data.progress || {};
    showProgress(progress.step, progress.steps, progress.eta_ms);
  }
}

function showResult(result, prompt) {
  const image = result.images[0];
  progressBox.hidden = true;
  previewBox.hidden = true;
  // An edit may have no prompt; the image still needs a name.
  resultImage.alt = (result.parameters && result.parameters.prompt) || prompt || 'Image without a prompt';
  resultImage.width = image.width;
  resultImage.height = image.height;
  resultImage.src = image.url;
  resultSeed.textContent = String(image.seed);
  shareLink.value = image.share_url;
  openShare.href = image.share_url;
  resultBox.hidden = false;
  announce('Done. Seed ' + image.seed + '.');
}

function finish(view, prompt) {
  if (view.result) return showResult(view.result, prompt);
  progressBox.hidden = true;
  previewBox.hidden = true;
  if (view.status === 'cancelled') return announce('Cancelled.');
  announce('Failed.');
  showError('The job failed: ' + ((view.error && view.error.message) || 'no reason given'));
}

function setBusy(busy) {
  form.setAttribute('aria-busy', String(busy));
  generateButton.setAttribute('aria-disabled', String(busy));
  if (!busy) {
    // A disabled button drops keyboard focus; hand it back to Generate.
    if (document.activeElement === cancelButton) generateButton.focus();
    cancelButton.disabled = true;
  }
}

async function generate(event) {
  event.preventDefault();
  if (running) return;
  clearError();
  if (!keyInput.value.trim()) {
    showError('Enter your API key first.');
    keyInput.focus();
    return;
  }
  let body;
  try {
    body = addEditFields(requestBody());
  } catch (error) {
    showError(error.message, error.field);
    return;
  }
  const job = { id: null, prompt: body.prompt, controller: new AbortController(), cancelled: null };
  running = job;
  phase = '';
  resultBox.hidden = true;
  previewBox.hidden = true;
  progressBox.hidden = true;
  setBusy(true);
  announce('Sending…');
  try {
    const response = await api.request('/v1/images', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: JSON.stringify(body),
      signal: job.controller.signal,
    });
    if (!response.ok) throw await api.failureOf(response);
    const answer = await response.json();
    // 200: every image was in the result cache, so there is no job to follow.
    if (response.status !== 202) return showResult(answer, body.prompt);
    job.id = answer.id;
    cancelButton.disabled = false;
    showQueued();
    finish(await api.followJob(job.id, job.controller.signal, onUpdate), body.prompt);
  } catch (error) {
    if (job.cancelled) return finish(job.cancelled, body.prompt);
    progressBox.hidden = true;
    announce('Failed.');
    if (error instanceof api.ApiFailure) showError(error.message, error.field);
    else showError('Could not reach the server: ' + error.message);
  } finally {
    running = null;
    setBusy(false);
  }
}

async function cancel() {
  const job = running;
  if (!job || !job.id) return;
  cancelButton.disabled = true;
  generateButton.focus();
  announce('Cancelling…');
  try {
    const response = await api.request('/v1/jobs/' + encodeURIComponent(job.id), { method: 'DELETE' });
    if (response.ok) {
      const view = await response.json();
      if (view.status === 'cancelled') {
        job.cancelled = view;
        job.controller.abort();
      }
      return;
    }
    // 409: it finished meanwhile, and its outcome is on its way.
    if (response.status !== 409) showError('Cancel: ' + (await api.failureOf(response)).message);
  } catch (error) {
    showError('Could not reach the server to cancel: ' + error.message);
  }
  if (running === job) cancelButton.disabled = false;
}

async function copyShareLink() {
  try {
    await navigator.clipboard.writeText(shareLink.value);
    announce('Share link copied.');
  } catch {
    shareLink.focus();
    shareLink.select();
    announce('The browser did not allow copying; the link is selected, copy it with Ctrl+C.');
  }
}

form.addEventListener('submit', generate);
cancelButton.addEventListener('click', cancel);
byId('copy-share').addEventListener('click', copyShareLink);
`;
