"""transformers' `CLIPTextModel` and `CLIPTextModelWithProjection` with their state-dict names
(`text_model.embeddings.token_embedding`, `text_model.encoder.layers.N.self_attn.q_proj`, …,
`text_model.final_layer_norm`, `text_projection`): OpenAI CLIP ViT-L/14's text tower (SD 1.x, SDXL's
first encoder), OpenCLIP ViT-H's as SD 2.x ships it (23 layers, gelu), OpenCLIP ViT-bigG's (SDXL's
second, with its projection).

`forward` returns (last_hidden_state, pooled, hidden_states): hidden_states[0] is the embeddings,
hidden_states[i] the output of layer i before the final LayerNorm (transformers'
`output_hidden_states`); pooled is the final-normed state at the EOS token, found as the argmax of
the ids (EOS has the highest id; openai/CLIP `model.py: encode_text`), projected when there is a
projection (`text_embeds`).
"""
import torch
import torch.nn.functional as F
from torch import nn


class CLIPAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, mask):
        b, n, c = x.shape
        split = lambda t: t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x) * self.scale), split(self.k_proj(x)), split(self.v_proj(x))
        attn = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        return self.out_proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class CLIPMLP(nn.Module):
    def __init__(self, dim, inner, act):
        super().__init__()
        self.act = act
        self.fc1 = nn.Linear(dim, inner)
        self.fc2 = nn.Linear(inner, dim)

    def forward(self, x):
        h = self.fc1(x)
        h = h * torch.sigmoid(1.702 * h) if self.act == "quick_gelu" else F.gelu(h)
        return self.fc2(h)


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.self_attn = CLIPAttention(d, cfg["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.mlp = CLIPMLP(d, cfg["intermediate_size"], cfg["hidden_act"])
        self.layer_norm2 = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(cfg["vocab_size"], d)
        self.embeddings.position_embedding = nn.Embedding(cfg["max_position_embeddings"], d)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(CLIPEncoderLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.final_layer_norm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])


class CLIPTextModel(nn.Module):
    """`projection_dim` in the config and `with_projection=True` make it CLIPTextModelWithProjection."""

    def __init__(self, cfg, with_projection=False):
        super().__init__()
        self.config = cfg
        self.text_model = CLIPTextTransformer(cfg)
        self.text_projection = (
            nn.Linear(cfg["hidden_size"], cfg["projection_dim"], bias=False) if with_projection else None)

    def forward(self, input_ids):
        ids = input_ids.long()
        seq = ids.shape[1]
        tm = self.text_model
        pos = torch.arange(seq, device=ids.device)
        x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding(pos)[None]
        # Causal mask built from positions (a stored 77×77 constant would bloat small graphs).
        mask = torch.where(pos[None, :] > pos[:, None], torch.tensor(float("-inf")), torch.tensor(0.0))
        hidden_states = [x]
        for layer in tm.encoder.layers:
            x = layer(x, mask)
            hidden_states.append(x)
        last = tm.final_layer_norm(x)
        # ArgMax over float ids: onnxruntime has no int64 ArgMax; ids < 2^24 are exact in float32.
        eos = ids.float().argmax(dim=-1)
        pooled = last[torch.arange(last.shape[0]), eos]
        if self.text_projection is not None:
            pooled = self.text_projection(pooled)
        return last, pooled, hidden_states
