"""The model families at their published sizes (the configs diffusers/transformers write), the
tiny SDXL-layout fixture sizes, and the published parameter counts the architecture is checked
against:

    /usr/bin/python3 -m infra.model.families --check
"""
import argparse
import sys

import torch

from .sd_clip import CLIPTextModel
from .sd_unet import UNet2DConditionModel
from .sd_vae import AutoencoderKL

CROSS = "CrossAttnDownBlock2D"
UNET_COMMON = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0", "act_fn": "silu",
    "center_input_sample": False, "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0,
    "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-5, "norm_num_groups": 32,
}
# runwayml/stable-diffusion-v1-5 unet/config.json
SD15_UNET = {**UNET_COMMON, "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
             "cross_attention_dim": 768, "sample_size": 64,
             "down_block_types": [CROSS, CROSS, CROSS, "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}
# stabilityai/stable-diffusion-2-1 unet/config.json (768-v)
SD21_UNET = {**SD15_UNET, "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024, "sample_size": 96,
             "use_linear_projection": True, "upcast_attention": True}
# stabilityai/stable-diffusion-xl-base-1.0 unet/config.json
SDXL_UNET = {**UNET_COMMON, "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
             "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280],
             "cross_attention_dim": 2048, "projection_class_embeddings_input_dim": 2816, "sample_size": 128,
             "transformer_layers_per_block": [1, 2, 10], "use_linear_projection": True,
             "down_block_types": ["DownBlock2D", CROSS, CROSS],
             "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]}

TEXT_COMMON = {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": 49408,
               "max_position_embeddings": 77, "layer_norm_eps": 1e-5, "bos_token_id": 49406,
               "eos_token_id": 49407, "attention_dropout": 0.0, "dropout": 0.0, "initializer_factor": 1.0,
               "initializer_range": 0.02, "torch_dtype": "float32"}
# openai/clip-vit-large-patch14 (SD 1.x text_encoder, SDXL text_encoder)
CLIP_L = {**TEXT_COMMON, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
          "num_attention_heads": 12, "hidden_act": "quick_gelu", "projection_dim": 768, "pad_token_id": 1}
# stabilityai/stable-diffusion-2-1 text_encoder (OpenCLIP ViT-H/14, the last layer dropped: 23 of 24)
OPENCLIP_H = {**TEXT_COMMON, "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23,
              "num_attention_heads": 16, "hidden_act": "gelu", "projection_dim": 512, "pad_token_id": 1}
# stabilityai/stable-diffusion-xl-base-1.0 text_encoder_2 (OpenCLIP ViT-bigG/14, with projection)
OPENCLIP_BIGG = {**TEXT_COMMON, "architectures": ["CLIPTextModelWithProjection"], "hidden_size": 1280,
                 "intermediate_size": 5120, "num_hidden_layers": 32, "num_attention_heads": 20,
                 "hidden_act": "gelu", "projection_dim": 1280, "pad_token_id": 1}

# The kl-f8 AutoencoderKL of SD 1.x/2.x (vae/config.json); SDXL's has the same shape.
VAE = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0", "act_fn": "silu", "in_channels": 3,
       "out_channels": 3, "latent_channels": 4, "block_out_channels": [128, 256, 512, 512],
       "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
       "layers_per_block": 2, "norm_num_groups": 32, "sample_size": 512, "scaling_factor": 0.18215}

FAMILIES = {
    "sd15": {"unet": SD15_UNET, "text_encoders": [CLIP_L], "vae": {**VAE, "sample_size": 512},
             "scheduler": "pndm", "pad": ["<|endoftext|>"]},
    "sd21": {"unet": SD21_UNET, "text_encoders": [OPENCLIP_H], "vae": {**VAE, "sample_size": 768},
             "scheduler": "ddim-v", "pad": ["!"]},
    "sdxl": {"unet": SDXL_UNET, "text_encoders": [CLIP_L, OPENCLIP_BIGG],
             "vae": {**VAE, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True},
             "scheduler": "euler-sdxl", "pad": ["<|endoftext|>", "!"]},
}

# Parameter counts as published (the diffusers / transformers models' `num_parameters()`, quoted
# widely, e.g. the SDXL report's 2.6 B UNet; each equals the sum over the released state dict).
PUBLISHED = {
    "sd15 unet": 859_520_964, "sd21 unet": 865_910_724, "sdxl unet": 2_567_463_684,
    "clip-l text": 123_060_480, "openclip-h text (23 layers)": 340_387_840,
    "openclip-bigg text + projection": 694_659_840, "autoencoder-kl": 83_653_863,
}


def tiny_sdxl(vocab_size):
    """SDXL's layout at the smallest widths: encoders 4 and 6 wide (so a wrong concat order shows),
    a 5-wide pooled projection, 2-value time sinusoids: I/O tests only."""
    text = {**TEXT_COMMON, "vocab_size": vocab_size, "intermediate_size": 8, "num_hidden_layers": 2,
            "num_attention_heads": 2, "bos_token_id": vocab_size - 2, "eos_token_id": vocab_size - 1}
    te1 = {**text, "hidden_size": 4, "hidden_act": "quick_gelu", "projection_dim": 4}
    te2 = {**text, "architectures": ["CLIPTextModelWithProjection"], "hidden_size": 6, "hidden_act": "gelu",
           "projection_dim": 5}
    unet = {**SDXL_UNET, "attention_head_dim": [2, 2, 2], "block_out_channels": [4, 4, 4], "layers_per_block": 1,
            "norm_num_groups": 2, "cross_attention_dim": 10, "addition_time_embed_dim": 2,
            "projection_class_embeddings_input_dim": 5 + 6 * 2, "transformer_layers_per_block": [1, 1, 2],
            "sample_size": 8}
    vae = {**VAE, "block_out_channels": [4, 4, 4, 4], "layers_per_block": 1, "norm_num_groups": 2,
           "sample_size": 64, "scaling_factor": 0.13025, "force_upcast": True}
    return [te1, te2], unet, vae


class uninitialized:
    """Builds modules without running their initializers (torch.empty, whose pages stay untouched),
    so the published-size models can be counted in a second and with no memory."""

    LAYERS = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Embedding, torch.nn.LayerNorm, torch.nn.GroupNorm)

    def __enter__(self):
        self.saved = [(layer, layer.reset_parameters) for layer in self.LAYERS]
        for layer in self.LAYERS:
            layer.reset_parameters = lambda self: None
        return self

    def __exit__(self, *args):
        for layer, reset in self.saved:
            layer.reset_parameters = reset
        return False


def count(module):
    return sum(p.numel() for p in module.parameters())


def check():
    with uninitialized():
        found = {
            "sd15 unet": count(UNet2DConditionModel(SD15_UNET)),
            "sd21 unet": count(UNet2DConditionModel(SD21_UNET)),
            "sdxl unet": count(UNet2DConditionModel(SDXL_UNET)),
            "clip-l text": count(CLIPTextModel(CLIP_L)),
            "openclip-h text (23 layers)": count(CLIPTextModel(OPENCLIP_H)),
            "openclip-bigg text + projection": count(CLIPTextModel(OPENCLIP_BIGG, with_projection=True)),
            "autoencoder-kl": count(AutoencoderKL(VAE)),
        }
    ok = True
    for name, published in PUBLISHED.items():
        same = found[name] == published
        ok &= same
        print(f"{name:34s} {found[name]:>15,d}  published {published:>15,d}  {'ok' if same else 'MISMATCH'}")
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare parameter counts with the published ones")
    if parser.parse_args().check:
        sys.exit(0 if check() else 1)
    parser.print_help()
