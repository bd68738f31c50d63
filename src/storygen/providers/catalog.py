"""Which backends exist for each capability, and which config key picks each capability: data only.

It imports nothing, so ``storygen.config`` can check provider names against it at load time (the registry's
table is the one source of the choices; a name missing here fails when the config is read, not mid-story).
"""

from __future__ import annotations

# capability -> name -> "module:attr"; attr is a factory taking (settings: dict, cfg: Config)
REGISTRY: dict[str, dict[str, str]] = {
    "writer": {
        "llamacpp": "storygen.providers.writer.llamacpp:LlamaCppWriter",
        "openai": "storygen.providers.writer.openai_chat:OpenAIWriter",
        "transformers": "storygen.providers.writer.hf_transformers:TransformersWriter",
    },
    "voice": {
        "piper": "storygen.providers.voice.piper_tts:PiperVoice",
        "elevenlabs": "storygen.providers.voice.elevenlabs:ElevenLabsVoice",
        "espeak": "storygen.providers.voice.espeak:EspeakVoice",
    },
    "asr": {
        "faster-whisper": "storygen.providers.asr.faster_whisper_asr:FasterWhisperASR",
        "whisperx": "storygen.providers.asr.whisperx_asr:WhisperXASR",
    },
    "images": {
        "procedural": "storygen.providers.images.procedural:ProceduralImages",
        "sdxl": "storygen.providers.images.sdxl:SDXLImages",
        "flux": "storygen.providers.images.flux:FluxImages",
        "pexels": "storygen.providers.stock.pexels:PexelsImages",
        "pixabay": "storygen.providers.stock.pixabay:PixabayImages",
        "openai-images": "storygen.providers.images.openai_images:OpenAIImages",
    },
    "motion": {
        "kenburns": "storygen.providers.motion.kenburns:KenBurnsMotion",
        "ltx": "storygen.providers.motion.ltx:LTXMotion",
        "svd": "storygen.providers.motion.svd:SVDMotion",
        "wan": "storygen.providers.motion.wan:WanMotion",
        "pexels": "storygen.providers.stock.pexels:PexelsMotion",
        "pixabay": "storygen.providers.stock.pixabay:PixabayMotion",
    },
    "vision": {
        "heuristic": "storygen.providers.vision.heuristic:HeuristicJudge",
        "llava-onevision": "storygen.providers.vision.llava_onevision:LlavaOneVisionJudge",
        "phi35-vision": "storygen.providers.vision.phi35_vision:Phi35VisionJudge",
    },
}

# which config section picks each capability, and with which key
SECTION = {
    "writer": ("writer", "provider"),
    "voice": ("voice", "provider"),
    "asr": ("captions", "asr"),
    "images": ("keyframes", "provider"),
    "motion": ("clips", "provider"),
    "vision": ("vision", "provider"),
}

#: the values each ``*.compile`` key takes (providers.accel decodes them)
COMPILE_MODES = ("auto", "on", "off")


def choices() -> dict[str, tuple[str, ...]]:
    """``{"writer.provider": ("llamacpp", ...), "captions.asr": (...), ...}``: config key -> registered names."""
    return {f"{sec}.{key}": tuple(REGISTRY[cap]) for cap, (sec, key) in SECTION.items()}
