"""Writes a pipeline folder in the diffusers/Optimum ONNX layout (SD-NOTES §1):

model_index.json, scheduler/scheduler_config.json, tokenizer/{vocab.json, merges.txt,
special_tokens_map.json, tokenizer_config.json}, {text_encoder, unet, vae_decoder, vae_encoder}/
{model.onnx, config.json}.

`Variant` picks the I/O flavour of an exporter generation (SD-NOTES §1.3): int32 or int64 ids,
float/int64 timestep of shape [batch] or a float scalar, fp16 I/O, `latent_sample` or
`latent_parameters` from the VAE encoder, an LCM `timestep_cond` input.
"""
import json
import os
import shutil
from dataclasses import dataclass

from . import weight_map

import onnx
import warnings

import torch
from torch import nn

ONNX_OPSET = 17

SCHEDULERS = {
    # SD 1.5's scheduler_config.json (SD-NOTES §1.7).
    "pndm": {"_class_name": "PNDMScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
             "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
             "steps_offset": 1, "trained_betas": None},
    # SD 1.x's DDIM config (diffusers DDIMScheduler with SD's betas); the bundled model ships it because
    # its own evaluation samples with DDIM, and PLMS's 4-step extrapolation overshoots on a model this
    # small at guidance 7.5 (issue 8 notes).
    "ddim": {"_class_name": "DDIMScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
             "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False,
             "steps_offset": 1, "trained_betas": None},
    # SD 2.1 (768-v).
    "ddim-v": {"_class_name": "DDIMScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
               "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
               "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
               "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None},
    # LCMScheduler defaults (diffusers `scheduling_lcm.py`).
    "lcm": {"_class_name": "LCMScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
            "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
            "clip_sample_range": 1.0, "num_train_timesteps": 1000, "original_inference_steps": 50,
            "prediction_type": "epsilon", "rescale_betas_zero_snr": False, "set_alpha_to_one": True,
            "steps_offset": 0, "thresholding": False, "timestep_scaling": 10.0, "timestep_spacing": "leading",
            "trained_betas": None},
}


@dataclass
class Variant:
    ids_dtype: torch.dtype = torch.int32  # diffusers script: int32; Optimum: int64
    timestep: str = "float"  # "float" [batch] | "int64" [batch] | "scalar" float []
    timestep_axis: str = "batch"  # Optimum 1.6-1.23 named the int64 timestep axis "steps"
    fp16: bool = False  # every float input/output float16 (weights and math stay float32 inside)
    vae_encoder_output: str = "latent_parameters"  # or "latent_sample" (the mean: deterministic)
    scheduler: str = "pndm"
    lcm: bool = False  # UNet takes timestep_cond [batch, time_cond_proj_dim]


class TextEncoderGraph(nn.Module):
    def __init__(self, model, v):
        super().__init__()
        self.model, self.v = model, v

    def forward(self, input_ids):
        last, pooled = self.model(input_ids)
        return (last.half(), pooled.half()) if self.v.fp16 else (last, pooled)


class UNetGraph(nn.Module):
    def __init__(self, model, v):
        super().__init__()
        self.model, self.v = model, v

    def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
        # int64 and float16 timesteps are cast to float32 inside the graph, as the exported UNets do.
        out = self.model(sample.float(), timestep.float(), encoder_hidden_states.float(),
                         None if timestep_cond is None else timestep_cond.float())
        return out.half() if self.v.fp16 else out


class VaeDecoderGraph(nn.Module):
    def __init__(self, vae, v):
        super().__init__()
        self.vae, self.v = vae, v

    def forward(self, latent_sample):
        out = self.vae.decode(latent_sample.float())
        return out.half() if self.v.fp16 else out


class VaeEncoderGraph(nn.Module):
    def __init__(self, vae, v):
        super().__init__()
        self.vae, self.v = vae, v

    def forward(self, sample):
        mean, logvar = self.vae.encode(sample.float())
        out = torch.cat([mean, logvar], dim=1) if self.v.vae_encoder_output == "latent_parameters" else mean
        return out.half() if self.v.fp16 else out


def example_inputs(text_cfg, unet_cfg, v, batch=2, seq=77, latent=8, seed=0):
    """Inputs for tracing and for checking ONNX against torch: {component: {name: tensor}}."""
    g = torch.Generator().manual_seed(seed)
    fdt = torch.float16 if v.fp16 else torch.float32
    ids = torch.randint(0, text_cfg.vocab_size - 1, (batch, seq), generator=g)
    ids[:, 0] = text_cfg.vocab_size - 2
    ids[:, min(5, seq - 1)] = text_cfg.vocab_size - 1  # EOS = argmax
    if v.timestep == "scalar":
        t = torch.tensor(537.25, dtype=fdt)
    elif v.timestep == "int64":
        t = torch.tensor([981, 37][:batch] + [500] * max(0, batch - 2), dtype=torch.int64)
    else:
        t = torch.tensor([981.0, 37.5][:batch] + [500.0] * max(0, batch - 2), dtype=fdt)
    unet = {"sample": torch.randn(batch, unet_cfg.in_channels, latent, latent, generator=g).to(fdt),
            "timestep": t,
            "encoder_hidden_states": torch.randn(batch, seq, unet_cfg.cross_attention_dim, generator=g).to(fdt)}
    if v.lcm:
        unet["timestep_cond"] = torch.randn(batch, unet_cfg.time_cond_proj_dim, generator=g)
    return {
        "text_encoder": {"input_ids": ids.to(v.ids_dtype)},
        "unet": unet,
        "vae_decoder": {"latent_sample": torch.randn(batch, 4, latent, latent, generator=g).to(fdt)},
        "vae_encoder": {"sample": (torch.rand(batch, 3, latent * 8, latent * 8, generator=g) * 2 - 1).to(fdt)},
    }


def _export(module, inputs, out_names, axes, path):
    names = list(inputs)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # shape-as-constant notes, checked by verify
    warnings.filterwarnings("ignore", message=".*shape inference.*")
    with torch.no_grad():
        outs = module(*inputs.values())
        torch.onnx.export(module, tuple(inputs.values()), path, input_names=names, output_names=out_names,
                          dynamic_axes=axes, opset_version=ONNX_OPSET, do_constant_folding=True)
    outs = outs if isinstance(outs, tuple) else (outs,)
    _tidy(path, axes, {n: list(t.shape) for n, t in zip(out_names, outs)}, module)


def _tidy(path, axes, out_shapes, module=None):
    """Pins every output axis that is not declared dynamic to its traced size (torch names some of them,
    e.g. after a Slice), and drops node names and long intermediate names, which are most of a tiny graph.
    With the traced `module`, also writes weight_map.json (where its Linear weights went; LoRA needs it)."""
    model = onnx.load(path)
    g = model.graph
    if module is not None:
        weight_map.write(weight_map.from_values(model, module), path)
    for out in g.output:
        for i, dim in enumerate(out.type.tensor_type.shape.dim):
            if i not in axes.get(out.name, {}):
                dim.Clear()
                dim.dim_value = out_shapes[out.name][i]
    keep = {v.name for v in g.input} | {v.name for v in g.output} | {t.name for t in g.initializer}
    rename = {}
    for node in g.node:
        node.name = ""
        node.doc_string = ""
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                if name and name not in keep:
                    field[i] = rename.setdefault(name, f"t{len(rename)}")
    del g.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, path)


def export_pipeline(out_dir, text_encoder, unet, vae, tokenizer, v: Variant, projection_dim, description=None):
    """Writes the whole folder; `out_dir` must not exist (callers export to a temp folder and move it)."""
    os.makedirs(out_dir)
    for m in (text_encoder, unet, vae):
        m.eval()
    ex = example_inputs(text_encoder.config, unet.config, v)
    img = {0: "batch", 2: "height", 3: "width"}
    lat = {0: "batch", 2: "latent_height", 3: "latent_width"}
    t_axes = {} if v.timestep == "scalar" else {"timestep": {0: v.timestep_axis}}

    d = os.path.join(out_dir, "text_encoder")
    os.makedirs(d)
    _export(TextEncoderGraph(text_encoder, v), ex["text_encoder"], ["last_hidden_state", "pooler_output"],
            {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"},
             "pooler_output": {0: "batch"}}, os.path.join(d, "model.onnx"))
    _write_json(os.path.join(d, "config.json"), text_encoder.config.hf_config(
        tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id, projection_dim))

    d = os.path.join(out_dir, "unet")
    os.makedirs(d)
    axes = {"sample": {0: "batch", 2: "height", 3: "width"}, **t_axes,
            "encoder_hidden_states": {0: "batch", 1: "sequence"}, "out_sample": {0: "batch", 2: "height", 3: "width"}}
    if v.lcm:
        axes["timestep_cond"] = {0: "batch"}
    _export(UNetGraph(unet, v), ex["unet"], ["out_sample"], axes, os.path.join(d, "model.onnx"))
    _write_json(os.path.join(d, "config.json"), unet.config.diffusers_config())

    for name, graph, inp, out, in_axes, out_axes in (
        ("vae_decoder", VaeDecoderGraph(vae, v), "latent_sample", "sample", lat, img),
        ("vae_encoder", VaeEncoderGraph(vae, v), "sample", v.vae_encoder_output, img, lat),
    ):
        d = os.path.join(out_dir, name)
        os.makedirs(d)
        _export(graph, ex[name], [out], {inp: in_axes, out: out_axes}, os.path.join(d, "model.onnx"))
        _write_json(os.path.join(d, "config.json"), vae.config.diffusers_config())

    tokenizer.save(os.path.join(out_dir, "tokenizer"))
    _write_json(os.path.join(out_dir, "scheduler", "scheduler_config.json"), SCHEDULERS[v.scheduler])
    onnx_model = ["diffusers", "OnnxRuntimeModel"]
    index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", SCHEDULERS[v.scheduler]["_class_name"]],
        "text_encoder": onnx_model,
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": onnx_model,
        "vae_decoder": onnx_model,
        "vae_encoder": onnx_model,
    }
    _write_json(os.path.join(out_dir, "model_index.json"), index)
    return ex


def replace_folder(tmp_dir, final_dir):
    """Swap a finished export into place so a half-written model folder is never visible."""
    old = final_dir.rstrip("/") + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final_dir):
        os.rename(final_dir, old)
    os.makedirs(os.path.dirname(os.path.abspath(final_dir)), exist_ok=True)
    shutil.move(tmp_dir, final_dir)
    shutil.rmtree(old, ignore_errors=True)


def _write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
