"""Sizes of the bundled model and of the test fixtures, and the shared tokenizer recipe."""
from . import world
from .text_encoder import TextEncoderConfig
from .tokenizer_bpe import Tokenizer, learn_merges
from .unet import UNetConfig
from .vae import VaeConfig

TOKENIZER_SEED = 8
MAX_MERGES = 1500

# Common prompt words outside the synthetic world, so that ordinary prompts get word-sized tokens too
# (their embeddings stay untrained; the world's own words come first in merge order by frequency).
GENERAL_WORDS = """
a an the of in on at with and or but to from by for over under above below near behind beside between
photo picture image drawing painting illustration render sketch portrait landscape poster icon logo
art artwork style digital oil watercolor pencil ink cartoon anime realistic photorealistic detailed
highly masterpiece best quality high resolution sharp focus lighting light dark bright soft hard cinematic
sunset sunrise night day morning evening sky cloud clouds sun moon star stars rain snow fog storm
mountain mountains river lake sea ocean beach forest tree trees flower flowers garden field grass
city street house building castle tower bridge road car train boat ship plane robot astronaut
cat cats dog dogs horse bird birds fish dragon lion tiger bear fox wolf rabbit owl butterfly
man woman boy girl child people person face eyes hair hand hands smiling standing sitting walking
running riding flying holding wearing looking dress hat shirt jacket glasses crown sword
pink cyan magenta gray grey brown gold golden silver beige teal navy violet turquoise maroon
heart hexagon pentagon ring cross oval rectangle line lines dot dots stripe stripes pattern
big tiny huge little round sharp flat smooth shiny glossy matte transparent glowing neon pastel
colorful vivid vibrant muted simple minimal abstract geometric shape shapes object objects
red orange yellow green blue purple white black background foreground corner side edge top bottom
left right center middle upper lower half inside outside around next very two three one
""".split()


def make_tokenizer(pad_token="<|endoftext|>"):
    """BPE merges learned from a fixed caption corpus of the synthetic world plus GENERAL_WORDS."""
    corpus = world.corpus(TOKENIZER_SEED) + [" ".join(GENERAL_WORDS)] * 2
    return Tokenizer(learn_merges(corpus, max_merges=MAX_MERGES), pad_token=pad_token)


def bundled(vocab_size):
    """The shipped tiny-sd model (trained by train.py)."""
    text = TextEncoderConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=256,
                             num_hidden_layers=3, num_attention_heads=2)
    unet = UNetConfig(block_out_channels=(32, 48, 64), attention_levels=(True, True, False), ff_mult=2,
                      attention_head_dim=32, cross_attention_dim=64, norm_num_groups=8, sample_size=8)
    vae = VaeConfig(block_out_channels=(8, 16, 32, 64), norm_num_groups=4, mid_attention=False, norm_out=False)
    return text, unet, vae


def fixture(vocab_size, lcm=False):
    """The smallest widths the architecture allows: test fixtures only check I/O handling."""
    text = TextEncoderConfig(vocab_size=vocab_size, hidden_size=4, intermediate_size=8,
                             num_hidden_layers=1, num_attention_heads=2)
    unet = UNetConfig(block_out_channels=(4, 4, 4), attention_levels=(True, False, False), ff_mult=1,
                      attention_head_dim=2, cross_attention_dim=4, norm_num_groups=2, sample_size=8,
                      time_cond_proj_dim=256 if lcm else None)
    vae = VaeConfig(block_out_channels=(4, 4, 4, 4), norm_num_groups=2, mid_attention=False)
    return text, unet, vae
