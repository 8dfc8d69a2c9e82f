"""diffusers `models/unets/unet_2d_blocks.py`: DownBlock2D, CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn,
UpBlock2D, CrossAttnUpBlock2D (resnet_groups, eps, heads and transformer depth from the UNet config)."""
import torch
from torch import nn

from .attention import Transformer2DModel
from .resnet import Downsample2D, ResnetBlock2D, Upsample2D


def _transformer(channels, heads, layers, a):
    return Transformer2DModel(heads, channels // heads, channels, layers, a["cross_attention_dim"],
                              a["groups"], a["use_linear_projection"])


class DownBlock2D(nn.Module):
    """`a`: shared settings (temb, groups, eps, cross_attention_dim, use_linear_projection, padding)."""

    def __init__(self, in_channels, out_channels, num_layers, add_downsample, a, heads=None, transformer_layers=0):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D(in_channels if j == 0 else out_channels, out_channels, a["temb"], a["groups"], a["eps"])
            for j in range(num_layers))
        if heads is not None:
            self.attentions = nn.ModuleList(
                _transformer(out_channels, heads, transformer_layers, a) for _ in range(num_layers))
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, a["downsample_padding"])]) \
            if add_downsample else None

    def forward(self, h, temb, context):
        skips = []
        for j, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if hasattr(self, "attentions"):
                h = self.attentions[j](h, context)
            skips.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            skips.append(h)
        return h, skips


class CrossAttnDownBlock2D(DownBlock2D):
    pass


class UpBlock2D(nn.Module):
    """layers_per_block + 1 ResNets, each eating one skip (the last one the level's input width)."""

    def __init__(self, in_channels, prev_output_channel, out_channels, num_layers, add_upsample, a, heads=None,
                 transformer_layers=0):
        super().__init__()
        self.resnets = nn.ModuleList()
        for j in range(num_layers):
            skip = in_channels if j == num_layers - 1 else out_channels
            res_in = prev_output_channel if j == 0 else out_channels
            self.resnets.append(ResnetBlock2D(res_in + skip, out_channels, a["temb"], a["groups"], a["eps"]))
        if heads is not None:
            self.attentions = nn.ModuleList(
                _transformer(out_channels, heads, transformer_layers, a) for _ in range(num_layers))
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, h, skips, temb, context):
        for j, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
            if hasattr(self, "attentions"):
                h = self.attentions[j](h, context)
        return h if self.upsamplers is None else self.upsamplers[0](h)


class CrossAttnUpBlock2D(UpBlock2D):
    pass


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, channels, heads, transformer_layers, a):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(channels, channels, a["temb"], a["groups"], a["eps"])
                                     for _ in range(2))
        self.attentions = nn.ModuleList([_transformer(channels, heads, transformer_layers, a)])

    def forward(self, h, temb, context):
        h = self.resnets[0](h, temb)
        return self.resnets[1](self.attentions[0](h, context), temb)
