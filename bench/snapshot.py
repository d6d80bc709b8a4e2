"""Run the code under test from a snapshot taken when the benchmark starts.

A full run takes minutes and the working tree may be edited meanwhile; an index written by
one version and searched by another measures nothing. So the application (``app``,
``search``, ``migrations``, ``importers``, ``alembic.ini``) is copied once into the run's
temporary directory; data generation, the index build, the profile (child processes, via
``call_in_snapshot``) and the server (``cwd`` = the snapshot) all import that copy.
"""

from __future__ import annotations

import hashlib
import importlib
import multiprocessing
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

CODE_DIRS = ("app", "search", "migrations", "importers")
CODE_FILES = ("alembic.ini",)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _files(root: Path) -> list[Path]:
    found = [root / name for name in CODE_FILES if (root / name).is_file()]
    for directory in CODE_DIRS:
        found += [
            p
            for p in (root / directory).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    return sorted(found)


def fingerprint(root: Path) -> str:
    """sha256 (12 hex digits) over the paths and contents of the code and its data files."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def take(project_root: Path, target: Path) -> str:
    """Copy the code into ``target``; returns the snapshot's fingerprint."""
    target.mkdir(parents=True, exist_ok=True)
    for directory in CODE_DIRS:
        shutil.copytree(project_root / directory, target / directory, ignore=_IGNORE)
    for name in CODE_FILES:
        shutil.copy2(project_root / name, target / name)
    return fingerprint(target)


def _enter(snapshot: str) -> None:
    """Child initialiser: import ``app`` and ``search`` from the snapshot, nothing else."""
    sys.path.insert(0, snapshot)
    for package in ("app", "search"):
        module = importlib.import_module(package)
        origin = Path(str(module.__file__)).resolve()
        if not origin.is_relative_to(Path(snapshot).resolve()):
            raise RuntimeError(f"{package} was imported from {origin}, not from {snapshot}")


def _call(reference: str, kwargs: dict[str, Any]) -> Any:
    module_name, _, name = reference.partition(":")
    return getattr(importlib.import_module(module_name), name)(**kwargs)


def call_in_snapshot(snapshot: Path, reference: str, **kwargs: Any) -> Any:
    """``module:function(**kwargs)`` in a fresh (spawned) process on the snapshot's code;
    its peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_enter, initargs=(str(snapshot),)
    ) as pool:
        return pool.submit(_call, reference, kwargs).result()
