"""Checks an exported pipeline folder in onnxruntime-node (the runtime the gpu-worker uses):
every graph loads, runs with batch 1 and 2, and matches the torch modules it came from.

Python onnxruntime is not installed here, so the graphs run through `node -e` with
require('onnxruntime-node') from the repository root; tensors travel as JSON (float16 as raw bits).
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import torch

from .export import TextEncoderGraph, UNetGraph, VaeDecoderGraph, VaeEncoderGraph, example_inputs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

NODE_RUNNER = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
const [inPath, outPath] = process.argv.slice(1);
const ARRAYS = { float32: Float32Array, float16: Uint16Array, int32: Int32Array, int64: BigInt64Array };
(async () => {
  const results = [];
  for (const job of JSON.parse(fs.readFileSync(inPath, 'utf8'))) {
    const session = await ort.InferenceSession.create(job.model);
    const feeds = {};
    for (const [name, t] of Object.entries(job.inputs)) {
      const data = t.type === 'int64' ? BigInt64Array.from(t.data.map(BigInt)) : ARRAYS[t.type].from(t.data);
      feeds[name] = new ort.Tensor(t.type, data, t.dims);
    }
    const out = await session.run(feeds);
    const outputs = {};
    for (const [name, t] of Object.entries(out)) {
      outputs[name] = { type: t.type, dims: t.dims, data: Array.from(t.data, Number) };
    }
    const meta = (m) => m.map((x) => ({ name: x.name, type: x.type, shape: x.shape }));
    results.push({ outputs, inputMetadata: meta(session.inputMetadata), outputMetadata: meta(session.outputMetadata) });
  }
  fs.writeFileSync(outPath, JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"""

TYPES = {torch.float32: "float32", torch.float16: "float16", torch.int32: "int32", torch.int64: "int64"}


def _to_json(t):
    a = t.detach().numpy()
    data = a.view(np.uint16) if a.dtype == np.float16 else a
    return {"type": TYPES[t.dtype], "dims": list(a.shape), "data": data.reshape(-1).tolist()}


def _from_json(t):
    if t["type"] == "float16":
        return np.array(t["data"], np.uint16).view(np.float16).astype(np.float32).reshape(t["dims"])
    return np.array(t["data"], np.float64).reshape(t["dims"])


def run_in_node(jobs):
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(src, "w") as f:
            json.dump(jobs, f)
        subprocess.run(["node", "-e", NODE_RUNNER, src, dst], cwd=REPO, check=True)
        with open(dst) as f:
            return json.load(f)


def verify_pipeline(folder, text_encoder, unet, vae, v, atol=1e-4, log=print):
    """Raises AssertionError on any mismatch; returns a list of per-graph signature strings."""
    graphs = {"text_encoder": TextEncoderGraph(text_encoder, v), "unet": UNetGraph(unet, v),
              "vae_decoder": VaeDecoderGraph(vae, v), "vae_encoder": VaeEncoderGraph(vae, v)}
    out_names = {"text_encoder": ["last_hidden_state", "pooler_output"], "unet": ["out_sample"],
                 "vae_decoder": ["sample"], "vae_encoder": [v.vae_encoder_output]}
    jobs, expected = [], []
    for batch, latent, seq in ((1, 8, 77), (2, 12, 77)):
        ex = example_inputs(text_encoder.config, unet.config, v, batch=batch, seq=seq, latent=latent, seed=batch)
        for name, graph in graphs.items():
            with torch.no_grad():
                outs = graph(*ex[name].values())
            outs = outs if isinstance(outs, tuple) else (outs,)
            jobs.append({"model": os.path.abspath(os.path.join(folder, name, "model.onnx")),
                         "inputs": {k: _to_json(t) for k, t in ex[name].items()}})
            expected.append((name, batch, latent, dict(zip(out_names[name], outs))))
    results = run_in_node(jobs)
    signatures = {}
    tol = max(atol, 2e-3) if v.fp16 else atol
    for (name, batch, latent, exp), res in zip(expected, results):
        for out_name, t in exp.items():
            got = _from_json(res["outputs"][out_name])
            want = t.float().numpy()
            assert got.shape == want.shape, f"{name}.{out_name}: shape {got.shape} != {want.shape}"
            err = float(np.abs(got - want).max() / (1.0 if not v.fp16 else max(1.0, np.abs(want).max())))
            assert err <= tol, f"{name}.{out_name} batch {batch}: max abs diff {err:.2e} > {tol}"
            log(f"  ok {name:12s} batch {batch} latent {latent:2d}: {out_name} {list(got.shape)} max|diff| {err:.1e}")
        fmt = lambda m: ", ".join(f"{x['name']}: {x['type']} {x['shape']}" for x in m)  # noqa: E731
        signatures[name] = f"{fmt(res['inputMetadata'])} -> {fmt(res['outputMetadata'])}"
    return signatures
