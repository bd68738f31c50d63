"""Validate what the user hands us (idea text, --idea-file, --script, --voice, --images) and copy it into
the story folder, so later runs (and resumed runs) see the same inputs without the flags."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from storygen.config import Config
from storygen.errors import InputError
from storygen.layout import IDEA_INPUT_JSON as IDEA_JSON
from storygen.layout import IDEA_INPUT_TXT as IDEA_TXT
from storygen.layout import USER_IMAGES_DIR, USER_SCRIPT, USER_VOICE_DIR
from storygen.models import Audience, StoryIdea
from storygen.workspace import Story, write_bytes, write_text

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class RunOptions:
    """What the user passed for this run (sticky ones are copied into the story)."""

    idea: str | None = None
    idea_file: Path | None = None
    script_file: Path | None = None
    voice_file: Path | None = None
    images_dir: Path | None = None


def clean_idea(text: str, cfg: Config) -> str:
    text = text.replace("\x00", "").strip()
    if not text:
        raise InputError("The idea is empty.", 'pass an idea in quotes, e.g. storygen make "A lighthouse keeper finds a message in a bottle".')
    limit = int(cfg.get("idea.hard_max_chars"))
    if len(text) > limit:
        raise InputError(f"The idea is {len(text):,} characters long; the limit is {limit:,}.",
                         "shorten it to a paragraph or two (long ideas up to the limit are condensed automatically).")
    return text


def read_text_file(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} '{path}' does not exist.", "check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{what} '{path}' is a folder, not a file.", "pass a text file.") from None
    except PermissionError:
        raise InputError(f"{what} '{path}' cannot be read (permission denied).", "check the file's permissions.") from None
    if b"\x00" in data:
        raise InputError(f"{what} '{path}' is binary, not text.", "pass a UTF-8 text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} '{path}' is not UTF-8 text.", "save it as UTF-8 and try again.") from None
    if not text.strip():
        raise InputError(f"{what} '{path}' is empty.", "write the text into it, or leave the option out.")
    return text


def _replace_guard(story: Story, rel: str, new: bytes, force: bool, what: str) -> None:
    cur = story.path(rel)
    _refuse_different([cur] if cur.exists() else [], [new], force, f"a different {what}")


def _refuse_different(current: list[Path], new: list[bytes], force: bool, what: str, it: str = "it") -> None:
    """A story that already holds input files (``current``) keeps them unless the new ones are the same or
    ``force`` is given."""
    if current and not force and [f.read_bytes() for f in current] != new:
        raise InputError(f"This story folder already holds {what}.", f"pass --force to replace {it}, or choose a new -o folder.")


def _parse_idea_json(raw: str, path: Path):
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(f"Idea file '{path}' is not JSON (line {e.lineno}).", "pass a file written by `storygen ideas`.") from None


def _validate_idea(data: object, where: str) -> StoryIdea:
    try:
        return StoryIdea.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(f"{where} is invalid: {'.'.join(map(str, first['loc']))}: {first['msg']}.",
                         "fix that field, or generate one with `storygen ideas 1 -o idea.json`.") from None


def _idea_bytes(idea: StoryIdea) -> bytes:
    return (json.dumps(idea.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n").encode()


def stage_idea(story: Story, idea: StoryIdea, *, force: bool = False) -> None:
    """Store a ready StoryIdea as the story's input (the idea stage then only checks and copies it)."""
    data = _idea_bytes(idea)
    _replace_guard(story, IDEA_JSON, data, force, "idea")
    story.path(IDEA_TXT).unlink(missing_ok=True)
    write_bytes(story.path(IDEA_JSON), data)


def read_ideas_file(path: Path) -> list[StoryIdea | str | InputError]:
    """The items of a batch file, in order: JSON (one StoryIdea or a list, as `storygen ideas N -o FILE` writes)
    or text with one idea per line (blank lines and lines starting with # are skipped).

    A JSON item that does not validate comes back as its InputError, so one bad item does not stop the rest."""
    raw = read_text_file(path, "Ideas file")
    if path.suffix.lower() == ".json" or raw.lstrip()[:1] in ("[", "{"):
        data = _parse_idea_json(raw, path)
        items = data if isinstance(data, list) else [data]
        out: list[StoryIdea | str | InputError] = []
        for k, item in enumerate(items, 1):
            try:
                out.append(_validate_idea(item, f"Idea {k} in '{path}'"))
            except InputError as e:
                out.append(e)
    else:
        out = [line.strip() for line in raw.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not out:
        raise InputError(f"Ideas file '{path}' holds no ideas.", "write one idea per line, or pass a file from `storygen ideas N -o FILE`.")
    return out


@dataclass
class PreparedInputs:
    """The user's inputs, read and checked, before anything is written into a story folder."""

    idea_text: str | None = None
    idea: StoryIdea | None = None
    idea_note: str | None = None  # e.g. "using idea 1 of 3" for a list from `storygen ideas N`
    script: str | None = None
    script_idea: StoryIdea | None = None  # an idea made from the script, for a story given no idea
    voice: tuple[str, bytes] | None = None  # (file name, bytes)
    images: list[Path] | None = None


def prepare_user_inputs(opts: RunOptions, cfg: Config) -> PreparedInputs:
    """Read and check every input the user passed. Raises InputError and writes nothing: a bad input never
    leaves a half-made story folder behind."""
    out = PreparedInputs()
    if opts.idea is not None:
        out.idea_text = clean_idea(opts.idea, cfg)
    elif opts.idea_file is not None:
        raw = read_text_file(opts.idea_file, "Idea file")
        data = _parse_idea_json(raw, opts.idea_file)
        if isinstance(data, list) and data:  # a file from `storygen ideas N`: take the best (first) one
            if len(data) > 1:
                out.idea_note = f"'{opts.idea_file}' holds {len(data)} ideas: using the first (the best scored)."
            data = data[0]
        out.idea = _validate_idea(data, f"Idea file '{opts.idea_file}'")

    if opts.script_file is not None:
        text = read_text_file(opts.script_file, "Script file")
        if not any(ch.isalpha() for ch in text):
            raise InputError(f"Script file '{opts.script_file}' has no words in it.", "pass a script with spoken words.")
        out.script = text.strip() + "\n"
        out.script_idea = idea_from_script(out.script)

    if opts.voice_file is not None:
        out.voice = (f"voice{opts.voice_file.suffix.lower() or '.audio'}", read_voice_file(opts.voice_file))

    if opts.images_dir is not None:
        out.images = check_images(opts.images_dir)
    return out


def idea_from_script(script: str) -> StoryIdea | None:
    """An idea for a story that comes with its own script and no idea: titled after the script's first sentence,
    its logline the first two. No writer is asked: the script already says what the story is."""
    from storygen.writing.text import clean_script, split_sentences

    sentences = [s.strip() for s in split_sentences(clean_script(script)) if any(ch.isalpha() for ch in s)]
    if not sentences:
        return None
    title = sentences[0].rstrip(".!?…;:")
    if len(title) > 80:
        title = title[:80].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    logline = " ".join(sentences[:2])[:600]
    from storygen.text.language import detect_language, regions

    language = detect_language(script)
    return StoryIdea(title=title, logline=logline, source=logline, language=language,
                     audience=Audience(regions=list(regions(language))))


def read_voice_file(src: Path) -> bytes:
    if not src.is_file():
        raise InputError(f"Voice file '{src}' does not exist or is not a file.", "pass an audio file (wav, mp3, m4a, flac).")
    try:
        data = src.read_bytes()
    except OSError as e:
        raise InputError(f"Voice file '{src}' cannot be read ({e.strerror}).", "check the file's permissions.") from None
    from storygen.media.ffmpeg import audio_seconds

    seconds = audio_seconds(src)
    if seconds is None:
        raise InputError(f"Voice file '{src}' is not a readable audio file.", "pass a real recording (wav, mp3, m4a, flac).")
    if seconds <= 0.2:
        raise InputError(f"Voice file '{src}' is only {seconds:.2f} s long.", "pass the whole narration (a few seconds at least).")
    return data


def stage_user_inputs(story: Story, opts: RunOptions, cfg: Config, *, force: bool = False,
                      prepared: PreparedInputs | None = None) -> None:
    """Copy the user's inputs into the story folder (atomically). A story that already holds a different idea,
    script, voice or set of images is not changed without ``force``: every check runs before the first write."""
    p = prepared if prepared is not None else prepare_user_inputs(opts, cfg)
    if p.idea_text is not None:
        _replace_guard(story, IDEA_TXT, p.idea_text.encode(), force, "idea")
        _replace_guard(story, IDEA_JSON, b"", force, "idea")  # a story made from an idea file is not re-ideaed either
    elif p.idea is not None:
        _replace_guard(story, IDEA_JSON, _idea_bytes(p.idea), force, "idea")
        _replace_guard(story, IDEA_TXT, b"", force, "idea")
    elif not (story.path(IDEA_TXT).exists() or story.path(IDEA_JSON).exists()):
        raise InputError("No idea given.", 'pass one: storygen make "your idea" (or --idea-file FILE).')
    if p.script is not None:
        _replace_guard(story, USER_SCRIPT, p.script.encode(), force, "script (--script)")
    if p.voice is not None:
        old = user_voice(story)
        _refuse_different([old] if old else [], [p.voice[1]], force, "a different voice file (--voice)")
    old_imgs = user_images(story) if p.images is not None else []
    if old_imgs:  # the new images are only read when there are old ones to compare with
        _refuse_different(old_imgs, [f.read_bytes() for f in p.images], force, "different images (--images)", it="them")
    # every check passed: write
    if p.idea_text is not None:
        story.path(IDEA_JSON).unlink(missing_ok=True)
        write_text(story.path(IDEA_TXT), p.idea_text)
    elif p.idea is not None:
        stage_idea(story, p.idea, force=True)
    if p.script is not None:
        write_text(story.path(USER_SCRIPT), p.script)
    if p.voice is not None:
        dst_dir = story.path(USER_VOICE_DIR)
        shutil.rmtree(dst_dir, ignore_errors=True)
        write_bytes(dst_dir / p.voice[0], p.voice[1])
    if p.images is not None:
        _write_images(story, p.images)


def copy_images(story: Story, src: Path) -> list[Path]:
    return _write_images(story, check_images(src))


def check_images(src: Path) -> list[Path]:
    """The image files of a --images folder, in name order, each checked to open as a big enough picture."""
    from PIL import Image, UnidentifiedImageError

    if not src.is_dir():
        raise InputError(f"Images folder '{src}' does not exist or is not a folder.", "pass a folder of PNG or JPEG keyframes.")
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise InputError(f"Images folder '{src}' holds no images.", f"put {', '.join(IMAGE_EXTS)} files in it (used in name order).")
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                if im.width < 64 or im.height < 64:
                    raise InputError(f"Image '{f}' is only {im.width}x{im.height}.", "use keyframes at least 512 pixels on the short side.")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise InputError(f"Image '{f}' is corrupt or not an image ({e.__class__.__name__}).", "replace or remove that file.") from None
    return files


def _write_images(story: Story, files: list[Path]) -> list[Path]:
    dst = story.path(USER_IMAGES_DIR)
    if dst.exists():
        shutil.rmtree(dst)
    out = []
    for i, f in enumerate(files):
        out.append(write_bytes(dst / f"{i:03d}{f.suffix.lower()}", f.read_bytes()))
    return out


def user_images(story: Story) -> list[Path]:
    d = story.path(USER_IMAGES_DIR)
    return sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS) if d.is_dir() else []


def user_voice(story: Story) -> Path | None:
    d = story.path(USER_VOICE_DIR)
    files = sorted(d.iterdir()) if d.is_dir() else []
    return files[0] if files else None

