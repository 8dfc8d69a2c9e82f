"""diffusers' `AutoencoderKL` (the kl-f8 VAE of SD 1.x/2.x and SDXL) with its state-dict names:
`encoder.*`, `quant_conv`, `post_quant_conv`, `decoder.*` (diffusers `autoencoders/vae.py`,
`autoencoder_kl.py`). Encoder: conv_in, down blocks of ResNets with a stride-2 conv padded (0, 1, 0, 1)
as diffusers' `Downsample2D(padding=0)` does, a mid block with single-head attention, GroupNorm,
SiLU, conv_out to mean ‖ logvar. Decoder: the mirror, with nearest-2× upsampling.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .sd_unet import ResnetBlock2D, Upsample2D


class VaeAttention(nn.Module):
    """Single-head self-attention over positions, with biases and its own GroupNorm (diffusers `Attention`)."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = (nn.Linear(c, c) for _ in range(3))
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        attn = torch.softmax((q @ k.transpose(-1, -2)) * c ** -0.5, dim=-1)
        out = self.to_out[0](attn @ v).transpose(1, 2).reshape(b, c, h, w)
        return out + x


class VaeDownsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


def mid_block(c, groups):
    block = nn.Module()
    block.resnets = nn.ModuleList(ResnetBlock2D(c, c, None, groups, eps=1e-6) for _ in range(2))
    block.attentions = nn.ModuleList([VaeAttention(c, groups)])
    return block


def run_mid(block, x):
    return block.resnets[1](block.attentions[0](block.resnets[0](x)))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, layers = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            block = nn.Module()
            block.resnets = nn.ModuleList(
                ResnetBlock2D(prev if j == 0 else c, c, None, g, eps=1e-6) for j in range(layers))
            block.downsamplers = nn.ModuleList([VaeDownsample(c)]) if i < len(ch) - 1 else None
            self.down_blocks.append(block)
            prev = c
        self.mid_block = mid_block(ch[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[-1], 2 * cfg["latent_channels"], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for block in self.down_blocks:
            for res in block.resnets:
                h = res(h)
            if block.downsamplers is not None:
                h = block.downsamplers[0](h)
        h = run_mid(self.mid_block, h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, layers = list(reversed(cfg["block_out_channels"])), cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["latent_channels"], ch[0], 3, padding=1)
        self.mid_block = mid_block(ch[0], g)
        self.up_blocks = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            block = nn.Module()
            block.resnets = nn.ModuleList(
                ResnetBlock2D(prev if j == 0 else c, c, None, g, eps=1e-6) for j in range(layers + 1))
            block.upsamplers = nn.ModuleList([Upsample2D(c)]) if i < len(ch) - 1 else None
            self.up_blocks.append(block)
            prev = c
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[-1], cfg["out_channels"], 3, padding=1)

    def forward(self, z):
        h = run_mid(self.mid_block, self.conv_in(z))
        for block in self.up_blocks:
            for res in block.resnets:
                h = res(h)
            if block.upsamplers is not None:
                h = block.upsamplers[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        lat = cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)

    def encode(self, x):
        """Images in [-1, 1] → mean ‖ logvar, unscaled (Optimum ≥ 1.23's `latent_parameters`)."""
        return self.quant_conv(self.encoder(x))

    def decode(self, z):
        """Unscaled latents → images in ≈[-1, 1]."""
        return self.decoder(self.post_quant_conv(z))
