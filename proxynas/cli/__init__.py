"""The `proxynas` command line: parse options, call the library, print a table or --json.

One module per command group; importing them registers their commands on `cli`.
"""

from proxynas.cli import data_commands, model_commands, scoring_commands, search_commands  # noqa: F401
from proxynas.cli.common import cli, main

__all__ = ["cli", "main"]
