"""diffusers `models/autoencoders/autoencoder_kl.py: AutoencoderKL` and `autoencoders/vae.py: Encoder,
Decoder` with `DownEncoderBlock2D`, `UpDecoderBlock2D` and `UNetMidBlock2D` (Rombach et al. 2022 §3.1).

Encoder: conv_in, one level per block_out_channels entry (layers_per_block ResNets, then a stride-2
conv after (0, 1, 0, 1) padding except on the last level), mid block (ResNet, single-head attention
with its own GroupNorm, ResNet), GroupNorm, SiLU, conv_out to 2 x latent_channels (mean || logvar),
quant_conv. Decoder: post_quant_conv, conv_in, mid block, levels of layers_per_block + 1 ResNets with
nearest-2x + conv, GroupNorm, SiLU, conv_out. ResNets have no time embedding; eps 1e-6 throughout.
"""
import torch.nn.functional as F
from torch import nn

from .attention import Attention
from .resnet import Downsample2D, ResnetBlock2D, Upsample2D

EPS = 1e-6


class UNetMidBlock2D(nn.Module):
    def __init__(self, channels, groups, add_attention=True):
        super().__init__()
        self.attentions = nn.ModuleList(
            [Attention(channels, 1, channels, bias=True, norm_num_groups=groups, eps=EPS)] if add_attention else [])
        self.resnets = nn.ModuleList(ResnetBlock2D(channels, channels, None, groups, EPS) for _ in range(2))

    def forward(self, h):
        h = self.resnets[0](h)
        for attn in self.attentions:
            h = attn(h)
        return self.resnets[1](h)


class DownEncoderBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, num_layers, groups, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(in_channels if j == 0 else out_channels, out_channels, None, groups,
                                                   EPS) for j in range(num_layers))
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, padding=0)]) if add_downsample else None

    def forward(self, h):
        for resnet in self.resnets:
            h = resnet(h)
        return h if self.downsamplers is None else self.downsamplers[0](h)


class UpDecoderBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, num_layers, groups, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(in_channels if j == 0 else out_channels, out_channels, None, groups,
                                                   EPS) for j in range(num_layers))
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, h):
        for resnet in self.resnets:
            h = resnet(h)
        return h if self.upsamplers is None else self.upsamplers[0](h)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, g, n = c["block_out_channels"], c["norm_num_groups"], len(c["block_out_channels"])
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            DownEncoderBlock2D(ch[max(i - 1, 0)], ch[i], c["layers_per_block"], g, i < n - 1) for i in range(n))
        self.mid_block = UNetMidBlock2D(ch[-1], g, c.get("mid_block_add_attention", True))
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=EPS)
        self.conv_out = nn.Conv2d(ch[-1], 2 * c["latent_channels"], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for block in self.down_blocks:
            h = block(h)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(h))))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        rch, g, n = c["block_out_channels"][::-1], c["norm_num_groups"], len(c["block_out_channels"])
        self.conv_in = nn.Conv2d(c["latent_channels"], rch[0], 3, padding=1)
        self.mid_block = UNetMidBlock2D(rch[0], g, c.get("mid_block_add_attention", True))
        self.up_blocks = nn.ModuleList(
            UpDecoderBlock2D(rch[max(i - 1, 0)], rch[i], c["layers_per_block"] + 1, g, i < n - 1) for i in range(n))
        self.conv_norm_out = nn.GroupNorm(g, rch[-1], eps=EPS)
        self.conv_out = nn.Conv2d(rch[-1], c["out_channels"], 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            h = block(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = self.config = dict(config)
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.quant_conv = nn.Conv2d(2 * c["latent_channels"], 2 * c["latent_channels"], 1)
        self.post_quant_conv = nn.Conv2d(c["latent_channels"], c["latent_channels"], 1)

    def encode(self, x):
        """x [b, 3, H, W] in [-1, 1] -> the latent distribution's parameters, mean || logvar [b, 8, H/8, W/8],
        unscaled and unclamped (`DiagonalGaussianDistribution.parameters`, what Optimum exports)."""
        return self.quant_conv(self.encoder(x))

    def decode(self, z):
        """Unscaled latents -> image in about [-1, 1]."""
        return self.decoder(self.post_quant_conv(z))
