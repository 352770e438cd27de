"""A chapter as an analyst works with it: JupyterLab started as `make lab` starts it, 03_conversion.ipynb opened in
Chromium, its parameters cell pointed at a small shop, "Run All Cells", then the findings must show as cards and no
cell may have failed.

The server listens on a free localhost port with a token the test sets, opens no browser, and keeps its runtime,
settings, workspace and config files in a temporary folder (news and update checks off: nothing is fetched). The
kernel imports the library from this tree. LIFECYCLE_AUDIT_LAB_SCREENSHOT=<file.png> keeps a copy of the
screenshot taken after the run (for a review); it is always saved in the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lifecycle_audit import paths
from lifecycle_audit.workbook import VIEW_FAILED
from tests.kit.small_runs import write_params

pytestmark = pytest.mark.e2e
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

CHAPTER = "03_conversion.ipynb"
SHOP = {"customers": 200, "seed": 5, "profile": "planted"}  # the smallest shop the generator makes: seconds
START_TIMEOUT = 60  # seconds for the server to answer
RUN_TIMEOUT = 240  # seconds for the kernel to start and run every cell (shop generated on the way)
SCREENSHOT_ENV = "LIFECYCLE_AUDIT_LAB_SCREENSHOT"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chapter(folder: Path, params_file: Path) -> Path:
    """The chapter copied into `folder` with its parameters cell pointed at `params_file`, as an analyst would."""
    nb = nbformat.read(str(paths.NOTEBOOKS / CHAPTER), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("params_file = "))
    lines[at] = f"params_file = {str(params_file)!r}"
    cell.source = "\n".join(lines)
    path = folder / CHAPTER
    nbformat.write(nb, str(path))
    return path


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port serving a folder holding the chapter; yields (base url, token, chapter)."""
    root = tmp_path_factory.mktemp("lab")
    served = root / "notebooks"
    served.mkdir()
    chapter = _chapter(served, write_params(root, "lab-small", demo=SHOP))
    jupyter = {d: root / "jupyter" / d for d in ("runtime", "settings", "workspaces", "config", "data")}
    for d in jupyter.values():
        d.mkdir(parents=True)
    # The user's answer to "Would you like to get notified about official Jupyter news?": never, no update checks.
    notification = jupyter["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(paths.ROOT / "lib"), str(paths.ROOT), os.environ.get("PYTHONPATH", "")]),
        "JUPYTER_RUNTIME_DIR": str(jupyter["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter["workspaces"]),
        "JUPYTER_CONFIG_DIR": str(jupyter["config"]),
        "JUPYTER_DATA_DIR": str(jupyter["data"]),
    }
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={served}",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = root / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=served)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", proc, log)
        yield base, token, chapter
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Every code cell shows an execution count ("[7]:"): none is waiting ("[ ]:") or running ("[*]:").
ALL_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}"""


# A cell queued or running ("[*]:"), or every cell run: "Run All" was taken.
RUN_TAKEN = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
  .some(p => /^\\[(\\*|\\d+)\\]:$/.test(p.textContent.trim()))"""


def _run_all(page, attempts: int = 3) -> None:
    """Run > Run All Cells, as an analyst does. It acts on the notebook that has the focus, and a click that lands
    while JupyterLab is still laying out the page can be lost: then it is given again, up to `attempts` times."""
    for attempt in range(attempts):
        page.locator(".jp-Notebook .jp-CodeCell").first.click()
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(RUN_TAKEN, timeout=15_000, polling=250)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def test_a_chapter_runs_top_to_bottom_in_jupyterlab_and_shows_its_findings(lab, browser, tmp_path):
    base, token, chapter = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab/tree/{CHAPTER}?token={token}&reset", wait_until="domcontentloaded")
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
        idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
        idle.wait_for(timeout=60_000)  # the kernel has started
        _run_all(page)
        page.wait_for_function(ALL_RAN, timeout=RUN_TIMEOUT * 1000, polling=500)
        idle.wait_for(timeout=30_000)

        cards = page.locator(".jp-OutputArea-output article.la-finding")
        assert cards.count() >= 5, f"{cards.count()} finding cards shown"
        heading = page.locator(".jp-MarkdownCell h2", has_text="Findings").first
        heading.evaluate("h => h.scrollIntoView({block: 'start'})")  # the chapter's findings, from their heading
        assert cards.first.is_visible() and page.locator("details.la-findings > summary").first.is_visible()
        assert page.get_by_text("notified about official Jupyter news").count() == 0  # nothing is fetched, or asked
        text = page.locator(".jp-Notebook").text_content()
        assert "Traceback" not in text and VIEW_FAILED not in text
        assert page.locator(".jp-MarkdownCell h2", has_text="How far visits get").count() == 1  # prose, rendered

        shot = tmp_path / "lab.png"
        page.screenshot(path=str(shot))
        if os.environ.get(SCREENSHOT_ENV):
            shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])

        before = chapter.stat().st_mtime_ns
        page.keyboard.press("Control+s")  # the notebook as run, read back from disk
        deadline = time.monotonic() + 15
        while chapter.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert chapter.stat().st_mtime_ns != before, "the notebook was not saved"
    finally:
        page.close()
    ran = nbformat.read(str(chapter), as_version=4)
    code = [c for c in ran.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a code cell did not run"
    errors = [
        (i, o.get("ename"), o.get("evalue")) for i, c in enumerate(code) for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, f"cells with error output: {errors}"
    shown = [o for c in code for o in c.outputs if "la-finding" in str(o.get("data", {}).get("text/html", ""))]
    assert shown, "no finding card among the outputs"
