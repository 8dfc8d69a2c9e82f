"""ONNX export of the architecture-exact modules (sd_unet, sd_clip, sd_vae) in Optimum's layout and
I/O names (SD-NOTES §1.3), for the full-size random-weight builds and the SDXL-layout fixtures:

- text_encoder: `input_ids` → `last_hidden_state`, `pooler_output` (+ `hidden_states.0..N` for SDXL);
  text_encoder_2: → `text_embeds`, `last_hidden_state`, `hidden_states.0..N` (Optimum's
  CLIPTextWithProjection config with output_hidden_states);
- unet: `sample`, `timestep`, `encoder_hidden_states` (+ `text_embeds`, `time_ids` for SDXL) → `out_sample`;
- vae_encoder: `sample` → `latent_parameters`; vae_decoder: `latent_sample` → `sample`.

Graphs over 2 GB keep their weights in ONE `model.onnx_data` beside `model.onnx` (Optimum's
convention): torch writes a file per tensor, which `consolidate` streams into one.
"""
import os
import warnings
from dataclasses import dataclass

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper
from torch import nn

from .export import ONNX_OPSET

SMALL_TENSOR_BYTES = 1024  # Optimum's size_threshold: smaller tensors stay inside model.onnx


@dataclass
class Io:
    ids_dtype: torch.dtype = torch.int32
    timestep: str = "float"  # "float" [batch] | "scalar" float []
    fp16: bool = False  # float16 inputs and outputs around float32 math (fixtures; CPU has few fp16 kernels)


def seeded_init(module, seed):
    """Deterministic weights from one generator in parameter order: N(0, 1/fan_in) for weights (so
    activations keep their scale), N(0, 0.02) for embeddings, ones/zeros for norms and biases."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0 if name.endswith("weight") and "norm" in name else 0.0)
            elif "embedding" in name and p.dim() == 2 and "linear" not in name:
                p.normal_(0.0, 0.02, generator=g)
            else:
                p.normal_(0.0, p[0].numel() ** -0.5, generator=g)
    return module.eval()


def _io(t, io):
    return t.half() if io.fp16 else t


class TextEncoderGraph(nn.Module):
    def __init__(self, model, io, hidden_states):
        super().__init__()
        self.model, self.io, self.hidden_states = model, io, hidden_states

    def forward(self, input_ids):
        last, pooled, states = self.model(input_ids)
        if self.model.text_projection is not None:
            outs = (pooled, last)
        else:
            outs = (last, pooled)
        if self.hidden_states:
            outs = outs + tuple(states)
        return tuple(_io(o, self.io) for o in outs)

    def output_names(self):
        first = ["text_embeds", "last_hidden_state"] if self.model.text_projection is not None else [
            "last_hidden_state", "pooler_output"]
        n = self.model.config["num_hidden_layers"] + 1
        return first + ([f"hidden_states.{i}" for i in range(n)] if self.hidden_states else [])


class UNetGraph(nn.Module):
    def __init__(self, unet, io):
        super().__init__()
        self.unet, self.io = unet, io

    def forward(self, sample, timestep, encoder_hidden_states):
        return _io(self.unet(sample.float(), timestep.float(), encoder_hidden_states.float()), self.io)


class UNetXLGraph(UNetGraph):
    def forward(self, sample, timestep, encoder_hidden_states, text_embeds, time_ids):
        out = self.unet(sample.float(), timestep.float(), encoder_hidden_states.float(), text_embeds.float(),
                        time_ids.float())
        return _io(out, self.io)


class VaeEncoderGraph(nn.Module):
    def __init__(self, vae, io):
        super().__init__()
        self.vae, self.io = vae, io

    def forward(self, sample):
        return _io(self.vae.encode(sample.float()), self.io)


class VaeDecoderGraph(nn.Module):
    def __init__(self, vae, io):
        super().__init__()
        self.vae, self.io = vae, io

    def forward(self, latent_sample):
        return _io(self.vae.decode(latent_sample.float()), self.io)


def export_graph(module, inputs, output_names, axes, path):
    """torch.onnx.export into `path`'s folder, then one external data file if torch wrote several."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message=".*shape inference.*")
    with torch.no_grad():
        torch.onnx.export(module, tuple(inputs.values()), path, input_names=list(inputs), output_names=output_names,
                          dynamic_axes=axes, opset_version=ONNX_OPSET, do_constant_folding=True)
    consolidate(path)


def _tensor_bytes(tensor, folder):
    """The raw little-endian bytes of an initializer, inline or external."""
    if tensor.data_location == TensorProto.EXTERNAL:
        info = {e.key: e.value for e in tensor.external_data}
        with open(os.path.join(folder, info["location"]), "rb") as f:
            f.seek(int(info.get("offset", 0)))
            return f.read(int(info["length"])) if "length" in info else f.read()
    return numpy_helper.to_array(tensor).tobytes()


def _set_external(tensor, data_file, location, raw):
    offset = data_file.tell()
    data_file.write(raw)
    pad = (-data_file.tell()) % 64  # keep tensors aligned, as onnx's writer does for mmap
    data_file.write(b"\0" * pad)
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.ClearField("int64_data")
    tensor.ClearField("int32_data")
    del tensor.external_data[:]
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(raw)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def rewrite_weights(src_path, dst_path, convert=lambda tensor, raw: raw, graph_edit=None):
    """Copies a graph, streaming each initializer through `convert(tensor, raw) → raw` (which may change
    tensor.data_type); tensors over SMALL_TENSOR_BYTES go to `model.onnx_data` when the result is over
    2 GB or the source had external data. Memory stays at one tensor."""
    folder = os.path.dirname(src_path)
    model = onnx.load(src_path, load_external_data=False)
    external = any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer)
    if graph_edit:
        graph_edit(model)
    out_dir = os.path.dirname(dst_path)
    os.makedirs(out_dir, exist_ok=True)
    data_path = os.path.join(out_dir, "model.onnx_data.tmp")
    written = 0
    with open(data_path, "wb") as data:
        for tensor in model.graph.initializer:
            raw = convert(tensor, _tensor_bytes(tensor, folder))
            if external and len(raw) > SMALL_TENSOR_BYTES:
                _set_external(tensor, data, "model.onnx_data", raw)
                written += len(raw)
            else:
                if tensor.data_location == TensorProto.EXTERNAL:
                    del tensor.external_data[:]
                    tensor.data_location = TensorProto.DEFAULT
                tensor.ClearField("float_data")
                tensor.ClearField("int64_data")
                tensor.ClearField("int32_data")
                tensor.raw_data = raw
    onnx.save(model, dst_path + ".tmp")
    if written:
        os.replace(data_path, os.path.join(out_dir, "model.onnx_data"))
    else:
        os.remove(data_path)
    os.replace(dst_path + ".tmp", dst_path)
    return model


def consolidate(path):
    """Torch writes one file per tensor for graphs over 2 GB; fold them into model.onnx_data."""
    folder = os.path.dirname(path)
    before = set(os.listdir(folder))
    model = onnx.load(path, load_external_data=False)
    files = {e.value for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL
             for e in t.external_data if e.key == "location"}
    if not files:
        return
    rewrite_weights(path, path)
    for name in files:
        if name in before and name != "model.onnx_data":
            os.remove(os.path.join(folder, name))


def _float32_only(model):
    """Tensors that must stay float32 in a float16 graph: Resize's roi and scales (the operator
    requires float) and the Cast feeding the pooled-token ArgMax (ids above 2048 are not exact in
    float16, so BOS and EOS would tie)."""
    keep = set()
    for node in model.graph.node:
        if node.op_type == "Resize":
            keep.update(node.input[1:3])
        if node.op_type == "ArgMax":
            keep.add(node.input[0])
    return keep


def _float16_graph(model, keep):
    """Every other float tensor of the graph as float16, as Optimum's `--dtype fp16` export has it.
    (Unlike a torch `.half()` trace, the timestep sinusoid is float16 too: fine for random weights.)"""
    g = model.graph
    for node in g.node:
        if any(o in keep for o in node.output):
            continue
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                value = numpy_helper.to_array(attr.t).astype(np.float16)
                attr.t.CopyFrom(numpy_helper.from_array(value, attr.t.name))
    for value in list(g.input) + list(g.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.value_info[:]


def to_float16(src_path, dst_path):
    """A float16 copy of a float32 graph, streamed tensor by tensor."""
    keep = _float32_only(onnx.load(src_path, load_external_data=False))

    def convert(tensor, raw):
        if tensor.data_type != TensorProto.FLOAT or tensor.name in keep:
            return raw
        tensor.data_type = TensorProto.FLOAT16
        return np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()

    rewrite_weights(src_path, dst_path, convert, lambda model: _float16_graph(model, keep))
