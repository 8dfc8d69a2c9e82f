"""Timestep embeddings (diffusers `models/embeddings.py`: `Timesteps`, `TimestepEmbedding`)."""
import torch.nn.functional as F
from torch import nn

from ..unet import timestep_embedding


class Timesteps(nn.Module):
    """Sinusoidal embedding of a [n] float tensor (DDPM; `get_timestep_embedding`), no parameters.

    A module of its own so the exported nodes carry its scope (`/time_proj/...`): the fp16 converter
    keeps them in float32, as diffusers computes the sinusoids in float32 whatever the model dtype.
    """

    def __init__(self, num_channels, flip_sin_to_cos, downscale_freq_shift):
        super().__init__()
        self.num_channels = num_channels
        self.flip_sin_to_cos = flip_sin_to_cos
        self.downscale_freq_shift = downscale_freq_shift

    def forward(self, timesteps):
        return timestep_embedding(timesteps, self.num_channels, self.flip_sin_to_cos, self.downscale_freq_shift)


class TimestepEmbedding(nn.Module):
    """linear_1 -> SiLU -> linear_2; LCM's `cond_proj` (no bias) adds the guidance embedding first."""

    def __init__(self, in_channels, time_embed_dim, cond_proj_dim=None):
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, time_embed_dim)
        self.cond_proj = nn.Linear(cond_proj_dim, in_channels, bias=False) if cond_proj_dim else None
        self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim)

    def forward(self, sample, condition=None):
        if condition is not None:
            sample = sample + self.cond_proj(condition)
        return self.linear_2(F.silu(self.linear_1(sample)))
