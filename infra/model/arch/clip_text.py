"""transformers `models/clip/modeling_clip.py`: CLIPTextModel and CLIPTextModelWithProjection, built
from a CLIPTextConfig dict (names under `text_model.`, `text_projection` without bias).

Pre-LayerNorm encoder with a causal mask (Radford et al. 2021); `hidden_states` are the embeddings and
each layer's output (not final-layer-normed), `last_hidden_state` is the last of them through
`final_layer_norm`, and the pooled state is `last_hidden_state` at argmax(ids): `<|endoftext|>` has
the highest id (openai/CLIP `encode_text`; transformers' legacy `eos_token_id == 2` branch). The
argmax runs on int32 ids, as transformers does: onnxruntime has ArgMax for int32 but not int64, and
float ids would not stay exact once a graph is converted to float16.
"""
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"quick_gelu": lambda x: x * torch.sigmoid(1.702 * x), "gelu": F.gelu}


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
    def __init__(self, c):
        super().__init__()
        self.act = ACTIVATIONS[c["hidden_act"]]
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.self_attn = CLIPAttention(d, c["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"])[None], persistent=False)

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding(self.position_ids[:, :ids.shape[1]])


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"]))


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, input_ids):
        ids = input_ids.long()
        x = self.embeddings(ids)
        pos = self.embeddings.position_ids[0, :ids.shape[1]]
        # causal mask from the positions (not a stored 77x77 constant)
        mask = torch.where(pos[None, :] > pos[:, None], torch.tensor(float("-inf")), torch.tensor(0.0))
        hidden_states = [x]
        for layer in self.encoder.layers:
            x = layer(x, mask)
            hidden_states.append(x)
        last = self.final_layer_norm(x)
        eos = input_ids.to(torch.int32).argmax(dim=-1)
        pooled = last[torch.arange(last.shape[0]), eos]
        return {"last_hidden_state": last, "pooler_output": pooled, "hidden_states": hidden_states}


class CLIPTextModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        self.text_model = CLIPTextTransformer(self.config)

    def forward(self, input_ids):
        return self.text_model(input_ids)


class CLIPTextModelWithProjection(CLIPTextModel):
    """SDXL's text_encoder_2: `text_embeds` = text_projection(pooled) [batch, projection_dim]."""

    def __init__(self, config):
        super().__init__(config)
        self.text_projection = nn.Linear(self.config["hidden_size"], self.config["projection_dim"], bias=False)

    def forward(self, input_ids):
        out = self.text_model(input_ids)
        out["text_embeds"] = self.text_projection(out["pooler_output"])
        return out
