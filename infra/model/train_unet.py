"""Stage (c): the UNet, predicting the noise (epsilon) added to scaled VAE latents (Ho et al. 2020, Eq. 14),
with SD's DDPM schedule (scaled_linear, beta 0.00085 -> 0.012, 1000 steps) so SD's schedulers apply
unchanged, conditioned on the frozen text encoder's last_hidden_state; ~10% of captions are replaced by
the empty caption so classifier-free guidance works (Ho & Salimans 2022)."""
import copy

import numpy as np
import torch
import torch.nn.functional as F

from .train_clip import cosine_lr

NUM_TRAIN_TIMESTEPS = 1000


def alphas_cumprod():
    """diffusers DDPMScheduler, beta_schedule="scaled_linear" (SD-NOTES §2.1)."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, NUM_TRAIN_TIMESTEPS, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0).float()


@torch.no_grad()
def encode_captions(text_encoder, ids, batch=512):
    """last_hidden_state for every caption, stored as float16 to halve memory: [m, 77, d]."""
    out = []
    for i in range(0, len(ids), batch):
        out.append(text_encoder(torch.from_numpy(ids[i:i + batch]))[0].half())
    return torch.cat(out)


def train_unet(unet, means, stds, contexts, empty_context, scaling_factor, steps, batch, seed, log,
               lr=1e-3, caption_dropout=0.1, ema_decay=0.999, probe=None, probe_every=1000):
    """contexts [n, k, 77, d] float16 (k captions per latent). Returns the EMA copy of the UNet.
    `probe(ema)` is called every `probe_every` steps to log how well the model draws so far."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ac = alphas_cumprod()
    ema = copy.deepcopy(unet)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.01)
    n, k = contexts.shape[:2]
    unet.train()
    hist = []
    warmup = min(300, steps // 10 + 1)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, warmup)
        idx = torch.from_numpy(rng.choice(n, batch, replace=False))
        ctx = contexts[idx, torch.from_numpy(rng.integers(k, size=batch))].float()
        drop = torch.from_numpy(rng.random(batch) < caption_dropout)
        ctx[drop] = empty_context
        z0 = (means[idx] + stds[idx] * torch.randn_like(means[idx])) * scaling_factor
        t = torch.randint(0, NUM_TRAIN_TIMESTEPS, (batch,))
        noise = torch.randn_like(z0)
        a = ac[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        loss = F.mse_loss(unet(zt, t.float(), ctx), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        decay = min(ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.mul_(decay).add_(p.detach(), alpha=1 - decay)
        hist.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            log(f"unet step {step + 1}/{steps} loss {np.mean(hist[-100:]):.4f} lr {opt.param_groups[0]['lr']:.2e}")
        if probe is not None and (step + 1) % probe_every == 0 and step + 1 < steps:
            ema.eval()
            probe(ema)
    unet.eval()
    ema.eval()
    return ema
