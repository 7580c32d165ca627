"""What every command shares: the one-line-error group, common options, tables, JSON, progress."""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from pathlib import Path

import click

from proxynas.errors import ProxynasError


class Registered(click.ParamType):
    """A name from one of the library's registries, imported only when the option is used or shown (so
    `proxynas --help` stays fast); the value becomes the registry's canonical name, and an unknown name
    is a one-line error that lists the valid ones."""

    name = "name"

    def __init__(self, module: str, names: str, resolve: str):
        self.module, self.names, self.resolve = module, names, resolve

    def _registry(self):
        return importlib.import_module(self.module)

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(getattr(self._registry(), self.names)()) + "]"

    def convert(self, value, param, ctx):
        try:
            resolved = getattr(self._registry(), self.resolve)(value)
        except ProxynasError as exc:
            self.fail(str(exc), param, ctx)
        return getattr(resolved, "name", resolved)


dataset_option = click.option("--dataset", "--task", "dataset",
                              type=Registered("proxynas.tasks", "task_names", "get_task"), default="cifar10",
                              show_default=True, help="The task (dataset) of the space's benchmark, e.g. cifar10 or "
                              "ImageNet16-120 on nb201, segmentsemantic on tnb101.")


def _device(ctx, param, value):
    from proxynas.devices import resolve_device

    try:
        return resolve_device(value)
    except ProxynasError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


device_option = click.option("--device", default="auto", show_default=True, callback=_device,
                             help="auto (CUDA if present, else Apple mps, else cpu), cpu, cuda, cuda:N or mps.")
space_option = click.option("--space", type=Registered("proxynas.spaces.base", "space_names", "get_space"),
                            default="nb201", show_default=True, help="The search space.")


def _writable(ctx, param, value):
    """Check an output path before any work: its folder exists and takes a new file (a test file is made and
    removed), so a long fit or scoring run never fails only at the end."""
    if value is None:
        return value
    folder = Path(value).resolve().parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".proxynas-write-test-"):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot write to {value} ({exc.strerror or exc})", ctx, param) from None
    return value


def output_path(*names: str, **options):
    """An option naming a file the command writes, checked to be writable at start-up."""
    return click.option(*names, type=click.Path(path_type=Path, dir_okay=False), callback=_writable, **options)


MAX_SEED = 2 ** 32 - 1  # seeds feed numpy, torch and XGBoost, plus small offsets: this range suits all three


def seed_option(help_text: str):
    """`--seed`, checked to be in 0..2^32-1 (one clear line otherwise)."""
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help=help_text)


quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


class OneLineErrors(click.Group):
    """A click group whose user errors print one line on stderr and exit with code 2, no traceback."""

    def main(self, args=None, prog_name=None, **extra):
        extra["standalone_mode"] = False
        try:
            code = super().main(args, prog_name, **extra)
        except (ProxynasError, click.ClickException, OSError) as exc:
            message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
            click.echo(f"proxynas: error: {' '.join(message.split())}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("proxynas: aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def echo_table(rows: list[dict], columns: list[str]) -> None:
    """Print rows as an aligned text table (floats with 2 decimals)."""
    cells = [[f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    for line in [columns, *cells]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, allow_nan=True))


MAX_LINE_BYTES = 4096  # an architecture line longer than this is not one
MAX_LINES = 1_000_000  # more than any benchmark has cells


def read_lines(source: str) -> list[str]:
    """The non-blank stripped lines of a file, or of stdin for '-': UTF-8, bounded in line length and
    count, so a binary file, a closed stdin or an endless stream (/dev/zero) is one clear error."""
    if source == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise ProxynasError("stdin is closed: give the architectures as arguments or in a file")
        return _bounded_lines(sys.stdin.buffer, "stdin")
    with open(source, "rb") as handle:
        return _bounded_lines(handle, source)


def _bounded_lines(handle, name: str) -> list[str]:
    lines = []
    for number in range(1, MAX_LINES + 2):
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return lines
        if number > MAX_LINES:
            raise ProxynasError(f"{name} has more than {MAX_LINES:,} lines")
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise ProxynasError(f"{name}: line {number} is longer than {MAX_LINE_BYTES} bytes (not an architecture)")
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ProxynasError(f"{name}: line {number} is not UTF-8 text") from None
        if line:
            lines.append(line)
    return lines


def read_tokens(tokens: tuple[str, ...]) -> list[str]:
    """Architecture tokens from the command line; '-' reads more, one per line, from stdin."""
    result = []
    for token in tokens:
        result.extend(read_lines("-") if token == "-" else [token])
    if not result:
        raise ProxynasError("no architectures given")
    return result


@click.group(cls=OneLineErrors)
@click.version_option(package_name="proxynas")
def cli():
    """proxynas: training-free neural architecture search over NAS benchmarks."""


class progress_bar:
    """A click progress bar on stderr fed by the library's (done, total) callback; silent if quiet.
    `activity(label)` is a second callback whose (done, total) is shown after the bar until it completes:
    work between two steps of the bar, such as the candidates a search scores between two trainings. The bar
    appears at the first report (of either), so an error before any work stays one line."""

    def __init__(self, quiet: bool, label: str, length: int | None = None):
        self.quiet, self.label, self.length, self.bar, self.shown = quiet, label, length, None, 0

    def __enter__(self):
        return None if self.quiet else self.update

    def update(self, done: int, total: int) -> None:
        self._start(total)
        self.bar.update(done - self.shown)
        self.shown = done

    def _start(self, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=lambda item: item)
            self.bar.__enter__()

    def activity(self, label: str):
        """The callback for the side activity `label` (None if quiet); needs the bar's `length`."""
        def show(done: int, total: int) -> None:
            self._start(self.length)
            self.bar.current_item = f"{label} {done}/{total}" if done < total else None
            self.bar.render_progress()

        return None if self.quiet else show

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


def finite_or_none(value: float):
    return value if value == value and abs(value) != float("inf") else None


def main() -> None:
    cli(prog_name="proxynas")
