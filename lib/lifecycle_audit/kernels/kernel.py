"""One kernel a worker starts once and keeps for the stages it executes in turn, made fresh before each stage.

Starting a kernel and importing the workbook's libraries in it took about 2 s of every stage (7 kernels per
run). A worker now starts one kernel, warms its imports, and hands it to papermill for each stage (`km=`: nbclient
never shuts down a kernel manager it does not own). Before each stage the kernel is made fresh (FRESH below): a new
user namespace and execution counts from 1 (IPython's reset with a new session), the library's own modules
forgotten so that module-level state (a patched check, the workbook's run settings) never reaches the next stage,
the "lifecycle_audit" logger's handlers closed, pyplot's figures closed, the environment as the kernel started
with plus the stage's log, and the stage's working directory. A kernel whose stage did not end cleanly (it died,
a cell timed out) is never reused.

The kernel's stdout and stderr go to a file of the worker (removed from the folder at once, kept open); after each
stage the new bytes are moved into that stage's log. Worker side only: imported by workers, never by the runner's
process at its top (jupyter_client and zmq are imported lazily here).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import tempfile
import time
from collections.abc import Callable
from typing import Any

KERNEL = "python3"

# Imported once when a kernel starts, so that no stage's first cell waits for them: the workbook and what its
# notebooks import (the metrics modules). The charts (seaborn, matplotlib, and scipy through seaborn: about 2.5 s of
# CPU) are not: they load with the first chart a kernel has to draw, and a run whose charts an earlier run drew
# (report/chart_cache.py) never loads them.
WARM = """
def __lifecycle_audit_warm():
    import importlib, os, pkgutil
    import lifecycle_audit.health, lifecycle_audit.metrics, lifecycle_audit.workbook
    for m in pkgutil.iter_modules(lifecycle_audit.metrics.__path__):
        importlib.import_module("lifecycle_audit.metrics." + m.name)
    get_ipython()._lifecycle_audit = {"env": dict(os.environ)}
__lifecycle_audit_warm()
del __lifecycle_audit_warm
"""

# Run silently before each stage (no execution count, no output): the kernel as a new one would be.
FRESH = """
def __lifecycle_audit_fresh(cwd, log_name, log):
    import gc, logging, os, sys
    shell = get_ipython()
    kept = shell._lifecycle_audit
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
    # The library's modules are imported afresh by the stage (also after the warm-up, so that the modules' objects
    # made before the freeze below are never left frozen once forgotten).
    for name in [m for m in sys.modules if m == "lifecycle_audit" or m.startswith("lifecycle_audit.")]:
        del sys.modules[name]
    shell.reset(new_session=True)
    # The reset collects garbage before it clears the namespace: the last stage's objects (its DuckDB connection)
    # are collected here. What survives is the kernel's own and the libraries' (their modules, caches): frozen,
    # the collections that follow (the reset's at the next stage, the automatic ones while a stage runs) skip its
    # some 150,000 objects instead of walking them every time (about 0.3 s per reset alone).
    gc.collect()
    gc.freeze()
    # The memory the last stage freed goes back to the system (Arrow's pool and glibc keep it otherwise): a kept
    # kernel would hold its largest stage's memory through every later stage.
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass
    logger = logging.getLogger("lifecycle_audit")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True
    os.environ.clear()
    os.environ.update(kept["env"])
    if log:
        os.environ[log_name] = log
    os.chdir(cwd)
__lifecycle_audit_fresh({cwd}, {log_name}, {log})
"""


class KernelFailed(RuntimeError):
    """The kernel died, did not answer in time, or the code run to warm or refresh it raised."""


class Kernel:
    """A kernel started by this worker: its manager (handed to papermill), one client kept for its life, and the
    file its stdout and stderr go to."""

    def __init__(self, km: Any, kc: Any, out: Any) -> None:
        self.km = km
        self.kc = kc
        self.out = out  # file descriptor: the kernel's stdout and stderr
        self.read = 0  # bytes of `out` already moved into a stage's log

    @property
    def id(self) -> str:
        """The kernel's id (jupyter_client's uuid): one per started kernel."""
        return str(self.km.kernel_id)

    @classmethod
    def start(cls, cwd: str, timeout: float, said: Callable[[bytes], Any] | None = None) -> Kernel:
        """Start a kernel in `cwd`, wait until it answers and warm its imports (KernelFailed, or jupyter_client's
        RuntimeError when it died while starting); what a kernel that failed to start printed goes to `said`."""
        from jupyter_client.manager import AsyncKernelManager  # noqa: PLC0415 - workers only
        from jupyter_core.utils import run_sync  # noqa: PLC0415 - workers only

        fd, name = tempfile.mkstemp(prefix="lifecycle-audit-kernel-", suffix=".log")
        os.close(fd)
        # Appending: the kernel's writes go to the end whatever this process reads (they share the descriptor).
        out = os.open(name, os.O_RDWR | os.O_APPEND)
        # Nothing left behind whatever happens to this process; the open file stays (a system that cannot remove
        # an open file keeps it in its temp folder).
        with contextlib.suppress(OSError):
            os.unlink(name)
        km = AsyncKernelManager(kernel_name=KERNEL)
        kernel = cls(km, None, out)
        try:
            # History in memory, as nbclient starts its kernels: not the user's history file, shared and locked.
            extra = ["--HistoryManager.hist_file=:memory:"]
            run_sync(km.start_kernel)(cwd=cwd, stdout=out, stderr=out, extra_arguments=extra)
            kc = km.client()
            kc.start_channels()
            kernel.kc = kc
            run_sync(kc.wait_for_ready)(timeout=timeout)
            # nbclient starts the channels of the client it is given; ours are started already and stay so.
            kc.start_channels = _started
            km.client = lambda **_: kc  # papermill's client for each stage is this one
            kernel.run(WARM, timeout)
        except BaseException:
            if said is not None and (printed := kernel.output()):
                said(printed)
            kernel.stop()
            raise
        return kernel

    def run(self, code: str, timeout: float) -> None:
        """Execute `code` silently (no execution count, no output) and wait for its reply."""
        from jupyter_core.utils import run_sync  # noqa: PLC0415 - workers only

        run_sync(self._run)(code, timeout)

    async def _run(self, code: str, timeout: float) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelFailed(f"the kernel did not answer within {timeout:g} seconds")
            try:
                msg = await self.kc.get_shell_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not await self.km.is_alive():
                    raise KernelFailed("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # an answer to a request of an earlier stage
            content = msg["content"]
            if content.get("status") != "ok":
                raise KernelFailed(f"{content.get('ename')}: {content.get('evalue')}")
            return

    def freshen(self, cwd: str, log_name: str, log: str | None, timeout: float) -> None:
        """Make the kernel as a new one would be for the next stage (FRESH), in `cwd`, its log named in the
        environment variable `log_name`."""
        code = FRESH.replace("{cwd}", json.dumps(cwd)).replace("{log_name}", json.dumps(log_name))
        self.run(code.replace("{log}", json.dumps(log or "")), timeout)

    def output(self) -> bytes:
        """What the kernel wrote to its stdout and stderr since the last call."""
        chunks = []
        while chunk := os.pread(self.out, 1 << 20, self.read):
            chunks.append(chunk)
            self.read += len(chunk)
        return b"".join(chunks)

    def alive(self) -> bool:
        """Whether the kernel's process is still running."""
        from jupyter_core.utils import run_sync  # noqa: PLC0415 - workers only

        return bool(run_sync(self.km.is_alive)())

    def stop(self) -> None:
        """Stop the kernel at once (its stages are over or it cannot be trusted), its channels and its file."""
        from jupyter_core.utils import run_sync  # noqa: PLC0415 - workers only

        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is gone already is what we want
            pass
        finally:
            os.close(self.out)


def _started(*_: Any, **__: Any) -> None:
    """The channels of a kept kernel's client are started once, when the kernel starts."""
