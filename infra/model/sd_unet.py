"""diffusers' `UNet2DConditionModel` at any width, with its state-dict names, for SD 1.x, SD 2.x and
SDXL configs (`unet/config.json` as diffusers writes it; the families in `families.py`).

Same structure and parameter names as diffusers `models/unets/unet_2d_condition.py` (blocks from
`unet_2d_blocks.py`, `transformers/transformer_2d.py`, `attention.py`, `resnet.py`), so a real
checkpoint's state dict loads with strict=True: conv_in; sinusoidal `time_proj` → `time_embedding`
(+ LCM's `cond_proj`); SDXL's `add_time_proj` of the six `time_ids` joined with the pooled text
embedding → `add_embedding` (Podell et al. 2023, §2.2); down blocks (ResNets, optional
Transformer2DModel with `transformer_layers_per_block` BasicTransformerBlocks, stride-2 conv); the
mid block; up blocks eating the skips; GroupNorm, SiLU, conv_out.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(timesteps, dim, flip_sin_to_cos=True, freq_shift=0, max_period=10000):
    """diffusers `embeddings.get_timestep_embedding`."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = timesteps[:, None].float() * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim, cond_dim=None):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)
        self.cond_proj = nn.Linear(cond_dim, in_dim, bias=False) if cond_dim else None

    def forward(self, x, cond=None):
        if cond is not None:
            x = x + self.cond_proj(cond)
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb_dim, groups=32, eps=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout) if temb_dim else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (x if self.conv_shortcut is None else self.conv_shortcut(x))


class Attention(nn.Module):
    """diffusers `Attention` (to_q/to_k/to_v without bias, to_out.0 with bias), softmax(QKᵀ/√d)V."""

    def __init__(self, dim, heads, context_dim=None, bias=False):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, c = x.shape
        split = lambda t: t.reshape(b, -1, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        attn = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.to_out[0]((attn @ v).transpose(1, 2).reshape(b, n, c))


class GEGLU(nn.Module):
    """Shazeer 2020: one projection to 2× the width, the second half gating the first through GELU."""

    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        hidden, gate = self.proj(x).chunk(2, dim=-1)
        return hidden * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    def __init__(self, dim, heads, context_dim, layers, linear_projection, groups=32):
        super().__init__()
        self.linear_projection = linear_projection
        self.norm = nn.GroupNorm(groups, dim, eps=1e-6)
        self.proj_in = nn.Linear(dim, dim) if linear_projection else nn.Conv2d(dim, dim, 1)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(dim, heads, context_dim) for _ in range(layers))
        self.proj_out = nn.Linear(dim, dim) if linear_projection else nn.Conv2d(dim, dim, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        res = x
        x = self.norm(x)
        if self.linear_projection:
            x = self.proj_in(x.reshape(b, c, h * w).transpose(1, 2))
        else:
            x = self.proj_in(x).reshape(b, c, h * w).transpose(1, 2)
        for block in self.transformer_blocks:
            x = block(x, context)
        if self.linear_projection:
            x = self.proj_out(x).transpose(1, 2).reshape(b, c, h, w)
        else:
            x = self.proj_out(x.transpose(1, 2).reshape(b, c, h, w))
        return x + res


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def per_block(value, n):
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


class Block(nn.Module):
    """A down or up block: ResNets, each optionally followed by a Transformer2DModel."""

    def __init__(self, resnet_channels, out, temb, attn, heads, context_dim, layers, linear, groups):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin, out, temb, groups) for cin in resnet_channels)
        self.attentions = nn.ModuleList(
            Transformer2DModel(out, heads, context_dim, layers, linear, groups) for _ in resnet_channels
        ) if attn else None


class UNet2DConditionModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        ch = config["block_out_channels"]
        n = len(ch)
        groups = config.get("norm_num_groups", 32)
        layers = config["layers_per_block"]
        temb = ch[0] * 4
        ctx = config["cross_attention_dim"]
        linear = config.get("use_linear_projection", False)
        heads = per_block(config["attention_head_dim"], n)  # diffusers' legacy name: heads per block
        depth = per_block(config.get("transformer_layers_per_block", 1), n)
        attn = [t.startswith("CrossAttn") for t in config["down_block_types"]]

        self.conv_in = nn.Conv2d(config["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb, config.get("time_cond_proj_dim"))
        self.add_embedding = None
        if config.get("addition_embed_type") == "text_time":
            self.add_embedding = TimestepEmbedding(config["projection_class_embeddings_input_dim"], temb)

        self.down_blocks = nn.ModuleList()
        skips = [ch[0]]
        prev = ch[0]
        for i, c in enumerate(ch):
            block = Block([prev] + [c] * (layers - 1), c, temb, attn[i], heads[i], ctx, depth[i], linear, groups)
            skips += [c] * layers
            if i < n - 1:
                block.downsamplers = nn.ModuleList([Downsample2D(c)])
                skips.append(c)
            else:
                block.downsamplers = None
            self.down_blocks.append(block)
            prev = c

        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], temb, groups) for _ in range(2)])
        self.mid_block.attentions = nn.ModuleList(
            [Transformer2DModel(ch[-1], heads[-1], ctx, depth[-1], linear, groups)])

        self.up_blocks = nn.ModuleList()
        prev = ch[-1]
        for i, c in reversed(list(enumerate(ch))):
            cins = []
            for _ in range(layers + 1):
                cins.append(prev + skips.pop())
                prev = c
            block = Block(cins, c, temb, attn[i], heads[i], ctx, depth[i], linear, groups)
            block.upsamplers = nn.ModuleList([Upsample2D(c)]) if i > 0 else None
            self.up_blocks.append(block)
        self.conv_norm_out = nn.GroupNorm(groups, ch[0], eps=config.get("norm_eps", 1e-5))
        self.conv_out = nn.Conv2d(ch[0], config["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None,
                timestep_cond=None):
        cfg = self.config
        batch = sample.shape[0]
        # A 0-d or [1] timestep is broadcast to the batch (diffusers `get_time_embed`).
        t = timestep.reshape(-1).float().expand(batch)
        emb = timestep_embedding(t, cfg["block_out_channels"][0], cfg.get("flip_sin_to_cos", True),
                                 cfg.get("freq_shift", 0))
        emb = self.time_embedding(emb, timestep_cond)
        if self.add_embedding is not None:
            # SDXL micro-conditioning: each of the six time_ids through a 256-d sinusoid, joined with the pooled text.
            ids = timestep_embedding(time_ids.reshape(-1).float(), cfg["addition_time_embed_dim"])
            ids = ids.reshape(batch, -1)
            emb = emb + self.add_embedding(torch.cat([text_embeds.float(), ids], dim=-1))

        ctx = encoder_hidden_states
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            for j, res in enumerate(block.resnets):
                h = res(h, emb)
                if block.attentions is not None:
                    h = block.attentions[j](h, ctx)
                skips.append(h)
            if block.downsamplers is not None:
                h = block.downsamplers[0](h)
                skips.append(h)
        h = self.mid_block.resnets[0](h, emb)
        h = self.mid_block.attentions[0](h, ctx)
        h = self.mid_block.resnets[1](h, emb)
        for block in self.up_blocks:
            for j, res in enumerate(block.resnets):
                h = res(torch.cat([h, skips.pop()], dim=1), emb)
                if block.attentions is not None:
                    h = block.attentions[j](h, ctx)
            if block.upsamplers is not None:
                h = block.upsamplers[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))
