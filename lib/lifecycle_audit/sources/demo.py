"""The demo shop: generated into params.data_path when params.demo asks for one and it is missing or stale."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from filelock import FileLock

from .. import synth
from ..errors import ParamsError
from .messages import display
from .model import Progress

DEMO_STAMP = ".demo.json"


def _demo_stamp(params) -> dict[str, Any]:
    """What a generated shop was made from: the params' demo settings and the generator's own code, so a
    changed generator (a new planted mistake) or changed settings make a fresh shop, never a stale one."""
    digest = hashlib.sha256()
    for module in sorted(Path(synth.__file__).parent.glob("*.py")):  # every module of the generator package
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    code = digest.hexdigest()[:16]
    return {**params.demo.model_dump(mode="json"), "generator": code}


def _current_stamp(stamp_file: Path) -> dict[str, Any] | None:
    try:
        return json.loads(stamp_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_demo_data(params, progress: Progress = None) -> bool:
    """Generate the demo shop into params.data_path when params.demo is set and a source file is missing,
    or the shop there was made by other settings or another version of the generator.

    Returns True if it generated.
    """
    if params.demo is None:
        return False
    # Two processes may ask at once (chapters run side by side in JupyterLab, notebooks tested in parallel): the
    # first generates, the others wait for it and then find the shop there, instead of writing the same files
    # at the same time. A lock file beside the folder, so the client's data folder holds only the shop.
    params.data_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(params.data_path.parent / f".{params.data_path.name}.lock"):
        return _generate_if_needed(params, progress)


def _generate_if_needed(params, progress: Progress) -> bool:
    stamp_file = params.data_path / DEMO_STAMP
    stamp = _demo_stamp(params)
    missing = [name for name in params.sources if not params.input_files(name)]
    current = _current_stamp(stamp_file)
    if not missing and current == stamp:
        return False
    demo = params.demo
    try:
        planted = synth.mistakes.fixed(demo.profile, demo.mistakes, demo.fix)
    except ValueError as err:  # a fix of a mistake the generator does not know, or did not plant
        raise ParamsError(f"{params.source_file or '<params>'}: demo.fix: {err}") from None
    if progress:
        why = "" if missing or current is None else " (the generator or its settings changed)"
        progress(
            f"generating the demo shop ({demo.customers:,} customers, seed {demo.seed}, {demo.profile}"
            f"{', fixed: ' + ', '.join(demo.fix) if demo.fix else ''}) "
            f"into {display(params.data_path)}{why}"
        )
    synth.write_generated(
        params.data_path, customers=demo.customers, seed=demo.seed, profile=demo.profile, mistakes=planted
    )
    stamp_file.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return True
