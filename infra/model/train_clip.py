"""Stage (a): CLIP-style contrastive training of the text encoder (Radford et al. 2021, Fig. 3) against a
small image encoder that is thrown away afterwards; only the text half ships, frozen."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class ImageEncoder(nn.Module):
    """A small CNN on 32x32 downsampled images; flattening (no global pooling) keeps where things are."""

    def __init__(self, dim):
        super().__init__()
        layers, prev = [], 3
        for c, stride in ((32, 1), (64, 2), (64, 2), (64, 2)):
            layers += [nn.Conv2d(prev, c, 3, stride=stride, padding=1), nn.GroupNorm(8, c), nn.SiLU()]
            prev = c
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.SiLU(), nn.Linear(256, dim))

    def forward(self, x):
        return self.head(self.convs(x))


def to_tensor(images_u8, idx):
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    x = torch.from_numpy(images_u8[idx]).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def cosine_lr(step, steps, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup))))


def train_clip(text_encoder, images, ids, steps, batch, seed, log, lr=1e-3):
    """ids [n, captions_per_image, 77] int64. Returns the contrastive accuracy of the last steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dim = text_encoder.config.hidden_size
    image_encoder = ImageEncoder(dim)
    text_projection = nn.Linear(dim, dim, bias=False)
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    params = list(text_encoder.parameters()) + list(image_encoder.parameters()) + list(text_projection.parameters())
    opt = torch.optim.AdamW([{"params": params}, {"params": [logit_scale], "weight_decay": 0.0}], lr=lr, weight_decay=0.05)
    n, k = ids.shape[:2]
    labels = torch.arange(batch)
    text_encoder.train()
    accs = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, warmup=min(100, steps // 10 + 1))
        idx = rng.choice(n, batch, replace=False)
        caps = torch.from_numpy(ids[idx, rng.integers(k, size=batch)])
        # Causal attention: the EOS state only sees tokens up to EOS, so the padding can be cut.
        seq = int(caps.argmax(dim=1).max()) + 1
        _, pooled = text_encoder(caps[:, :seq])
        t = F.normalize(text_projection(pooled), dim=-1)
        v = F.normalize(image_encoder(F.avg_pool2d(to_tensor(images, idx), 2)), dim=-1)
        logits = logit_scale.exp().clamp(max=100) * v @ t.T
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        accs.append(float((logits.argmax(1) == labels).float().mean()))
        if step % 100 == 0 or step == steps - 1:
            log(f"clip step {step + 1}/{steps} loss {loss.item():.4f} acc(img->text, batch {batch}) "
                f"{np.mean(accs[-100:]):.3f} scale {logit_scale.exp().item():.1f}")
    text_encoder.eval()
    for p in text_encoder.parameters():
        p.requires_grad_(False)
    return float(np.mean(accs[-100:]))
