"""Tiny random-weight diffusers/transformers models, built from the real classes and saved with
save_pretrained, so the providers load them through the same from_pretrained path users take.

Nothing is downloaded: tokenizers are built from a vocabulary written here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


# ------------------------------------------------------------------ tokenizers
def _bytes_to_unicode() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tiny_clip_tokenizer():
    """A CLIP BPE tokenizer over single byte-level characters (+ a few merges): ~520 tokens, ids < 1000."""
    from transformers import CLIPTokenizer

    chars = _bytes_to_unicode()
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = ["t h", "th e</w>", "a n", "an d</w>"]
    for m in merges:
        vocab["".join(m.split())] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges], model_max_length=77)


def tiny_t5_tokenizer():
    """A T5 (Unigram) tokenizer with a few dozen pieces."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(ch, -5.0) for ch in "abcdefghijklmnopqrstuvwxyz,.'"]
    pieces += [("▁" + w, -3.0) for w in ("a", "the", "cat", "girl", "city", "night", "light", "rain", "slow", "zoom")]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def tiny_qwen2_tokenizer(extra_special: list[str]):
    """A byte-level BPE tokenizer (Qwen2 style) over single bytes, plus special tokens."""
    from transformers import Qwen2Tokenizer

    chars = _bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(chars)}
    merges = ["Ġ t", "Ġt h"]
    for m in merges:
        vocab["".join(m.split())] = len(vocab)
    tok = Qwen2Tokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges], unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", *extra_special]})
    return tok


# ------------------------------------------------------------------ SDXL
def _sdxl_parts(*, projection_dim: int, cross_attention_dim: int, seed: int):
    """Tiny UNet, scheduler, VAE and CLIP text config shared by the base and refiner builders."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 1), projection_class_embeddings_input_dim=projection_dim,
        cross_attention_dim=cross_attention_dim, norm_num_groups=8,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear",
                                       timestep_spacing="leading")
    vae = AutoencoderKL(block_out_channels=[16, 32], in_channels=3, out_channels=3, norm_num_groups=8,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, sample_size=64)
    te_cfg = CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-5,
                            num_attention_heads=4, num_hidden_layers=2, pad_token_id=1, vocab_size=1000,
                            hidden_act="gelu", projection_dim=32)
    return unet, scheduler, vae, te_cfg


def build_sdxl(folder: Path) -> Path:
    from diffusers import StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    unet, scheduler, vae, te_cfg = _sdxl_parts(projection_dim=80, cross_attention_dim=64, seed=0)
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(te_cfg), text_encoder_2=CLIPTextModelWithProjection(te_cfg),
        tokenizer=tiny_clip_tokenizer(), tokenizer_2=tiny_clip_tokenizer(), unet=unet, scheduler=scheduler,
    )
    pipe.save_pretrained(folder)
    return folder


def build_sdxl_refiner(folder: Path) -> Path:
    """A refiner like stabilityai's: only text_encoder_2, aesthetics-score conditioning."""
    from diffusers import StableDiffusionXLImg2ImgPipeline
    from transformers import CLIPTextModelWithProjection

    unet, scheduler, vae, te_cfg = _sdxl_parts(projection_dim=72, cross_attention_dim=32, seed=1)
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=vae, text_encoder=None, text_encoder_2=CLIPTextModelWithProjection(te_cfg), tokenizer=None,
        tokenizer_2=tiny_clip_tokenizer(), unet=unet, scheduler=scheduler, requires_aesthetics_score=True,
    )
    pipe.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ LTX-Video
def build_ltx(folder: Path) -> Path:
    import torch
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=32,
    )
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False,
        patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    tok = tiny_t5_tokenizer()
    te = T5EncoderModel(T5Config(vocab_size=64, d_model=32, d_kv=8, num_heads=4, num_layers=1, d_ff=37,
                                 pad_token_id=0, eos_token_id=1))
    pipe = LTXImageToVideoPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=te,
                                   tokenizer=tok, transformer=transformer)
    pipe.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ SVD
def build_svd(folder: Path) -> Path:
    import torch
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32, num_attention_heads=8, projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
    )
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True,
    )
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], latent_channels=4)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))
    fe = CLIPImageProcessor(crop_size=224, size=224)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=fe)
    pipe.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ FLUX.1
def build_flux(folder: Path) -> Path:
    """A tiny FLUX.1-schnell: FluxTransformer2DModel (no guidance embedding, like schnell), CLIP + T5 text
    encoders, a one-block AutoencoderKL with FLUX's shift/scale, FlowMatchEulerDiscreteScheduler."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=4, num_layers=1, num_single_layers=1,
                                         attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                                         pooled_projection_dim=32, axes_dims_rope=[4, 4, 8], guidance_embeds=False)
    te = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37,
                                      layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=2, pad_token_id=1,
                                      vocab_size=1000, hidden_act="gelu", projection_dim=32))
    te2 = T5EncoderModel(T5Config(vocab_size=64, d_model=32, d_kv=8, num_heads=4, num_layers=1, d_ff=37,
                                  pad_token_id=0, eos_token_id=1))
    vae = AutoencoderKL(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,), layers_per_block=1,
                        latent_channels=1, norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
                        shift_factor=0.0609, scaling_factor=1.5035)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)  # schnell's scheduler config
    pipe = FluxPipeline(scheduler=scheduler, vae=vae, text_encoder=te, tokenizer=tiny_clip_tokenizer(),
                        text_encoder_2=te2, tokenizer_2=tiny_t5_tokenizer(), transformer=transformer)
    pipe.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ Wan2.1 image-to-video
def build_wan(folder: Path) -> Path:
    """A tiny Wan2.1 I2V: WanTransformer3DModel with an image projection, the causal AutoencoderKLWan, a UMT5
    text encoder, a CLIPVisionModel image encoder and the UniPC flow scheduler that Wan-AI's folders ship."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                        in_channels=36, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        rope_max_seq_len=32, image_dim=4)
    te = UMT5EncoderModel(UMT5Config(vocab_size=64, d_model=32, d_kv=8, num_heads=4, num_layers=1, d_ff=37,
                                     pad_token_id=0, eos_token_id=1))
    image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                     num_attention_heads=2, image_size=32, intermediate_size=16,
                                                     patch_size=4))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
                                        num_train_timesteps=1000)
    pipe = WanImageToVideoPipeline(tokenizer=tiny_t5_tokenizer(), text_encoder=te, vae=vae, scheduler=scheduler,
                                   image_processor=CLIPImageProcessor(crop_size=32, size=32),
                                   image_encoder=image_encoder, transformer=transformer)
    pipe.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ session fixtures
@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory) -> Path:
    return build_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))


@pytest.fixture(scope="session")
def tiny_sdxl_refiner(tmp_path_factory) -> Path:
    return build_sdxl_refiner(tmp_path_factory.mktemp("tiny-sdxl-refiner"))


@pytest.fixture(scope="session")
def tiny_ltx(tmp_path_factory) -> Path:
    return build_ltx(tmp_path_factory.mktemp("tiny-ltx"))


@pytest.fixture(scope="session")
def tiny_svd(tmp_path_factory) -> Path:
    return build_svd(tmp_path_factory.mktemp("tiny-svd"))


@pytest.fixture(scope="session")
def tiny_flux(tmp_path_factory) -> Path:
    return build_flux(tmp_path_factory.mktemp("tiny-flux"))


@pytest.fixture(scope="session")
def tiny_wan(tmp_path_factory) -> Path:
    return build_wan(tmp_path_factory.mktemp("tiny-wan"))


# ------------------------------------------------------------------ LLaVA-OneVision
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}<image>\n"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_llava_onevision(folder: Path) -> Path:
    """A tiny LLaVA-OneVision (Qwen2 text + SigLIP vision) with its real processor, saved like llava-hf's."""
    import torch
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, Qwen2Config, SiglipVisionConfig
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil)

    torch.manual_seed(0)
    tok = tiny_qwen2_tokenizer(["<image>", "<video>"])
    image_token = tok.convert_tokens_to_ids("<image>")
    video_token = tok.convert_tokens_to_ids("<video>")
    vocab = len(tok)
    text = Qwen2Config(vocab_size=vocab + 8, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None)
    vision = SiglipVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37,
                                num_hidden_layers=2, num_attention_heads=4)
    cfg = LlavaOnevisionConfig(text_config=text, vision_config=vision, image_token_index=image_token,
                               video_token_index=video_token, image_grid_pinpoints=[[32, 32], [32, 64], [64, 32], [64, 64]],
                               vision_feature_select_strategy="full", vision_feature_layer=-1)
    model = LlavaOnevisionForConditionalGeneration(cfg).eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    ip = LlavaOnevisionImageProcessorPil(size={"height": 32, "width": 32}, image_grid_pinpoints=[[32, 32], [32, 64], [64, 32], [64, 64]])
    model.save_pretrained(folder)
    # what llava-hf's repo holds: tokenizer files, the image preprocessor config, processor_config.json and the
    # chat template. (LlavaOnevisionProcessor itself cannot be built here: its video processor needs torchvision.)
    tok.save_pretrained(folder)
    ip.save_pretrained(folder)
    (folder / "processor_config.json").write_text(json.dumps({
        "processor_class": "LlavaOnevisionProcessor", "image_token": "<image>", "video_token": "<video>",
        "num_image_tokens": (32 // 8) ** 2, "vision_feature_select_strategy": "full",
        "vision_aspect_ratio": "anyres_max_9"}, indent=2))
    (folder / "chat_template.jinja").write_text(QWEN_CHAT_TEMPLATE)
    return folder


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    return build_llava_onevision(tmp_path_factory.mktemp("tiny-llava-ov"))


# ------------------------------------------------------------------ Phi-3.5-vision
TINY_CLIP = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2,
             "image_size": 28, "patch_size": 7, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 8}


def build_phi35_vision(folder: Path) -> tuple[Path, dict]:
    """A tiny Phi-3.5-vision checkpoint laid out like microsoft/Phi-3.5-vision-instruct: a phi3_v config.json
    whose auto_map names remote-code files that are NOT there, the old "su" rope name, two safetensors shards
    with an index, the hub's tensor names (``model.vision_embed_tokens.img_processor.vision_model.*``, the shared
    ``wte``), a tokenizer and preprocessor_config.json. The weights come from transformers' own Phi3ForCausalLM and
    CLIPVisionModel; the separators and projection are written by hand in the checkpoint's shapes.
    ``img_processor.vision_config`` shrinks the CLIP tower (the real one is ViT-L/14 at 336 px).
    Returns the folder and every tensor written."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModel, Phi3Config, Phi3ForCausalLM

    torch.manual_seed(0)
    tok = tiny_qwen2_tokenizer(["<|user|>", "<|end|>", "<|assistant|>"])
    hidden = 32
    rope = {"type": "su", "short_factor": [1.0, 1.1, 1.2, 1.3], "long_factor": [2.0, 3.0, 4.0, 5.0]}
    text = {"vocab_size": len(tok) + 8, "hidden_size": hidden, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 131072,
            "original_max_position_embeddings": 4096, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "bos_token_id": 1,
            "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id, "sliding_window": 262144,
            "tie_word_embeddings": False, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "attention_dropout": 0.0,
            "hidden_act": "silu", "initializer_range": 0.02, "use_cache": True}
    lm = Phi3ForCausalLM(Phi3Config(**text, rope_scaling={**rope, "type": "longrope"}))
    clip = CLIPVisionModel(CLIPVisionConfig(**TINY_CLIP))
    state = {k: v.contiguous() for k, v in lm.state_dict().items()}
    p = "model.vision_embed_tokens."
    for k, v in clip.state_dict().items():  # the hub's names keep CLIPVisionModel's "vision_model." level
        k = k if k.startswith("vision_model.") else "vision_model." + k
        state[p + "img_processor." + k] = v.contiguous()
    d = 4 * TINY_CLIP["hidden_size"]
    g = torch.Generator().manual_seed(1)
    state[p + "glb_GN"] = torch.randn(1, 1, d, generator=g)
    state[p + "sub_GN"] = torch.randn(1, 1, 1, d, generator=g)
    state[p + "img_projection.0.weight"] = torch.randn(hidden, d, generator=g) * 0.2
    state[p + "img_projection.0.bias"] = torch.randn(hidden, generator=g) * 0.1
    state[p + "img_projection.2.weight"] = torch.randn(hidden, hidden, generator=g) * 0.2
    state[p + "img_projection.2.bias"] = torch.randn(hidden, generator=g) * 0.1
    state[p + "wte.weight"] = state["model.embed_tokens.weight"].clone()
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for name, ks in shards.items():
        save_file({k: state[k] for k in ks}, str(folder / name), metadata={"format": "pt"})
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {k: n for n, ks in shards.items() for k in ks}}))
    (folder / "config.json").write_text(json.dumps({
        **text, "rope_scaling": rope, "model_type": "phi3_v", "architectures": ["Phi3VForCausalLM"],
        "torch_dtype": "bfloat16", "_attn_implementation": "flash_attention_2", "transformers_version": "4.38.1",
        "auto_map": {"AutoConfig": "configuration_phi3_v.Phi3VConfig",
                     "AutoModelForCausalLM": "modeling_phi3_v.Phi3VForCausalLM"},
        "embd_layer": {"embedding_cls": "image", "hd_transform_order": "sub_glb", "projection_cls": "mlp",
                       "use_hd_transform": True, "with_learnable_separator": True},
        "img_processor": {"image_dim_out": TINY_CLIP["hidden_size"], "model_name": "openai/clip-vit-large-patch14-336",
                          "name": "clip_vision_model", "num_img_tokens": 144, "vision_config": TINY_CLIP}}, indent=1))
    (folder / "generation_config.json").write_text(json.dumps({"bos_token_id": 1, "eos_token_id": [tok.eos_token_id]}))
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "num_crops": 4, "num_img_tokens": 144, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "image_processor_type": "Phi3VImageProcessor",
        "processor_class": "Phi3VProcessor",
        "auto_map": {"AutoImageProcessor": "image_processing_phi3_v.Phi3VImageProcessor"}}))
    tok.save_pretrained(folder)
    return folder, state


@pytest.fixture(scope="session")
def tiny_phi35(tmp_path_factory) -> tuple[Path, dict]:
    return build_phi35_vision(tmp_path_factory.mktemp("tiny-phi35-vision"))
