"""The synthetic world the bundled model is trained on (issue 8): 64x64 pictures of one or two simple
objects in named colors, sizes and 3x3-grid positions on plain or two-tone backgrounds, each with
captions in varied wording. Everything is a pure function of a seed (numpy PCG64).

Held out from training, for tests of meaning:
- the caption templates in HELD_OUT_TEMPLATES (their words all occur in training captions);
- one (color, shape, position) combination per (color, shape) pair (HELD_OUT_COMBOS): never drawn
  in a training scene, as either object.

CLI: `python -m infra.model.world --dump-prompts out.json` writes held-out test prompts with the
attributes a test checks; `--preview out.png` renders a contact sheet.
"""
import argparse
import json
import re
from dataclasses import dataclass, field

import numpy as np

SIZE = 64

# Named colors (RGB). Each render jitters every channel by up to ±JITTER so colors are not one point.
COLORS = {
    "red": (220, 40, 40),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
JITTER = 12
SHAPES = ["circle", "square", "triangle", "star", "diamond"]
SIZES = {"small": 7.0, "medium": 11.0, "large": 15.5}  # radius in pixels

# 3x3 grid: name -> (column, row); cell centers at 16, 32, 48 px.
POSITIONS = {
    "top-left": (0, 0), "top": (1, 0), "top-right": (2, 0),
    "left": (0, 1), "center": (1, 1), "right": (2, 1),
    "bottom-left": (0, 2), "bottom": (1, 2), "bottom-right": (2, 2),
}
# Words for a position: bare forms (for list-style captions) and prepositional phrases.
POSITION_BARE = {
    "top-left": ["top-left", "top left", "upper left"],
    "top": ["top", "top center", "top middle"],
    "top-right": ["top-right", "top right", "upper right"],
    "left": ["left", "middle left", "center left"],
    "center": ["center", "middle", "centre"],
    "right": ["right", "middle right", "center right"],
    "bottom-left": ["bottom-left", "bottom left", "lower left"],
    "bottom": ["bottom", "bottom center", "bottom middle"],
    "bottom-right": ["bottom-right", "bottom right", "lower right"],
}
POSITION_PP = {
    "top-left": ["in the top left", "in the top-left corner", "at the upper left"],
    "top": ["at the top", "in the top center", "at the top middle"],
    "top-right": ["in the top right", "in the top-right corner", "at the upper right"],
    "left": ["on the left", "at the middle left", "on the left side"],
    "center": ["in the center", "in the middle", "at the centre"],
    "right": ["on the right", "at the middle right", "on the right side"],
    "bottom-left": ["in the bottom left", "in the bottom-left corner", "at the lower left"],
    "bottom": ["at the bottom", "in the bottom center", "at the bottom middle"],
    "bottom-right": ["in the bottom right", "in the bottom-right corner", "at the lower right"],
}

# Caption templates. {obj}: "[size ]color shape" (+article where the template has "a"),
# {pos}/{pp}: bare/prepositional position, {bg}: "blue background"-like, {bgpp}: "on a blue background"-like.
TEMPLATES = [
    "{a_obj} {pp} {bgpp}",
    "{bg}, {obj}, {pos}",
    "{obj} {pp}, {bg}",
    "{a_obj} {bgpp}, {pos}",
    "an image of {a_obj} {pp} {bgpp}",
    "{pos}: {obj}; {bg}",
    "a drawing of {a_obj}, {pos}, {bg}",
    "{bgpp}, {a_obj} {pp}",
    "a picture with {a_obj} {pp}, {bg}",
    "{obj} {pos} over {bgc}",
    "a simple canvas: {bg} with {a_obj} {pp}",
]
HELD_OUT_TEMPLATES = [
    "a picture of {a_obj} {pp} {bgpp}",
    "{bg} with {a_obj} {pp}",
    "{obj}, {pos}, {bgpp}",
]
PAIR_JOIN = ["{x} and {y}", "{x}, {y}", "{x} plus {y}"]


@dataclass
class Obj:
    shape: str
    color: str
    size: str
    position: str
    cx: float
    cy: float
    rgb: tuple


@dataclass
class Scene:
    background: list  # one color name (plain), or two: [top, bottom] / [left, right]
    split: str  # "plain" | "horizontal" (top/bottom halves) | "vertical" (left/right halves)
    objects: list = field(default_factory=list)
    bg_rgb: list = field(default_factory=list)


def held_out_combos(seed=1234):
    """One held-out position per (color, shape) pair, fixed by `seed`."""
    rng = np.random.default_rng(seed)
    names = list(POSITIONS)
    return {(c, s, names[int(rng.integers(len(names)))]) for c in COLORS for s in SHAPES}


HELD_OUT_COMBOS = held_out_combos()


def jitter(rng, name):
    return tuple(int(np.clip(v + rng.integers(-JITTER, JITTER + 1), 0, 255)) for v in COLORS[name])


def sample_scene(rng, split="train"):
    """split "train" never yields a held-out combination; "test" always puts one in the first object."""
    colors = list(COLORS)
    for _ in range(1000):
        n_obj = 1 if split == "test" or rng.random() < 0.7 else 2
        cells = list(POSITIONS)
        if n_obj == 1:
            picks = [cells[int(rng.integers(9))]]
        else:
            # two objects sit in non-adjacent cells so they never touch
            while True:
                a, b = (cells[int(i)] for i in rng.choice(9, 2, replace=False))
                (ax, ay), (bx, by) = POSITIONS[a], POSITIONS[b]
                if max(abs(ax - bx), abs(ay - by)) == 2:
                    picks = [a, b]
                    break
        objs = []
        for pos in picks:
            size = list(SIZES)[int(rng.integers(3 if n_obj == 1 else 2))]
            col, row = POSITIONS[pos]
            r = SIZES[size]
            cx = 16 + 16 * col + rng.uniform(-3, 3)
            cy = 16 + 16 * row + rng.uniform(-3, 3)
            cx, cy = (float(np.clip(v, r + 1, SIZE - r - 1)) for v in (cx, cy))
            color = colors[int(rng.integers(len(colors)))]
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
            objs.append(Obj(shape, color, size, pos, cx, cy, jitter(rng, color)))
        combos = {(o.color, o.shape, o.position) for o in objs}
        if split == "train" and combos & HELD_OUT_COMBOS:
            continue
        if split == "test" and (objs[0].color, objs[0].shape, objs[0].position) not in HELD_OUT_COMBOS:
            continue
        free = [c for c in colors if c not in {o.color for o in objs}]
        kind = "plain" if rng.random() < 0.8 else ("horizontal" if rng.random() < 0.5 else "vertical")
        bg = [free[int(i)] for i in rng.choice(len(free), 1 if kind == "plain" else 2, replace=False)]
        return Scene(bg, kind, objs, [jitter(rng, c) for c in bg])
    raise RuntimeError("could not sample a scene")


def _polygon(cx, cy, r, n, inner=None, rot=-np.pi / 2):
    k = n * 2 if inner else n
    ang = rot + np.arange(k) * 2 * np.pi / k
    rad = np.where(np.arange(k) % 2 == 1, inner, 1.0) * r if inner else np.full(k, r)
    return np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)


def _inside_polygon(x, y, poly):
    """Even-odd rule, vectorised over pixel coordinates."""
    inside = np.zeros(x.shape, bool)
    j = len(poly) - 1
    for i in range(len(poly)):
        xi, yi = poly[i]
        xj, yj = poly[j]
        crosses = (yi > y) != (yj > y)
        x_at = (xj - xi) * (y - yi) / (yj - yi + 1e-12) + xi
        inside ^= crosses & (x < x_at)
        j = i
    return inside


def shape_mask(shape, cx, cy, r, x, y):
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape == "square":
        return np.maximum(abs(x - cx), abs(y - cy)) <= r * 0.82
    if shape == "diamond":
        return abs(x - cx) + abs(y - cy) <= r * 1.1
    if shape == "triangle":
        return _inside_polygon(x, y, _polygon(cx, cy + r * 0.2, r * 1.15, 3))
    if shape == "star":
        return _inside_polygon(x, y, _polygon(cx, cy + r * 0.05, r * 1.2, 5, inner=0.45))
    raise ValueError(shape)


_SS = 2  # supersampling factor for anti-aliased edges
_COORD = (np.arange(SIZE * _SS) + 0.5) / _SS
_Y, _X = np.meshgrid(_COORD, _COORD, indexing="ij")


def render(scene):
    """uint8 [64, 64, 3]."""
    img = np.empty((SIZE * _SS, SIZE * _SS, 3), np.float32)
    if scene.split == "plain":
        img[:] = scene.bg_rgb[0]
    else:
        first = (_Y < SIZE / 2) if scene.split == "horizontal" else (_X < SIZE / 2)
        img[:] = scene.bg_rgb[1]
        img[first] = scene.bg_rgb[0]
    for o in scene.objects:
        img[shape_mask(o.shape, o.cx, o.cy, SIZES[o.size], _X, _Y)] = o.rgb
    img = img.reshape(SIZE, _SS, SIZE, _SS, 3).mean((1, 3))
    return np.round(img).astype(np.uint8)


def _article(phrase):
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def caption(scene, rng, templates=TEMPLATES):
    tpl = templates[int(rng.integers(len(templates)))]
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    with_size = rng.random() < 0.5
    parts = []
    for o in scene.objects:
        obj = f"{o.size} {o.color} {o.shape}" if with_size else f"{o.color} {o.shape}"
        parts.append({"obj": obj, "a_obj": _article(obj), "pos": pick(POSITION_BARE[o.position]), "pp": pick(POSITION_PP[o.position])})
    b = scene.background
    if scene.split == "plain":
        bgc = b[0]
        bg = f"{b[0]} background"
        bgpp = pick([f"on a {b[0]} background", f"against a {b[0]} background", f"on {b[0]}"])
    elif scene.split == "horizontal":
        bgc = f"{b[0]} above {b[1]}"
        bg = pick([f"{b[0]} and {b[1]} background, {b[0]} on top", f"background {b[0]} on top and {b[1]} below"])
        bgpp = pick([f"on a {b[0]} over {b[1]} background", f"with {b[0]} above and {b[1]} below"])
    else:
        bgc = f"{b[0]} left of {b[1]}"
        bg = pick([f"{b[0]} and {b[1]} background, {b[0]} on the left", f"background {b[0]} on the left and {b[1]} on the right"])
        bgpp = pick([f"on a {b[0]} and {b[1]} background split down the middle", f"with {b[0]} on the left and {b[1]} on the right"])
    slots = dict(parts[0], bg=bg, bgpp=bgpp, bgc=bgc)
    if len(parts) == 2:
        # merge the two objects' slots: "a red circle in the top left and a blue star in the bottom right"
        join = pick(PAIR_JOIN)
        x, y = parts
        slots["obj"] = join.format(x=f"{x['obj']} {x['pos']}", y=f"{y['obj']} {y['pos']}")
        slots["a_obj"] = join.format(x=f"{x['a_obj']} {x['pp']}", y=f"{y['a_obj']} {y['pp']}")
        slots["pos"] = slots["pp"] = ""
    text = re.sub(r"\s*([,;:])(\s*[,;:])*", r"\1", tpl.format(**slots))  # empty {pos} slots leave ", ,"
    return " ".join(text.split()).strip(" ,:;")


def make_dataset(n, seed, split="train", captions_per_image=4):
    """uint8 images [n, 64, 64, 3], captions [n][captions_per_image], scenes [n]."""
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng, split) for _ in range(n)]
    images = np.stack([render(s) for s in scenes])
    caps = [[caption(s, rng) for _ in range(captions_per_image)] for s in scenes]
    return images, caps, scenes


def corpus(seed, n=4000):
    """Caption corpus the tokenizer's merges are learned from (training + held-out templates)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = sample_scene(rng)
        out.append(caption(s, rng))
        out.append(caption(s, rng, HELD_OUT_TEMPLATES))
    return out


def test_prompts(seed, n=60):
    """Held-out prompts: held-out combination AND held-out phrasing, single object, plain background."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        s = sample_scene(rng, "test")
        if s.split != "plain":
            continue
        o = s.objects[0]
        out.append({"prompt": caption(s, rng, HELD_OUT_TEMPLATES), "color": o.color, "shape": o.shape,
                    "size": o.size, "position": o.position, "background": s.background[0]})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--dump-prompts", help="write held-out test prompts (JSON) here")
    p.add_argument("--count", type=int, default=60)
    p.add_argument("--preview", help="write a contact sheet PNG of training scenes here")
    a = p.parse_args()
    if a.dump_prompts:
        head = {"seed": a.seed, "command": f"python -m infra.model.world --dump-prompts <file> --seed {a.seed} --count {a.count}",
                "regions": "position = a cell of the image's 3x3 grid (POSITIONS in world.py)", "colors": COLORS}
        lines = ",\n".join("    " + json.dumps(p) for p in test_prompts(a.seed, a.count))
        with open(a.dump_prompts, "w") as f:
            f.write(json.dumps(head, indent=2)[:-2] + ',\n  "prompts": [\n' + lines + "\n  ]\n}\n")
    if a.preview:
        from PIL import Image

        images, caps, _ = make_dataset(32, a.seed)
        sheet = images.reshape(4, 8, SIZE, SIZE, 3).transpose(0, 2, 1, 3, 4).reshape(4 * SIZE, 8 * SIZE, 3)
        Image.fromarray(sheet).save(a.preview)
        print("\n".join(c[0] for c in caps))


if __name__ == "__main__":
    main()
