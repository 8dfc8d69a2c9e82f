"""Trains the bundled tiny-sd model on the synthetic world (issue 8) and exports it, in one command:

    cd /work/main && /usr/bin/python3 -m infra.model.train            # full run, writes gpu-worker/models/tiny-sd
    /usr/bin/python3 -m infra.model.train --smoke --out /tmp/tiny-sd-smoke   # a few steps of everything

Stages, seeds fixed: data -> (a) CLIP text encoder -> (b) VAE -> latents + scaling factor ->
(c) UNet -> evaluation (DDIM + CFG on held-out prompts) -> latent->RGB preview fit -> ONNX export to a
temp folder, checked in onnxruntime-node, then moved into place. Each stage's weights are saved in
--work, and --resume reuses them.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning OpenMP threads on a shared machine

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from . import configs, world  # noqa: E402
from .evaluate import evaluate, fit_latent_rgb  # noqa: E402
from .export import Variant, export_pipeline, replace_folder  # noqa: E402
from .text_encoder import CLIPTextModel  # noqa: E402
from .train_clip import train_clip  # noqa: E402
from .train_unet import encode_captions, train_unet  # noqa: E402
from .train_vae import encode_dataset, train_vae  # noqa: E402
from .unet import UNet2DCondition  # noqa: E402
from .vae import AutoencoderKL  # noqa: E402
from .verify_onnx import verify_pipeline  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Log:
    def __init__(self):
        self.start = time.time()

    def __call__(self, msg):
        print(f"[{(time.time() - self.start) / 60:6.1f} min] {msg}", flush=True)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def stage(path, resume, train, module, log, name):
    """Runs `train` unless --resume finds the stage's saved weights."""
    if resume and os.path.exists(path):
        module.load_state_dict(torch.load(path))
        log(f"{name}: resumed from {path}")
        return
    train()
    torch.save(module.state_dict(), path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(REPO, "gpu-worker/models/tiny-sd"))
    p.add_argument("--work", default="/tmp/tiny-sd-work", help="stage checkpoints and sample sheets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 measured faster than 2 on this shared 2-core machine")
    p.add_argument("--images", type=int, default=24000)
    p.add_argument("--clip-steps", type=int, default=600)
    p.add_argument("--clip-batch", type=int, default=128)
    p.add_argument("--vae-steps", type=int, default=2000)
    p.add_argument("--vae-batch", type=int, default=32)
    p.add_argument("--vae-crop", type=int, default=32)
    p.add_argument("--unet-steps", type=int, default=7000)
    p.add_argument("--unet-batch", type=int, default=64)
    p.add_argument("--eval-prompts", type=int, default=60)
    p.add_argument("--resume", action="store_true", help="reuse stage weights found in --work")
    p.add_argument("--smoke", action="store_true", help="tiny data and a few steps per stage")
    a = p.parse_args()
    if a.smoke:
        a.images, a.clip_steps, a.vae_steps, a.unet_steps, a.eval_prompts = 512, 3, 3, 3, 4
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    log = Log()
    log(f"args {vars(a)}")

    # 0. Data and tokenizer
    tokenizer = configs.make_tokenizer()
    text_cfg, unet_cfg, vae_cfg = configs.bundled(len(tokenizer.vocab))
    images, captions, _ = world.make_dataset(a.images, seed=a.seed + 1)
    ids = np.array([[tokenizer(c) for c in caps] for caps in captions], np.int64)
    log(f"data: {len(images)} images, {ids.shape[1]} captions each, vocab {len(tokenizer.vocab)} "
        f"({len(tokenizer.merges)} merges), longest caption {int((ids != tokenizer.pad_id).sum(-1).max()) + 1} tokens")

    torch.manual_seed(a.seed)
    text_encoder, unet, vae = CLIPTextModel(text_cfg), UNet2DCondition(unet_cfg), AutoencoderKL(vae_cfg)
    log(f"params: text_encoder {n_params(text_encoder):,} unet {n_params(unet):,} "
        f"vae encoder {n_params(vae.encoder) + n_params(vae.quant_conv):,} "
        f"decoder {n_params(vae.decoder) + n_params(vae.post_quant_conv):,}")

    # 1. (a) text encoder, contrastively
    stage(os.path.join(a.work, "text_encoder.pt"), a.resume,
          lambda: train_clip(text_encoder, images, ids, a.clip_steps, a.clip_batch, a.seed + 10, log),
          text_encoder, log, "clip")
    text_encoder.eval().requires_grad_(False)

    # 2. (b) VAE, then the latents' scaling factor = 1 / std, as SD computed its 0.18215
    stage(os.path.join(a.work, "vae.pt"), a.resume,
          lambda: train_vae(vae, images, a.vae_steps, a.vae_batch, a.vae_crop, a.seed + 20, log), vae, log, "vae")
    vae.eval().requires_grad_(False)
    means, stds = encode_dataset(vae, images)
    g = torch.Generator().manual_seed(a.seed + 30)
    sampled = means + stds * torch.randn(means.shape, generator=g)
    scaling_factor = float(f"{1.0 / sampled.std().item():.5g}")
    vae.config.scaling_factor = scaling_factor
    log(f"latents: mean {sampled.mean():.3f} std {sampled.std():.3f} -> scaling_factor {scaling_factor}; "
        f"posterior std mean {stds.mean():.3f}")

    # 3. (c) UNet on scaled latents, conditioned on the frozen text encoder
    contexts = encode_captions(text_encoder, ids[:, :2].reshape(-1, ids.shape[2]))
    contexts = contexts.reshape(len(images), 2, *contexts.shape[1:])
    empty = text_encoder(torch.tensor([tokenizer("")]))[0][0]
    log(f"captions encoded: {tuple(contexts.shape)} float16")
    ema_path = os.path.join(a.work, "unet_ema.pt")
    if a.resume and os.path.exists(ema_path):
        unet.load_state_dict(torch.load(ema_path))
        log(f"unet: resumed from {ema_path}")
    else:
        probe_cases = world.test_prompts(seed=a.seed + 60, n=16)

        def probe(model):
            evaluate(model, vae, text_encoder, tokenizer, scaling_factor, probe_cases, 7.5, log, steps=10)

        ema = train_unet(unet, means, stds, contexts, empty, scaling_factor, a.unet_steps, a.unet_batch,
                         a.seed + 40, log, probe=probe, probe_every=max(1, a.unet_steps // 6))
        unet.load_state_dict(ema.state_dict())
        torch.save(unet.state_dict(), ema_path)
    unet.eval().requires_grad_(False)
    del contexts

    # 4. Does it draw what it is asked? Held-out prompts, DDIM 25 steps.
    cases = world.test_prompts(seed=a.seed + 50, n=a.eval_prompts)
    results = {}
    for cfg_scale in (7.5, 1.0):
        samples, results[cfg_scale] = evaluate(unet, vae, text_encoder, tokenizer, scaling_factor, cases, cfg_scale, log)
        if cfg_scale == 7.5:
            save_sheet(samples[:40], os.path.join(a.work, "samples-cfg7.5.png"))
            with open(os.path.join(a.work, "samples-cfg7.5.json"), "w") as f:
                json.dump([c["prompt"] for c in cases[:40]], f, indent=1)

    # 5. Latent -> RGB preview factors
    latent_rgb, r2 = fit_latent_rgb(vae, images, scaling_factor)
    log(f"latent_rgb fit: R^2 {r2:.3f}")

    # 6. Export to a temp folder, check it in onnxruntime-node, then move it into place
    parent = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
    os.rmdir(tmp)
    try:
        v = Variant(scheduler="ddim")
        export_pipeline(tmp, text_encoder, unet, vae, tokenizer, v, projection_dim=text_cfg.hidden_size)
        with open(os.path.join(tmp, "vae_decoder", "latent_rgb.json"), "w") as f:
            json.dump(latent_rgb, f, indent=2)
            f.write("\n")
        verify_pipeline(tmp, text_encoder, unet, vae, v, log=log)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_folder(tmp, a.out)
    sizes = {d: sum(os.path.getsize(os.path.join(a.out, d, f)) for f in os.listdir(os.path.join(a.out, d)))
             for d in sorted(os.listdir(a.out)) if os.path.isdir(os.path.join(a.out, d))}
    log(f"exported {a.out}: " + ", ".join(f"{d} {s / 1e6:.2f} MB" for d, s in sizes.items())
        + f"; total {sum(sizes.values()) / 1e6:.2f} MB")
    log("summary: " + json.dumps({"scaling_factor": scaling_factor, "eval": {str(k): v for k, v in results.items()},
                                  "latent_rgb_r2": round(r2, 4)}))
    log("done")


def save_sheet(images, path, cols=8):
    from PIL import Image

    n = len(images)
    rows = (n + cols - 1) // cols
    h, w = images.shape[1:3]
    sheet = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    Image.fromarray(sheet).save(path)


if __name__ == "__main__":
    main()
