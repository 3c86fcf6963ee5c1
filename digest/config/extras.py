"""The command that installs one of digest's extras (``meaning``) into the environment this digest runs in.

``pip install 'digest[meaning]'`` is not it: ``digest`` on PyPI is another
project, and a bare ``pip`` may be outside the virtual environment. So the
command is this interpreter's pip, given digest's own source when it was
installed from a folder or a wheel on this machine (as ``make setup`` and
``pip install /path/to/digest`` do), else the extra's requirements by name, as
this installation's metadata lists them.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

DISTRIBUTION = "digest"


def install_command(extra: str) -> str:
    """A complete command that installs ``extra`` into the environment running this digest."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    # Every copy of digest's metadata on the path: run from its source folder, the folder's own digest.egg-info
    # (which an editable build leaves there, with no record of the install) comes before the environment's.
    copies = list(importlib.metadata.distributions(name=DISTRIBUTION))
    found = copies[0] if copies else None
    source = next((where for where in map(_local_source, copies) if where is not None), None)
    if source is not None:
        path, editable = source
        return f"{pip} {'-e ' if editable else ''}{shlex.quote(f'{path}[{extra}]')}"
    wanted = _requirements(found, extra) if found is not None else []
    if wanted:
        return f"{pip} {' '.join(shlex.quote(requirement) for requirement in wanted)}"
    checkout = Path(__file__).resolve().parents[2]  # run from a source tree that was never installed (digest/config/ here)
    return f"{pip} -e {shlex.quote(f'{checkout}[{extra}]')}"


def _local_source(found: importlib.metadata.Distribution) -> tuple[str, bool] | None:
    """The folder or wheel on this machine digest was installed from (PEP 610's direct_url.json), and whether
    it was installed editable; None when it came from an index."""
    try:
        recorded = json.loads(found.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(recorded, dict) or not str(recorded.get("url", "")).startswith("file://"):
        return None
    path = Path(unquote(urlsplit(str(recorded["url"])).path))
    if not path.exists():
        return None
    editable = bool((recorded.get("dir_info") or {}).get("editable"))
    return str(path), editable


def _requirements(found: importlib.metadata.Distribution, extra: str) -> list[str]:
    """The requirements ``extra`` adds, as the installed metadata lists them (``onnxruntime>=1.17``…)."""
    marker = f'extra == "{extra}"'
    return [requirement.split(";")[0].strip() for requirement in found.requires or () if marker in requirement]


__all__ = ["install_command"]
