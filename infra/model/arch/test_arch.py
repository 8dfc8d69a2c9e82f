"""Architecture checks: parameter counts equal the published ones, state-dict names and shapes are
diffusers'/transformers', and small configs run. Built on the meta device (no weights), ~5 s.

    /usr/bin/python3 -m unittest infra.model.arch.test_arch -v
"""
import unittest

import torch

from . import families as F
from .autoencoder_kl import AutoencoderKL
from .clip_text import CLIPTextModel, CLIPTextModelWithProjection
from .meta import on_meta, param_count
from .unet_2d_condition import UNet2DConditionModel

# Published parameter counts: sum(p.numel()) of the diffusers/transformers modules loaded from each Hub
# repo (issue 14 quotes them). The rounded forms are in the papers and model cards: "860M UNet, 123M
# text encoder" (SD 1.x model card), "UNet 2.6B", "text encoders 817M" = 123,060,480 + 694,659,840
# (Podell et al. 2023, SDXL report, Table 1), "84M" autoencoder (Rombach et al. 2022, f=8 KL).
PUBLISHED = {
    "sd15 unet": 859_520_964,  # runwayml/stable-diffusion-v1-5 unet
    "sd21 unet": 865_910_724,  # stabilityai/stable-diffusion-2-1 unet (to_k/to_v of attn2 read 1024-d text: +6,389,760)
    "sdxl unet": 2_567_463_684,  # stabilityai/stable-diffusion-xl-base-1.0 unet
    "clip-l text": 123_060_480,  # openai/clip-vit-large-patch14 text model = SD 1.5 and SDXL text_encoder
    "openclip-h text": 340_387_840,  # stabilityai/stable-diffusion-2-1 text_encoder (23 of ViT-H's 24 layers)
    "openclip-bigg text": 694_659_840,  # SDXL text_encoder_2 (CLIPTextModelWithProjection)
    "vae": 83_653_863,  # AutoencoderKL of SD 1.x/2.x and SDXL (the same architecture)
}


def count(name):
    if name == "vae":
        return on_meta(AutoencoderKL, F.VAE["sd15"])
    family, what = name.split(" ", 1)
    if what == "unet":
        return on_meta(UNet2DConditionModel, F.UNET[family])
    cfg = {"clip-l": F.CLIP_L, "openclip-h": F.OPENCLIP_H, "openclip-bigg": F.OPENCLIP_BIGG}[family]
    return on_meta(CLIPTextModelWithProjection if family == "openclip-bigg" else CLIPTextModel, cfg)


def shapes(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


class ParameterCounts(unittest.TestCase):
    def test_every_published_count(self):
        for name, expected in PUBLISHED.items():
            with self.subTest(name):
                self.assertEqual(param_count(count(name)), expected)

    def test_the_vae_is_the_same_in_every_family(self):
        for family in ("sd21", "sdxl"):
            self.assertEqual(param_count(on_meta(AutoencoderKL, F.VAE[family])), PUBLISHED["vae"])

    def test_lcm_adds_only_the_bias_free_cond_proj(self):
        unet = on_meta(UNet2DConditionModel, {**F.UNET["sd15"], "time_cond_proj_dim": 256})
        self.assertEqual(shapes(unet)["time_embedding.cond_proj.weight"], [320, 256])
        self.assertNotIn("time_embedding.cond_proj.bias", shapes(unet))
        self.assertEqual(param_count(unet), PUBLISHED["sd15 unet"] + 256 * 320)


class StateDictNames(unittest.TestCase):
    def test_sd15_unet(self):
        s = shapes(count("sd15 unet"))
        self.assertEqual(len(s), 686)  # keys in diffusion_pytorch_model.bin of runwayml/stable-diffusion-v1-5
        self.assertEqual(s["down_blocks.0.attentions.0.proj_in.weight"], [320, 320, 1, 1])  # 1x1 conv (SD 1.x)
        self.assertEqual(s["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"], [320, 768])
        self.assertEqual(s["down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"], [2560, 320])
        self.assertEqual(s["down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight"], [320, 1280])
        self.assertEqual(s["down_blocks.0.downsamplers.0.conv.weight"], [320, 320, 3, 3])
        self.assertEqual(s["up_blocks.0.resnets.0.conv1.weight"], [1280, 2560, 3, 3])
        self.assertEqual(s["up_blocks.3.resnets.0.conv_shortcut.weight"], [320, 960, 1, 1])
        self.assertEqual(s["up_blocks.2.upsamplers.0.conv.weight"], [640, 640, 3, 3])
        self.assertEqual(s["time_embedding.linear_1.weight"], [1280, 320])
        self.assertEqual(s["conv_norm_out.weight"], [320])
        self.assertNotIn("down_blocks.3.downsamplers.0.conv.weight", s)

    def test_sd21_unet_uses_linear_projections_and_64_wide_heads(self):
        unet = count("sd21 unet")
        s = shapes(unet)
        self.assertEqual(s["down_blocks.0.attentions.0.proj_in.weight"], [320, 320])
        self.assertEqual(s["mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"], [1280, 1024])
        self.assertEqual(unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1.heads, 5)
        self.assertEqual(unet.mid_block.attentions[0].transformer_blocks[0].attn1.heads, 20)

    def test_sdxl_unet(self):
        unet = count("sdxl unet")
        s = shapes(unet)
        self.assertEqual(len(s), 1680)
        self.assertEqual(s["add_embedding.linear_1.weight"], [1280, 2816])  # 1280 pooled + 6 x 256 time ids
        self.assertEqual(s["down_blocks.2.attentions.1.transformer_blocks.9.attn2.to_k.weight"], [1280, 2048])
        self.assertNotIn("down_blocks.0.attentions.0.proj_in.weight", s)  # DownBlock2D first
        self.assertEqual(len(unet.mid_block.attentions[0].transformer_blocks), 10)
        self.assertEqual(len(unet.up_blocks[0].attentions[0].transformer_blocks), 10)  # reversed [1, 2, 10]
        self.assertEqual(len(unet.up_blocks[1].attentions[0].transformer_blocks), 2)
        self.assertEqual(len(unet.up_blocks[0].resnets), 3)
        self.assertEqual(unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.heads, 10)

    def test_text_encoders(self):
        s = shapes(count("clip-l text"))
        self.assertEqual(len(s), 196)
        self.assertEqual(s["text_model.embeddings.token_embedding.weight"], [49408, 768])
        self.assertEqual(s["text_model.encoder.layers.11.self_attn.q_proj.bias"], [768])
        self.assertEqual(s["text_model.encoder.layers.11.mlp.fc1.weight"], [3072, 768])
        self.assertEqual(s["text_model.final_layer_norm.weight"], [768])
        g = shapes(count("openclip-bigg text"))
        self.assertEqual(g["text_projection.weight"], [1280, 1280])
        self.assertNotIn("text_projection.bias", g)
        self.assertIn("text_model.encoder.layers.31.layer_norm2.bias", g)

    def test_vae(self):
        s = shapes(count("vae"))
        self.assertEqual(len(s), 248)
        self.assertEqual(s["encoder.down_blocks.0.resnets.0.norm1.weight"], [128])
        self.assertEqual(s["encoder.down_blocks.1.resnets.0.conv_shortcut.weight"], [256, 128, 1, 1])
        self.assertEqual(s["encoder.mid_block.attentions.0.to_q.weight"], [512, 512])
        self.assertEqual(s["encoder.mid_block.attentions.0.to_q.bias"], [512])
        self.assertEqual(s["encoder.mid_block.attentions.0.group_norm.weight"], [512])
        self.assertEqual(s["encoder.mid_block.attentions.0.to_out.0.weight"], [512, 512])
        self.assertEqual(s["encoder.conv_out.weight"], [8, 512, 3, 3])
        self.assertEqual(s["quant_conv.weight"], [8, 8, 1, 1])
        self.assertEqual(s["post_quant_conv.weight"], [4, 4, 1, 1])
        self.assertEqual(s["decoder.up_blocks.3.resnets.0.conv_shortcut.weight"], [128, 256, 1, 1])
        self.assertEqual(s["decoder.up_blocks.0.upsamplers.0.conv.weight"], [512, 512, 3, 3])
        self.assertNotIn("decoder.up_blocks.3.upsamplers.0.conv.weight", s)


class SmallConfigsRun(unittest.TestCase):
    def test_a_small_sdxl_unet_reads_text_embeds_and_time_ids(self):
        torch.manual_seed(0)
        cfg = {**F.UNET["sdxl"], "block_out_channels": [32, 64, 64], "attention_head_dim": [1, 2, 2],
               "norm_num_groups": 8, "cross_attention_dim": 24, "transformer_layers_per_block": [1, 1, 2],
               "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 12 + 6 * 8}
        unet = UNet2DConditionModel(cfg).eval()
        args = (torch.randn(2, 4, 8, 8), torch.tensor([10.0, 900.0]), torch.randn(2, 5, 24), torch.randn(2, 12))
        ids = torch.tensor([[64.0, 64, 0, 0, 64, 64]] * 2)
        with torch.no_grad():
            out = unet(*args, time_ids=ids)
            other = unet(*args, time_ids=ids * 2)
        self.assertEqual(list(out.shape), [2, 4, 8, 8])
        self.assertGreater(float((out - other).abs().max()), 0)

    def test_a_small_vae_round_trips_shapes(self):
        cfg = {**F.VAE["sd15"], "block_out_channels": [8, 8, 16, 16], "norm_num_groups": 4}
        vae = AutoencoderKL(cfg).eval()
        with torch.no_grad():
            params = vae.encode(torch.rand(1, 3, 32, 40) * 2 - 1)
            image = vae.decode(params[:, :4])
        self.assertEqual(list(params.shape), [1, 8, 4, 5])
        self.assertEqual(list(image.shape), [1, 3, 32, 40])


if __name__ == "__main__":
    unittest.main()
