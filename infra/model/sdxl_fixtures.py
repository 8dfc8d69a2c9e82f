"""Tiny SDXL-layout test fixtures (and a tiny SD-Turbo), from the architecture-exact modules at
the smallest widths (families.tiny_sdxl), random weights: they test the gpu-worker's SDXL I/O
handling, their outputs mean nothing.

    /usr/bin/python3 -m infra.model.sdxl_fixtures            # all of them (~1 min)
    /usr/bin/python3 -m infra.model.sdxl_fixtures --only sdxl-fp16

| fixture | text encoders | unet | notes |
|---|---|---|---|
| sdxl | int32 ids; hidden_states.N, text_embeds | float32 timestep [batch], text_embeds, time_ids | EulerDiscrete (SDXL base), VAE 0.13025 force_upcast, force_zeros_for_empty_prompt |
| sdxl-int64 | int64 ids | float32 scalar timestep [] (Optimum ≥ 1.24) | |
| sdxl-fp16 | float16 outputs | float16 inputs and outputs (float32 math inside: CPU) | |
| sdxl-turbo | as sdxl | as sdxl | EulerDiscrete, timestep_spacing trailing |
| sd-turbo | one encoder, pad "!" | SD 2.x layout | EulerDiscrete trailing, epsilon |
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch

from .export import _tidy, replace_folder
from .families import TEXT_COMMON, tiny_sdxl
from .full_size import SCHEDULERS as FULL_SCHEDULERS
from .sd_clip import CLIPTextModel
from .sd_export import (Io, TextEncoderGraph, UNetGraph, UNetXLGraph, VaeDecoderGraph, VaeEncoderGraph,
                        export_graph, seeded_init)
from .sd_unet import UNet2DConditionModel
from .sd_vae import AutoencoderKL
from .verify_onnx import _from_json, _to_json, run_in_node

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "gpu-worker", "test", "fixtures", "models")
TOKENIZER = os.path.join(ROOT, "int64", "tokenizer")

# The Turbo models' scheduler: Euler with trailing spacing, so one step starts at t = 999
# (diffusers docs for sd-turbo / sdxl-turbo; SD-NOTES §1.7).
TURBO = {**FULL_SCHEDULERS["euler-sdxl"], "timestep_spacing": "trailing", "steps_offset": 0}

FIXTURES = {
    "sdxl": {"xl": True, "io": Io(), "scheduler": FULL_SCHEDULERS["euler-sdxl"]},
    "sdxl-int64": {"xl": True, "io": Io(ids_dtype=torch.int64, timestep="scalar"),
                   "scheduler": FULL_SCHEDULERS["euler-sdxl"]},
    "sdxl-fp16": {"xl": True, "io": Io(fp16=True), "scheduler": FULL_SCHEDULERS["euler-sdxl"]},
    "sdxl-turbo": {"xl": True, "io": Io(), "scheduler": TURBO},
    "sd-turbo": {"xl": False, "io": Io(), "scheduler": TURBO},
}


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def copy_tokenizer(out, pad):
    shutil.copytree(TOKENIZER, out)
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = os.path.join(out, name)
        with open(path) as f:
            data = json.load(f)
        if pad == "!":
            data["pad_token"] = "!"
        write_json(path, data)


def sd_turbo_configs(vocab):
    """SD 2.x's layout (one OpenCLIP-style encoder, linear projections) at the fixtures' widths."""
    [te, _], unet, vae = tiny_sdxl(vocab)
    te = {**te, "hidden_size": 6, "hidden_act": "gelu", "projection_dim": 6}
    unet = {k: v for k, v in unet.items() if k not in (
        "addition_embed_type", "addition_time_embed_dim", "projection_class_embeddings_input_dim")}
    unet.update({"cross_attention_dim": 6, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                                                 "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "transformer_layers_per_block": 1, "upcast_attention": True})
    return [te], unet, {**vae, "scaling_factor": 0.18215, "force_upcast": False}


def inputs_for(part, cfgs, io, batch, seed):
    g = torch.Generator().manual_seed(seed)
    fdt = torch.float16 if io.fp16 else torch.float32
    if part.startswith("text_encoder"):
        vocab = cfgs[0][0]["vocab_size"]
        ids = torch.randint(0, vocab - 2, (batch, 77), generator=g)
        ids[:, 0], ids[:, 6:] = vocab - 2, vocab - 1
        return {"input_ids": ids.to(io.ids_dtype)}
    if part == "unet":
        unet = cfgs[1]
        t = torch.tensor(537.25, dtype=fdt) if io.timestep == "scalar" else torch.tensor(
            [981.0, 37.5][:batch], dtype=fdt)
        x = {"sample": torch.randn(batch, 4, 8, 12, generator=g).to(fdt), "timestep": t,
             "encoder_hidden_states": torch.randn(batch, 77, unet["cross_attention_dim"], generator=g).to(fdt)}
        if unet.get("addition_embed_type"):
            pooled = unet["projection_class_embeddings_input_dim"] - 6 * unet["addition_time_embed_dim"]
            x["text_embeds"] = torch.randn(batch, pooled, generator=g).to(fdt)
            x["time_ids"] = torch.tensor([[64.0, 96.0, 0.0, 0.0, 64.0, 96.0]] * batch).to(fdt)
        return x
    if part == "vae_encoder":
        return {"sample": (torch.rand(batch, 3, 64, 96, generator=g) * 2 - 1).to(fdt)}
    return {"latent_sample": torch.randn(batch, 4, 8, 12, generator=g).to(fdt)}


def build(name, spec, out):
    with open(os.path.join(TOKENIZER, "vocab.json")) as f:
        vocab = len(json.load(f))
    cfgs = tiny_sdxl(vocab) if spec["xl"] else sd_turbo_configs(vocab)
    text_cfgs, unet_cfg, vae_cfg = cfgs
    io = spec["io"]
    graphs = {}
    for i, cfg in enumerate(text_cfgs):
        part = "text_encoder" if i == 0 else "text_encoder_2"
        model = seeded_init(CLIPTextModel(cfg, with_projection=i == 1), 1 + i)
        graphs[part] = TextEncoderGraph(model, io, hidden_states=spec["xl"])
        pad = "!" if (i == 1 or not spec["xl"]) else "<|endoftext|>"
        write_json(os.path.join(out, part, "config.json"),
                   {**cfg, "pad_token_id": 0 if pad == "!" else cfg["eos_token_id"]})
        copy_tokenizer(os.path.join(out, "tokenizer" if i == 0 else "tokenizer_2"), pad)
    unet = seeded_init(UNet2DConditionModel(unet_cfg), 11)
    graphs["unet"] = UNetXLGraph(unet, io) if spec["xl"] else UNetGraph(unet, io)
    write_json(os.path.join(out, "unet", "config.json"), unet_cfg)
    vae = seeded_init(AutoencoderKL(vae_cfg), 21)
    graphs["vae_encoder"] = VaeEncoderGraph(vae, io)
    graphs["vae_decoder"] = VaeDecoderGraph(vae, io)
    for part in ("vae_encoder", "vae_decoder"):
        write_json(os.path.join(out, part, "config.json"), vae_cfg)

    checks = []
    for part, graph in graphs.items():
        example = inputs_for(part, cfgs, io, 2, 0)
        if part.startswith("text_encoder"):
            names = graph.output_names()
            axes = {"input_ids": {0: "batch", 1: "sequence"},
                    **{n: ({0: "batch"} if n in ("text_embeds", "pooler_output") else {0: "batch", 1: "sequence"})
                       for n in names}}
        elif part == "unet":
            names = ["out_sample"]
            axes = {n: {0: "batch"} for n in example}
            axes["sample"] = axes["out_sample"] = {0: "batch", 2: "height", 3: "width"}
            axes["encoder_hidden_states"] = {0: "batch", 1: "sequence"}
            if io.timestep == "scalar":
                del axes["timestep"]
        else:
            names = ["latent_parameters"] if part == "vae_encoder" else ["sample"]
            img, lat = {0: "batch", 2: "height", 3: "width"}, {0: "batch", 2: "latent_height", 3: "latent_width"}
            axes = {"sample": img, "latent_parameters": lat} if part == "vae_encoder" else {
                "latent_sample": lat, "sample": img}
        path = os.path.join(out, part, "model.onnx")
        export_graph(graph, example, names, axes, path)
        with torch.no_grad():
            traced = graph(*example.values())
        traced = traced if isinstance(traced, tuple) else (traced,)
        _tidy(path, axes, {n: list(t.shape) for n, t in zip(names, traced)}, graph)  # short names: small files
        for batch in (1, 2):
            x = inputs_for(part, cfgs, io, batch, batch)
            with torch.no_grad():
                want = graph(*x.values())
            want = want if isinstance(want, tuple) else (want,)
            checks.append((part, batch, x, dict(zip(names, want))))

    write_json(os.path.join(out, "scheduler", "scheduler_config.json"), spec["scheduler"])
    onnx_model = ["diffusers", "OnnxRuntimeModel"]
    index = {"_class_name": "StableDiffusionXLPipeline" if spec["xl"] else "OnnxStableDiffusionPipeline",
             "_diffusers_version": "0.30.0", "scheduler": ["diffusers", spec["scheduler"]["_class_name"]],
             **{p: onnx_model for p in graphs}, "tokenizer": ["transformers", "CLIPTokenizer"]}
    if spec["xl"]:
        index.update({"tokenizer_2": ["transformers", "CLIPTokenizer"], "force_zeros_for_empty_prompt": True})
    write_json(os.path.join(out, "model_index.json"), index)

    results = run_in_node([{"model": os.path.abspath(os.path.join(out, part, "model.onnx")),
                            "inputs": {k: _to_json(v) for k, v in x.items()}} for part, _, x, _ in checks])
    for (part, batch, _, want), result in zip(checks, results):
        for n, t in want.items():
            got = _from_json(result["outputs"][n])
            ref = t.float().numpy()
            err = float(np.abs(got - ref).max()) / max(1.0, float(np.abs(ref).max()))
            tol = 2e-3 if io.fp16 else 1e-4
            assert got.shape == ref.shape and err <= tol, f"{name} {part}.{n} batch {batch}: {err:.2e} > {tol}"
    print(f"{name}: {len(checks)} graph runs match torch in onnxruntime-node")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(FIXTURES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only or FIXTURES:
        final = os.path.abspath(os.path.join(ROOT, name))
        tmp = os.path.join(os.path.dirname(final), f".{name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        build(name, FIXTURES[name], tmp)
        replace_folder(tmp, final)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(final) for f in fs)
        print(f"{name}: {final} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
