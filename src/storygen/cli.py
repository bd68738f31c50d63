"""The `storygen` command. It parses, loads the config and calls the pipeline; it holds no logic."""

from __future__ import annotations

import errno
import json
import os
import re
import sys
import time
import unicodedata
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storygen import layout as L
from storygen import __version__
from storygen.config import Config, load_config
from storygen.errors import InputError, StoryGenError
from storygen.workspace import STAGES

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help=(
        "Turn a story idea into a finished vertical short (1080x1920 H.264/AAC) for TikTok, Shorts and Reels.\n\n"
        "Works offline out of the box (embedded writer, voice, captions, art). Switch any stage to the cloud "
        "or GPU models with -c, e.g. [bold]-c writer.provider=openai -c voice.provider=elevenlabs[/bold].\n\n"
        'Start here: [bold]storygen make "A lighthouse keeper finds a message in a bottle"[/bold]'
    ),
)
err = Console(stderr=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="TOML config file (default: ./storygen.toml if present).")]
OverrideOpt = Annotated[Optional[list[str]], typer.Option("-c", help="Override a config key, like git -c: -c voice.provider=elevenlabs. Repeatable.")]


def _slug(text: str) -> str:
    """A safe folder name from free text: never a path, never shell syntax."""
    norm = unicodedata.normalize("NFKD", text)
    ascii_ = norm.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_)
    slug = "-".join(words)[:48].strip("-")
    if len(slug) < 3:  # an idea in another script (東京の猫, Кот в Москве, emoji): a stable name of its own
        import hashlib

        slug = f"story-{hashlib.sha256(text.strip().encode()).hexdigest()[:8]}"
    return slug


def _config(config: Path | None, overrides: list[str] | None) -> Config:
    return load_config(config, overrides or [])


def _fail(e: Exception, cfg: Config | None = None, debug: bool = False) -> None:
    msg = str(e)
    if cfg is not None:
        msg = cfg.redact(msg)
    if debug:
        err.print_exception()
    _print_error(msg)
    code = getattr(e, "exit_code", 1)
    raise typer.Exit(code)


def _print_error(msg: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(msg)}", highlight=False, soft_wrap=True)  # "[keyframes]" is text


def _stage_name(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    if value not in STAGES:
        raise InputError(f"Unknown stage '{value}' for {flag}.", f"use one of: {', '.join(STAGES)}")
    return value


@app.command()
def make(
    idea: Annotated[Optional[str], typer.Argument(help="The story idea, in quotes. Leave out to resume the story in -o.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Story folder (created; default ./stories/<idea-slug>).")] = None,
    idea_file: Annotated[Optional[Path], typer.Option("--idea-file", help="A StoryIdea JSON (from `storygen ideas`) instead of IDEA.")] = None,
    script: Annotated[Optional[Path], typer.Option("--script", help="Use this script text instead of writing one.")] = None,
    voice: Annotated[Optional[Path], typer.Option("--voice", help="Use this narration audio instead of TTS; captions are aligned to it.")] = None,
    images: Annotated[Optional[Path], typer.Option("--images", help="Use the images in this folder as keyframes, in name order.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help=f"Stop after this stage ({', '.join(STAGES)}).")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Re-run from this stage on, even if up to date.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every stage, and allow replacing the idea/inputs of an existing story.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final path (and errors).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print machine-readable progress events, one JSON object per line.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    config: ConfigOpt = None,
    overrides: OverrideOpt = None,
) -> None:
    """Make a finished short from an idea: idea → script → revision → voice → captions → scenes → keyframes → motion → final cut.

    Re-running skips every stage whose inputs and settings have not changed. Edit [bold]revised/script.txt[/bold]
    by hand and run again: only what depends on it is redone.
    """
    from storygen.inputs import IDEA_JSON, IDEA_TXT, prepare_user_inputs, stage_user_inputs
    from storygen.progress import JsonReporter, QuietReporter, RichReporter
    from storygen.stages.base import RunOptions
    from storygen.workspace import Story

    cfg: Config | None = None
    try:
        cfg = _config(config, overrides)
        until_s, from_s = _stage_name(until, "--until"), _stage_name(from_, "--from")
        if idea is not None and idea_file is not None:
            raise InputError("Both an IDEA and --idea-file were given.", "pass one of them.")
        if out is None:
            if idea is None and idea_file is None:
                raise InputError("No idea and no story folder given.", 'run storygen make "your idea", or storygen make -o DIR to resume.')
            seed_text = idea if idea is not None else idea_file.stem  # type: ignore[union-attr]
            out = Path("stories") / _slug(seed_text)
        if until_s and from_s and STAGES.index(from_s) > STAGES.index(until_s):
            raise InputError(f"--from {from_s} comes after --until {until_s}: nothing would run.",
                             f"use a --from stage at or before {until_s}, or leave --until out.")
        opts = RunOptions(idea=idea, idea_file=idea_file, script_file=script, voice_file=voice, images_dir=images)
        # every input is read and checked before the story folder is created or touched
        prepared = prepare_user_inputs(opts, cfg)
        if idea is None and idea_file is None and not ((out / IDEA_TXT).is_file() or (out / IDEA_JSON).is_file()):
            raise InputError(f"'{out}' is not a story yet and no idea was given.",
                             f'pass one: storygen make "your idea" -o {out} (or --idea-file FILE).')
        if prepared.idea_note and not (json_ or quiet):
            err.print(f"[yellow]note:[/yellow] {escape(prepared.idea_note)}", highlight=False)
        story = Story.open_or_create(out)
        stage_user_inputs(story, opts, cfg, force=force, prepared=prepared)
        reporter = JsonReporter() if json_ else QuietReporter() if quiet else RichReporter(err)
        summary, took = _run_story(story, opts, cfg, until_s, from_s, force, reporter)
        final = story.path(L.FINAL)
        if json_:
            print(json.dumps({"event": "finished", "story": str(story.root), "final": str(final) if final.exists() else None,
                              "seconds": round(took, 2), "ran": [k for k, v in summary.items() if v["ran"]]}))
        elif quiet:
            print(final if final.exists() and (until_s in (None, "final")) else story.root)
        else:
            ran = sum(1 for v in summary.values() if v["ran"])
            what = f"[bold]{escape(str(final if final.exists() and until_s in (None, 'final') else story.root))}[/bold]"
            err.print(f"[green]Done[/green] in {took:.1f}s ({ran} stage(s) ran): {what}", highlight=False)
    except StoryGenError as e:
        _fail(e, cfg, debug)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/yellow] Finished stages are kept; run the same command to resume.")
        raise typer.Exit(130) from None
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            _fail(StoryGenError("The disk is full.", "free some space and run the same command again; finished stages are kept."), cfg, debug)
        _fail(StoryGenError(f"{e.strerror or e}: {e.filename or ''}".strip(), "check the path and its permissions."), cfg, debug)
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001 - a bug: still one line, the traceback with --debug
        _fail(StoryGenError(f"Internal error: {e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                            "run again with --debug and report the traceback."), cfg, debug)


def _run_story(story, opts, cfg: Config, until_s: str | None, from_s: str | None, force: bool, reporter) -> tuple[dict, float]:
    """Run the pipeline on one story folder whose inputs are staged; returns the stage summary and seconds."""
    from storygen.pipeline import run_pipeline
    from storygen.stages.base import Context

    ctx = Context(story=story, cfg=cfg, options=opts)
    t0 = time.perf_counter()
    with reporter:
        summary = run_pipeline(ctx, until=until_s, from_stage=from_s, force=force, emit=reporter)
    return summary, time.perf_counter() - t0


@app.command()
def batch(
    ideas_file: Annotated[Path, typer.Argument(help="Ideas: JSON from `storygen ideas N -o FILE`, or text with one idea per line.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the stories, one sub-folder each (NN-title).")] = Path("stories"),
    until: Annotated[Optional[str], typer.Option("--until", help=f"Stop each story after this stage ({', '.join(STAGES)}).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every stage, and allow replacing a story folder's idea.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the finished videos (and errors).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable progress events, one JSON object per line.")] = False,
    config: ConfigOpt = None,
    overrides: OverrideOpt = None,
) -> None:
    """Make one short per idea in IDEAS_FILE, one after another in one process, so every model loads once.

    A story that fails is reported and the rest go on; the exit code is 1 if any failed.
    Run the same command again to resume: finished stories and stages are skipped.

    Example: [bold]storygen ideas 8 --theme "the sea" -o ideas.json && storygen batch ideas.json -o week-42[/bold]
    """
    from storygen.inputs import read_ideas_file, stage_idea, stage_user_inputs
    from storygen.progress import JsonReporter, QuietReporter, RichReporter
    from storygen.stages.base import RunOptions
    from storygen.workspace import Story

    cfg = None
    try:
        cfg = _config(config, overrides)
        until_s = _stage_name(until, "--until")
        items = read_ideas_file(ideas_file)
    except StoryGenError as e:
        _fail(e, cfg)
        return
    rows: list[dict] = []
    for k, item in enumerate(items, 1):
        title = (f"idea {k} (invalid)" if isinstance(item, InputError) else item if isinstance(item, str)
                 else item.title)[:60]
        row = {"n": k, "title": title, "story": None, "final": None, "seconds": 0.0, "error": None}
        rows.append(row)
        if not (quiet or json_):
            err.print(f"[bold]\\[{k}/{len(items)}][/bold] {escape(title)}", highlight=False)
        try:
            if isinstance(item, InputError):
                raise item
            story = Story.open_or_create(out / f"{k:02d}-{_slug(title)}")
            row["story"] = str(story.root)
            if isinstance(item, str):
                opts = RunOptions(idea=item)
                stage_user_inputs(story, opts, cfg, force=force)
            else:
                stage_idea(story, item, force=force)
                opts = RunOptions()
            reporter = JsonReporter() if json_ else QuietReporter() if quiet else RichReporter(err)
            _, row["seconds"] = _run_story(story, opts, cfg, until_s, None, force, reporter)
            final = story.path(L.FINAL)
            row["final"] = str(final) if final.exists() and until_s in (None, "final") else None
            if quiet and row["final"]:
                print(row["final"])
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/yellow] Finished stages are kept; run the same command to resume.")
            raise typer.Exit(130) from None
        except StoryGenError as e:
            row["error"] = str(e)
        except OSError as e:
            row["error"] = f"{e.strerror or e}: {e.filename or ''}".strip()
            if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                row["error"] = "The disk is full. Fix: free some space and run the same command again."
        except Exception as e:  # noqa: BLE001 - a bug in one story: report it, go on with the next
            row["error"] = f"Internal error: {e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        if row["error"]:
            row["error"] = cfg.redact(row["error"]) if cfg is not None else row["error"]
            _print_error(row["error"])
            if row["error"].startswith("The disk is full"):
                break  # every story after this one would fail the same way
    failed = [r for r in rows if r["error"]]
    if json_:
        print(json.dumps({"event": "batch_finished", "stories": rows, "failed": len(failed)}))
    elif not quiet:
        table = Table(title=f"{len(rows) - len(failed)} of {len(items)} stories done")
        for col in ("#", "title", "result", "time"):
            table.add_column(col)
        for r in rows:
            result = escape(r["error"]) if r["error"] else escape(r["final"] or r["story"] or "")
            table.add_row(str(r["n"]), escape(r["title"]), ("[red]" if r["error"] else "[green]") + result + "[/]",
                          f"{r['seconds']:.1f}s")
        err.print(table)
    if failed:
        raise typer.Exit(1)


@app.command()
def status(
    story_dir: Annotated[Path, typer.Argument(help="A story folder made by `storygen make`.")],
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
    overrides: OverrideOpt = None,
) -> None:
    """Show which stages of a story are done, stale or missing, and why. On a folder of stories (from
    `storygen batch`), one line per story."""
    from storygen.pipeline import story_status
    from storygen.stages.base import Context, RunOptions
    from storygen.workspace import MANIFEST, Story

    cfg = None
    try:
        cfg = _config(config, overrides)
        subs = sorted(p for p in story_dir.iterdir() if (p / MANIFEST).is_file()) if story_dir.is_dir() else []
        if subs and not (story_dir / MANIFEST).is_file():
            _status_many(subs, cfg, json_)
            return
        story = Story.open_existing(story_dir)
        ctx = Context(story=story, cfg=cfg, options=RunOptions())
        states = story_status(ctx)
        manifest = story.load_manifest()["stages"]
    except StoryGenError as e:
        _fail(e, cfg)
        return
    if json_:
        print(json.dumps([{"stage": s.name, "state": s.state, "why": s.why,
                           "seconds": manifest.get(s.name, {}).get("seconds")} for s in states], indent=2))
        return
    table = Table(title=str(story.root), show_lines=False)
    for col in ("stage", "state", "provider", "time", "why"):
        table.add_column(col)
    colour = {"done": "green", "edited": "cyan", "stale": "yellow", "missing": "red"}
    for s in states:
        entry = manifest.get(s.name, {})
        secs = entry.get("seconds")
        table.add_row(s.name, f"[{colour[s.state]}]{s.state}[/]", entry.get("provider", ""),
                      f"{secs:.1f}s" if secs is not None else "", s.why)
    Console().print(table)


def _status_many(folders: list[Path], cfg: Config, json_: bool) -> None:
    """One line per story folder: how many stages are done, which is next, and the video if there is one."""
    from storygen.pipeline import story_status
    from storygen.stages.base import Context, RunOptions
    from storygen.workspace import Story

    rows = []
    for folder in folders:
        story = Story.open_existing(folder)
        states = story_status(Context(story=story, cfg=cfg, options=RunOptions()))
        done = [s for s in states if s.state in ("done", "edited")]
        todo = next((s for s in states if s.state not in ("done", "edited")), None)
        final = story.path(L.FINAL)
        rows.append({"story": str(folder), "done": len(done), "stages": len(states),
                     "next": todo.name if todo else None, "why": todo.why if todo else "",
                     "final": str(final) if final.exists() and todo is None else None})
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{sum(r['final'] is not None for r in rows)} of {len(rows)} stories finished")
    for col in ("story", "stages", "next", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(Path(r["story"]).name), f"{r['done']}/{r['stages']}",
                      "[green]finished[/]" if r["final"] else (r["next"] or ""), escape(r["why"]))
    Console().print(table)


@app.command()
def doctor(config: ConfigOpt = None, overrides: OverrideOpt = None) -> None:
    """Check ffmpeg, fonts, models, API keys (masked) and GPU, and say what each missing thing disables."""
    from storygen.doctor import run_checks

    try:
        cfg = _config(config, overrides)
    except StoryGenError as e:
        _fail(e)
        return
    table = Table(title=f"storygen {__version__}")
    for col in ("check", "status", "detail", "if missing"):
        table.add_column(col)
    bad = 0
    for c in run_checks(cfg):
        table.add_row(c.name, "[green]ok[/]" if c.ok else ("[yellow]optional[/]" if c.optional else "[red]missing[/]"),
                      escape(c.detail), "" if c.ok else escape(c.disables))
        bad += (not c.ok and not c.optional)
    Console().print(table)
    raise typer.Exit(1 if bad else 0)


@app.command()
def ideas(
    n: Annotated[int, typer.Argument(min=1, max=20, help="How many ideas.")] = 5,
    theme: Annotated[Optional[str], typer.Option("--theme", help="A theme to write around, e.g. 'the sea'.")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Write the ideas as JSON here (a list; each item works with --idea-file).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite -o if it exists.")] = False,
    config: ConfigOpt = None,
    overrides: OverrideOpt = None,
) -> None:
    """Generate N scored story ideas in one call, best first."""
    from storygen.providers.registry import get_provider
    from storygen.workspace import write_json

    cfg = None
    try:
        cfg = _config(config, overrides)
        if out is not None and out.exists() and not force:
            raise InputError(f"'{out}' already exists.", "pass --force to overwrite it, or another -o.")
        from storygen.writing import generate_ideas

        with err.status(f"Thinking up {n} ideas…"):
            found, _ = generate_ideas(get_provider("writer", cfg), n, theme, cfg)
        found = sorted(found, key=lambda i: -i.potential.overall)
        if out is not None:
            data = [i.model_dump(mode="json") for i in found]
            write_json(out, data[0] if len(data) == 1 else data)
    except StoryGenError as e:
        _fail(e, cfg)
        return
    table = Table()
    for col in ("score", "title", "tone", "logline"):
        table.add_column(col)
    for i in found:
        table.add_row(str(i.potential.overall), i.title, i.tone, i.logline)
    Console().print(table)


def version_callback(value: bool) -> None:
    if value:
        print(f"storygen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    pass


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app(prog_name="storygen")


if __name__ == "__main__":
    main()
    sys.exit(0)
