"""A toy-width AutoencoderKL (diffusers `autoencoder_kl.py` / `vae.py` semantics; Rombach et al. 2022 §3.1).

Encoder: conv_in, one level per block_out_channels entry (ResNets, then a stride-2 conv except on the
last level: three downsamples = 8x), mid block (ResNet, single-head spatial attention, ResNet),
GroupNorm, SiLU, conv_out to 2 x latent_channels (mean || logvar), quant_conv. Decoder mirrors it with
post_quant_conv, nearest-2x upsampling and layers_per_block + 1 ResNets per level.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .unet import ResnetBlock2D


@dataclass
class VaeConfig:
    in_channels: int = 3
    out_channels: int = 3
    latent_channels: int = 4
    block_out_channels: tuple = (16, 32, 64, 64)
    layers_per_block: int = 1
    norm_num_groups: int = 8
    mid_attention: bool = True
    # diffusers puts GroupNorm + SiLU before conv_out; on flat synthetic colours the norm erases each
    # image's mean colour (a flat region has no variance), so the bundled model drops it (SiLU only).
    norm_out: bool = True
    sample_size: int = 64
    scaling_factor: float = 1.0

    def diffusers_config(self):
        n = len(self.block_out_channels)
        return {
            "_class_name": "AutoencoderKL",
            "_diffusers_version": "0.30.0",
            "act_fn": "silu",
            "block_out_channels": list(self.block_out_channels),
            "down_block_types": ["DownEncoderBlock2D"] * n,
            "force_upcast": False,
            "in_channels": self.in_channels,
            "latent_channels": self.latent_channels,
            "layers_per_block": self.layers_per_block,
            "mid_block_add_attention": self.mid_attention,
            "norm_num_groups": self.norm_num_groups,
            "out_channels": self.out_channels,
            "sample_size": self.sample_size,
            "scaling_factor": self.scaling_factor,
            "shift_factor": None,
            "up_block_types": ["UpDecoderBlock2D"] * n,
        }


class SpatialSelfAttention(nn.Module):
    """The VAE mid-block attention: one head over all positions, residual."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v, self.to_out = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        attn = torch.softmax(self.to_q(t) @ self.to_k(t).transpose(1, 2) * c**-0.5, dim=-1)
        return self.to_out(attn @ self.to_v(t)).transpose(1, 2).reshape(b, c, h, w) + x


class MidBlock(nn.Module):
    def __init__(self, c, groups, attention):
        super().__init__()
        self.res1 = ResnetBlock2D(c, c, None, groups)
        self.attn = SpatialSelfAttention(c, groups) if attention else None
        self.res2 = ResnetBlock2D(c, c, None, groups)

    def forward(self, x):
        x = self.res1(x)
        return self.res2(x if self.attn is None else self.attn(x))


class Encoder(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        ch, g = cfg.block_out_channels, cfg.norm_num_groups
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            for _ in range(cfg.layers_per_block):
                self.blocks.append(ResnetBlock2D(prev, c, None, g))
                prev = c
            if i < len(ch) - 1:
                self.blocks.append(nn.Conv2d(c, c, 3, stride=2, padding=0))  # after (0, 1, 0, 1) padding, like diffusers
        self.mid = MidBlock(ch[-1], g, cfg.mid_attention)
        self.norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6) if cfg.norm_out else nn.Identity()
        self.conv_out = nn.Conv2d(ch[-1], 2 * cfg.latent_channels, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for block in self.blocks:
            h = block(F.pad(h, (0, 1, 0, 1))) if isinstance(block, nn.Conv2d) else block(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        ch, g = list(reversed(cfg.block_out_channels)), cfg.norm_num_groups
        self.conv_in = nn.Conv2d(cfg.latent_channels, ch[0], 3, padding=1)
        self.mid = MidBlock(ch[0], g, cfg.mid_attention)
        self.blocks = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            for _ in range(cfg.layers_per_block + 1):
                self.blocks.append(ResnetBlock2D(prev, c, None, g))
                prev = c
            if i < len(ch) - 1:
                self.blocks.append(nn.Conv2d(c, c, 3, padding=1))  # preceded by nearest 2x
        self.norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6) if cfg.norm_out else nn.Identity()
        self.conv_out = nn.Conv2d(ch[-1], cfg.out_channels, 3, padding=1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for block in self.blocks:
            h = block(F.interpolate(h, scale_factor=2.0, mode="nearest")) if isinstance(block, nn.Conv2d) else block(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg: VaeConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * cfg.latent_channels, 2 * cfg.latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(cfg.latent_channels, cfg.latent_channels, 1)

    def encode(self, x):
        """x [b, 3, H, W] in [-1, 1] -> (mean, logvar), each [b, 4, H/8, W/8], unscaled."""
        mean, logvar = self.quant_conv(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z):
        """Unscaled latents -> image in about [-1, 1]."""
        return self.decoder(self.post_quant_conv(z))
