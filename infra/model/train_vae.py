"""Stage (b): the VAE, trained with reconstruction (L1 + L2) and a small KL term (Rombach et al. 2022 §3.1,
without the perceptual/GAN losses, which flat synthetic shapes do not need)."""
import numpy as np
import torch

from .train_clip import cosine_lr, to_tensor


def train_vae(vae, images, steps, batch, crop, seed, log, lr=3e-3, kl_weight=1e-4):
    """Fully convolutional, so it trains on crop x crop patches at 8-pixel-aligned offsets (4x cheaper
    than whole 64x64 images for 32-pixel crops) and still runs on any multiple of 8 afterwards."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    n, size = images.shape[0], images.shape[1]
    vae.train()
    hist = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, warmup=min(100, steps // 10 + 1))
        oy, ox = (int(v) * 8 for v in rng.integers(0, (size - crop) // 8 + 1, size=2))
        x = to_tensor(images, rng.choice(n, batch, replace=False))[:, :, oy:oy + crop, ox:ox + crop]
        mean, logvar = vae.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        xr = vae.decode(z)
        mse = ((xr - x) ** 2).mean()
        rec = (xr - x).abs().mean() + mse
        kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).mean()
        loss = rec + kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        hist.append((mse.item(), kl.item()))
        if step % 100 == 0 or step == steps - 1:
            m, k = np.mean(hist[-100:], axis=0)
            log(f"vae step {step + 1}/{steps} mse {m:.5f} (psnr {10 * np.log10(4 / max(m, 1e-10)):.1f} dB) kl {k:.3f}")
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)


@torch.no_grad()
def encode_dataset(vae, images, batch=256):
    """Posterior mean and std of every image, [n, 4, h, w] each (unscaled)."""
    means, stds = [], []
    for i in range(0, len(images), batch):
        mean, logvar = vae.encode(to_tensor(images, slice(i, i + batch)))
        means.append(mean)
        stds.append(torch.exp(0.5 * logvar))
    return torch.cat(means), torch.cat(stds)
