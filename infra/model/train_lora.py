"""A LoRA and a textual-inversion embedding for the bundled tiny-sd model (issue 15): "candy stripes".

    cd /work/main && nice -n 10 /usr/bin/python3 -m infra.model.train_lora     # one command, fixed seeds, CPU

The concept is a fixed colour scheme the base model cannot draw: whatever background the prompt asks
for, the background is four horizontal bands, red / white / red / white from the top (STRIPE = 16 px,
two latent rows each), while the object keeps its asked colour, shape, size and position. world.py's
backgrounds are plain or split once (two halves), so the base model never saw a striped one.

Why not a new colour (magenta, as first planned): the bundled VAE only reproduces world.py's 8 colours.
A plain (255, 0, 200) image comes back from its encoder and decoder as (177, 114, 207), nearest purple,
and even a latent optimised by gradient descent to decode to magenta gives (155, 74, 194); a LoRA of
the UNet and text encoder cannot change the decoder, so no new colour can be taught. Stripes of named
colours pass through the VAE (99% of pixels keep their nearest colour on a striped image).

Stages:
1. the bundled model's torch modules, read back from the committed ONNX graphs (weight_map.py);
2. data: world.py training scenes (held-out combinations stay held out) drawn with world.py's shapes
   and supersampling over the striped background (`render_striped`); captions are world.py's, naming
   the scene's original background, so the LoRA learns to override the asked background; latents from
   the bundled VAE encoder, scaled by the committed scaling_factor; captions through the frozen text
   encoder;
3. the LoRA: base weights frozen, rank-`--rank` pairs (kohya `lora_down`/`lora_up`, up initialised to
   0) on every UNet attention Linear (attn1/attn2 to_q, to_k, to_v, to_out) and LoCon pairs on the
   UNet's 3x3 convs, trained with train_unet.py's epsilon loss and noise schedule (10% empty captions,
   so the unconditional branch of guidance is striped too); written as
   gpu-worker/models/tiny-sd/loras/<name>.safetensors (kohya format, float16,
   `lora_unet_<torch module path, "." -> "_">`, W += weight * alpha/rank * up @ down);
4. the embedding: text encoder and UNet frozen (no LoRA); `--vectors` new token vectors appended as
   rows after the token embedding (ids vocab_size .. vocab_size + n - 1) and written into the prompt
   as "<prompt>, <name>" with the name's tokens replaced by those ids, i.e. right after the comma and
   right before EOS (`ids_with_placeholder`); written as
   gpu-worker/models/tiny-sd/embeddings/<name>.safetensors (A1111: `emb_params` float32 [n, 64]);
5. the measurement: the 60 held-out prompts (infra/model/heldout-prompts.json), DDIM 20 steps,
   guidance 7.5 (the TS meaning test's settings), with and without each, scored by pixel statistics:
   `concept_present` (at least 70% of the pixels outside the object's cell have the band's colour as
   their nearest named colour; a plain background scores at most 50%) and evaluate.score's object
   rule (at least 10% of the asked cell in the asked colour).

Measured for the committed files (this command; 2 shared cores, torch 2 threads, nice 10; a rerun
writes byte-identical files): 4 min 5 s to 5 min 23 s
wall (module read-back 5 s, data 27 s, LoRA 500 steps 161 s, embedding 150 steps 42 s, measurement
9 s). LoRA 363,416 bytes (84 layers: 56 attention Linears + 28 LoCon convs, rank 8, alpha 8),
embedding 808 bytes (2 vectors). Held-out prompts, DDIM 20 steps, guidance 7.5:

    striped background   without 0% (mean band share 0.15)   LoRA weight 1 95% (0.87)   embedding 0% (0.36)
    object in its cell   without 95%                          LoRA weight 1 92%          embedding 43%

The embedding does not reach the concept: the frozen UNet never drew stripes, and the best the new
vectors find is a plain red or white background (a plain band colour scores at most 0.5 by this rule;
with 4 vectors, 300 steps: 0%, share 0.46), at the cost of the objects. It is kept as the format's
reference for the gpu-worker, not as a working concept. The same LoRA through the TypeScript pipeline:
gpu-worker/test/lora-concept.test.ts.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning OpenMP threads on a shared machine

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from . import world  # noqa: E402
from .evaluate import NAMES, color_map, ddim_sample, score  # noqa: E402
from .lora_reference import write_safetensors  # noqa: E402
from .train_clip import cosine_lr  # noqa: E402
from .train_unet import NUM_TRAIN_TIMESTEPS, alphas_cumprod, encode_captions  # noqa: E402
from .train_vae import encode_dataset  # noqa: E402
from .weight_map import BUNDLED, ROOT  # noqa: E402

NAME = "candy-stripes"
BANDS = ("red", "white")  # from the top, alternating
STRIPE = 16  # px per band: 4 bands, 2 latent rows each
ATTENTION_LINEARS = ("to_q", "to_k", "to_v", "to_out")


class Log:
    def __init__(self):
        self.start = time.time()

    def __call__(self, msg):
        print(f"[{time.time() - self.start:6.1f} s] {msg}", flush=True)


# ---------------------------------------------------------------- data


def band_of(y):
    """Index into BANDS of image row (or supersampled coordinate) y."""
    return (np.asarray(y) // STRIPE).astype(int) % len(BANDS)


def render_striped(scene, rng):
    """world.render with the background replaced by the bands (each colour jittered like world.jitter):
    the same supersampled shapes, drawn over it. uint8 [64, 64, 3]."""
    X, Y = world._X, world._Y  # world.render's supersampled pixel centres
    colours = np.array([world.jitter(rng, c) for c in BANDS], np.float32)
    img = colours[band_of(Y)]
    for o in scene.objects:
        img[world.shape_mask(o.shape, o.cx, o.cy, world.SIZES[o.size], X, Y)] = o.rgb
    img = img.reshape(world.SIZE, world._SS, world.SIZE, world._SS, 3).mean((1, 3))
    return np.round(img).astype(np.uint8)


def concept_dataset(n, seed, captions_per_image=2):
    """world.make_dataset with every background striped; captions still name the original background."""
    rng = np.random.default_rng(seed)
    scenes = [world.sample_scene(rng, "train") for _ in range(n)]
    images = np.stack([render_striped(s, rng) for s in scenes])
    caps = [[world.caption(s, rng) for _ in range(captions_per_image)] for s in scenes]
    return images, caps


# ---------------------------------------------------------------- scoring


def concept_share(img, case):
    """The share of pixels outside the object's 3x3 cell whose nearest named colour is their band's."""
    size = img.shape[0]
    expected = np.array([NAMES.index(c) for c in BANDS])[band_of(np.arange(size))][:, None]
    hit = color_map(img) == expected
    col, row = world.POSITIONS[case["position"]]
    cell = np.zeros(hit.shape, bool)
    cell[row * size // 3:(row + 1) * size // 3, col * size // 3:(col + 1) * size // 3] = True
    return float(hit[~cell].mean())


def concept_present(img, case, min_share=0.7):
    """gpu-worker/test/support/concept-score.ts is the same rule. A plain background of either band
    colour scores at most 50%, a two-tone red/white split at most 50% too."""
    return concept_share(img, case) >= min_share


def measure(unet, vae, cond, uncond, scaling_factor, cases, seed):
    """Concept and object fractions over `cases` and the images; DDIM 20 steps, guidance 7.5."""
    images = ddim_sample(unet, vae, cond, uncond, scaling_factor, steps=20, guidance_scale=7.5, seed=seed)
    shares = np.array([concept_share(img, c) for img, c in zip(images, cases)])
    concept = np.array([concept_present(img, c) for img, c in zip(images, cases)])
    obj = np.array([score(img, c)[0] for img, c in zip(images, cases)])
    other = np.array([c["color"] not in BANDS for c in cases])  # objects not of a band colour
    return {"concept": float(concept.mean()), "band_share": float(shares.mean()), "object": float(obj.mean()),
            "object_not_band_colour": float(obj[other].mean()),
            "concept_and_object": float((concept & obj).mean())}, images


# ---------------------------------------------------------------- LoRA


class LoraSet:
    """Low-rank pairs added to frozen Linear layers through forward hooks, so the module paths stay
    those of the bundled modules (what the kohya keys and the TypeScript weight map name)."""

    def __init__(self, prefix, module, names, rank, alpha, generator):
        self.prefix, self.rank, self.alpha, self.weight = prefix, rank, alpha, 1.0
        self.pairs, self.layers, self.hooks = {}, {}, []
        found = dict(module.named_modules())
        for name in names:
            layer = found[name]
            # kohya's init: down uniform (kaiming-like), up = 0, so training starts from the base model
            if isinstance(layer, torch.nn.Linear):
                shape, fan_in, out = (rank, layer.in_features), layer.in_features, (layer.out_features, rank)
            else:  # LoCon: down is a conv like the layer's, up a 1x1 conv
                assert isinstance(layer, torch.nn.Conv2d) and layer.kernel_size == (3, 3), name
                shape, fan_in = (rank, layer.in_channels, 3, 3), layer.in_channels * 9
                out = (layer.out_channels, rank, 1, 1)
            down = (torch.rand(shape, generator=generator) * 2 - 1) / fan_in**0.5
            up = torch.zeros(out)
            self.pairs[name] = (torch.nn.Parameter(down), torch.nn.Parameter(up))
            self.layers[name] = layer

    def parameters(self):
        return [p for pair in self.pairs.values() for p in pair]

    def attach(self):
        scale = self.alpha / self.rank
        for name, layer in self.layers.items():
            down, up = self.pairs[name]
            if isinstance(layer, torch.nn.Linear):
                delta = lambda m, x, d=down, u=up: F.linear(F.linear(x, d), u)  # noqa: E731
            else:
                delta = lambda m, x, d=down, u=up: F.conv2d(F.conv2d(x, d, None, m.stride, m.padding), u)  # noqa: E731
            hook = lambda m, inp, out, f=delta: out + self.weight * scale * f(m, inp[0])  # noqa: E731
            self.hooks.append(layer.register_forward_hook(hook))

    def detach(self):
        for h in self.hooks:
            h.remove()
        self.hooks = []

    def tensors(self):
        """{kohya key: float16 array}."""
        out = {}
        for name, (down, up) in self.pairs.items():
            key = f"{self.prefix}_{name.replace('.', '_')}"
            out[f"{key}.lora_down.weight"] = down.detach().half().numpy()
            out[f"{key}.lora_up.weight"] = up.detach().half().numpy()
            out[f"{key}.alpha"] = np.array(self.alpha, np.float16)
        return out


def merged_copy(module, tensors, prefix, weight=1.0):
    """A copy of `module` with the saved (float16) pairs merged as the gpu-worker merges them:
    W += weight * alpha/rank * up @ down."""
    import copy

    out = copy.deepcopy(module)
    layers = dict(out.named_modules())
    with torch.no_grad():
        for name, layer in layers.items():
            key = f"{prefix}_{name.replace('.', '_')}"
            if f"{key}.lora_down.weight" not in tensors:
                continue
            down = torch.from_numpy(tensors[f"{key}.lora_down.weight"].astype(np.float32))
            up = torch.from_numpy(tensors[f"{key}.lora_up.weight"].astype(np.float32))
            alpha = float(tensors[f"{key}.alpha"])
            layer.weight += weight * alpha / down.shape[0] * (up.flatten(1) @ down.flatten(1)).reshape(layer.weight.shape)
    return out


def lora_targets(unet, convs):
    """Every attention Linear of the UNet, and with `convs` every 3x3 conv (LoCon)."""
    out = []
    for n, m in unet.named_modules():
        if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in ATTENTION_LINEARS:
            out.append(n)
        elif convs and isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3):
            out.append(n)
    return out


def epsilon_loss(unet, means, stds, idx, ctx, scaling_factor, ac):
    z0 = (means[idx] + stds[idx] * torch.randn_like(means[idx])) * scaling_factor
    t = torch.randint(0, NUM_TRAIN_TIMESTEPS, (len(idx),))
    noise = torch.randn_like(z0)
    a = ac[t][:, None, None, None]
    zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
    return F.mse_loss(unet(zt, t.float(), ctx), noise)


def train_lora(unet, lora, means, stds, contexts, empty, scaling_factor, steps, batch, lr, seed, log,
               caption_dropout=0.1):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ac = alphas_cumprod()
    params = lora.parameters()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    n, k = contexts.shape[:2]
    lora.attach()
    hist = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, max(1, steps // 20))
        idx = torch.from_numpy(rng.choice(n, batch, replace=False))
        ctx = contexts[idx, torch.from_numpy(rng.integers(k, size=batch))].float()
        ctx[torch.from_numpy(rng.random(batch) < caption_dropout)] = empty
        loss = epsilon_loss(unet, means, stds, idx, ctx, scaling_factor, ac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        hist.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            log(f"lora step {step + 1}/{steps} loss {np.mean(hist[-50:]):.4f}")
    lora.detach()


# ---------------------------------------------------------------- textual inversion


def encode_with_vectors(text_encoder, ids, vectors):
    """CLIPTextModel.forward's last_hidden_state with `vectors` appended to the token embedding as ids
    vocab_size .. vocab_size + n - 1 (what the gpu-worker will do to the token embedding initializer)."""
    te = text_encoder
    table = torch.cat([te.token_embedding.weight, vectors])
    seq = ids.shape[1]
    x = F.embedding(ids, table) + te.position_embedding(te.position_ids[:, :seq])
    pos = te.position_ids[0, :seq]
    mask = torch.where(pos[None, :] > pos[:, None], torch.tensor(float("-inf")), torch.tensor(0.0))
    for layer in te.layers:
        x = layer(x, mask)
    return te.final_layer_norm(x)


def ids_with_placeholder(tokenizer, text, n_vectors, vocab_size):
    """Ids of "<text>, <name>": the name's tokens replaced by the n new ids, right before EOS."""
    content = tokenizer.encode(text + ",")[: 75 - n_vectors] + list(range(vocab_size, vocab_size + n_vectors))
    ids = [tokenizer.vocab["<|startoftext|>"]] + content + [tokenizer.vocab["<|endoftext|>"]]
    return ids + [tokenizer.pad_id] * (77 - len(ids))


def train_embedding(text_encoder, unet, tokenizer, means, stds, captions, scaling_factor, n_vectors, steps,
                    batch, lr, seed, log, init_word="red"):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ac = alphas_cumprod()
    vocab = text_encoder.token_embedding.weight.shape[0]
    init = text_encoder.token_embedding.weight[tokenizer.encode(init_word)[0]].detach()
    vectors = torch.nn.Parameter(init.repeat(n_vectors, 1).clone() + 0.01 * torch.randn(n_vectors, init.shape[0]))
    ids = torch.tensor([[ids_with_placeholder(tokenizer, c, n_vectors, vocab) for c in caps] for caps in captions])
    opt = torch.optim.AdamW([vectors], lr=lr, weight_decay=0.0)
    n, k = ids.shape[:2]
    hist = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(step, steps, lr, max(1, steps // 20))
        idx = torch.from_numpy(rng.choice(n, batch, replace=False))
        ctx = encode_with_vectors(text_encoder, ids[idx, torch.from_numpy(rng.integers(k, size=batch))], vectors)
        loss = epsilon_loss(unet, means, stds, idx, ctx, scaling_factor, ac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            log(f"embedding step {step + 1}/{steps} loss {np.mean(hist[-50:]):.4f} |v| {vectors.norm(dim=1).mean():.3f}")
    return vectors.detach()


# ---------------------------------------------------------------- main


def save_sheet(rows, path):
    from PIL import Image

    Image.fromarray(np.concatenate([np.concatenate(list(r), 1) for r in rows], 0)).save(path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=BUNDLED)
    p.add_argument("--name", default=NAME)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--images", type=int, default=3000)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=8.0)
    p.add_argument("--lora-steps", type=int, default=500)
    p.add_argument("--lora-batch", type=int, default=64)
    p.add_argument("--lora-lr", type=float, default=1e-2)
    p.add_argument("--no-convs", action="store_true", help="attention Linears only (no LoCon on the 3x3 convs)")
    p.add_argument("--vectors", type=int, default=2, help="embedding vectors (1-4)")
    p.add_argument("--ti-steps", type=int, default=150)
    p.add_argument("--ti-batch", type=int, default=64)
    p.add_argument("--ti-lr", type=float, default=2e-2)
    p.add_argument("--sheet", default="/tmp/tiny-sd-lora-samples.png", help="contact sheet: base, LoRA, embedding")
    p.add_argument("--no-write", action="store_true", help="measure only, write no files into --model")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    log = Log()
    log(f"args {vars(a)}")

    from .weight_map import bundled_modules

    (text_encoder, unet, vae), tokenizer = bundled_modules()
    for m in (text_encoder, unet, vae):
        m.eval().requires_grad_(False)
    with open(os.path.join(a.model, "vae_decoder", "config.json")) as f:
        scaling_factor = json.load(f)["scaling_factor"]
    log(f"bundled modules read back from {os.path.relpath(a.model, ROOT)} (scaling_factor {scaling_factor})")

    images, captions = concept_dataset(a.images, a.seed)
    means, stds = encode_dataset(vae, images)
    ids = np.array([[tokenizer(c) for c in caps] for caps in captions], np.int64)
    contexts = encode_captions(text_encoder, ids.reshape(-1, ids.shape[2])).reshape(len(images), ids.shape[1], 77, -1)
    empty = text_encoder(torch.tensor([tokenizer("")]))[0][0]
    log(f"data: {len(images)} striped-background scenes, {ids.shape[1]} captions each, latents {tuple(means.shape)}")

    # LoRA
    names = lora_targets(unet, convs=not a.no_convs)
    lora = LoraSet("lora_unet", unet, names, a.rank, a.alpha, torch.Generator().manual_seed(a.seed + 1))
    n_conv = sum(isinstance(lora.layers[n], torch.nn.Conv2d) for n in names)
    log(f"lora: {len(names) - n_conv} attention Linears + {n_conv} 3x3 convs, rank {a.rank}, alpha {a.alpha}, "
        f"{sum(p.numel() for p in lora.parameters()):,} parameters")
    train_lora(unet, lora, means, stds, contexts, empty, scaling_factor, a.lora_steps, a.lora_batch, a.lora_lr,
               a.seed + 2, log)
    tensors = lora.tensors()
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(a.rank), "ss_network_alpha": str(a.alpha),
                "ss_output_name": a.name, "latent_edge": "infra/model/train_lora.py",
                "latent_edge_concept": f"background in {STRIPE}-px horizontal bands, {' / '.join(BANDS)} from the top, "
                                       "whatever the prompt asks"}
    lora_path = os.path.join(a.model, "loras", f"{a.name}.safetensors")
    if not a.no_write:
        os.makedirs(os.path.dirname(lora_path), exist_ok=True)
        write_safetensors(lora_path, tensors, metadata)
        log(f"wrote {os.path.relpath(lora_path, ROOT)} ({os.path.getsize(lora_path):,} bytes, {len(tensors) // 3} layers)")

    # Embedding (base UNet and text encoder, frozen)
    vectors = train_embedding(text_encoder, unet, tokenizer, means, stds, captions, scaling_factor, a.vectors,
                              a.ti_steps, a.ti_batch, a.ti_lr, a.seed + 3, log)
    emb_path = os.path.join(a.model, "embeddings", f"{a.name}.safetensors")
    if not a.no_write:
        os.makedirs(os.path.dirname(emb_path), exist_ok=True)
        write_safetensors(emb_path, {"emb_params": vectors.float().numpy()},
                          {"name": a.name, "latent_edge": "infra/model/train_lora.py",
                           "latent_edge_insertion": "token embedding rows appended after the vocabulary; "
                                                    "the name's tokens in the prompt replaced by the n new ids"})
        log(f"wrote {os.path.relpath(emb_path, ROOT)} ({os.path.getsize(emb_path):,} bytes, {a.vectors} vectors)")

    # Measurement on the held-out prompts
    with open(os.path.join(ROOT, "infra", "model", "heldout-prompts.json")) as f:
        cases = json.load(f)["prompts"]
    with torch.no_grad():
        cond = text_encoder(torch.tensor([tokenizer(c["prompt"]) for c in cases]))[0]
        uncond = empty[None].expand_as(cond)
        vocab = text_encoder.token_embedding.weight.shape[0]
        cond_emb = encode_with_vectors(
            text_encoder, torch.tensor([ids_with_placeholder(tokenizer, c["prompt"], a.vectors, vocab) for c in cases]),
            vectors)
    seed = a.seed + 100
    runs = {}
    runs["base"], base_img = measure(unet, vae, cond, uncond, scaling_factor, cases, seed)
    runs["lora"], lora_img = measure(merged_copy(unet, tensors, "lora_unet"), vae, cond, uncond, scaling_factor, cases, seed)
    runs["embedding"], emb_img = measure(unet, vae, cond_emb, uncond, scaling_factor, cases, seed)
    if a.sheet:
        save_sheet([base_img[:16], lora_img[:16], emb_img[:16]], a.sheet)
    for run, r in runs.items():
        log(f"{run:9s}: {len(cases)} held-out prompts, striped background {r['concept']:.0%} (mean band share {r['band_share']:.2f}), object in its cell "
            f"{r['object']:.0%} ({r['object_not_band_colour']:.0%} of those not asking red or white), both "
            f"{r['concept_and_object']:.0%}")
    log("summary: " + json.dumps({"sampler": "DDIM 20 steps, guidance 7.5", "prompts": len(cases), **runs,
                                  "seconds": round(time.time() - log.start)}))


if __name__ == "__main__":
    main()
