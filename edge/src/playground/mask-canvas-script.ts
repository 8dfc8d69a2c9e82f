// The playground's mask, as browser JavaScript inlined into the page (no build step): a canvas as
// large as the source image in pixels, laid over it and scaled with it by CSS, on which pointer
// events paint (or erase) round strokes in image pixels; Clear and Invert; and the export the API
// takes as `mask` (mask_source "luminance"): a PNG of the image's size, white where painted and
// black elsewhere, base64 without the data: prefix. Needs the form script's names (same scope).
//
// Kept free of backticks and `${`: it is a String.raw template.

// biome-ignore lint/complexity/noUselessStringRaw: browser code, whose escapes must reach the browser as written
export const MASK_CANVAS_SCRIPT = String.raw`
const maskCanvas = byId('mask-canvas');
const maskContext = maskCanvas.getContext('2d');
const brushSize = byId('brush-size');
const eraseBrush = byId('brush-erase');
// What the canvas shows; only its alpha means anything (the CSS makes the layer see-through).
const MASK_COLOUR = [255, 0, 255];
// Antialiased stroke edges are partly covered: half covered or more counts as painted. The
// exported mask is hard-edged on purpose; softening its edge is the server's mask_blur.
const PAINTED_ALPHA = 128;

// The stroke being drawn: the canvas as it was before it, and its points so far. Each move redraws
// the whole stroke as one path over that snapshot; drawing it piece by piece would add up the
// partly covered pixels at every overlap and widen the stroke.
let stroke = null;

/** A new, empty mask of the source image's pixel size. */
function resetMask(width, height) {
  maskCanvas.width = width;
  maskCanvas.height = height;
  stroke = null;
}

/** The pointer's position in image pixels: the canvas is drawn smaller or larger than it is. */
function imagePoint(event) {
  const box = maskCanvas.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * maskCanvas.width) / box.width,
    y: ((event.clientY - box.top) * maskCanvas.height) / box.height,
  };
}

function drawStroke() {
  const { points, base, size, erase } = stroke;
  maskContext.putImageData(base, 0, 0);
  maskContext.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
  maskContext.fillStyle = maskContext.strokeStyle = 'rgb(' + MASK_COLOUR.join(',') + ')';
  maskContext.beginPath();
  if (points.length === 1) {
    // A press without a move paints a dot.
    maskContext.arc(points[0].x, points[0].y, size / 2, 0, 2 * Math.PI);
    maskContext.fill();
    return;
  }
  maskContext.lineWidth = size;
  maskContext.lineCap = 'round';
  maskContext.lineJoin = 'round';
  maskContext.moveTo(points[0].x, points[0].y);
  for (const point of points.slice(1)) maskContext.lineTo(point.x, point.y);
  maskContext.stroke();
}

function endStroke() {
  stroke = null;
}

/** Painted becomes unpainted and the other way round, so what is shown is what gets repainted. */
function invertMask() {
  const { width, height } = maskCanvas;
  const pixels = maskContext.getImageData(0, 0, width, height);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    data[i] = MASK_COLOUR[0];
    data[i + 1] = MASK_COLOUR[1];
    data[i + 2] = MASK_COLOUR[2];
    data[i + 3] = data[i + 3] >= PAINTED_ALPHA ? 0 : 255;
  }
  maskContext.putImageData(pixels, 0, 0);
}

function clearMask() {
  maskContext.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
}

/** The mask as the API takes it (base64 PNG, white repaints), or null when nothing is painted. */
function exportMask() {
  const { width, height } = maskCanvas;
  const painted = maskContext.getImageData(0, 0, width, height).data;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const outContext = out.getContext('2d');
  const mask = outContext.createImageData(width, height);
  let any = false;
  for (let i = 0; i < painted.length; i += 4) {
    const value = painted[i + 3] >= PAINTED_ALPHA ? 255 : 0;
    if (value) any = true;
    mask.data[i] = mask.data[i + 1] = mask.data[i + 2] = value;
    mask.data[i + 3] = 255;
  }
  if (!any) return null;
  outContext.putImageData(mask, 0, 0);
  const url = out.toDataURL('image/png');
  return url.slice(url.indexOf(',') + 1);
}

maskCanvas.addEventListener('pointerdown', (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  // Captured, so a stroke that leaves the canvas keeps its pointer until the button is released.
  maskCanvas.setPointerCapture(event.pointerId);
  stroke = {
    points: [imagePoint(event)],
    base: maskContext.getImageData(0, 0, maskCanvas.width, maskCanvas.height),
    size: Number(brushSize.value),
    erase: eraseBrush.checked,
  };
  drawStroke();
});
maskCanvas.addEventListener('pointermove', (event) => {
  if (!stroke) return;
  stroke.points.push(imagePoint(event));
  drawStroke();
});
maskCanvas.addEventListener('pointerup', endStroke);
maskCanvas.addEventListener('pointercancel', endStroke);
byId('clear-mask').addEventListener('click', clearMask);
byId('invert-mask').addEventListener('click', invertMask);
`;
