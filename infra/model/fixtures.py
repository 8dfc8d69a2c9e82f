"""Random-weight exports: the gpu-worker's dtype-handling test fixtures, and (with --random-model)
an untrained bundled-size model in gpu-worker/models/tiny-sd/ for bring-up before training.

    /usr/bin/python3 -m infra.model.fixtures                       # all fixtures
    /usr/bin/python3 -m infra.model.fixtures --random-model gpu-worker/models/tiny-sd
"""
import argparse
import dataclasses
import os
import shutil
import tempfile

import torch

from . import configs
from .export import Variant, export_pipeline, replace_folder
from .text_encoder import CLIPTextModel
from .unet import UNet2DCondition
from .vae import AutoencoderKL
from .verify_onnx import verify_pipeline

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# SD-NOTES §1.3: one fixture per exporter generation the loader must handle.
VARIANTS = {
    # diffusers script / Optimum < 1.23 era: int64 ids and timestep [batch], VAE encoder `latent_sample`
    "int64": Variant(ids_dtype=torch.int64, timestep="int64", timestep_axis="steps", vae_encoder_output="latent_sample"),
    # Optimum >= 1.24: int64 ids, float32 scalar timestep, `latent_parameters`
    "scalar-timestep": Variant(ids_dtype=torch.int64, timestep="scalar", vae_encoder_output="latent_parameters"),
    # fp16 export: every float input and output is float16, timestep float16 [batch]
    "fp16": Variant(ids_dtype=torch.int32, timestep="float", fp16=True),
    # LCM-distilled UNet: extra timestep_cond [batch, 256]; LCMScheduler config
    "lcm": Variant(ids_dtype=torch.int32, timestep="float", lcm=True, scheduler="lcm"),
    # SD 2.x flavour: pad token "!" (id 0), DDIM v_prediction config
    "sd2-pad": Variant(ids_dtype=torch.int32, timestep="float", scheduler="ddim-v"),
    # inpainting UNet (runwayml/stable-diffusion-inpainting layout): sample takes 9 channels, the
    # latent, the mask and the masked image's latent
    "inpainting": Variant(ids_dtype=torch.int32, timestep="float"),
    # the same weights as a plain UNet (conv_in's latent channels only), so tests can tell what
    # the inpainting channels change
    "inpainting-base": Variant(ids_dtype=torch.int32, timestep="float"),
}
INPAINTING_CHANNELS = 9


def plain_unet(unet):
    """The UNet without its inpainting inputs: conv_in keeps the weights of the latent channels."""
    cfg = dataclasses.replace(unet.config, in_channels=unet.config.out_channels)
    plain = UNet2DCondition(cfg)
    state = unet.state_dict()
    state["conv_in.weight"] = state["conv_in.weight"][:, : cfg.in_channels].clone()
    plain.load_state_dict(state)
    return plain


def build(out_dir, variant, tokenizer, sizes, seed, log=print, adapt_unet=None):
    torch.manual_seed(seed)
    text_cfg, unet_cfg, vae_cfg = sizes
    text_encoder, unet, vae = CLIPTextModel(text_cfg), UNet2DCondition(unet_cfg), AutoencoderKL(vae_cfg)
    if adapt_unet:
        unet = adapt_unet(unet)
    vae_cfg.scaling_factor = 0.18215  # SD's value; random weights have no latent statistics to measure
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)  # same filesystem, so the final move is a rename
    os.rmdir(tmp)
    try:
        export_pipeline(tmp, text_encoder, unet, vae, tokenizer, variant, projection_dim=text_cfg.hidden_size)
        signatures = verify_pipeline(tmp, text_encoder, unet, vae, variant, log=log)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_folder(tmp, out_dir)
    return signatures


def folder_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    torch.set_num_threads(2)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "gpu-worker/test/fixtures/models"))
    p.add_argument("--only", nargs="*", choices=list(VARIANTS), help="build only these fixtures")
    p.add_argument("--random-model", help="instead: export an untrained bundled-size model to this folder")
    a = p.parse_args()
    tokenizer = configs.make_tokenizer()
    if a.random_model:
        sizes = configs.bundled(len(tokenizer.vocab))
        build(a.random_model, Variant(), tokenizer, sizes, seed=0)
        print(f"{a.random_model}: {folder_size(a.random_model) / 1e6:.2f} MB")
        return
    for name in a.only or VARIANTS:
        v = VARIANTS[name]
        tok = configs.make_tokenizer(pad_token="!") if name == "sd2-pad" else tokenizer
        out = os.path.join(a.out, name)
        print(f"{name}:")
        sizes = configs.fixture(len(tok.vocab), lcm=v.lcm)
        adapt = None
        if name.startswith("inpainting"):
            # Both from the same draws of one 9-channel UNet; the base drops its extra inputs.
            sizes = (sizes[0], dataclasses.replace(sizes[1], in_channels=INPAINTING_CHANNELS), sizes[2])
            adapt = plain_unet if name == "inpainting-base" else None
        signatures = build(out, v, tok, sizes, seed=1, adapt_unet=adapt)
        for graph, sig in signatures.items():
            print(f"  {graph}: {sig}")
        print(f"  {folder_size(out) / 1e3:.0f} KB")


if __name__ == "__main__":
    main()
