"""The ``reprobook`` command line: list chapters, start one, run a chapter's notebooks, verify records.

Bad input (an unknown chapter, tier or device, a malformed claims file, missing data) ends with a
one-line ``error: ...`` and exit status 2; a failed verification exits with status 1.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

from .chapters import TIERS, all_chapters, check_tier, get_chapter, repo_root
from .cluster import ENGINES
from .errors import ReprobookError

# The records, verdicts (scipy) and device (torch) modules are imported by the commands that use them:
# a mistyped command line gets its one-line answer without paying seconds of imports.


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0-99"``, ``"0,1,5"`` or ``"7"`` as a list of seeds."""
    if text is None:
        return None
    seeds = []
    try:
        for part in text.split(","):
            if "-" in part:
                first, last = part.split("-")
                seeds.extend(range(int(first), int(last) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise ReprobookError(f"--seeds {text!r}: expected seeds like '0-99' or '0,1,5'") from None
    if not seeds or min(seeds) < 0:
        raise ReprobookError(f"--seeds {text!r}: expected at least one non-negative seed")
    return seeds


RUN_OPTIONS = {"tier": "--tier", "device": "--device", "seeds": "--seeds", "output_dir": "--output-dir"}


def parse_parameters(items: list[str] | None) -> dict:
    """``NAME=VALUE`` pairs as notebook parameters, each VALUE read as YAML (``64``, ``[1, 8]``, ``null``)."""
    import yaml

    parameters = {}
    for item in items or []:
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            raise ReprobookError(f"--parameter {item!r}: expected NAME=VALUE, e.g. sizes=[1,8,64]")
        if name in RUN_OPTIONS:
            raise ReprobookError(f"--parameter {name}: use {RUN_OPTIONS[name]} for that")
        parameters[name] = yaml.safe_load(value)
    return parameters


def command_list(args) -> int:
    from .verdicts import badge, claim_results, format_value

    for chapter in all_chapters().values():
        results = claim_results(chapter)
        print(f"{chapter.id}: {chapter.title} ({chapter.year}) — {badge(results)}, status {chapter.status}")
        for r in results:
            paper = format_value(r.claim.paper_value, r.claim.paper_std, decimals=r.claim.decimals)
            ours = format_value(r.mean, r.std, r.n, decimals=r.claim.decimals)
            print(f"  {r.claim.id:<28} paper {paper:<12} ours {ours:<22} {r.verdict:<15} {_judgement(r)}")
    return 0


def _judgement(result) -> str:
    """What stands beside a verdict: the interval of ours − paper against the margin, or the rank rule."""
    if result.claim.compare == "rank":
        return "compared by rank" if result.mean is not None else ""
    if result.mean is None:
        return ""
    from .verdicts import format_interval

    return f"ours − paper {format_interval(result)} (margin ±{result.claim.margin:g})"


def version_notes(chapter) -> list[str]:
    """Where a chapter's records were made with other Python, torch or PyG versions than the installed ones."""
    from .provenance import versions
    from .records import load_record

    installed, notes = versions(), []
    for notebook in chapter.notebooks:
        record = load_record(chapter.record_path(notebook, "full"))
        for name in ("python", "torch", "torch_geometric"):
            made_with = (record or {}).get("versions", {}).get(name)
            if made_with and made_with != installed[name]:
                notes.append(f"{chapter.id}/{notebook}: record made with {name} {made_with}, installed {installed[name]}")
    return notes


def command_verify(args) -> int:
    from .contract import contract_problems
    from .verdicts import badge, chapter_problems, claim_results

    chapters = [get_chapter(args.chapter)] if args.chapter else list(all_chapters().values())
    problems, notes = [], []
    for chapter in chapters:
        results = claim_results(chapter)
        print(f"{chapter.id}: {badge(results)}")
        for r in results:
            detail = f" ({r.reason})" if r.reason and r.verdict != "not run yet" else ""
            print(f"  {r.claim.id:<28} {r.verdict}{detail[:160]}  {_judgement(r)}")
        problems.extend(chapter_problems(chapter))
        problems.extend(contract_problems(chapter))
        notes.extend(version_notes(chapter))
    for note in notes:
        print(f"note: {note} (numbers may differ slightly when rerun here)")
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


def _kernel_config(scratch: str):
    from traitlets.config import Config

    kernel_config = Config()
    if os.name == "posix":    # a TCP kernel warns about unencrypted traffic on every run; a Unix socket stays local
        kernel_config.KernelManager.transport = "ipc"
        # its socket files go to the scratch folder, not the chapter's (a stopped kernel leaves them behind)
        kernel_config.KernelManager.ip = os.path.join(scratch, "kernel-ipc")
    # jupyter_client interrupts a kernel before every shutdown; on a busy machine the interrupt can land while
    # the kernel handles a message, and ipykernel then logs "KeyboardInterrupt caught in kernel" on our stderr,
    # above the one-line error this command reports. A cell's own errors come back as messages, not that log.
    kernel_config.NotebookClient.extra_arguments = ["--IPKernelApp.log_level=CRITICAL"]
    return kernel_config


def committed_parameters(chapter, notebook: str) -> dict | None:
    """The parameters the chapter's committed full-tier run was executed with (papermill's metadata),
    on the device type that trained its seeds (the run store's key holds it); None before its first record."""
    import json

    from .records import load_record

    record = load_record(chapter.record_path(notebook, "full"))
    executed = chapter.executed_notebook(notebook)
    papermill = json.loads(executed.read_text()).get("metadata", {}).get("papermill") if executed.is_file() else None
    if record is None or not papermill:
        return None
    parameters = {name: value for name, value in papermill.get("parameters", {}).items() if name not in ("tier", "output_dir")}
    return parameters | {"device": record["device_type"]}


def execute(chapter, notebooks: list[str], tier: str, device: str, seeds, extra: dict, output_dir: Path,
            verbose: bool, from_store: bool) -> list:
    """Execute notebooks with papermill; return the failures: a ReprobookError (missing seeds or data) or the
    text of a failed cell. A bad parameter raises before anything runs."""
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    failures = []
    # notebooks run in their chapter's folder, so a path from there keeps the machine's folders out of them
    shown_dir = os.path.relpath(output_dir, chapter.folder)
    with tempfile.TemporaryDirectory() as scratch:
        converted, parameters = {}, {}
        for notebook in notebooks:     # every -p is checked against every notebook before any of them runs
            converted[notebook] = Path(scratch) / f"{notebook}.ipynb"
            jupytext.write(jupytext.read(chapter.notebook_source(notebook)), converted[notebook])
            known = papermill.inspect_notebook(str(converted[notebook]))
            # a chapter's first record from its committed seeds: the tier's defaults, on the device asked for
            given = ((committed_parameters(chapter, notebook) if from_store else None) or {"device": device}) | extra
            unknown = sorted(set(given) - set(known))
            if unknown:
                raise ReprobookError(f"{chapter.id}/{notebook} has no parameter {', '.join(map(repr, unknown))}; "
                                     f"its parameters: {', '.join(known)}")
            parameters[notebook] = {"tier": tier, "output_dir": shown_dir} | given | (
                {"seeds": seeds} if seeds is not None else {})
        for notebook in notebooks:
            executed = output_dir / f"{notebook}.ipynb"
            how = ("from the run store " if from_store else "") + f"({parameters[notebook]['device']})"
            print(f"running {chapter.id}/{notebook} on the {tier} tier {how} -> {executed}")
            try:
                papermill.execute_notebook(str(converted[notebook]), str(executed), parameters=parameters[notebook],
                                           cwd=str(chapter.folder), progress_bar=sys.stderr.isatty(),
                                           kernel_name="python3", log_output=verbose, config=_kernel_config(scratch))
            except PapermillExecutionError as error:
                if error.ename == "ReprobookError":
                    if not from_store:
                        raise ReprobookError(error.evalue) from None
                    failures.append(ReprobookError(f"{chapter.id}/{notebook}: {error.evalue}"))
                else:
                    failures.append(f"{chapter.id}/{notebook} failed in cell {error.exec_count}: {error.ename}: {error.evalue}")
            finally:
                keep_machine_paths_out(executed)
    return failures


def keep_machine_paths_out(executed: Path) -> None:
    """papermill notes where it read and wrote the notebook; the committed copy names no folder of this machine."""
    import json

    if not executed.is_file():
        return
    notebook = json.loads(executed.read_text())
    papermill = notebook.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in papermill:
            papermill[key] = Path(papermill[key]).name
    executed.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def command_run(args) -> int:
    if args.all == (args.chapter is not None):
        raise ReprobookError("name one chapter, or --all for every chapter")
    chapters = list(all_chapters().values()) if args.all else [get_chapter(args.chapter)]
    tier = check_tier("full" if args.from_store else args.tier or "smoke")
    if args.from_store and args.tier not in ("full", None):
        raise ReprobookError("--from-store re-executes the full tier; leave out --tier or give --tier full")
    if not args.from_store:
        from .device import resolve_device

        resolve_device(args.device)
    seeds = parse_seeds(args.seeds)
    extra = parse_parameters(args.parameter)
    if args.notebook is not None and (args.all or args.notebook not in chapters[0].notebooks):
        raise ReprobookError(f"chapter {chapters[0].id} has no notebook {args.notebook!r}; its notebooks: "
                             f"{', '.join(chapters[0].notebooks)}" if not args.all else "--notebook needs one chapter, not --all")
    if args.engine == "ray":
        from .cluster import ADDRESS_ENV, ENGINE_ENV, check_address

        if args.from_store:
            raise ReprobookError("--from-store trains nothing; leave out --engine ray")
        address = args.address or os.environ.get("RAY_ADDRESS")
        if not address:
            raise ReprobookError("--engine ray needs the cluster head's --address HOST:PORT (or RAY_ADDRESS)")
        check_address(address)
        os.environ[ENGINE_ENV], os.environ[ADDRESS_ENV] = "ray", address
    elif args.address:
        raise ReprobookError("--address names a Ray cluster; give it with --engine ray")
    failures, written = [], []
    for chapter in chapters:
        notebooks = chapter.notebooks if args.notebook is None else [args.notebook]
        if args.output_dir:
            output_dir = Path(args.output_dir).resolve()
        elif tier == "full":
            output_dir = chapter.folder
        else:
            output_dir = repo_root() / "_build" / "smoke" / chapter.id
        output_dir.mkdir(parents=True, exist_ok=True)
        written.append(output_dir)
        if args.from_store:      # the chapter's committed seeds, and an error for any that is missing
            from .runs import FROM_STORE_ENV, RUNS_ENV

            os.environ[RUNS_ENV], os.environ[FROM_STORE_ENV] = str(chapter.folder / "runs"), "1"
            try:
                failures += execute(chapter, notebooks, tier, args.device, seeds, extra, output_dir, args.verbose, True)
            except ReprobookError as error:
                failures.append(error)
        elif args.engine == "ray":       # the notebooks' seeds as Ray tasks, with one progress bar here
            from .cluster import PROGRESS_ENV, ProgressBar

            progress = output_dir / ".cluster-progress.jsonl"
            os.environ[PROGRESS_ENV] = str(progress)
            try:
                with ProgressBar(progress):
                    failures += execute(chapter, notebooks, tier, args.device, seeds, extra, output_dir, args.verbose, False)
            finally:
                progress.unlink(missing_ok=True)
        else:
            failures += execute(chapter, notebooks, tier, args.device, seeds, extra, output_dir, args.verbose, False)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if failures:       # missing seeds or data, a bad parameter: exit 2, like any bad input; a failed cell: 1
        return 2 if all(isinstance(f, ReprobookError) for f in failures) else 1
    print("done: record(s) in " + ", ".join(dict.fromkeys(
        os.path.relpath(folder / "records", Path.cwd()) for folder in written)))
    return 0


def command_new(args) -> int:
    from .scaffold import new_chapter

    root = repo_root()
    for path in new_chapter(args.chapter, args.title, args.bibtex_key, root):
        print(f"wrote {path.relative_to(root)}")
    print(f"next: fill in replications/{args.chapter}/claims.yaml and the notebook (CONTRIBUTING.md, 'The chapter contract')")
    return 0


def command_rekey(args) -> int:
    from .rekey import rekey

    chapter = get_chapter(args.chapter)
    renamed = dict(item.split("=", 1) for item in args.renamed or [])
    moved, refused = rekey(chapter.folder / "runs", renamed, dry_run=args.dry_run)
    print(f"{chapter.id}: {len(moved)} file(s) {'would move' if args.dry_run else 'moved'} to their current key, "
          f"{len(refused)} not provably made by today's training code")
    for line in refused:
        print(f"  kept: {line}")
    return 1 if refused else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reprobook", description="Neural Network Papers, Replicated")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="chapters, their claims and current verdicts").set_defaults(handler=command_list)
    run = commands.add_parser("run", help="execute a chapter's notebooks with papermill and write its record")
    run.add_argument("chapter", nargs="?")
    run.add_argument("--all", action="store_true", help="every chapter")
    run.add_argument("--from-store", action="store_true",
                     help="re-execute the committed full tier from the chapter's committed seeds (replications/CHAPTER/runs), "
                          "with the parameters it was executed with (before a chapter's first record: the tier's "
                          "defaults on --device); fails, naming them, when seeds are missing")
    run.add_argument("--tier", default=None, help=f"one of {', '.join(TIERS)} (default: smoke; full with --from-store)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--notebook", help="run only this one of the chapter's notebooks (default: all of them)")
    run.add_argument("--seeds", help="seeds to run, e.g. 0-99 or 0,1,5 (default: the tier's)")
    run.add_argument("--parameter", "-p", action="append", metavar="NAME=VALUE",
                     help="another of the notebook's parameters, VALUE as YAML, e.g. -p sizes=[1,8,64]")
    run.add_argument("--output-dir", help="where the executed notebook, records/ and figures/ go "
                                          "(default: the chapter folder for full, _build/smoke/CHAPTER for smoke)")
    run.add_argument("--verbose", action="store_true", help="stream the notebooks' output (training progress) here")
    run.add_argument("--engine", choices=ENGINES, default="local",
                     help="where seeds train: local (this process, one batch after another) or ray (each batch a "
                          "task on the Ray cluster at --address; finished seeds come back to this machine's run store)")
    run.add_argument("--address", help="with --engine ray: the cluster head's HOST:PORT (default: $RAY_ADDRESS)")
    run.set_defaults(handler=command_run)
    new = commands.add_parser("new", help="start a chapter: its files, with the book's table of contents, catalogue and a test")
    new.add_argument("chapter", help="the chapter's id: a lower-case Python identifier, e.g. lottery_ticket")
    new.add_argument("--title", required=True, help="the paper's title, as printed")
    new.add_argument("--bibtex-key", required=True, help="the paper's key in book/references.bib (add its entry there first)")
    new.set_defaults(handler=command_new)
    rekey = commands.add_parser("rekey", help="after a refactoring, file a chapter's committed seeds under the key of "
                                              "today's training code, where it provably made them")
    rekey.add_argument("chapter")
    rekey.add_argument("--renamed", action="append", metavar="OLD=NEW",
                       help="a training module renamed since, e.g. replications/gat/protocol.py=replications/gat/gat_protocol.py")
    rekey.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")
    rekey.set_defaults(handler=command_rekey)
    verify = commands.add_parser("verify", help="compare records with claims; fail on a stale or missing record")
    verify.add_argument("chapter", nargs="?")
    verify.set_defaults(handler=command_verify)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ReprobookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished seeds are kept in the run store; run again to continue", file=sys.stderr)
        return 130
