"""A toy-width UNet2DConditionModel (diffusers `unet_2d_condition.py` semantics).

conv_in -> down blocks (ResNet + cross-attention transformer, then a stride-2 conv) -> mid block
(ResNet, transformer, ResNet) -> up blocks (layers_per_block + 1 ResNets eating the skips, transformer,
nearest-2x + conv) -> GroupNorm, SiLU, conv_out. Timesteps enter through a sinusoidal embedding
(`get_timestep_embedding`, flip_sin_to_cos / freq_shift like diffusers) and an MLP, added to every
ResNet; the text enters through cross-attention in the transformer blocks (Rombach et al. 2022, §3.3).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class UNetConfig:
    in_channels: int = 4
    out_channels: int = 4
    block_out_channels: tuple = (32, 64, 64)
    attention_levels: tuple = (True, True, False)  # CrossAttnDownBlock2D / DownBlock2D per level
    layers_per_block: int = 1
    cross_attention_dim: int = 64
    attention_head_dim: int = 16  # channels per head
    norm_num_groups: int = 8
    ff_mult: int = 4
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    time_cond_proj_dim: int = None
    sample_size: int = 8

    def diffusers_config(self):
        down = ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in self.attention_levels]
        up = ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(self.attention_levels)]
        return {
            "_class_name": "UNet2DConditionModel",
            "_diffusers_version": "0.30.0",
            "act_fn": "silu",
            # diffusers' legacy name: "attention_head_dim" holds the number of heads per block (as SD's [8, 8, 8, 8])
            "attention_head_dim": [max(1, c // self.attention_head_dim) for c in self.block_out_channels],
            "block_out_channels": list(self.block_out_channels),
            "center_input_sample": False,
            "cross_attention_dim": self.cross_attention_dim,
            "down_block_types": down,
            "downsample_padding": 1,
            "flip_sin_to_cos": self.flip_sin_to_cos,
            "freq_shift": self.freq_shift,
            "in_channels": self.in_channels,
            "layers_per_block": self.layers_per_block,
            "mid_block_scale_factor": 1,
            "mid_block_type": "UNetMidBlock2DCrossAttn",
            "norm_eps": 1e-5,
            "norm_num_groups": self.norm_num_groups,
            "out_channels": self.out_channels,
            "sample_size": self.sample_size,
            "time_cond_proj_dim": self.time_cond_proj_dim,
            "up_block_types": up,
            "use_linear_projection": True,
            "transformer_ff_mult": self.ff_mult,
        }


def timestep_embedding(timesteps, dim, flip_sin_to_cos, freq_shift, max_period=10000):
    """diffusers `embeddings.get_timestep_embedding` (DDPM / "Attention is all you need" sinusoids)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = timesteps[:, None].float() * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    return emb


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout) if temb_dim else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (x if self.conv_shortcut is None else self.conv_shortcut(x))


class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, c = x.shape
        split = lambda t: t.reshape(b, -1, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        attn = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.to_out((attn @ v).transpose(1, 2).reshape(b, n, c))


class Transformer2D(nn.Module):
    """Transformer2DModel with one BasicTransformerBlock: self-attn, cross-attn, GEGLU feed-forward."""

    def __init__(self, dim, heads, context_dim, groups, ff_mult):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=1e-6)
        self.proj_in = nn.Linear(dim, dim)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(dim) for _ in range(3))
        self.attn1 = Attention(dim, heads)
        self.attn2 = Attention(dim, heads, context_dim)
        inner = dim * ff_mult
        self.ff_proj = nn.Linear(dim, inner * 2)  # GEGLU (Shazeer 2020)
        self.ff_out = nn.Linear(inner, dim)
        self.proj_out = nn.Linear(dim, dim)

    def forward(self, x, context):
        b, c, h, w = x.shape
        res = x
        x = self.proj_in(self.norm(x).reshape(b, c, h * w).transpose(1, 2))
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        hidden, gate = self.ff_proj(self.norm3(x)).chunk(2, dim=-1)
        x = x + self.ff_out(hidden * F.gelu(gate))
        return self.proj_out(x).transpose(1, 2).reshape(b, c, h, w) + res


class UNet2DCondition(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.config = cfg
        ch = cfg.block_out_channels
        g = cfg.norm_num_groups
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.cond_proj = nn.Linear(cfg.time_cond_proj_dim, ch[0], bias=False) if cfg.time_cond_proj_dim else None
        self.time_linear_1 = nn.Linear(ch[0], temb)
        self.time_linear_2 = nn.Linear(temb, temb)

        def attn(c, on):
            heads = max(1, c // cfg.attention_head_dim)
            return Transformer2D(c, heads, cfg.cross_attention_dim, g, cfg.ff_mult) if on else None

        self.down = nn.ModuleList()
        skip_ch = [ch[0]]
        prev = ch[0]
        for i, c in enumerate(ch):
            level = nn.Module()
            level.resnets = nn.ModuleList()
            level.attentions = nn.ModuleList()
            for _ in range(cfg.layers_per_block):
                level.resnets.append(ResnetBlock2D(prev, c, temb, g))
                level.attentions.append(attn(c, cfg.attention_levels[i]) or nn.Identity())
                prev = c
                skip_ch.append(c)
            level.downsample = nn.Conv2d(c, c, 3, stride=2, padding=1) if i < len(ch) - 1 else None
            if level.downsample is not None:
                skip_ch.append(c)
            self.down.append(level)
        self.mid_res1 = ResnetBlock2D(ch[-1], ch[-1], temb, g)
        self.mid_attn = attn(ch[-1], True)
        self.mid_res2 = ResnetBlock2D(ch[-1], ch[-1], temb, g)
        self.up = nn.ModuleList()
        prev = ch[-1]
        for i, c in reversed(list(enumerate(ch))):
            level = nn.Module()
            level.resnets = nn.ModuleList()
            level.attentions = nn.ModuleList()
            for _ in range(cfg.layers_per_block + 1):
                level.resnets.append(ResnetBlock2D(prev + skip_ch.pop(), c, temb, g))
                level.attentions.append(attn(c, cfg.attention_levels[i]) or nn.Identity())
                prev = c
            level.upsample = nn.Conv2d(c, c, 3, padding=1) if i > 0 else None
            self.up.append(level)
        self.conv_norm_out = nn.GroupNorm(g, ch[0])
        self.conv_out = nn.Conv2d(ch[0], cfg.out_channels, 3, padding=1)

    def time_embedding(self, timestep, batch, timestep_cond=None):
        # A 0-d or [1] timestep is broadcast to the batch (diffusers `get_time_embed`).
        t = timestep.reshape(-1).float().expand(batch)
        emb = timestep_embedding(t, self.config.block_out_channels[0], self.config.flip_sin_to_cos, self.config.freq_shift)
        if self.cond_proj is not None:
            emb = emb + self.cond_proj(timestep_cond)
        return self.time_linear_2(F.silu(self.time_linear_1(emb)))

    def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
        temb = self.time_embedding(timestep, sample.shape[0], timestep_cond)
        ctx = encoder_hidden_states
        h = self.conv_in(sample)
        skips = [h]
        for level in self.down:
            for res, att in zip(level.resnets, level.attentions):
                h = res(h, temb)
                h = h if isinstance(att, nn.Identity) else att(h, ctx)
                skips.append(h)
            if level.downsample is not None:
                h = level.downsample(h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb), ctx), temb)
        for level in self.up:
            for res, att in zip(level.resnets, level.attentions):
                h = res(torch.cat([h, skips.pop()], dim=1), temb)
                h = h if isinstance(att, nn.Identity) else att(h, ctx)
            if level.upsample is not None:
                h = level.upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))
