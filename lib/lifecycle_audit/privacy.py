"""Privacy: stable pseudonyms for customer identifiers, and the last scrub of every file a run writes.

Three rules hold for everything in a run folder (pages, CSVs, findings, notebooks, logs):
- a customer identifier appears only as a stable pseudonym ("cust-" and 10 hex digits, a keyed hash:
  the same customer gets the same pseudonym in every run on this machine, and nobody without the key
  can go back from the pseudonym to the identifier);
- an e-mail address appears only masked ("j***@example.com");
- the value of a credential given through the environment never appears (replaced by "[secret removed]"), nor
  any run of 12 of its characters (a value cut short, a chart label);
- free text in tables (evidence, rejected values) shows phone numbers and IBAN-like numbers starred out.

Checks and the report apply the first two where they build tables (`pseudonymise_frame`); `scrub_run_folder`
is the safety net the runner passes over the whole folder at the end, whatever a notebook printed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from . import paths

KEY_ENV = "LIFECYCLE_AUDIT_PSEUDONYM_KEY"
KEY_FILE = paths.CACHE / "pseudonym.key"
PSEUDONYM = re.compile(r"^cust-[0-9a-f]{10}$")
SECRET_REMOVED = "[secret removed]"

# Columns whose values identify a person. Identifier columns get pseudonyms; name and e-mail columns too
# (a name is never evidence of anything).
ID_COLUMNS = frozenset(
    {
        "customer_id",
        "anonymous_id",
        "referrer_id",
        "referred_customer_id",
        "customer",
        "user_id",
        "email",
        "e_mail",
        "email_address",
        "mail",
        "name",
        "first_name",
        "last_name",
        "full_name",
        "customer_name",
        "phone",
        "phone_number",
    }
)

EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")

# Environment variables whose value is a credential: by name ...
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|PWD$|_PASS$|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|"
    r"CREDENTIAL|AUTH|DSN|CONNECTION|CONN_?STR|DATABASE_URL|WAREHOUSE_URL)",
    re.I,
)
# ... or by shape: a URL with a password in it.
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)
_NOT_SECRET = frozenset(
    {
        "PWD",
        "OLDPWD",
        "PATH",
        "HOME",
        "SHELL",
        "USER",
        "LOGNAME",
        "TERM",
        "LANG",
        "XDG_RUNTIME_DIR",
        "SSH_AUTH_SOCK",
        "GPG_AGENT_INFO",
    }
)
_MIN_SECRET = 6  # shorter values ("1", "true") would blank out ordinary text


# ---------------------------------------------------------------- pseudonyms


def _key() -> bytes:
    """The pseudonym key: LIFECYCLE_AUDIT_PSEUDONYM_KEY, else a random key kept in .cache/ (made on first use)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    try:
        return KEY_FILE.read_bytes()
    except FileNotFoundError:
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        key = _secrets.token_hex(32).encode("ascii")
        tmp = KEY_FILE.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(key)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, KEY_FILE)  # the first writer wins; a parallel one reads its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return KEY_FILE.read_bytes()


def pseudonym(value: Any) -> str:
    """A customer identifier's stable pseudonym, e.g. "cust-3fa9c01b2e"; a pseudonym is returned unchanged."""
    text = str(value)
    if PSEUDONYM.match(text):
        return text
    return "cust-" + hmac.new(_key(), text.encode("utf-8"), hashlib.sha256).hexdigest()[:10]


def mask_emails(text: str) -> str:
    """Every e-mail address in `text` as "j***@example.com"."""
    return EMAIL.sub(r"\1***@\2", text)


# A phone number in free text: an international (+, 00) or national (0) prefix, then at least 8 digits in all,
# grouped by spaces, dashes, slashes or brackets. Amounts never start with 0 or + and carry dots or commas.
PHONE = re.compile(r"(?<![\w+])(?<!\d[.,])(?:\+|0)\d(?:[ \-/()]{0,2}\d){7,16}(?!\w|[.,]\d)")
# An IBAN-like account number: country letters, two check digits, 11 to 30 letters and digits (maybe grouped).
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


def _starred(m: re.Match) -> str:
    """The match with every letter and digit but the first two and the last two starred out."""
    text = m.group(0)
    inner = re.sub(r"[A-Za-z0-9]", "*", text[2:-2])
    return text[:2] + inner + text[-2:]


_DATE_LIKE = re.compile(r"\d{2}([-/])\d{2}\1\d{4}|\d{4}([-/])\d{2}\2\d{2}")


def _phone(m: re.Match) -> str:
    """A phone number starred out; a date that looks like one (01-03-2025) left alone."""
    return m.group(0) if _DATE_LIKE.fullmatch(m.group(0)) else _starred(m)


def mask_text(text: str) -> str:
    """Free text fit to leave the machine: e-mail addresses, phone numbers and IBAN-like numbers masked."""
    return PHONE.sub(_phone, IBAN.sub(_starred, mask_emails(text)))


def is_personal(column: Any) -> bool:
    name = str(column).strip().lower().replace(" ", "_").replace("-", "_")
    return name in ID_COLUMNS or name.endswith("customer_id") or name.endswith("_email")


def pseudonymise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy fit to leave the machine: personal columns as pseudonyms, e-mail addresses in text masked."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if is_personal(col):
            out[col] = s.map(lambda v: v if v is None or (not isinstance(v, str) and pd.isna(v)) else pseudonym(v))
        elif pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(lambda v: mask_text(v) if isinstance(v, str) else v)
    return out


def pseudonymise_records(records: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The same on a table stored as records (findings.json)."""
    if not records:
        return records
    out = []
    for row in records:
        out.append(
            {
                k: (pseudonym(v) if v is not None and is_personal(k) else mask_text(v) if isinstance(v, str) else v)
                for k, v in row.items()
            }
        )
    return out


# ---------------------------------------------------------------- secrets from the environment


def secret_values(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> list[str]:
    """The values of environment variables that hold credentials: those named in `names` (e.g. the params'
    engine.connection_env), those whose name says so (…_TOKEN, …_PASSWORD, …_DSN, …) and URLs with a password.
    Longest first, so a secret containing another is replaced whole."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name in names:
        if name and env.get(name):
            found.add(env[name])
    for name, value in env.items():
        if not value or name in _NOT_SECRET or name == KEY_ENV:
            continue
        if _SECRET_NAME.search(name) or _URL_WITH_PASSWORD.match(value):
            found.add(value)
    if env.get(KEY_ENV):
        found.add(env[KEY_ENV])
    return sorted((v for v in found if len(v) >= _MIN_SECRET), key=len, reverse=True)


# ---------------------------------------------------------------- the last pass over a run folder


def known_ids(tables_dir: str | os.PathLike | None) -> set[str]:
    """Customer identifiers of the prepared tables (customers.customer_id), as text, to find them anywhere."""
    if not tables_dir:
        return set()
    file = Path(tables_dir) / "customers.parquet"
    if not file.is_file():
        return set()
    try:
        column = pq.read_table(file, columns=["customer_id"]).column("customer_id")
    except Exception:  # noqa: BLE001 # pragma: no cover - a prepared table is readable
        return set()
    return {str(v) for v in column.to_pylist() if v is not None and _findable(str(v))}


def _findable(value: str) -> bool:
    """Ids worth replacing wherever they occur: not a short number (that would also hit counts and years)."""
    return len(value) >= 6 if value.isdigit() else len(value) >= 3


_TOKEN = re.compile(
    r"(data:[a-z0-9.+/-]+;base64,[A-Za-z0-9+/=]+)|([A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]|[A-Za-z0-9])", re.I
)


# A secret is also removed in part: any run of this many of its characters, wherever it occurs (an example value
# cut to 40 characters with "…", a chart label, a line of a log).
FRAGMENT = 12
_BLOCK = (FRAGMENT + 1) // 2  # every run of FRAGMENT characters holds one of the secret's blocks of this length


def _forms(secret: str) -> set[str]:
    """The secret as written, and as a page (HTML-escaped) or a JSON file (escaped) would hold it."""
    return {secret, html.escape(secret), html.escape(secret, quote=False), json.dumps(secret)[1:-1]}


def _fragment_spans(text: str, secret: str) -> list[tuple[int, int]]:
    """(start, end) of every run of at least FRAGMENT characters of `secret` in `text`, merged."""
    blocks = {secret[i : i + _BLOCK] for i in range(0, len(secret) - _BLOCK + 1, _BLOCK)}
    blocks.add(secret[-_BLOCK:])
    spans: list[tuple[int, int]] = []
    for m in re.finditer("|".join(re.escape(b) for b in sorted(blocks, key=len, reverse=True)), text):
        if spans and m.start() < spans[-1][1]:
            continue
        best = (m.start(), m.start())
        at = secret.find(m.group(0))
        while at >= 0:
            left = right = 0
            while m.start() - left > 0 and at - left > 0 and text[m.start() - left - 1] == secret[at - left - 1]:
                left += 1
            while (
                m.end() + right < len(text)
                and at + _BLOCK + right < len(secret)
                and text[m.end() + right] == secret[at + _BLOCK + right]
            ):
                right += 1
            if m.end() + right - (m.start() - left) > best[1] - best[0]:
                best = (m.start() - left, m.end() + right)
            at = secret.find(m.group(0), at + 1)
        if best[1] - best[0] >= FRAGMENT:
            spans.append(best)
    return spans


def remove_secrets(text: str, secrets: Iterable[str]) -> str:
    """Each secret removed whole, and any run of FRAGMENT or more of its characters (in its written and escaped
    forms), as SECRET_REMOVED."""
    for s in secrets:
        for form in _forms(s):
            if form in text:
                text = text.replace(form, SECRET_REMOVED)
            if len(form) >= FRAGMENT:
                for start, end in reversed(_fragment_spans(text, form)):
                    text = text[:start] + SECRET_REMOVED + text[end:]
    return text


def scrub_text(text: str, secrets: Iterable[str] = (), ids: set[str] | frozenset[str] = frozenset()) -> str:
    """Secrets removed (whole or in runs of FRAGMENT characters), e-mail addresses masked, raw customer ids
    replaced by their pseudonyms."""
    text = remove_secrets(text, secrets)
    text = mask_emails(text)
    if ids:

        def swap(m: re.Match) -> str:
            if m.group(1):  # an embedded image: left alone
                return m.group(1)
            token = m.group(2)
            if token in ids:
                return pseudonym(token)
            # "C000123." or "C000123:" - trailing punctuation caught by the token pattern
            stripped = token.rstrip(".:")
            if stripped != token and stripped in ids:
                return pseudonym(stripped) + token[len(stripped) :]
            return token

        text = _TOKEN.sub(swap, text)
    return text


SCRUBBED_SUFFIXES = (".html", ".htm", ".json", ".csv", ".ipynb", ".log", ".txt", ".md", ".svg")


def scrub_run_folder(
    run_dir: str | os.PathLike,
    secrets: Iterable[str] = (),
    ids: set[str] | frozenset[str] = frozenset(),
    done: dict[Path, bytes] | None = None,
) -> list[Path]:
    """Scrub every text file of the run folder in place; returns the files that changed. `done` (see scrub_files):
    a file scrubbed before and unchanged since is not scrubbed again."""
    files = [f for f in sorted(Path(run_dir).rglob("*")) if f.is_file() and f.suffix.lower() in SCRUBBED_SUFFIXES]
    return scrub_files(files, secrets, ids, done)


def scrub_files(
    files: Iterable[str | os.PathLike],
    secrets: Iterable[str] = (),
    ids: set[str] | frozenset[str] = frozenset(),
    done: dict[Path, bytes] | None = None,
) -> list[Path]:
    """Scrub each of `files` (that exists) in place; returns the files that changed.

    done: the files scrubbed so far, each with a digest of its bytes after scrubbing. A file that still has those
    bytes is not scrubbed again, and every file scrubbed here is added: a run scrubs each stage's notebook and page
    as the stage ends, while the other stages run, and its last pass over the folder scrubs only what changed since
    (it scrubbed the whole folder twice at the end of every run, 0.5 s each for the demo shop; reading and hashing
    a file is a small part of scrubbing it)."""
    secrets = list(secrets)
    changed = []
    for file in map(Path, files):
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            continue
        digest = _digest(data) if done is not None else None
        if digest is not None and done.get(file) == digest:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new = scrub_text(text, secrets, ids)
        if new != text:
            data = new.encode("utf-8")
            file.write_bytes(data)
            changed.append(file)
            digest = _digest(data) if done is not None else None
        if done is not None:
            done[file] = digest
    return changed


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
