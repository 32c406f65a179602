"""The `mde-bot` command line (`main`): the subcommands, one module each where they are more
than a few lines (`extract`, `normalize`)."""

from bot.cli.main import main

__all__ = ["main"]
