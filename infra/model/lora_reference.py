"""A seeded random LoRA for the bundled model, and PyTorch's outputs with it merged.

The reference the gpu-worker's merge is tested against (gpu-worker/test/lora-reference.test.ts):
a kohya-format file (float16, as kohya saves) with a rank-4 pair for every Linear of the text
encoder and UNet and a LoCon pair for every 3×3 conv of the UNet, and the text encoder's and
UNet's outputs after W += weight · alpha/rank · up · down is applied to the torch modules, which
are the committed graphs' weights read back (weight_map.bundled_modules).

    /usr/bin/python3 -m infra.model.lora_reference     # about a minute; rewrites the two fixture files
"""
import json
import os
import struct

import numpy as np
import torch

from .export import Variant, example_inputs
from .weight_map import ROOT, bundled_modules

OUT = os.path.join(ROOT, "gpu-worker", "test", "fixtures", "loras")
RANK, ALPHA, WEIGHT = 4, 2.0, 0.7


def write_safetensors(path, tensors, metadata):
    """The format's whole spec: u64 header length, JSON header with offsets, raw little-endian data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, array in tensors.items():
        data = array.tobytes()
        dtype = {np.float16: "F16", np.float32: "F32"}[array.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def lora_pairs(prefix, module, generator):
    """{kohya key: float16 array}, and the merged modules' deltas applied in place."""
    tensors = {}
    for name, layer in module.named_modules():
        if isinstance(layer, torch.nn.Linear):
            down = torch.randn(RANK, layer.in_features, generator=generator) * 0.3
            up = torch.randn(layer.out_features, RANK, generator=generator) * 0.3
        elif isinstance(layer, torch.nn.Conv2d) and layer.kernel_size == (3, 3):
            down = torch.randn(RANK, layer.in_channels, 3, 3, generator=generator) * 0.1
            up = torch.randn(layer.out_channels, RANK, 1, 1, generator=generator) * 0.3
        else:
            continue
        down, up = down.half(), up.half()
        key = f"{prefix}_{name.replace('.', '_')}"
        tensors[f"{key}.lora_down.weight"] = down.numpy()
        tensors[f"{key}.lora_up.weight"] = up.numpy()
        tensors[f"{key}.alpha"] = np.array(ALPHA, np.float16)
        delta = up.float().flatten(1) @ down.float().flatten(1)
        with torch.no_grad():
            layer.weight += WEIGHT * ALPHA / RANK * delta.reshape(layer.weight.shape)
    return tensors


def main():
    (text_encoder, unet, _vae), _tokenizer = bundled_modules()
    generator = torch.Generator().manual_seed(15)
    tensors = {**lora_pairs("lora_te", text_encoder, generator), **lora_pairs("lora_unet", unet, generator)}
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "random-kohya.safetensors"), tensors,
                      {"ss_network_module": "networks.lora", "ss_network_dim": str(RANK),
                       "ss_network_alpha": str(ALPHA), "latent_edge": "infra/model/lora_reference.py"})
    v = Variant(scheduler="ddim")
    ex = example_inputs(text_encoder.config, unet.config, v, batch=1, seq=77, latent=8, seed=15)
    with torch.no_grad():
        hidden, _pooled = text_encoder(ex["text_encoder"]["input_ids"])
        out = unet(ex["unet"]["sample"], ex["unet"]["timestep"].float(), ex["unet"]["encoder_hidden_states"], None)
    flat = lambda t: [float(x) for x in t.reshape(-1).tolist()]  # noqa: E731
    reference = {
        "source": "infra/model/lora_reference.py: torch modules of the bundled model, W += weight * alpha/rank * up @ down",
        "tolerance": "max |diff| <= 1e-4 (float32 merge and inference on both sides)",
        "weight": WEIGHT,
        "input_ids": ex["text_encoder"]["input_ids"].reshape(-1).tolist(),
        "hidden": {"dims": list(hidden.shape), "data": flat(hidden)},
        "unet": {
            "sample": {"dims": list(ex["unet"]["sample"].shape), "data": flat(ex["unet"]["sample"])},
            "timestep": float(ex["unet"]["timestep"][0]),
            "encoder_hidden_states": {"dims": list(ex["unet"]["encoder_hidden_states"].shape),
                                      "data": flat(ex["unet"]["encoder_hidden_states"])},
            "out_sample": {"dims": list(out.shape), "data": flat(out)},
        },
    }
    with open(os.path.join(OUT, "random-kohya.reference.json"), "w") as f:
        json.dump(reference, f)
    print(f"{len(tensors) // 3} LoRA layers; reference outputs in {OUT}")


if __name__ == "__main__":
    main()
