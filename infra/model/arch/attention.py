"""diffusers `models/attention_processor.py: Attention`, `models/attention.py: BasicTransformerBlock,
FeedForward, GEGLU` and `models/transformers/transformer_2d.py: Transformer2DModel` (Rombach et al.
2022 §3.3: self-attention, cross-attention to the text states, GEGLU feed-forward, Shazeer 2020).

`upcast_attention` (SD 2.1) only changes the dtype of the logits in a half-precision PyTorch run;
these modules are traced in float32, so it is recorded in the config and needs no code here.
"""
import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head attention with `to_q/to_k/to_v/to_out.0`. With `norm_num_groups` (the VAE's mid-block
    form) it takes a [b, c, h, w] map, normalises it with `group_norm` and adds the input back."""

    def __init__(self, query_dim, heads, dim_head, cross_attention_dim=None, bias=False, norm_num_groups=None,
                 eps=1e-6):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.group_norm = nn.GroupNorm(norm_num_groups, query_dim, eps=eps) if norm_num_groups else None
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(cross_attention_dim or query_dim, inner, bias=bias)
        self.to_v = nn.Linear(cross_attention_dim or query_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(0.0)])

    def forward(self, x, context=None):
        if self.group_norm is not None:
            b, c, h, w = x.shape
            return self._attend(self.group_norm(x).reshape(b, c, h * w).transpose(1, 2), None) \
                .transpose(1, 2).reshape(b, c, h, w) + x
        return self._attend(x, context)

    def _attend(self, x, context):
        context = x if context is None else context
        b, n, _ = x.shape
        split = lambda t: t.reshape(b, -1, self.heads, t.shape[-1] // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        attn = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, -1)
        return self.to_out[1](self.to_out[0](out))


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        hidden, gate = self.proj(x).chunk(2, dim=-1)
        return hidden * F.gelu(gate)


class FeedForward(nn.Module):
    """`ff.net.0` GEGLU, `ff.net.1` dropout, `ff.net.2` the output Linear (mult 4)."""

    def __init__(self, dim, mult=4):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x):
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_attention_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, dim_head)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, dim_head, cross_attention_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """GroupNorm, proj_in (1x1 conv for SD 1.x, Linear when `use_linear_projection`), `num_layers`
    transformer blocks over the h*w positions, proj_out, plus the input."""

    def __init__(self, heads, dim_head, in_channels, num_layers, cross_attention_dim, norm_num_groups,
                 use_linear_projection):
        super().__init__()
        inner = heads * dim_head
        self.use_linear_projection = use_linear_projection
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        proj = nn.Linear if use_linear_projection else (lambda i, o: nn.Conv2d(i, o, 1))
        self.proj_in = proj(in_channels, inner)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(inner, heads, dim_head, cross_attention_dim) for _ in range(num_layers))
        self.proj_out = proj(inner, in_channels)

    def forward(self, x, context):
        b, c, h, w = x.shape
        hidden = self.norm(x)
        if self.use_linear_projection:
            hidden = self.proj_in(hidden.reshape(b, c, h * w).transpose(1, 2))
        else:
            hidden = self.proj_in(hidden)
            hidden = hidden.reshape(b, hidden.shape[1], h * w).transpose(1, 2)
        for block in self.transformer_blocks:
            hidden = block(hidden, context)
        if self.use_linear_projection:
            hidden = self.proj_out(hidden).transpose(1, 2).reshape(b, c, h, w)
        else:
            hidden = self.proj_out(hidden.transpose(1, 2).reshape(b, -1, h, w))
        return hidden + x
