"""The live progress table of a run: each stage queued, running, done or failed, with its seconds.

On a terminal it is a rich Live table; elsewhere (CI, a pipe) one line is printed per change.
"""

from __future__ import annotations

import time

from rich.live import Live
from rich.table import Table


class Progress:
    """A live table: each stage queued, running, done or failed, with its seconds."""

    def __init__(self, names: list[str], console=None):
        self.names = names
        self.state = {n: "queued" for n in names}
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.live = None
        self.console = console
        if console is not None and console.is_terminal:
            self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def _render(self):
        colours = {"queued": "dim", "running": "yellow", "done": "green", "failed": "bold red"}
        table = Table(box=None, show_header=False, padding=(0, 2))
        now = time.time()
        for n in self.names:
            st = self.state[n]
            secs = self.seconds.get(n)
            if secs is None and n in self.started:
                secs = now - self.started[n]
            table.add_row(n, f"[{colours[st]}]{st}[/]", f"{secs:5.1f} s" if secs is not None else "")
        return table

    def set(self, name: str, state: str, at: float | None = None, seconds: float | None = None) -> None:
        """Show `name` in `state` (started at `at`, or finished after `seconds`)."""
        self.state[name] = state
        if state == "running":
            self.started[name] = at or time.time()
        if seconds is not None:
            self.seconds[name] = seconds
        if self.live is None and self.console is not None:  # not a terminal (CI, a pipe): one line per change
            secs = f" {seconds:.1f} s" if seconds is not None else ""
            self.console.print(f"  {name:<16} {state}{secs}", markup=False, highlight=False)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table (the running stages' seconds move on)."""
        if self.live is not None:
            self.live.update(self._render())

    def __enter__(self):
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(*exc)
