"""The API under test: one uvicorn process on 127.0.0.1, as ``sociale-kaart serve`` runs it,
on the code snapshot of the run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT_S = 900.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def proc_status_kib(pid: int, key: str) -> int | None:
    """A ``VmHWM``/``VmRSS`` line of /proc/<pid>/status in KiB (None where there is no /proc)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, *, max_s: float, busy_share: float = 0.1) -> float:
    """Wait until the process uses less than ``busy_share`` of a core over one second (a
    client that timed out does not stop the server's work); returns the seconds waited."""
    started = time.perf_counter()
    before = cpu_seconds(pid)
    while before is not None and time.perf_counter() - started < max_s:
        time.sleep(1.0)
        after = cpu_seconds(pid)
        if after is None or after - before < busy_share:
            break
        before = after
    return time.perf_counter() - started


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log: IO[bytes]
    ready_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        started = time.perf_counter()
        with httpx.Client(base_url=self.base_url, timeout=READY_TIMEOUT_S) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server stopped (exit {self.process.returncode}):\n{self.log_tail()}"
                    )
                try:
                    response = client.get("/health/ready")
                    if response.status_code == 200:
                        self.ready_s = time.perf_counter() - started
                        return
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > READY_TIMEOUT_S:
                    raise RuntimeError(f"the server was not ready in {READY_TIMEOUT_S:.0f} s")
                time.sleep(0.2)

    def stop(self) -> int:
        """SIGINT (uvicorn's graceful shutdown), then SIGTERM, then SIGKILL."""
        if self.process.poll() is None:
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
        self.log.close()
        return int(self.process.returncode)


def start_server(*, code_root: Path, database_url: str, index_path: str, workdir: Path) -> Server:
    port = free_port()
    env = os.environ.copy()
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
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
    ]
    log_path = workdir / "server.log"
    log = log_path.open("wb")
    # A fixed argument list (no shell), our own interpreter and module.
    process = subprocess.Popen(  # noqa: S603
        command, cwd=code_root, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return Server(process=process, port=port, log_path=log_path, log=log)
