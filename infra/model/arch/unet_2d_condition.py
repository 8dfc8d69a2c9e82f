"""diffusers `models/unets/unet_2d_condition.py: UNet2DConditionModel`, built from its config.json.

Covers the SD 1.5, SD 2.1 and SDXL base configs (and LCM's `time_cond_proj_dim`): `attention_head_dim`
in its legacy meaning (heads per block, `num_attention_heads = num_attention_heads or
attention_head_dim`), `transformer_layers_per_block` (int or per block; the up blocks take it
reversed), `use_linear_projection`, and SDXL's `addition_embed_type: "text_time"`: `time_ids` (6 per
image) through the `add_time_proj` sinusoids (addition_time_embed_dim each), concatenated after
`text_embeds`, through `add_embedding` into the time embedding.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .embeddings import TimestepEmbedding, Timesteps
from .unet_blocks import CrossAttnDownBlock2D, CrossAttnUpBlock2D, DownBlock2D, UNetMidBlock2DCrossAttn, UpBlock2D


def _per_block(value, n):
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


class UNet2DConditionModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = self.config = dict(config)
        ch = c["block_out_channels"]
        n = len(ch)
        heads = _per_block(c.get("num_attention_heads") or c["attention_head_dim"], n)
        layers = _per_block(c.get("transformer_layers_per_block", 1), n)
        temb = ch[0] * 4
        a = {"temb": temb, "groups": c["norm_num_groups"], "eps": c["norm_eps"],
             "cross_attention_dim": c["cross_attention_dim"], "use_linear_projection": c.get("use_linear_projection", False),
             "downsample_padding": c.get("downsample_padding", 1)}

        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1)
        self.time_proj = Timesteps(ch[0], c["flip_sin_to_cos"], c["freq_shift"])
        self.time_embedding = TimestepEmbedding(ch[0], temb, c.get("time_cond_proj_dim"))
        self.text_time = c.get("addition_embed_type") == "text_time"
        if self.text_time:
            self.add_time_proj = Timesteps(c["addition_time_embed_dim"], c["flip_sin_to_cos"], c["freq_shift"])
            self.add_embedding = TimestepEmbedding(c["projection_class_embeddings_input_dim"], temb)

        self.down_blocks = nn.ModuleList()
        out = ch[0]
        for i, kind in enumerate(c["down_block_types"]):
            inp, out = out, ch[i]
            cross = kind == "CrossAttnDownBlock2D"
            cls = CrossAttnDownBlock2D if cross else DownBlock2D
            self.down_blocks.append(cls(inp, out, c["layers_per_block"], i < n - 1, a,
                                        heads[i] if cross else None, layers[i]))
        self.mid_block = UNetMidBlock2DCrossAttn(ch[-1], heads[-1], layers[-1], a)

        self.up_blocks = nn.ModuleList()
        rch, rheads, rlayers = ch[::-1], heads[::-1], layers[::-1]
        out = rch[0]
        for i, kind in enumerate(c["up_block_types"]):
            prev, out, inp = out, rch[i], rch[min(i + 1, n - 1)]
            cross = kind == "CrossAttnUpBlock2D"
            cls = CrossAttnUpBlock2D if cross else UpBlock2D
            self.up_blocks.append(cls(inp, prev, out, c["layers_per_block"] + 1, i < n - 1, a,
                                      rheads[i] if cross else None, rlayers[i]))
        self.conv_norm_out = nn.GroupNorm(c["norm_num_groups"], ch[0], eps=c["norm_eps"])
        self.conv_out = nn.Conv2d(ch[0], c["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None, timestep_cond=None):
        # A 0-d or [1] timestep is broadcast to the batch (`get_time_embed`).
        batch = sample.shape[0]
        t = timestep.reshape(-1).float().expand(batch)
        emb = self.time_embedding(self.time_proj(t), timestep_cond)
        if self.text_time:
            time_embeds = self.add_time_proj(time_ids.reshape(-1)).reshape(batch, -1)
            emb = emb + self.add_embedding(torch.cat([text_embeds, time_embeds], dim=-1))
        context = encoder_hidden_states
        h = self.conv_in(sample)
        skips = [h]
        for block in self.down_blocks:
            h, s = block(h, emb, context)
            skips.extend(s)
        h = self.mid_block(h, emb, context)
        for block in self.up_blocks:
            h = block(h, skips, emb, context)  # each ResNet pops its skip
        return self.conv_out(F.silu(self.conv_norm_out(h)))
