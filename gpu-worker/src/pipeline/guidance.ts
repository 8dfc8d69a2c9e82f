// Classifier-free guidance (Ho & Salimans 2022, Eq. 6): ε = ε_u + s·(ε_c − ε_u), and its optional
// rescale (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4,
// Eq. 15–16; diffusers `rescale_noise_cfg`): match the guided prediction's standard deviation to
// the conditional one's, then blend by φ.

function std(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i] - mean) ** 2;
  // torch.std is the unbiased (n − 1) estimator.
  return Math.sqrt(sq / (values.length - 1));
}

export function applyGuidance(
  uncond: Float32Array,
  cond: Float32Array,
  guidanceScale: number,
  guidanceRescale = 0,
): Float32Array {
  const guided = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) guided[i] = uncond[i] + guidanceScale * (cond[i] - uncond[i]);
  if (guidanceRescale > 0) {
    const ratio = std(cond) / std(guided);
    for (let i = 0; i < guided.length; i++) {
      guided[i] = guidanceRescale * (guided[i] * ratio) + (1 - guidanceRescale) * guided[i];
    }
  }
  return guided;
}

/** Guidance is skipped (no uncond branch at all) at scale ≤ 1, and for LCM-distilled UNets. */
export function usesGuidance(guidanceScale: number, lcmDistilled: boolean): boolean {
  return guidanceScale > 1 && !lcmDistilled;
}

/**
 * LCM's guidance embedding (Luo et al. 2023; diffusers `get_guidance_scale_embedding`): the
 * sinusoidal embedding of (w − 1)·1000 that LCM-distilled UNets take as `timestep_cond`.
 */
export function guidanceScaleEmbedding(guidanceScale: number, dim: number): Float32Array {
  const w = (guidanceScale - 1) * 1000;
  const half = dim / 2;
  const out = new Float32Array(dim);
  const factor = Math.log(10000) / (half - 1);
  for (let i = 0; i < half; i++) {
    const freq = Math.exp(-i * factor);
    out[i] = Math.sin(w * freq);
    out[half + i] = Math.cos(w * freq);
  }
  return out;
}
