"""The published configs of each model family, as data: what diffusers' / transformers' config.json
files say in the Hub repos runwayml/stable-diffusion-v1-5 (sd15), stabilityai/stable-diffusion-2-1
(sd21, 768-v) and stabilityai/stable-diffusion-xl-base-1.0 (sdxl). Keys the code reads are the
diffusers names; the dicts are also what the builders write as each component's config.json.
"""
CROSS_DOWN, DOWN, CROSS_UP, UP = "CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"

_UNET_COMMON = {
    "_class_name": "UNet2DConditionModel",
    "act_fn": "silu",
    "center_input_sample": False,
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "time_cond_proj_dim": None,
}

UNET = {
    "sd15": {**_UNET_COMMON, "_diffusers_version": "0.6.0", "attention_head_dim": 8,
             "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 768,
             "down_block_types": [CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN],
             "up_block_types": [UP, CROSS_UP, CROSS_UP, CROSS_UP], "sample_size": 64},
    "sd21": {**_UNET_COMMON, "_diffusers_version": "0.10.0.dev0", "attention_head_dim": [5, 10, 20, 20],
             "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024,
             "down_block_types": [CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN], "dual_cross_attention": False,
             "num_class_embeds": None, "only_cross_attention": False,
             "up_block_types": [UP, CROSS_UP, CROSS_UP, CROSS_UP], "sample_size": 96,
             "upcast_attention": True, "use_linear_projection": True},
    "sdxl": {**_UNET_COMMON, "_diffusers_version": "0.19.0.dev0", "addition_embed_type": "text_time",
             "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256,
             "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280],
             "class_embed_type": None, "class_embeddings_concat": False, "conv_in_kernel": 3, "conv_out_kernel": 3,
             "cross_attention_dim": 2048, "cross_attention_norm": None,
             "down_block_types": [DOWN, CROSS_DOWN, CROSS_DOWN], "dual_cross_attention": False,
             "encoder_hid_dim": None, "encoder_hid_dim_type": None, "mid_block_only_cross_attention": None,
             "num_attention_heads": None, "num_class_embeds": None, "only_cross_attention": False,
             "projection_class_embeddings_input_dim": 2816, "resnet_out_scale_factor": 1.0,
             "resnet_skip_time_act": False, "resnet_time_scale_shift": "default", "sample_size": 128,
             "time_embedding_act_fn": None, "time_embedding_dim": None, "time_embedding_type": "positional",
             "timestep_post_act": None, "transformer_layers_per_block": [1, 2, 10],
             "up_block_types": [CROSS_UP, CROSS_UP, UP], "upcast_attention": None, "use_linear_projection": True},
}


def _vae(version, sample_size, scaling_factor, force_upcast):
    return {"_class_name": "AutoencoderKL", "_diffusers_version": version, "act_fn": "silu",
            "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
            "force_upcast": force_upcast, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
            "norm_num_groups": 32, "out_channels": 3, "sample_size": sample_size, "scaling_factor": scaling_factor,
            "up_block_types": ["UpDecoderBlock2D"] * 4}


VAE = {
    "sd15": _vae("0.6.0", 512, 0.18215, False),
    "sd21": _vae("0.10.0.dev0", 768, 0.18215, False),
    # SDXL's VAE overflows in float16 (hence force_upcast; madebyollin/sdxl-vae-fp16-fix is the usual fix).
    "sdxl": _vae("0.20.0.dev0", 1024, 0.13025, True),
}


def _clip(hidden, layers, heads, mlp, act, projection, arch="CLIPTextModel", bos=0, eos=2, pad=1):
    return {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": bos, "dropout": 0.0,
            "eos_token_id": eos, "hidden_act": act, "hidden_size": hidden, "initializer_factor": 1.0,
            "initializer_range": 0.02, "intermediate_size": mlp, "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": heads,
            "num_hidden_layers": layers, "pad_token_id": pad, "projection_dim": projection, "torch_dtype": "float32",
            "vocab_size": 49408}


CLIP_L = _clip(768, 12, 12, 3072, "quick_gelu", 768)  # OpenAI CLIP ViT-L/14 (SD 1.x; SDXL's text_encoder)
# OpenCLIP ViT-H/14 as SD 2.x ships it: 24 layers trained, the last dropped (HF config: 23), Stability-AI/stablediffusion#262
OPENCLIP_H = _clip(1024, 23, 16, 4096, "gelu", 512)
OPENCLIP_BIGG = _clip(1280, 32, 20, 5120, "gelu", 1280, arch="CLIPTextModelWithProjection")  # SDXL text_encoder_2

TEXT_ENCODERS = {"sd15": [CLIP_L], "sd21": [OPENCLIP_H], "sdxl": [CLIP_L, OPENCLIP_BIGG]}

# Tokenizer pad token per text encoder (SD-NOTES §1.5): OpenAI CLIP pads with <|endoftext|>, OpenCLIP with "!".
PAD_TOKENS = {"sd15": ["<|endoftext|>"], "sd21": ["!"], "sdxl": ["<|endoftext|>", "!"]}

_SCALED_LINEAR = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                  "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "trained_betas": None}

SCHEDULERS = {
    # SD-NOTES §1.7 (runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json)
    "sd15": {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", **_SCALED_LINEAR},
    # SD-NOTES §1.7 (stabilityai/stable-diffusion-2-1): DDIM, v_prediction
    "sd21": {"_class_name": "DDIMScheduler", "_diffusers_version": "0.10.0.dev0", **_SCALED_LINEAR,
             "prediction_type": "v_prediction"},
    # stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json
    "sdxl": {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0", **_SCALED_LINEAR,
             "interpolation_type": "linear", "prediction_type": "epsilon", "sample_max_value": 1.0,
             "timestep_spacing": "leading", "use_karras_sigmas": False},
    # stabilityai/sdxl-turbo scheduler/scheduler_config.json (diffusers 0.24.0.dev0): Euler *ancestral*,
    # trailing spacing, steps_offset 1 (which trailing spacing ignores); the diffusers docs'
    # sdxl_turbo.md: "timestep_spacing='trailing'", 1-4 steps, guidance_scale 0.
    "sdxl-turbo": {"_class_name": "EulerAncestralDiscreteScheduler", "_diffusers_version": "0.24.0.dev0",
                   **_SCALED_LINEAR, "interpolation_type": "linear", "prediction_type": "epsilon",
                   "sample_max_value": 1.0, "timestep_spacing": "trailing"},
    # stabilityai/sd-turbo scheduler/scheduler_config.json: Euler, trailing, epsilon (SD-NOTES §1.5, §1.7)
    "sd-turbo": {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", **_SCALED_LINEAR,
                 "interpolation_type": "linear", "prediction_type": "epsilon", "sample_max_value": 1.0,
                 "timestep_spacing": "trailing", "use_karras_sigmas": False},
}

PIPELINE_CLASS = {"sd15": "StableDiffusionPipeline", "sd21": "StableDiffusionPipeline",
                  "sdxl": "StableDiffusionXLPipeline"}
