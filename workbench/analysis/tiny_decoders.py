"""Tiny random decoder models (Llama, Qwen2, Gemma, Gemma2, Mistral, GPT-2) built from configs, nothing downloaded.

For tests, demos and benchmarks of decoder reward models and DPO policies: a word-level tokenizer from a
fixed vocabulary (the same ids every run) with BOS/EOS, optionally no pad token, a pad token equal to
EOS, left padding, and a chat template that ends in EOS. The same ``seed`` gives the same weights.
"""

from __future__ import annotations

from ..errors import WorkbenchDataError
from .scoring import _TINY_WORDS

ARCHITECTURES = ("llama", "qwen2", "gemma", "gemma2", "mistral", "gpt2")
#: A chat template that ends each turn, and so the whole conversation, in the EOS token.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}assistant :{% endif %}"
)
_SPECIALS = ["<unk>", "<bos>", "<eos>", "<pad>"]
_EXTRA = ["user", "assistant", "system", "?", ".", ",", ":", "'", "!", "-", "a", "new", "brand"]


def _config(arch: str, vocab: int, hidden: int, layers: int, max_positions: int, **common):
    import transformers as tf

    heads = 2
    shared = dict(vocab_size=vocab, num_hidden_layers=layers, **common)
    decoder = dict(hidden_size=hidden, intermediate_size=2 * hidden, num_attention_heads=heads, num_key_value_heads=1,
                   max_position_embeddings=max_positions, initializer_range=0.3)
    if arch == "llama":
        return tf.LlamaConfig(**shared, **decoder)
    if arch == "qwen2":
        return tf.Qwen2Config(**shared, **decoder)
    if arch == "mistral":
        return tf.MistralConfig(**shared, **decoder, sliding_window=None)
    if arch == "gemma":
        return tf.GemmaConfig(**shared, **decoder, head_dim=hidden // heads)
    if arch == "gemma2":
        return tf.Gemma2Config(**shared, **decoder, head_dim=hidden // heads, sliding_window=max_positions,
                               query_pre_attn_scalar=hidden // heads)
    if arch == "gpt2":
        return tf.GPT2Config(vocab_size=vocab, n_layer=layers, n_embd=hidden, n_head=heads, n_positions=max_positions,
                             initializer_range=0.3, **common)
    raise WorkbenchDataError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")


def tiny_decoder(path, arch: str = "llama", *, head: str = "classifier", pad: str | None = None, padding_side: str = "right",
                 chat_template: bool = True, seed: int = 0, hidden_size: int = 16, layers: int = 1,
                 max_positions: int = 256) -> str:
    """Build and save a tiny random decoder with a fixed-vocabulary word-level tokenizer; returns the folder.

    ``head``: ``"classifier"`` (``*ForSequenceClassification``, one output) or ``"causal"`` (``*ForCausalLM``).
    ``pad``: None (the tokenizer has no pad token), ``"eos"`` (pads with EOS) or ``"pad"`` (its own ``<pad>``).
    With ``chat_template`` the tokenizer renders ``BOS role : content EOS …`` (the conversation ends in EOS);
    without one a text pair is encoded as ``BOS prompt response``. (For ``"qwen2"`` transformers' AutoTokenizer
    insists on its own byte-level ``Qwen2Tokenizer``, rebuilt from this vocabulary: texts tokenize into fewer,
    coarser ids, but every test of scoring holds the same.)

    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> path = tiny_decoder(tempfile.mkdtemp(), "llama", pad="eos")
    >>> tok = AutoTokenizer.from_pretrained(path)
    >>> tok.convert_ids_to_tokens(tok.apply_chat_template([{"role": "user", "content": "plan meals"}])["input_ids"])
    ['<bos>', 'user', ':', 'plan', 'meals', '<eos>']
    """
    import torch
    import transformers as tf
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    if head not in ("classifier", "causal"):
        raise WorkbenchDataError(f"head must be 'classifier' or 'causal', got {head!r}")
    if pad not in (None, "eos", "pad"):
        raise WorkbenchDataError(f"pad must be None, 'eos' or 'pad', got {pad!r}")
    words = sorted(set(_TINY_WORDS) | set(_EXTRA))
    vocab = {token: k for k, token in enumerate(_SPECIALS + words)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    backend.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B:1", special_tokens=[("<bos>", 1)])
    extra = {"pad_token": "<eos>" if pad == "eos" else "<pad>"} if pad else {}
    tokenizer = tf.PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<bos>", eos_token="<eos>",
                                           model_max_length=max_positions, padding_side=padding_side,
                                           model_input_names=["input_ids", "attention_mask"], **extra)
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    pad_id = None if pad is None else vocab["<eos>" if pad == "eos" else "<pad>"]
    config = _config(arch, len(vocab), hidden_size, layers, max_positions, bos_token_id=1, eos_token_id=2, pad_token_id=pad_id,
                     **({"num_labels": 1} if head == "classifier" else {}))
    classes = {"llama": "Llama", "qwen2": "Qwen2", "gemma": "Gemma", "gemma2": "Gemma2", "mistral": "Mistral", "gpt2": "GPT2"}
    suffix = "ForSequenceClassification" if head == "classifier" else "LMHeadModel" if arch == "gpt2" else "ForCausalLM"
    cls = getattr(tf, classes[arch] + suffix)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = cls(config).eval()
    finally:
        torch.random.set_rng_state(state)
    from ..kernels.scoring import quiet_transformers

    with quiet_transformers():
        model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
