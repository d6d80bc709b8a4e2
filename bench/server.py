"""The API under test: ``uvicorn app.main:app`` on 127.0.0.1, on the code snapshot of the run.

With ``workers`` > 1 it runs as the Docker image does (``--workers ${WEB_CONCURRENCY:-2}``):
uvicorn's master process binds the socket, starts that many worker processes that share it
(multiprocessing spawn, plus multiprocessing's resource tracker) and only supervises them.
CPU (``wait_idle``) and memory (``server_memory``) then cover the whole process tree: the
master and all its descendants, found by the parent pid in ``/proc/*/stat``. With
``workers == 1`` it is one process, as ``sociale-kaart serve`` runs it without ``--workers``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT_S = 900.0
# What uvicorn logs in every worker once its lifespan startup has finished (it serves then).
STARTUP_COMPLETE = "Application startup complete."


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (``state`` first), or None when
    the process is gone (or there is no /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields if len(fields) > 19 else None


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process that can be read now (those that end meanwhile are
    left out)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    parents: dict[int, int] = {}
    for name in names:
        if name.isdigit():
            fields = _stat(int(name))
            if fields is not None:
                parents[int(name)] = int(fields[1])
    return parents


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, parents first; [] when ``pid`` is gone."""
    parents = _parents()
    if pid not in parents:
        return []
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    tree = [pid]
    for current in tree:  # grows while it is walked: breadth first
        tree.extend(sorted(children.get(current, ())))
    return tree


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker (not a worker); also True for a process that is gone."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return not cmdline or b"multiprocessing.resource_tracker" in cmdline


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``VmHWM``/``VmRSS`` line of /proc/<pid>/status in KiB (None where there is no /proc,
    the process is gone or has no memory any more, as a zombie)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (None where there is no /proc)."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of ``pid`` and each of its descendants ({} when ``pid`` is gone)."""
    seconds: dict[int, float] = {}
    for member in process_tree(pid):
        value = cpu_seconds(member)
        if value is not None:
            seconds[member] = value
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings of the same processes; a process that appeared in
    between counts with all its time, one that ended in between is not counted."""
    return sum(max(0.0, value - before.get(pid, 0.0)) for pid, value in after.items())


def wait_idle(pid: int, *, max_s: float, busy_share: float = 0.1) -> float:
    """Wait until the process and its descendants (uvicorn's master and workers) use less than
    ``busy_share`` of a core together over one second (a client that timed out does not stop
    the server's work); returns the seconds waited."""
    started = time.perf_counter()
    before = tree_cpu_seconds(pid)
    while before and time.perf_counter() - started < max_s:
        time.sleep(1.0)
        after = tree_cpu_seconds(pid)
        if not after or cpu_used(before, after) < busy_share:
            break
        before = after
    return time.perf_counter() - started


@dataclass(frozen=True)
class ServerMemory:
    """Memory of the server's process tree in KiB, read once (after the last level)."""

    worker_hwm_kib: list[int]  # VmHWM of each worker (with one process: that process)
    worker_rss_kib: list[int]  # VmRSS of each worker then
    tree_rss_kib: int  # VmRSS summed over master, workers and helpers
    tree_hwm_kib: int  # VmHWM summed likewise: an upper bound of the tree's peak
    processes: int  # processes in the tree


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log: IO[bytes]
    workers: int = 1
    ready_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the one process, or the master's children except
        multiprocessing's resource tracker."""
        pid = self.process.pid
        if self.workers == 1:
            return [pid] if _stat(pid) is not None else []
        return sorted(
            child for child, parent in _parents().items() if parent == pid and not _is_helper(child)
        )

    def worker_cpu_seconds(self) -> dict[int, float]:
        seconds: dict[int, float] = {}
        for pid in self.worker_pids():
            value = cpu_seconds(pid)
            if value is not None:
                seconds[pid] = value
        return seconds

    def _workers_started(self) -> bool:
        """Every worker has finished its startup (uvicorn logs that once per worker)."""
        if self.workers == 1:
            return True
        self.log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return (
            text.count(STARTUP_COMPLETE) >= self.workers and len(self.worker_pids()) >= self.workers
        )

    def wait_ready(self) -> None:
        """Until ``/health/ready`` answers 200 and, with several workers, every worker has
        started (the health check reaches only the worker that accepts the connection)."""
        started = time.perf_counter()
        with httpx.Client(base_url=self.base_url, timeout=READY_TIMEOUT_S) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server stopped (exit {self.process.returncode}):\n{self.log_tail()}"
                    )
                try:
                    response = client.get("/health/ready")
                    if response.status_code == 200 and self._workers_started():
                        self.ready_s = time.perf_counter() - started
                        return
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > READY_TIMEOUT_S:
                    raise RuntimeError(
                        f"the server was not ready in {READY_TIMEOUT_S:.0f} s "
                        f"({self.workers} worker(s) expected):\n{self.log_tail()}"
                    )
                time.sleep(0.2)

    def memory(self) -> ServerMemory | None:
        """VmHWM/VmRSS of the workers and of the whole tree (None where there is no /proc)."""
        tree = process_tree(self.process.pid)
        workers = set(self.worker_pids())
        hwm: dict[int, int] = {}
        rss: dict[int, int] = {}
        for pid in tree:
            peak, now = proc_status_kib(pid, "VmHWM"), proc_status_kib(pid, "VmRSS")
            if peak is not None and now is not None:  # gone meanwhile, or a zombie
                hwm[pid], rss[pid] = peak, now
        if not hwm or not workers & hwm.keys():
            return None
        return ServerMemory(
            worker_hwm_kib=[hwm[pid] for pid in sorted(workers & hwm.keys())],
            worker_rss_kib=[rss[pid] for pid in sorted(workers & rss.keys())],
            tree_rss_kib=sum(rss.values()),
            tree_hwm_kib=sum(hwm.values()),
            processes=len(hwm),
        )

    def stop(self) -> int:
        """SIGINT (uvicorn's graceful shutdown; the master ends its workers), then SIGTERM,
        then SIGKILL; descendants still there afterwards (a master that was killed) get
        SIGKILL too."""
        descendants: list[tuple[int, str]] = []
        if self.process.poll() is None:
            for pid in process_tree(self.process.pid)[1:]:
                fields = _stat(pid)
                if fields is not None:
                    descendants.append((pid, fields[19]))  # starttime: not a reused pid
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        deadline = time.monotonic() + 5.0
        while descendants:
            descendants = [(p, t) for p, t in descendants if _alive(p, t)]
            if not descendants or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for pid, _ in descendants:
            with contextlib.suppress(OSError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)
        self.log.close()
        return int(self.process.returncode)


def _alive(pid: int, starttime: str) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z" and fields[19] == starttime


def start_server(
    *, code_root: Path, database_url: str, index_path: str, workdir: Path, workers: int = 1
) -> Server:
    """``uvicorn app.main:app``; with ``workers`` > 1 with ``--workers N`` as in the Docker
    image, otherwise the single-process command."""
    env = os.environ.copy()
    env.pop("WEB_CONCURRENCY", None)  # uvicorn's default for --workers: the count is ours
    env.update(
        {
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "SEARCH_BACKEND": "embedded",
            "SEARCH_INDEX_PATH": index_path,
            "SEARCH_DRAIN_INTERVAL_S": "0",
            "PYTHONPATH": str(code_root),  # the snapshot's app, not the working tree's
        }
    )
    return launch_uvicorn(code_root=code_root, env=env, workdir=workdir, workers=workers)


def launch_uvicorn(
    *, code_root: Path, env: Mapping[str, str], workdir: Path, workers: int = 1
) -> Server:
    """The server process as the Docker image runs it (``MALLOC_ARENA_MAX=2``), on a free
    port of 127.0.0.1, its output in ``workdir/server.log``. Every load client comes from
    127.0.0.1, so the per-client search limit is off."""
    port = free_port()
    server_env = {
        **env,
        "SEARCH_MAX_PER_CLIENT_PER_MINUTE": "0",
        "MALLOC_ARENA_MAX": "2",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST]
    command += ["--port", str(port), "--no-access-log"]
    if workers > 1:
        command += ["--workers", str(workers)]
    log_path = workdir / "server.log"
    log = log_path.open("wb")
    # A fixed argument list (no shell), our own interpreter and module.
    process = subprocess.Popen(  # noqa: S603
        command, cwd=code_root, env=server_env, stdout=log, stderr=subprocess.STDOUT
    )
    return Server(process=process, port=port, log_path=log_path, log=log, workers=workers)
