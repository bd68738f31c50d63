"""espeak-ng speech with its true word start times, through ctypes and espeakng-loader (used by the alignment benchmark and tests)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_WORD = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_LIB = None
_SR = 0


def _lib():
    global _LIB, _SR
    if _LIB is None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        _SR = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if _SR <= 0:
            raise RuntimeError("espeak_Initialize failed")
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetSynthCallback.argtypes = [_CB]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        _LIB = lib
    return _LIB


def synth(text: str, voice: str = "en-us", rate_wpm: int = 165) -> tuple[np.ndarray, int, list[tuple[int, int, float]]]:
    """(float32 audio, sample rate, [(char start, char length, start seconds)]) for each word espeak spoke."""
    lib = _lib()
    lib.espeak_SetVoiceByName(voice.encode())
    lib.espeak_SetParameter(1, rate_wpm, 0)  # espeakRATE
    chunks: list[np.ndarray] = []
    events: list[tuple[int, int, float]] = []

    def cb(wav, n, ev):
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while ev[i].type != 0:
            if ev[i].type == _EVENT_WORD:
                events.append((ev[i].text_position - 1, ev[i].length, ev[i].audio_position / 1000.0))
            i += 1
        return 0

    keep = _CB(cb)
    lib.espeak_SetSynthCallback(keep)
    data = text.encode("utf-8") + b"\0"
    buf = ctypes.create_string_buffer(data)
    rc = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
    if rc != 0:
        raise RuntimeError(f"espeak_Synth failed ({rc})")
    audio = (np.concatenate(chunks).astype(np.float32) / 32768.0) if chunks else np.zeros(0, np.float32)
    return audio, _SR, events


def write(path: Path, text: str, **kw) -> tuple[Path, list[tuple[int, int, float]]]:
    import soundfile as sf

    audio, sr, events = synth(text, **kw)
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path, events
