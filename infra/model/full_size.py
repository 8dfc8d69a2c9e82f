"""Full-size random-weight models, architecture-exact (families.py), in Optimum's ONNX layout: the
proof that the gpu-worker loads and runs SD 1.5, SD 2.1 and SDXL at their published widths without
downloading weights. Not committed: tests and benchmarks read them from FULL_MODELS_DIR.

    /usr/bin/python3 -m infra.model.full_size --family sd15 --dtype fp32 --out /work/full-models/sd15-fp32
    /usr/bin/python3 -m infra.model.full_size --family sdxl --dtype fp16 --out /work/full-models/sdxl-fp16

One component at a time (built, seeded, traced at a small size, exported, freed), so peak memory is
about the largest component twice. Each graph is then checked in onnxruntime-node against the torch
module's outputs on a small input. fp16 builds convert the float32 graphs tensor by tensor; SDXL's
VAE decoder stays float32 there (`--fp16-vae` to convert it too), since SDXL's VAE overflows in
float16 (its config says force_upcast). Each graph gets a weight_map.json (where every Linear
weight went: LoRA merges need it); `--weight-maps` writes only those into a folder built before.
"""
import argparse
import ctypes
import gc
import json
import os
import resource
import shutil
import sys
import time

import numpy as np
import torch

from .export import SCHEDULERS, replace_folder
from .families import FAMILIES
from .sd_clip import CLIPTextModel
from .sd_export import (Io, TextEncoderGraph, UNetGraph, UNetXLGraph, VaeDecoderGraph, VaeEncoderGraph,
                        export_graph, seeded_init, to_float16)
from .sd_unet import UNet2DConditionModel
from .sd_vae import AutoencoderKL
from .verify_onnx import _from_json, _to_json, run_in_node
from .weight_map import from_graph_file
from .weight_map import write as write_weight_map

DEFAULT_TOKENIZER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "clip-tokenizer")

# SDXL base's scheduler_config.json (stabilityai/stable-diffusion-xl-base-1.0).
SCHEDULERS = {**SCHEDULERS, "euler-sdxl": {
    "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear",
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False,
    "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None,
    "use_karras_sigmas": False}}


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def current_rss_gib():
    with open("/proc/self/status", encoding="ascii") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kib / 2 ** 20


def release_memory():
    """Hand freed heap back to the system before onnxruntime-node loads a graph in a second process:
    glibc keeps freed arenas mapped, and SDXL's UNet check otherwise needs both peaks at once."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def log(message):
    print(f"[full-size {time.strftime('%H:%M:%S')}] {message} (peak RSS {peak_rss_gib():.1f} GiB)", flush=True)


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def special(content):
    return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


def write_tokenizer(out, source, pad):
    os.makedirs(out, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(source, name), os.path.join(out, name))
    tokens = {"bos_token": special("<|startoftext|>"), "eos_token": special("<|endoftext|>"),
              "pad_token": pad if pad == "!" else special(pad), "unk_token": special("<|endoftext|>")}
    write_json(os.path.join(out, "special_tokens_map.json"), tokens)
    write_json(os.path.join(out, "tokenizer_config.json"), {
        **tokens, "add_prefix_space": False, "do_lower_case": True, "errors": "replace", "model_max_length": 77,
        "tokenizer_class": "CLIPTokenizer"})


def example_ids(vocab, batch=1, seq=77, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab - 2, (batch, seq), generator=g)
    ids[:, 0] = vocab - 2
    ids[:, 9:] = vocab - 1  # EOS from position 9 (what the tokenizer pads with for SD 1.x)
    return ids.to(torch.int32)


class Build:
    def __init__(self, family, out, seed, fp16, fp16_vae, tokenizer_dir):
        self.family, self.out, self.seed = FAMILIES[family], out, seed
        self.name = family
        self.fp16, self.fp16_vae = fp16, fp16_vae
        self.tokenizer_dir = tokenizer_dir
        self.checks = []  # (graph path, inputs, {output: expected}, tolerance)
        self.maps_only = False
        self.timings = {}

    def graph_path(self, part):
        return os.path.join(self.out, part, "model.onnx")

    def export(self, part, graph, inputs, outputs, axes, checked):
        start = time.time()
        if self.maps_only:  # an existing folder: only where each Linear weight went (LoRA merges need it)
            path = self.graph_path(part)
            mapping = from_graph_file(path, graph)
            write_weight_map(mapping, path)
            log(f"{self.name} {part}: weight_map.json with {len(mapping)} renamed weights in {time.time() - start:.0f} s")
            return
        with torch.no_grad():
            expected = graph(*inputs.values())
        expected = expected if isinstance(expected, tuple) else (expected,)
        export_graph(graph, inputs, outputs, axes, self.graph_path(part))
        # Kept through the fp16 conversion, which renames nothing.
        write_weight_map(from_graph_file(self.graph_path(part), graph), self.graph_path(part))
        self.checks.append((part, {k: _to_json(v) for k, v in inputs.items()},
                            {n: t.float().numpy() for n, t in zip(outputs, expected) if n in checked}))
        self.timings[part] = time.time() - start
        log(f"{self.name} {part}: exported in {self.timings[part]:.0f} s")

    def text_encoders(self):
        xl = len(self.family["text_encoders"]) == 2
        for i, cfg in enumerate(self.family["text_encoders"]):
            part = "text_encoder" if i == 0 else "text_encoder_2"
            model = seeded_init(CLIPTextModel(cfg, with_projection=i == 1), self.seed + i)
            graph = TextEncoderGraph(model, Io(), hidden_states=xl)
            names = graph.output_names()
            axes = {"input_ids": {0: "batch", 1: "sequence"}}
            for n in names:
                axes[n] = {0: "batch"} if n in ("text_embeds", "pooler_output") else {0: "batch", 1: "sequence"}
            checked = {names[0], names[1]} | ({f"hidden_states.{cfg['num_hidden_layers'] - 1}"} if xl else set())
            self.export(part, graph, {"input_ids": example_ids(cfg["vocab_size"])}, names, axes, checked)
            config = {k: v for k, v in cfg.items()}
            config["pad_token_id"] = 0 if self.family["pad"][i] == "!" else cfg["eos_token_id"]
            write_json(os.path.join(self.out, part, "config.json"), config)
            del model, graph
            gc.collect()

    def unet(self):
        cfg = self.family["unet"]
        model = seeded_init(UNet2DConditionModel(cfg), self.seed + 10)
        g = torch.Generator().manual_seed(self.seed + 11)
        inputs = {"sample": torch.randn(1, 4, 8, 8, generator=g), "timestep": torch.tensor([981.0]),
                  "encoder_hidden_states": torch.randn(1, 77, cfg["cross_attention_dim"], generator=g)}
        axes = {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
                "encoder_hidden_states": {0: "batch", 1: "sequence"},
                "out_sample": {0: "batch", 2: "height", 3: "width"}}
        if cfg.get("addition_embed_type") == "text_time":
            pooled = cfg["projection_class_embeddings_input_dim"] - 6 * cfg["addition_time_embed_dim"]
            inputs["text_embeds"] = torch.randn(1, pooled, generator=g)
            inputs["time_ids"] = torch.tensor([[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0]])
            axes.update({"text_embeds": {0: "batch"}, "time_ids": {0: "batch"}})
            graph = UNetXLGraph(model, Io())
        else:
            graph = UNetGraph(model, Io())
        self.export("unet", graph, inputs, ["out_sample"], axes, {"out_sample"})
        write_json(os.path.join(self.out, "unet", "config.json"), cfg)
        del model, graph
        gc.collect()

    def vae(self):
        cfg = self.family["vae"]
        model = seeded_init(AutoencoderKL(cfg), self.seed + 20)
        g = torch.Generator().manual_seed(self.seed + 21)
        img = {0: "batch", 2: "height", 3: "width"}
        lat = {0: "batch", 2: "latent_height", 3: "latent_width"}
        self.export("vae_encoder", VaeEncoderGraph(model, Io()),
                    {"sample": torch.rand(1, 3, 64, 64, generator=g) * 2 - 1}, ["latent_parameters"],
                    {"sample": img, "latent_parameters": lat}, {"latent_parameters"})
        self.export("vae_decoder", VaeDecoderGraph(model, Io()),
                    {"latent_sample": torch.randn(1, 4, 8, 8, generator=g)}, ["sample"],
                    {"latent_sample": lat, "sample": img}, {"sample"})
        for part in ("vae_encoder", "vae_decoder"):
            write_json(os.path.join(self.out, part, "config.json"), cfg)
        del model
        gc.collect()

    def folder_files(self):
        fam = self.family
        xl = len(fam["text_encoders"]) == 2
        write_tokenizer(os.path.join(self.out, "tokenizer"), self.tokenizer_dir, fam["pad"][0])
        if xl:
            write_tokenizer(os.path.join(self.out, "tokenizer_2"), self.tokenizer_dir, fam["pad"][1])
        write_json(os.path.join(self.out, "scheduler", "scheduler_config.json"), SCHEDULERS[fam["scheduler"]])
        onnx_model = ["diffusers", "OnnxRuntimeModel"]
        parts = ["text_encoder", "unet", "vae_decoder", "vae_encoder"] + (["text_encoder_2"] if xl else [])
        index = {"_class_name": "StableDiffusionXLPipeline" if xl else "OnnxStableDiffusionPipeline",
                 "_diffusers_version": "0.30.0", "_name_or_path": f"latent-edge/random-{self.name}",
                 "scheduler": ["diffusers", SCHEDULERS[fam["scheduler"]]["_class_name"]],
                 "tokenizer": ["transformers", "CLIPTokenizer"], **{p: onnx_model for p in parts}}
        if xl:
            index["tokenizer_2"] = ["transformers", "CLIPTokenizer"]
            index["force_zeros_for_empty_prompt"] = True
        write_json(os.path.join(self.out, "model_index.json"), index)

    def convert_fp16(self):
        for part in sorted(os.listdir(self.out)):
            path = self.graph_path(part)
            if not os.path.exists(path) or (part == "vae_decoder" and not self.fp16_vae and
                                            self.family["vae"].get("force_upcast")):
                continue
            start = time.time()
            tmp = os.path.join(self.out, part + ".fp16")
            to_float16(path, os.path.join(tmp, "model.onnx"))
            for name in os.listdir(os.path.join(self.out, part)):
                if name.startswith("model.onnx"):
                    os.remove(os.path.join(self.out, part, name))
            for name in os.listdir(tmp):
                os.replace(os.path.join(tmp, name), os.path.join(self.out, part, name))
            os.rmdir(tmp)
            log(f"{self.name} {part}: float16 in {time.time() - start:.0f} s")

    def verify(self):
        """Each graph in onnxruntime-node against the torch outputs (fp32: 1e-3 of the output's scale)."""
        release_memory()
        log(f"{self.name}: verifying in onnxruntime-node (this process now {current_rss_gib():.1f} GiB)")
        for part, inputs, expected in self.checks:
            path = self.graph_path(part)
            fp16 = self.fp16 and not (part == "vae_decoder" and not self.fp16_vae and
                                      self.family["vae"].get("force_upcast"))
            if fp16:
                for t in inputs.values():
                    if t["type"] == "float32":
                        t["type"] = "float16"
                        t["data"] = np.array(t["data"], np.float32).astype(np.float16).view(np.uint16).tolist()
            [result] = run_in_node([{"model": os.path.abspath(path), "inputs": inputs}])
            for name, want in expected.items():
                got = _from_json(result["outputs"][name])
                assert got.shape == want.shape, f"{part}.{name}: shape {got.shape} != {want.shape}"
                assert np.isfinite(got).all(), f"{part}.{name}: non-finite values"
                scale = max(1.0, float(np.abs(want).max()))
                err = float(np.abs(got - want).max()) / scale
                tol = fp16_tolerance(self.name, part) if fp16 else 1e-3
                assert err <= tol, f"{part}.{name}: max |diff| / scale {err:.2e} > {tol}"
                log(f"{self.name} {part}: onnxruntime-node matches torch on {name} ({err:.1e} of scale {scale:.2g})")


def fp16_tolerance(family, part):
    """How far a float16 graph may drift from the float32 torch module (max |diff| / output scale).

    float16 keeps 11 bits, so each matmul adds about 5e-4 relative error, and the drift grows with
    depth: SD 1.5 and 2.1 UNets (16 transformer blocks) measure 1.3e-2 and 1.9e-2, SDXL's (70
    blocks over 2048-d context) 4.6e-2, on random untrained weights whose activations are not tamed
    by training. The check proves the conversion kept the graph; precision is fp32's job on CPU.
    """
    return 6e-2 if family == "sdxl" and part == "unet" else 2e-2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(FAMILIES), required=True)
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32")
    parser.add_argument("--out", required=True, help="model folder to write (replaced atomically)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer-dir", default=os.environ.get("CLIP_TOKENIZER_DIR", DEFAULT_TOKENIZER),
                        help="vocab.json and merges.txt of the CLIP BPE (default: ../shared/reference/clip-tokenizer)")
    parser.add_argument("--fp16-vae", action="store_true", help="convert SDXL's VAE decoder to float16 too")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--weight-maps", action="store_true",
                        help="only write weight_map.json into an existing --out built with the same --seed")
    args = parser.parse_args(argv)
    for name in ("vocab.json", "merges.txt"):
        if not os.path.exists(os.path.join(args.tokenizer_dir, name)):
            parser.error(f"--tokenizer-dir {args.tokenizer_dir} has no {name}")
    torch.set_num_threads(args.threads)
    final = os.path.abspath(args.out)
    if args.weight_maps:
        build = Build(args.family, final, args.seed, args.dtype == "fp16", args.fp16_vae, args.tokenizer_dir)
        build.maps_only = True
        build.text_encoders()
        build.unet()
        return 0
    tmp = os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    start = time.time()
    build = Build(args.family, tmp, args.seed, args.dtype == "fp16", args.fp16_vae, args.tokenizer_dir)
    build.text_encoders()
    build.unet()
    build.vae()
    build.folder_files()
    if build.fp16:
        build.convert_fp16()
    build.verify()
    replace_folder(tmp, final)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(final) for f in fs)
    log(f"{args.family} {args.dtype}: {final} ({size / 2 ** 30:.2f} GiB) in {(time.time() - start) / 60:.1f} min")
    print(json.dumps({"family": args.family, "dtype": args.dtype, "out": final, "bytes": size,
                      "minutes": round((time.time() - start) / 60, 1), "peak_rss_gib": round(peak_rss_gib(), 2),
                      "export_seconds": {k: round(v) for k, v in build.timings.items()}}))


if __name__ == "__main__":
    sys.exit(main())
