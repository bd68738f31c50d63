"""The `storygen` command. It parses, loads the config and calls the pipeline; it holds no logic."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storygen import __version__
from storygen import layout as L
from storygen.config import Config, load_config
from storygen.errors import InputError, StoryGenError
from storygen.layout import STAGES

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


def _config(config: Path | None, overrides: list[str] | None) -> Config:
    return load_config(config, overrides or [])


def _fail(e: BaseException, cfg: Config | None = None, debug: bool = False) -> None:
    """Print any error as the service's one line (a traceback only with --debug) and exit with its code."""
    from storygen.service import user_error

    if debug:
        err.print_exception()
    ue = user_error(e, cfg)
    _print_error(str(ue))
    raise typer.Exit(getattr(ue, "exit_code", 1))


def _print_error(msg: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(msg)}", highlight=False, soft_wrap=True)  # "[keyframes]" is text


def _pairs(overrides: list[str] | None) -> dict[str, str]:
    """-c section.key=value pairs as the dict a StoryRequest carries (checked when the config loads)."""
    out: dict[str, str] = {}
    for pair in overrides or []:
        key, _, value = pair.partition("=")
        out[key.strip()] = value
    return out


def _reporter(json_: bool, quiet: bool):
    from storygen.progress import JsonReporter, LineReporter, QuietReporter, RichReporter

    if json_:
        return JsonReporter()
    if quiet:
        return QuietReporter()
    return RichReporter(err) if err.is_terminal else LineReporter(err)


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
    language: Annotated[Optional[str], typer.Option("--language", help="The story's language as a BCP-47 code (es, pt-BR, ja, ar ...); default: detected from the idea.")] = None,
    wait: Annotated[float, typer.Option("--wait", min=0, help="If another run is making this story, wait up to this many seconds for it (default: fail at once).")] = 0.0,
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
    from storygen.service import StoryRequest, make_story

    cfg: Config | None = None
    try:
        cfg = _config(config, [*(overrides or []), *([f"story.language={language}"] if language else [])])
        req = StoryRequest(idea=idea, idea_file=idea_file, script=script, voice=voice, images=images, out=out,
                           until=until, from_stage=from_, force=force, wait=wait)
        reporter = _reporter(json_, quiet)

        def on_event(event: dict) -> None:
            if event["event"] == "waiting" and not (json_ or quiet):
                err.print(f"[yellow]waiting:[/yellow] {escape(event['story'])} is being made by {escape(event['holder'])}…",
                          highlight=False)
            reporter(event)

        with reporter:
            result = make_story(req, on_event=on_event, cfg=cfg)
        if result.note and not (json_ or quiet):
            err.print(f"[yellow]note:[/yellow] {escape(result.note)}", highlight=False)
        shown = result.final or result.story
        if json_:
            print(json.dumps({"t": round(time.time(), 3), "event": "finished", "story": str(result.story),
                              "final": str(result.video) if result.video else None,
                              "seconds": round(result.seconds, 2), "ran": result.ran}))
        elif quiet:
            print(shown)
        else:
            err.print(f"[green]Done[/green] in {result.seconds:.1f}s ({len(result.ran)} stage(s) ran): "
                      f"[bold]{escape(str(shown))}[/bold]", highlight=False)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/yellow] Finished stages are kept; run the same command to resume.")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001 - every error is one line; the traceback with --debug
        if json_:  # a machine reader gets the failure as an event too (stderr keeps the one line)
            from storygen.service import user_error

            ue = user_error(e, cfg)
            print(json.dumps({"t": round(time.time(), 3), "event": "failed", "error": ue.problem, "fix": ue.fix,
                              "exit_code": ue.exit_code}), flush=True)
        _fail(e, cfg, debug)


@app.command()
def batch(
    ideas_file: Annotated[Path, typer.Argument(help="Ideas: JSON from `storygen ideas N -o FILE`, or text with one idea per line.")],
    out: Annotated[Path, typer.Option("-o", "--out", "--stories", help="Folder for the stories, one sub-folder each (NN-title). With --engine ray: a folder every node mounts at the same path.")] = Path("stories"),
    until: Annotated[Optional[str], typer.Option("--until", help=f"Stop each story after this stage ({', '.join(STAGES)}).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run every stage, and allow replacing a story folder's idea.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="Where the stories run: local (here, one after another), ray (a Ray cluster), or auto (ray when RAY_ADDRESS is set).")] = "auto",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="The Ray cluster's address (host:port of the head); default RAY_ADDRESS, else 'auto'.")] = None,
    gpu_resource: Annotated[str, typer.Option("--gpu-resource", help="With --engine ray: the cluster resource a GPU worker asks for (GPU, or a custom one).")] = "GPU",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the finished videos (and errors).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable progress events, one JSON object per line.")] = False,
    config: ConfigOpt = None,
    overrides: OverrideOpt = None,
) -> None:
    """Make one short per idea in IDEAS_FILE, one after another in one process (every model loads once), or
    spread over a Ray cluster with [bold]--engine ray[/bold] (GPU stages on GPU workers that keep their models).

    A story that fails is reported and the rest go on; the exit code is 1 if any failed.
    Run the same command again to resume: finished stories and stages are skipped.

    Example: [bold]storygen ideas 8 --theme "the sea" -o ideas.json && storygen batch ideas.json -o week-42[/bold]
    """
    from storygen.engines import Outcome, pick_engine, run_batch
    from storygen.inputs import read_ideas_file
    from storygen.service import StoryRequest, check_stage, slug

    cfg = None
    try:
        cfg = _config(config, overrides)
        check_stage(until, "--until")
        eng = pick_engine(engine, ray_address)
        items = read_ideas_file(ideas_file)
    except StoryGenError as e:
        _fail(e, cfg)
        return
    rows: list[dict] = []
    reqs: list[StoryRequest] = []
    places: list[int] = []  # row index of each request
    for k, item in enumerate(items, 1):
        title = (f"idea {k} (invalid)" if isinstance(item, InputError) else item if isinstance(item, str)
                 else item.title)[:60]
        row = {"n": k, "title": title, "story": None, "final": None, "seconds": 0.0, "error": None}
        rows.append(row)
        if isinstance(item, InputError):
            row["error"] = str(item)
            continue
        folder = out / f"{k:02d}-{slug(title)}"
        row["story"] = str(folder.resolve())
        reqs.append(StoryRequest(idea=item if isinstance(item, str) else None,
                                 story_idea=None if isinstance(item, str) else item, out=folder, until=until,
                                 force=force, config_file=config, config=_pairs(overrides)))
        places.append(k - 1)
    for row in rows:
        if row["error"]:
            _print_error(row["error"])
    live: dict[int, object] = {}  # story number -> its open progress display (local engine: one at a time)

    def on_event(n: int, event: dict) -> None:
        row = rows[places[n - 1]]
        if json_:
            print(json.dumps({"t": round(time.time(), 3), "story": row["n"], **event}, ensure_ascii=False), flush=True)
            return
        if quiet:
            return
        if eng == "ray":  # stories run side by side: one line per finished stage
            if event["event"] == "done":
                err.print(f"[dim]\\[{row['n']}/{len(items)}][/dim] {escape(row['title'][:30])}: {event['stage']} "
                          f"{event['seconds']:.1f}s on {escape(str(event.get('node', '')))}", highlight=False)
            return
        if n not in live:
            err.print(f"[bold]\\[{row['n']}/{len(items)}][/bold] {escape(row['title'])}", highlight=False)
            live[n] = _reporter(False, False).__enter__()
        live[n](event)

    def on_outcome(o: Outcome) -> None:
        rep = live.pop(o.n, None)
        if rep is not None:
            rep.__exit__(None, None, None)
        row = rows[places[o.n - 1]]
        row.update(seconds=o.seconds, final=o.final, error=o.error)
        if o.error:
            _print_error(o.error)
        if quiet and o.final:
            print(o.final)

    try:
        run_batch(reqs, engine=eng, address=ray_address, on_event=on_event, on_outcome=on_outcome, cfg=cfg,
                  gpu_resource=gpu_resource, stories_root=out,
                  stop_on=lambda o: bool(o.error and o.error.startswith("The disk is full")))
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/yellow] Finished stages are kept; run the same command to resume.")
        raise typer.Exit(130) from None
    except Exception as e:  # noqa: BLE001 - the engine itself (no Ray, no cluster, no shared folder): one line
        _fail(e, cfg)
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
    from storygen.service import story_settings
    from storygen.stages.base import Context, RunOptions
    from storygen.lease import holder_alive, read_lease
    from storygen.workspace import MANIFEST, Story

    cfg = None
    try:
        cfg = _config(config, overrides)
        subs = sorted(p for p in story_dir.iterdir() if (p / MANIFEST).is_file()) if story_dir.is_dir() else []
        if subs and not (story_dir / MANIFEST).is_file():
            _status_many(subs, cfg, json_)
            return
        story = Story.open_existing(story_dir)
        ctx = Context(story=story, cfg=story_settings(story.root, cfg), options=RunOptions())
        states = story_status(ctx)
        manifest = story.load_manifest()["stages"]
        holder = read_lease(story.root)
        holder = holder if holder_alive(holder) else None
    except StoryGenError as e:
        _fail(e, cfg)
        return
    if json_:
        print(json.dumps([{"stage": s.name, "state": s.state, "why": s.why,
                           "seconds": manifest.get(s.name, {}).get("seconds"),
                           "node": manifest.get(s.name, {}).get("node")} for s in states], indent=2))
        return
    if holder is not None:
        err.print(f"[yellow]being made now[/yellow] by {escape(holder.describe())} since "
                  f"{time.strftime('%H:%M:%S', time.localtime(holder.since))}", highlight=False)
    table = Table(title=str(story.root), show_lines=False)
    for col in ("stage", "state", "provider", "node", "time", "why"):
        table.add_column(col)
    colour = {"done": "green", "edited": "cyan", "stale": "yellow", "missing": "red"}
    for s in states:
        entry = manifest.get(s.name, {})
        secs = entry.get("seconds")
        table.add_row(s.name, f"[{colour[s.state]}]{s.state}[/]", entry.get("provider", ""), escape(entry.get("node") or ""),
                      f"{secs:.1f}s" if secs is not None else "", s.why)
    Console().print(table)


def _status_many(folders: list[Path], cfg: Config, json_: bool) -> None:
    """One line per story folder: how many stages are done, which is next, the machines that made it, who is
    making it now, and the video if there is one."""
    from storygen.lease import holder_alive, read_lease
    from storygen.pipeline import story_status
    from storygen.service import story_settings
    from storygen.stages.base import Context, RunOptions
    from storygen.workspace import Story

    rows = []
    for folder in folders:
        story = Story.open_existing(folder)
        states = story_status(Context(story=story, cfg=story_settings(story.root, cfg), options=RunOptions()))
        done = [s for s in states if s.state in ("done", "edited")]
        todo = next((s for s in states if s.state not in ("done", "edited")), None)
        final = story.path(L.FINAL)
        made_on = story.load_manifest().get("stages", {})
        holder = read_lease(story.root)
        rows.append({"story": str(folder), "done": len(done), "stages": len(states),
                     "next": todo.name if todo else None, "why": todo.why if todo else "",
                     "final": str(final) if final.exists() and todo is None else None,
                     "nodes": sorted({e["node"] for e in made_on.values() if e.get("node")}),
                     "making": holder.describe() if holder is not None and holder_alive(holder) else None})
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{sum(r['final'] is not None for r in rows)} of {len(rows)} stories done")
    for col in ("story", "stages", "next", "why", "made on"):
        table.add_column(col)
    for r in rows:
        why = f"being made by {r['making']}" if r["making"] else r["why"]
        table.add_row(escape(Path(r["story"]).name), f"{r['done']}/{r['stages']}",
                      "[green]done[/]" if r["final"] else (r["next"] or ""), escape(why), escape(", ".join(r["nodes"])))
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


from storygen.serve.commands import register as _register_studio; _register_studio(app)  # noqa: E402,E702


def version_callback(value: bool) -> None:
    if value:
        print(f"storygen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    pass


def configure_process() -> None:
    """The process environment a front door sets once, at start (library code never writes os.environ)."""
    from storygen.providers import accel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.update(accel.inductor_env(os.environ))  # compiled kernels go to storygen's cache, not /tmp


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, a service manager) stops like Ctrl-C: lease given back, stages kept


def main() -> None:
    import signal

    configure_process()
    signal.signal(signal.SIGTERM, _terminated)
    app(prog_name="storygen")


if __name__ == "__main__":
    main()
    sys.exit(0)
