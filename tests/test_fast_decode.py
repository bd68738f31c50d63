"""The transformers writer's fast decoder against ``model.generate``: tiny random-weight Qwen2 and Llama models
(Llama with llama3 rope scaling, as Llama-3.1 has), greedy tokens must match exactly; left-padded batches must
give each row the tokens it gets alone. On CUDA the same checks run through the compiled CUDA-graph step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from storygen.providers.writer.fast_decode import FastDecoder, Sampling, fp8_supported, supports  # noqa: E402

CUDA = torch.cuda.is_available()


def tiny(kind: str, device: str = "cpu", dtype=torch.float32, vocab: int = 97):
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=4096, eos_token_id=2, pad_token_id=0,
                  tie_word_embeddings=False)
    torch.manual_seed(1 if kind == "qwen2" else 2)
    if kind == "qwen2":
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common))
    else:
        common["rope_scaling"] = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 256, "rope_type": "llama3"}
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**common))
    # sharpen the random logits so greedy picks are not near-ties that rounding could flip
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
    model.generation_config.eos_token_id = None  # generate must never stop early or suppress a token
    return model.to(device=device, dtype=dtype).eval()


def hf_greedy(model, prompt: list[int], n: int) -> list[int]:
    ids = torch.tensor([prompt], device=model.device)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False, pad_token_id=0)
    return out[0, len(prompt):].tolist()


PROMPTS = [[5, 17, 33, 8, 41, 9, 60], [70, 3, 12], [44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54]]


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_greedy_tokens_match_generate_exactly(kind):
    model = tiny(kind)
    assert supports(model)
    dec = FastDecoder(model, sync_every=5)
    for p in PROMPTS:
        want = hf_greedy(model, p, 24)
        assert dec.generate([p], 24, ignore_eos=True)[0] == want
        for n in (1, 2, 3, 4):  # short runs (no graph) and the first steps after a capture's warm-up
            assert dec.generate([p], n, ignore_eos=True)[0] == want[:n]


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_left_padded_batch_rows_equal_their_single_runs(kind):
    model = tiny(kind)
    dec = FastDecoder(model, sync_every=4)
    alone = [dec.generate([p], 16, ignore_eos=True)[0] for p in PROMPTS]
    batch = dec.generate(PROMPTS, 16, ignore_eos=True)
    assert batch == alone
    # the buffers of a shape are reused: a second call gives the same answer
    assert dec.generate(PROMPTS, 16, ignore_eos=True) == alone


def test_rows_stop_at_their_own_eos_and_sampling_is_seeded():
    model = tiny("qwen2")
    dec = FastDecoder(model, sync_every=3)
    ref = dec.generate([PROMPTS[0]], 20, ignore_eos=True)[0]
    eos = ref[5]
    cut = dec.generate([PROMPTS[0]], 20, eos_ids={eos})[0]
    assert cut == ref[:ref.index(eos)]  # stops before its eos, which is not returned
    s = Sampling(temperature=0.9, top_p=0.9)
    torch.manual_seed(3)
    a = dec.generate(PROMPTS, 12, sampling=s, ignore_eos=True)
    torch.manual_seed(3)
    b = dec.generate(PROMPTS, 12, sampling=s, ignore_eos=True)
    assert a == b and all(len(r) == 12 and all(0 <= t < 97 for t in r) for r in a)
    torch.manual_seed(4)
    assert dec.generate(PROMPTS, 12, sampling=s, ignore_eos=True) != a  # it does sample


def test_top_p_keeps_only_the_nucleus():
    logits = torch.tensor([[5.0, 4.0, 0.0, -3.0, -3.0]])
    picks = {int(FastDecoder._pick(logits, Sampling(temperature=1.0, top_p=0.5))) for _ in range(200)}
    assert picks == {0}  # token 0 alone holds > 50% of the mass
    picks = {int(FastDecoder._pick(logits, Sampling(temperature=1.0, top_p=0.99))) for _ in range(400)}
    assert picks <= {0, 1, 2} and {0, 1} <= picks


def test_unsupported_models_are_refused():
    split = tiny("llama")
    split.hf_device_map = {"model.embed_tokens": 0, "model.layers": 0, "model.norm": 1, "lm_head": 1}
    assert not supports(split)  # spread over two GPUs: the writer falls back to generate()

    class Packed(torch.nn.Linear):  # stands for a bitsandbytes Linear8bitLt / Linear4bit (packed weights)
        pass

    packed = tiny("qwen2")
    lin = packed.model.layers[0].self_attn.q_proj
    packed.model.layers[0].self_attn.q_proj = Packed(lin.in_features, lin.out_features)
    assert not supports(packed)
    cfg = transformers.GPT2Config(vocab_size=50, n_embd=32, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(cfg)
    assert not supports(model)
    with pytest.raises(ValueError, match="supports qwen2, llama"):
        FastDecoder(model)
    if not CUDA:
        with pytest.raises(ValueError, match="fp8 weights need a CUDA GPU"):
            FastDecoder(tiny("qwen2"), fp8=True)
        with pytest.raises(ValueError, match="needs CUDA"):
            FastDecoder(tiny("qwen2"), mode="graph")
    with pytest.raises(ValueError, match="unknown decoder mode"):
        FastDecoder(tiny("qwen2"), mode="turbo")


def _with_int8_weights(model, dec):
    """A copy of ``model`` whose projections hold exactly the weights the int8 decoder multiplies by."""
    import copy

    twin = copy.deepcopy(model)
    with torch.no_grad():
        for L, T in zip(dec.layers, twin.model.layers):
            a, m = T.self_attn, T.mlp
            q, k, v = L.qkv_proj.dequantized().split(L.split)
            g, u = L.gu_proj.dequantized().split(L.inter)
            for lin, w in ((a.q_proj, q), (a.k_proj, k), (a.v_proj, v), (m.gate_proj, g), (m.up_proj, u),
                           (a.o_proj, L.o.dequantized()), (m.down_proj, L.down.dequantized())):
                lin.weight.copy_(w)
    return twin


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_int8_weights_decode_like_the_model_with_the_same_rounded_weights(kind):
    model = tiny(kind)
    dec = FastDecoder(model, quant="int8")
    assert dec.quant == "int8" and dec.mode == "eager"
    L = dec.layers[0]
    assert L.qkv_proj.w8.dtype == torch.int8 and L.down.w8.dtype == torch.int8 and L.q is None
    own = dec._own_tensors()  # what compile mode marks static, so graph replays do not copy weights
    assert any(t is L.qkv_proj.w8 for t in own) and any(t is L.down.scale for t in own)
    assert sum(t.dtype == torch.int8 for t in own) == 4 * len(dec.layers)  # qkv, gate/up, o, down per layer
    # rounding error per weight is at most half a step of its row's scale
    w = model.model.layers[0].mlp.down_proj.weight
    assert ((L.down.dequantized() - w).abs() <= L.down.scale[:, None] / 2 + 1e-7).all()
    x = torch.randn(3, w.shape[1])
    assert torch.allclose(L.down(x), torch.nn.functional.linear(x, L.down.dequantized()), atol=1e-5)
    twin = _with_int8_weights(model, dec)
    for p in PROMPTS:
        assert dec.generate([p], 16, ignore_eos=True)[0] == hf_greedy(twin, p, 16)
    assert dec.generate(PROMPTS, 16, ignore_eos=True) == [hf_greedy(twin, p, 16) for p in PROMPTS]
    # the model itself is untouched: the bf16/fp32 path still gives its own tokens
    assert FastDecoder(model).generate([PROMPTS[0]], 8, ignore_eos=True)[0] == hf_greedy(model, PROMPTS[0], 8)
    with pytest.raises(ValueError, match="unknown weight format"):
        FastDecoder(model, quant="int4")


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_int8_compiled_on_cuda_matches_its_eager_twin():
    model = tiny("qwen2", "cuda", torch.bfloat16, vocab=1024)
    dec = FastDecoder(model, quant="int8", sync_every=8)
    assert dec.mode == "compile"
    eager = FastDecoder(model, quant="int8", mode="eager")
    a = eager.generate(PROMPTS, 16, ignore_eos=True)
    b = dec.generate(PROMPTS, 16, ignore_eos=True)
    assert sum(ra[:4] == rb[:4] for ra, rb in zip(a, b)) >= 2, (a, b)  # bf16 kernels may round differently


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("mode", ["graph", "compile"])
@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_cuda_graph_step_matches_eager_and_generate(kind, mode):
    model = tiny(kind, "cuda", torch.float32)
    eager = FastDecoder(model, mode="eager")
    fast = FastDecoder(model, mode=mode, sync_every=8)
    for p in PROMPTS:
        want = hf_greedy(model, p, 20)
        assert eager.generate([p], 20, ignore_eos=True)[0] == want
        assert fast.generate([p], 20, ignore_eos=True)[0] == want
    assert fast.generate(PROMPTS, 20, ignore_eos=True) == [hf_greedy(model, p, 20) for p in PROMPTS]
    s = Sampling(temperature=0.8, top_p=0.9)
    torch.manual_seed(5)
    a = fast.generate(PROMPTS, 12, sampling=s, ignore_eos=True)
    torch.manual_seed(5)
    assert fast.generate(PROMPTS, 12, sampling=s, ignore_eos=True) == a  # replayed RNG follows the seed


@pytest.mark.skipif(not (CUDA and fp8_supported()), reason="needs a GPU with float8 matmuls")
def test_fp8_weights_track_the_bf16_logits():
    model = tiny("qwen2", "cuda", torch.bfloat16, vocab=1024)
    dec, dec8 = FastDecoder(model, mode="eager"), FastDecoder(model, fp8=True, mode="eager", fuse=False)
    x = torch.randn(4, 64, device="cuda", dtype=torch.bfloat16)
    lin = model.model.layers[0].mlp.gate_proj
    ref = lin(x).float()
    got = dec8.layers[0].gate(x).float()
    assert ((got - ref).norm() / ref.norm()).item() < 0.08  # e4m3 keeps ~3 significant bits per element
    fused = FastDecoder(model, fp8=True, mode="eager").layers[0]  # gate and up as one fp8 product
    g, _ = fused.gu_proj(x).float().split(fused.inter, dim=-1)
    assert fused.gate is None and ((g - ref).norm() / ref.norm()).item() < 0.08
    a = dec.generate(PROMPTS, 16, ignore_eos=True)
    b = FastDecoder(model, fp8=True, mode="graph").generate(PROMPTS, 16, ignore_eos=True)
    assert [len(r) for r in b] == [16, 16, 16] and all(0 <= t < 1024 for r in b for t in r)
    first = sum(ra[0] == rb[0] for ra, rb in zip(a, b))
    assert first >= 2, (a, b)  # the first pick (no compounding) survives the quantisation in most rows
