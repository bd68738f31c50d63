"""The transformers writer for real: tiny random-weight Qwen2 and Llama models built from their real config
classes, with a tokenizer that carries a chat template, saved to a folder and loaded through the same
from_pretrained path (writer.model=FOLDER) users take. No downloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from storygen.config import load_config  # noqa: E402
from storygen.errors import ProviderError  # noqa: E402
from storygen.providers.registry import clear_cache, get_provider  # noqa: E402
from storygen.providers.writer.hf_transformers import TransformersWriter  # noqa: E402
from storygen.workspace import write_text  # noqa: E402
from storygen.writing import generate_idea, revise_script  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = ("the a keeper lighthouse bottle sea night light door letter hand wrote old storm I he she it was is "
         "and but then found opened read knew { } \" : , . title story system user assistant").split()


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build(kind: str, folder: Path) -> Path:
    tok = tiny_tokenizer()
    common = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=512, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(0)
    if kind == "qwen2":
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common))
    elif kind == "mistral":
        model = transformers.MistralForCausalLM(transformers.MistralConfig(**common))
    else:
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def cfg_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clear_cache()
    yield lambda *over: load_config(overrides=["writer.provider=transformers", *over], env={})
    clear_cache()


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_tiny_model_generates_through_the_user_path(kind, tmp_path, cfg_for):
    folder = build(kind, tmp_path / f"tiny-{kind}")
    cfg = cfg_for(f"writer.model={folder}", "writer.max_tokens=12", "writer.max_retries=1")
    writer = get_provider("writer", cfg)
    assert isinstance(writer, TransformersWriter)
    assert writer.device == ("cuda:0" if torch.cuda.is_available() else "cpu")  # device_map="auto" on a GPU machine
    assert writer.version == f"tiny-{kind}"
    messages = [{"role": "system", "content": "You write stories."}, {"role": "user", "content": "the keeper found a bottle"}]
    c = writer.complete(messages)
    expected_prompt = writer.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(expected_prompt, dict) or hasattr(expected_prompt, "keys"):
        expected_prompt = expected_prompt["input_ids"]
    assert isinstance(c.text, str)
    assert c.prompt_tokens == len(expected_prompt) > 5
    assert 0 <= c.completion_tokens <= 12 and c.extra["finish_reason"] in ("stop", "length")
    if c.extra["finish_reason"] == "length":
        assert c.completion_tokens == 12
    assert c.seconds > 0 and c.model == writer.version
    # same messages, same seed: the same text
    assert writer.complete(messages).text == c.text

    # the stages' code path: a random model never writes valid JSON -> a clear error after the retries
    with pytest.raises(ProviderError, match="no valid story idea after 2 tries"):
        generate_idea(writer, "A keeper finds a bottle.", cfg)

    # the LLM revision keeps the word count in range: gibberish is discarded and changes.md says so
    script = " ".join(["The keeper found a bottle at night."] * 50)
    rcfg = cfg_for(f"writer.model={folder}", "writer.max_tokens=12", "revise.llm=true")
    revised, changes, comps = revise_script(writer, script, rcfg)
    out = write_text(tmp_path / "revised" / "changes.md", changes)
    assert len(comps) == 1 and 0 <= comps[0].completion_tokens <= int(390 * 1.45) + 80
    assert "discarded" in out.read_text() and revised.startswith("The keeper found a bottle at night.")


def test_missing_model_offline_names_the_fix(cfg_for, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(ProviderError) as e:
        get_provider("writer", cfg_for())  # default: Qwen/Qwen2.5-14B-Instruct
    msg = str(e.value)
    assert "Qwen/Qwen2.5-14B-Instruct" in msg and "offline" in msg and "writer.model=DIR" in msg
    with pytest.raises(ProviderError, match="does not exist"):
        get_provider("writer", cfg_for(f"writer.model={tmp_path / 'nope'}"))


def test_quantize_options(cfg_for, tmp_path):
    folder = build("qwen2", tmp_path / "tiny")
    with pytest.raises(ProviderError, match="not supported"):
        get_provider("writer", cfg_for(f"writer.model={folder}", "writer.quantize=int3"))
    if not torch.cuda.is_available():
        with pytest.raises(ProviderError, match="needs a CUDA GPU"):
            get_provider("writer", cfg_for(f"writer.model={folder}", "writer.quantize=4bit"))
        with pytest.raises(ProviderError, match="float8"):
            get_provider("writer", cfg_for(f"writer.model={folder}", "writer.quantize=fp8"))
    # int8: the fast decoder's weight-only int8 copy; the loaded model stays shared with the plain writer
    w8 = get_provider("writer", cfg_for(f"writer.model={folder}", "writer.quantize=int8", "writer.max_tokens=6"))
    plain = get_provider("writer", cfg_for(f"writer.model={folder}", "writer.max_tokens=6"))
    assert w8.decoder is not None and w8.decoder.quant == "int8" and w8.model is plain.model
    c = w8.complete([{"role": "user", "content": "a lighthouse"}], temperature=0.0)
    assert c.extra["decoder"] == "fast+int8" and c.model.endswith("+int8") and c.completion_tokens <= 6
    gpt2 = tmp_path / "gpt2"
    transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2)).save_pretrained(gpt2)
    for f in [*folder.glob("*token*"), *folder.glob("chat_template*")]:
        shutil.copy(f, gpt2)
    with pytest.raises(ProviderError, match="works with Qwen2 and Llama"):
        get_provider("writer", cfg_for(f"writer.model={gpt2}", "writer.quantize=int8"))


def test_no_chat_template_is_a_clear_error(cfg_for, tmp_path):
    folder = build("llama", tmp_path / "plain")
    cfgjson = folder / "tokenizer_config.json"
    data = json.loads(cfgjson.read_text())
    data.pop("chat_template", None)
    cfgjson.write_text(json.dumps(data))
    for f in folder.glob("chat_template*"):
        f.unlink()
    with pytest.raises(ProviderError, match="no chat template"):
        get_provider("writer", cfg_for(f"writer.model={folder}"))


@pytest.mark.parametrize("kind", ["qwen2", "llama", "mistral"])
def test_fast_path_gives_the_same_text_as_generate(tmp_path, cfg_for, kind):
    """writer.fast=true runs on CPU too (torch.compile only on CUDA) and decodes the same tokens as generate():
    Qwen2 / Llama through FastDecoder, other architectures (Mistral here) through generate with a static cache."""
    folder = build(kind, tmp_path / f"tiny-fast-{kind}")
    messages = [{"role": "user", "content": "the keeper found a bottle"}]
    plain = get_provider("writer", cfg_for(f"writer.model={folder}", "writer.max_tokens=10", "writer.temperature=0",
                                           "writer.fast=false"))
    fast = get_provider("writer", cfg_for(f"writer.model={folder}", "writer.max_tokens=10", "writer.temperature=0",
                                          "writer.fast=true"))
    assert fast.fast and not plain.fast
    assert fast.model is plain.model  # one loaded model serves both; the decoder choice is per writer
    a, b = plain.complete(messages), fast.complete(messages)
    assert a.extra["decoder"] == "generate"
    assert b.extra["decoder"] == ("generate+static" if kind == "mistral" else "fast")
    assert a.completion_tokens == b.completion_tokens > 0 and a.text == b.text


def test_complete_many_decodes_a_batch_like_single_calls(tmp_path, cfg_for):
    folder = build("qwen2", tmp_path / "tiny-batch")
    w = get_provider("writer", cfg_for(f"writer.model={folder}", "writer.max_tokens=12", "writer.temperature=0",
                                       "writer.fast=true"))
    convs = [[{"role": "user", "content": t}] for t in ("the keeper", "a bottle and a letter she wrote", "storm")]
    assert w.batched and not TransformersWriter.batched  # batches only with the fast decoder
    assert w.length_bias == 1.0 and not TransformersWriter.small({"model": str(folder)})
    batch = w.complete_many(convs)
    assert [c.extra["batch"] for c in batch] == [3, 3, 3]
    assert [c.text for c in batch] == [w.complete(m).text for m in convs]
    assert all(c.prompt_tokens > 0 and c.completion_tokens <= 12 for c in batch)
