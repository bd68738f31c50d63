"""The story folder's layout, in one place: the stage order and every path a stage reads or writes.

Code names a story file by its constant here (``layout.IDEA``), never by a string literal, and
``Story.path`` accepts only names listed here: a misspelled path is an error, not a silent "missing".
"""

from __future__ import annotations

import re

#: the stages, in the order they run; the pipeline, the manifest and progress displays all follow it
STAGES = ("idea", "script", "revised", "voice", "captions", "scenes", "keyframes", "clips", "final")
#: what a person reads for each stage (progress display, web page)
LABELS = {"idea": "Idea", "script": "Script", "revised": "Revision", "voice": "Voice-over", "captions": "Captions",
          "scenes": "Scene plan", "keyframes": "Keyframes", "clips": "Motion", "final": "Final cut"}

MANIFEST = "manifest.json"
LEASE = ".lease.json"

# ---------------------------------------------------------------- user inputs, copied into the story
IDEA_INPUT_TXT = "idea/input.txt"
IDEA_INPUT_JSON = "idea/input.json"
USER_SCRIPT = "script/user_script.txt"
USER_VOICE_DIR = "voice/user"
USER_IMAGES_DIR = "keyframes/user"
USER_MUSIC_DIR = "final/user"
LANGUAGE_INPUT = "idea/language.txt"  # the language asked for (--language), kept so a resume keeps it

# ---------------------------------------------------------------- stage outputs
IDEA = "idea/idea.json"
SCRIPT = "script/script.txt"
REVISED = "revised/script.txt"
CHANGES = "revised/changes.md"
VOICE_RAW = "voice/raw.wav"
VOICE = "voice/voice.wav"
TIMINGS = "voice/timings.json"
VOICE_STATS = "voice/stats.json"
WORDS = "captions/words.json"
CAPTIONS_SRT = "captions/captions.srt"
PHRASES_SRT = "captions/phrases.srt"
CAPTIONS_VTT = "captions/captions.vtt"
CAPTIONS_ASS = "captions/captions.ass"
SCENES = "scenes/scenes.json"
KEYFRAMES_DIR = "keyframes"
KEYFRAME_INDEX = "keyframes/index.json"
VERDICTS = "keyframes/verdicts.json"
CLIPS_DIR = "clips"
CLIPS = "clips/clips.json"
MUSIC = "final/music.wav"
FINAL_TMP = "final/tmp"

# ---------------------------------------------------------------- the finished short, at the top of the folder
FINAL = "final.mp4"
THUMBNAIL = "thumbnail.jpg"
TOP_SRT = "captions.srt"
TOP_VTT = "captions.vtt"
TOP_ASS = "captions.ass"
METADATA = "metadata.json"
TOP_LEVEL = (FINAL, THUMBNAIL, TOP_SRT, TOP_VTT, TOP_ASS, METADATA)
#: top-level caption copies and where they come from
CAPTION_COPIES = {TOP_SRT: CAPTIONS_SRT, TOP_VTT: CAPTIONS_VTT, TOP_ASS: CAPTIONS_ASS}


def keyframe(index: int) -> str:
    """The still of scene ``index``."""
    return f"keyframes/scene_{index:02d}.png"


KNOWN = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str)) | frozenset(STAGES)
#: names inside the layout's folders that are made per scene or per file the user gives
PATTERNS = (re.compile(r"keyframes/scene_\d{2,}\.png"), re.compile(r"clips/scene_\d{2,}\.mp4"),
            re.compile(r"(voice|keyframes|final)/user/[^/]+"))


def check(rel: str) -> str:
    """``rel`` if it names a file or folder of the story layout; else ValueError (a bug: a misspelled path)."""
    if rel in KNOWN or any(p.fullmatch(rel) for p in PATTERNS):
        return rel
    raise ValueError(f"'{rel}' is not a path of the story layout (storygen.layout); misspelled?")
