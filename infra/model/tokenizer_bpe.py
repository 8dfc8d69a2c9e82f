"""A CLIP-format byte-level BPE tokenizer learned from our own caption corpus.

Vocabulary layout follows openai/CLIP `simple_tokenizer.py` (and so transformers' CLIPTokenizer):
ids 0-255 are the 256 byte characters in bytes_to_unicode order, 256-511 the same with `</w>`,
then one entry per merge (in merge order), then `<|startoftext|>` and `<|endoftext|>` last.
Encoding mirrors SD-NOTES §3.3-3.5 without ftfy: lower-case, collapse whitespace, CLIP pre-token
regex, lowest-rank-first BPE, `[BOS] + tokens[:75] + [EOS]`, padded to 77 with the pad token.
"""
import json
import os
import re
from collections import Counter

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LENGTH = 77

# openai/CLIP's pattern uses \p{L} / \p{N}; Python's `re` has no \p classes, and `[^\W\d_]` / `\d` are
# the same sets on the ASCII captions this tokenizer is learned from.
PRE_TOKEN = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
    re.IGNORECASE,
)


def bytes_to_unicode():
    """openai/CLIP simple_tokenizer.bytes_to_unicode: printable bytes map to themselves, the rest to 256+n."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()


def normalize(text):
    return re.sub(r"\s+", " ", text).strip().lower()


def pre_tokens(text):
    return ["".join(BYTE_ENCODER[b] for b in t.encode("utf-8")) for t in PRE_TOKEN.findall(normalize(text))]


def learn_merges(corpus, max_merges=2000, min_count=2):
    """Classic BPE (Sennrich et al. 2016) over pre-token counts; ties broken lexicographically for determinism."""
    words = Counter()
    for text in corpus:
        for tok in pre_tokens(text):
            words[tuple(tok[:-1]) + (tok[-1] + "</w>",)] += 1
    words = dict(words)
    merges = []
    while len(merges) < max_merges:
        pairs = Counter()
        for w, c in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += c
        if not pairs:
            break
        best_count = max(pairs.values())
        if best_count < min_count:
            break
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        merged = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    return merges


def build_vocab(merges):
    chars = list(BYTE_ENCODER.values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [BOS, EOS]
    return {tok: i for i, tok in enumerate(vocab)}


class Tokenizer:
    def __init__(self, merges, pad_token=EOS):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.vocab = build_vocab(self.merges)
        assert len(self.vocab) == 512 + len(self.merges) + 2, "merges must be unique"
        self.bos_id = self.vocab[BOS]
        self.eos_id = self.vocab[EOS]
        self.pad_token = pad_token
        self.pad_id = self.vocab[pad_token]
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            ranked = [(self.ranks.get((word[i], word[i + 1]), None), i) for i in range(len(word) - 1)]
            ranked = [r for r in ranked if r[0] is not None]
            if not ranked:
                break
            first, second = self.merges[min(ranked)[0]]
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        self.cache[token] = word
        return word

    def encode(self, text):
        """Content token ids, without BOS/EOS."""
        ids = []
        for tok in pre_tokens(text):
            if tok in (BOS, EOS):
                ids.append(self.vocab[tok])
            else:
                ids.extend(self.vocab[s] for s in self.bpe(tok))
        return ids

    def __call__(self, text):
        """SD-style ids: [BOS] + content[:75] + [EOS], padded to 77 with the pad token."""
        ids = [self.bos_id] + self.encode(text)[: MAX_LENGTH - 2] + [self.eos_id]
        return ids + [self.pad_id] * (MAX_LENGTH - len(ids))

    def save(self, folder):
        """Writes the four files of an SD 1.x `tokenizer/` folder (transformers CLIPTokenizer format)."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in self.merges))

        def special(content):
            return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}

        special_map = {"bos_token": special(BOS), "eos_token": special(EOS), "pad_token": self.pad_token, "unk_token": special(EOS)}
        config = {
            "add_prefix_space": False,
            "bos_token": special(BOS),
            "do_lower_case": True,
            "eos_token": special(EOS),
            "errors": "replace",
            "model_max_length": MAX_LENGTH,
            "pad_token": self.pad_token,
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": special(EOS),
        }
        for name, data in (("special_tokens_map.json", special_map), ("tokenizer_config.json", config)):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2, ensure_ascii=False)
                f.write("\n")

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().strip().split("\n")[1:]
        with open(os.path.join(folder, "special_tokens_map.json"), encoding="utf-8") as f:
            pad = json.load(f)["pad_token"]
        pad = pad["content"] if isinstance(pad, dict) else pad
        return cls([tuple(line.split(" ")) for line in lines if line], pad_token=pad)
