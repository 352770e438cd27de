"""Catalog upkeep for whoever adds report text: list the msgids without a de/id translation, add some.

    .venv/bin/python tools/po.py missing > todo.json     # {msgid: {"de": "", "id": ""}} for every gap
    .venv/bin/python tools/po.py add todo.json           # after filling it in: append to both catalogs

`add` takes a lock on the catalogs, so several people adding text at once do not overwrite each other,
and skips msgids a catalog already has. The test that guards completeness is tests/test_i18n.py.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ("de", "id")


def _po(locale: str) -> Path:
    return ROOT / "lib" / "lifecycle_audit" / "locales" / locale / "LC_MESSAGES" / "messages.po"


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _f, _l, message, _c, _x in extract_from_dir(str(ROOT), method_map, options_map):
        found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def _translated(locale: str) -> set[str]:
    with _po(locale).open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id and m.string and not m.fuzzy}


def missing() -> dict[str, dict[str, str]]:
    have = {loc: _translated(loc) for loc in LOCALES}
    return {m: {loc: "" for loc in LOCALES} for m in sorted(_extracted()) if any(m not in have[loc] for loc in LOCALES)}


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def add(path: str) -> None:
    todo = json.loads(Path(path).read_text(encoding="utf-8"))
    lock = (ROOT / ".git" / "po.lock") if (ROOT / ".git").is_dir() else Path("/tmp/lifecycle-audit-po.lock")
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        for loc in LOCALES:
            have = _translated(loc)
            with _po(loc).open("rb") as f:
                present = {m.id for m in read_po(f) if m.id}
            text = _po(loc).read_text(encoding="utf-8").rstrip("\n")
            for msgid, tr in todo.items():
                if msgid in have or not tr.get(loc):
                    continue
                if msgid in present:
                    raise SystemExit(
                        f"{loc}: {msgid!r} is in the catalog with an empty or fuzzy translation; edit it there"
                    )
                text += f"\n\nmsgid {_quote(msgid)}\nmsgstr {_quote(tr[loc])}"
            _po(loc).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["missing"]:
        print(json.dumps(missing(), ensure_ascii=False, indent=1))
    elif sys.argv[1:2] == ["add"] and len(sys.argv) == 3:
        add(sys.argv[2])
    else:
        raise SystemExit(__doc__)
