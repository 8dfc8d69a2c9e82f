"""weight_map.json: where each PyTorch Linear weight of an exported graph went.

torch.onnx stores a Linear traced as MatMul with its weight transposed under a new name
(`onnx::MatMul_2440`); a LoRA names the module (`down.0.attentions.0.to_q`). The export names each
MatMul node by the scope of the module call, which is not always the parameter's path, and the tiny
graphs drop node names to stay small; so the export writes this map, found by matching every
renamed initializer's values against the torch module's parameters transposed:
{param: {"initializer": name, "transposed": true}}. The gpu-worker reads it beside
model.onnx (gpu-worker/src/lora/weight-map.ts); parameters that keep their names need no entry.

    /usr/bin/python3 -m infra.model.weight_map     # the bundled tiny-sd, from a re-export of its architecture

The bundled model's trained torch weights are not kept, so its map comes from exporting the same
architecture with distinct random weights: torch numbers the renamed initializers in trace order,
so the same architecture and exporter give the same names (every name and shape is checked
against the committed graphs). The same match reads the committed weights back into torch
modules (`bundled_modules()`), checked against onnxruntime-node, which is what proves the map.
"""
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BUNDLED = os.path.join(ROOT, "gpu-worker", "models", "tiny-sd")
PARTS = ("text_encoder", "unet", "vae_decoder", "vae_encoder")


def from_values(model, module):
    """{param: {"initializer", "transposed": true}} for every renamed 2-d initializer of `model` that
    is, value for value, a parameter of `module` transposed (in the graph's dtype)."""
    out = {}
    candidates = {}
    for param, value in module.state_dict().items():
        if value.dim() == 2:
            t = value.detach().float().numpy().T
            for dtype in (np.float32, np.float16):
                candidates.setdefault((t.shape, dtype, t.astype(dtype).tobytes()), []).append(param)
    for tensor in model.graph.initializer:
        if not tensor.name.startswith("onnx::") or len(tensor.dims) != 2:
            continue
        got = numpy_helper.to_array(tensor)
        if got.dtype not in (np.float32, np.float16):
            continue
        params = candidates.get((got.shape, got.dtype.type, got.tobytes()), [])
        assert len(params) <= 1, f"weight map: {tensor.name} equals {params} transposed: ambiguous"
        if params:
            out[params[0]] = {"initializer": tensor.name, "transposed": True}
    return out


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def from_graph_file(path, module):
    """from_values for a graph on disk of any size: every parameter and initializer is hashed one
    at a time (external data read by its offset), so a 10 GB UNet is never in memory twice. Float16
    graphs match the parameters rounded as the fp16 conversion rounds them (`astype('<f2')`)."""
    from .sd_export import _tensor_bytes

    candidates = {}
    for param, value in module.state_dict().items():
        if value.dim() == 2:
            t = np.ascontiguousarray(value.detach().float().numpy().T)
            for dtype in ("<f4", "<f2"):
                candidates.setdefault((t.shape, dtype, _digest(t.astype(dtype))), []).append(param)
    model = onnx.load(path, load_external_data=False)
    dtypes = {onnx.TensorProto.FLOAT: "<f4", onnx.TensorProto.FLOAT16: "<f2"}
    out = {}
    for tensor in model.graph.initializer:
        if not tensor.name.startswith("onnx::") or len(tensor.dims) != 2 or tensor.data_type not in dtypes:
            continue
        raw = _tensor_bytes(tensor, os.path.dirname(path))
        params = candidates.get((tuple(tensor.dims), dtypes[tensor.data_type], hashlib.sha256(raw).hexdigest()), [])
        assert len(params) <= 1, f"weight map: {tensor.name} equals {params} transposed: ambiguous"
        if params:
            out[params[0]] = {"initializer": tensor.name, "transposed": True}
    return out


def write(mapping, path):
    """Writes weight_map.json beside the graph at `path`, or nothing when no weight was renamed."""
    if not mapping:
        return
    with open(os.path.join(os.path.dirname(path), "weight_map.json"), "w", encoding="utf-8") as f:
        json.dump(dict(sorted(mapping.items())), f, indent=1)
        f.write("\n")


def _shapes(path):
    model = onnx.load(path, load_external_data=False)
    return {t.name: list(t.dims) for t in model.graph.initializer}


def renamed_sources(model, module):
    """{initializer: (param, transposed)} for every renamed (`onnx::`) initializer of `model` whose
    values are one parameter of `module`, as is (any reshape: GroupNorm's [C, 1, 1]) or transposed.
    Needs distinct values per parameter, as trained or randomized weights have."""
    candidates = {}
    for param, value in module.named_parameters():
        value = value.detach().float().numpy()
        candidates.setdefault((value.size, value.tobytes()), []).append((param, False))
        if value.ndim == 2:
            candidates.setdefault((value.size, np.ascontiguousarray(value.T).tobytes()), []).append((param, True))
    out = {}
    for tensor in model.graph.initializer:
        if tensor.name.startswith("onnx::"):
            got = numpy_helper.to_array(tensor).astype(np.float32)
            sources = candidates.get((got.size, got.tobytes()), [])
            assert len(sources) <= 1, f"{tensor.name} equals several parameters: {sources}"
            if sources:
                out[tensor.name] = sources[0]
    return out


def load_from_graph(module, committed, fresh, assigned):
    """Copies the committed graph's weights into `module` (the export wrapper whose trace gave
    `fresh`, an export of the same architecture with distinct random weights): kept names directly,
    renamed ones through which parameter each fresh initializer holds. Adds each parameter set to
    `assigned`."""
    import torch

    params = dict(module.named_parameters())
    sources = renamed_sources(fresh, module)
    with torch.no_grad():
        for tensor in committed.graph.initializer:
            value = torch.from_numpy(numpy_helper.to_array(tensor).astype(np.float32).copy())
            if tensor.name in params:
                param, transposed = tensor.name, False
            elif tensor.name in sources:
                param, transposed = sources[tensor.name]
            else:
                continue
            target = params[param]
            target.copy_((value.T if transposed else value).reshape(target.shape))
            assigned.add(id(target))


def bundled_modules():
    """The bundled model as torch modules (text encoder, UNet, VAE), its weights read back from the
    committed graphs, each graph then checked against onnxruntime-node on the same inputs (1e-4).
    Also writes the committed graphs' weight_map.json files. The trained torch weights are not kept
    elsewhere; LoRA training and the merge reference start from these."""
    import torch

    from . import configs
    from .export import TextEncoderGraph, UNetGraph, Variant, VaeDecoderGraph, VaeEncoderGraph, export_pipeline
    from .text_encoder import CLIPTextModel
    from .unet import UNet2DCondition
    from .vae import AutoencoderKL
    from .verify_onnx import verify_pipeline

    torch.manual_seed(0)
    tokenizer = configs.make_tokenizer()
    text_cfg, unet_cfg, vae_cfg = configs.bundled(len(tokenizer.vocab))
    modules = CLIPTextModel(text_cfg), UNet2DCondition(unet_cfg), AutoencoderKL(vae_cfg)
    with torch.no_grad():  # distinct values everywhere, so every renamed initializer is traceable
        for m in modules:
            for p in m.parameters():
                p.copy_(torch.randn_like(p) * 0.02)
    v = Variant(scheduler="ddim")  # train.py's export
    wrappers = {"text_encoder": TextEncoderGraph(modules[0], v), "unet": UNetGraph(modules[1], v),
                "vae_decoder": VaeDecoderGraph(modules[2], v), "vae_encoder": VaeEncoderGraph(modules[2], v)}
    tmp = tempfile.mkdtemp(prefix="tiny-sd-map-")
    out = os.path.join(tmp, "model")
    assigned = set()
    try:
        export_pipeline(out, *modules, tokenizer, v, projection_dim=text_cfg.hidden_size)
        for part in PARTS:
            fresh, committed = os.path.join(out, part, "model.onnx"), os.path.join(BUNDLED, part, "model.onnx")
            assert _shapes(fresh) == _shapes(committed), f"{part}: a fresh export has other initializers than {committed}"
            load_from_graph(wrappers[part], onnx.load(committed), onnx.load(fresh), assigned)
            source, target = os.path.join(out, part, "weight_map.json"), os.path.join(BUNDLED, part, "weight_map.json")
            if os.path.exists(source):
                shutil.copyfile(source, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    missing = [n for m in modules for n, p in m.named_parameters() if id(p) not in assigned]
    assert not missing, f"parameters not found in the committed graphs: {missing[:5]}"
    for m in modules:
        m.eval()
    verify_pipeline(BUNDLED, *modules, v, log=lambda _: None)
    return modules, tokenizer


if __name__ == "__main__":
    bundled_modules()
    for part in PARTS:
        path = os.path.join(BUNDLED, part, "weight_map.json")
        if os.path.exists(path):
            print(f"{os.path.relpath(path, ROOT)}: {len(json.load(open(path)))} weights")
    print("bundled tiny-sd: torch modules rebuilt from the committed graphs match onnxruntime-node")
