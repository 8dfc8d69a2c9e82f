"""Checks after training: DDIM sampling with classifier-free guidance on held-out prompts, scored by
simple pixel statistics (asked color in the asked 3x3 cell, asked background color), and the
least-squares latent -> RGB preview map."""
import numpy as np
import torch

from . import world
from .train_clip import to_tensor
from .train_unet import NUM_TRAIN_TIMESTEPS, alphas_cumprod

NAMES = list(world.COLORS)
PALETTE = np.array([world.COLORS[c] for c in NAMES], np.float32)


@torch.no_grad()
def ddim_sample(unet, vae, cond, uncond, scaling_factor, steps=25, guidance_scale=7.5, seed=0, latent=8):
    """DDIM, eta 0 (Song et al. 2021, Eq. 12), "leading" spacing with steps_offset 1 and
    set_alpha_to_one False, as SD's configs make diffusers do (SD-NOTES §2.2, §2.6). Returns uint8 NHWC."""
    ac = alphas_cumprod()
    ratio = NUM_TRAIN_TIMESTEPS // steps
    timesteps = (np.arange(steps) * ratio + 1)[::-1]
    g = torch.Generator().manual_seed(seed)
    b = cond.shape[0]
    x = torch.randn(b, 4, latent, latent, generator=g)
    for t in timesteps:
        if guidance_scale == 1.0:
            eps = unet(x, torch.full((b,), float(t)), cond)
        else:
            e_u, e_c = unet(torch.cat([x, x]), torch.full((2 * b,), float(t)), torch.cat([uncond, cond])).chunk(2)
            eps = e_u + guidance_scale * (e_c - e_u)
        a, a_prev = ac[t], ac[t - ratio] if t - ratio >= 0 else ac[0]
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    img = vae.decode(x / scaling_factor)
    return ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def color_map(img):
    """Nearest named color of every pixel: [h, w] indices into NAMES."""
    d = ((img[:, :, None, :].astype(np.float32) - PALETTE[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def score(img, case, min_fraction=0.1):
    """(object ok, background ok) for one generated image and its prompt attributes."""
    cmap = color_map(img)
    size = img.shape[0]
    col, row = world.POSITIONS[case["position"]]
    cell = np.zeros(cmap.shape, bool)
    cell[row * size // 3:(row + 1) * size // 3, col * size // 3:(col + 1) * size // 3] = True
    obj_ok = (cmap[cell] == NAMES.index(case["color"])).mean() >= min_fraction
    outside = np.bincount(cmap[~cell], minlength=len(NAMES))
    bg_ok = NAMES[int(outside.argmax())] == case["background"]
    return bool(obj_ok), bool(bg_ok)


def evaluate(unet, vae, text_encoder, tokenizer, scaling_factor, cases, guidance_scale, log, steps=25, seed=0):
    ids = torch.tensor([tokenizer(c["prompt"]) for c in cases])
    cond = text_encoder(ids)[0]
    uncond = text_encoder(torch.tensor([tokenizer("")]))[0].expand_as(cond)
    images = ddim_sample(unet, vae, cond, uncond, scaling_factor, steps, guidance_scale, seed)
    scores = np.array([score(img, c) for img, c in zip(images, cases)])
    obj, bg = scores.mean(0)
    both = scores.all(1).mean()
    log(f"eval DDIM {steps} steps, CFG {guidance_scale}: {len(cases)} held-out prompts: object color in region "
        f"{obj:.0%}, background {bg:.0%}, both {both:.0%}")
    return images, {"object": float(obj), "background": float(bg), "both": float(both)}


@torch.no_grad()
def fit_latent_rgb(vae, images, scaling_factor, n=2000):
    """Least squares from scaled latents (what the denoise loop holds) to the decoded image, 8x average
    pooled, in the decoder's [-1, 1] range: rgb = bias + sum_c factors[c] * latent[c]."""
    x = to_tensor(images, slice(0, n))
    mean, _ = vae.encode(x)
    target = torch.nn.functional.avg_pool2d(vae.decode(mean).clamp(-1, 1), 8)
    lat = (mean * scaling_factor).permute(0, 2, 3, 1).reshape(-1, 4).double()
    rgb = target.permute(0, 2, 3, 1).reshape(-1, 3).double()
    a = torch.cat([lat, torch.ones(len(lat), 1, dtype=torch.float64)], 1)
    sol = torch.linalg.lstsq(a, rgb).solution
    r2 = 1 - ((a @ sol - rgb) ** 2).sum() / ((rgb - rgb.mean(0)) ** 2).sum()
    factors = [[round(float(v), 6) for v in row] for row in sol[:4]]
    bias = [round(float(v), 6) for v in sol[4]]
    return {"factors": factors, "bias": bias}, float(r2)
