"""A small foreground process supervisor for `make run`.

Why not honcho: when one process exits, honcho stops all the others — a worker
killed by a kombu bug took the API down with it. Why not supervisord: it treats
SIGHUP (closing the terminal) as "reload the config" rather than "stop", gives up
on a process for good after ``startretries`` quick failures, and wants a config
file and log plumbing of its own for what is here ~200 lines of standard library.

What it does:
- starts each program in its own session (so a terminal's Ctrl-C or hang-up
  reaches only us, and we stop things in order), with ``PR_SET_PDEATHSIG`` so a
  ``kill -9`` of the supervisor still takes its children down;
- prefixes each output line with the program's name;
- restarts a program that exits on its own, with exponential backoff (1 s, 2 s,
  4 s … 30 s; reset after it stays up 30 s), instead of stopping everything;
- on SIGINT, SIGTERM or SIGHUP stops the programs in reverse start order (each
  with its own stop signal, its whole process group), waits for them, SIGKILLs
  what is still there after a grace period; a second signal SIGKILLs at once;
- records every pid in a state file so `make stop` and the next start can find
  and stop what a killed supervisor left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from scripts.embedded import die_with_parent, run_as

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 30.0
STOP_GRACE_S = 20.0


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None
    stop_signal: int = signal.SIGTERM
    user: str | None = None


@dataclass
class Child:
    program: Program
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    buffer: bytes = b""
    extra: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


class Supervisor:
    def __init__(self, state_file: Path, out: BinaryIO | None = None) -> None:
        self.state_file = state_file
        self.out = out or sys.stdout.buffer
        self.children: list[Child] = []
        self.selector = selectors.DefaultSelector()
        self.stop_requested: int | None = None
        self.signals_received = 0
        self.width = 8

    # ---- output -------------------------------------------------------------------------
    def say(self, name: str, line: str | bytes) -> None:
        if isinstance(line, str):
            line = line.encode()
        stamp = time.strftime("%H:%M:%S").encode()
        try:
            self.out.write(stamp + b" " + name.encode().ljust(self.width) + b"| " + line + b"\n")
            self.out.flush()
        except OSError:
            pass  # the terminal is gone (SIGHUP): keep stopping things, silently

    def _pump(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            child: Child = key.data
            try:
                chunk = os.read(key.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.selector.unregister(key.fileobj)
                if child.buffer:
                    self.say(child.program.name, child.buffer)
                    child.buffer = b""
                continue
            child.buffer += chunk
            *lines, child.buffer = child.buffer.split(b"\n")
            for line in lines:
                self.say(child.program.name, line.rstrip(b"\r"))

    # ---- state file ---------------------------------------------------------------------
    def write_state(self) -> None:
        state = {
            "supervisor": {"pid": os.getpid(), "create_time": _create_time(os.getpid())},
            "children": [
                {
                    "name": c.program.name,
                    "pid": c.proc.pid,
                    "create_time": _create_time(c.proc.pid),
                }
                for c in self.children
                if c.proc is not None
            ],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    # ---- lifecycle ----------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals_received += 1
        if self.stop_requested is None:
            self.stop_requested = signum
        elif self.signals_received > 1:
            self._kill_all(signal.SIGKILL)

    def start(self, program: Program) -> Child:
        child = Child(program)
        self.children.append(child)
        self.width = max(self.width, len(program.name) + 1)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        program = child.program
        child.proc = subprocess.Popen(
            program.argv,
            env=program.env,
            cwd=program.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A pre-resolved prctl call only: no Python-level locks in the child.
            preexec_fn=die_with_parent(program.stop_signal),  # noqa: PLW1509
            **run_as(program.user),
        )
        os.set_blocking(child.proc.stdout.fileno(), False)
        self.selector.register(child.proc.stdout, selectors.EVENT_READ, child)
        child.started_at = time.monotonic()
        child.restart_at = None
        self.write_state()

    def wait_until(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        """Pump output while waiting; raise if a stop was requested or time ran out."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.stop_requested is not None:
                raise KeyboardInterrupt
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    raise RuntimeError(
                        f"{child.program.name} exited with code {child.proc.returncode} "
                        f"while waiting for {what}"
                    )
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
            self._pump(0.1)

    def supervise(self) -> int:
        """Run until a stop signal: restart what exits, with backoff. Answers the signal."""
        while self.stop_requested is None:
            self._pump(0.2)
            now = time.monotonic()
            for child in self.children:
                if child.proc is None:
                    continue
                code = child.proc.poll()
                if code is None:
                    if child.failures and now - child.started_at > STABLE_AFTER_S:
                        child.failures = 0
                    continue
                if child.restart_at is None:
                    self._drain(child)
                    uptime = now - child.started_at
                    if uptime > STABLE_AFTER_S:
                        child.failures = 0
                    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**child.failures)
                    child.failures += 1
                    child.restart_at = now + delay
                    self.say(
                        "run",
                        f"{child.program.name} exited with code {code} after {uptime:.1f}s; "
                        f"restarting in {delay:.0f}s",
                    )
                elif now >= child.restart_at:
                    self.say("run", f"restarting {child.program.name}")
                    self._spawn(child)
        return self.stop_requested

    def _drain(self, child: Child) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(child.proc.stdout)
        with contextlib.suppress(OSError):
            rest = child.proc.stdout.read() or b""
            for line in (child.buffer + rest).splitlines():
                self.say(child.program.name, line)
        child.buffer = b""
        child.proc.stdout.close()

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every program, last started first; wait for each process group to go."""
        for child in reversed(self.children):
            if child.proc is None:
                continue
            if child.running:
                self.say("run", f"stopping {child.program.name} (pid {child.proc.pid})")
                _signal_group(child.proc.pid, child.program.stop_signal)
            deadline = time.monotonic() + grace_s
            while _group_alive(child.proc.pid) and time.monotonic() < deadline:
                child.proc.poll()  # reap the leader so the group can empty
                self._pump(0.1)
            if _group_alive(child.proc.pid):
                self.say("run", f"{child.program.name} did not stop in {grace_s:.0f}s: SIGKILL")
                _signal_group(child.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(5)
            if child.proc.stdout and not child.proc.stdout.closed:
                self._drain(child)
        self.state_file.unlink(missing_ok=True)

    def _kill_all(self, sig: int) -> None:
        for child in self.children:
            if child.proc is not None:
                _signal_group(child.proc.pid, sig)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader keeps the group "alive" until reaped; count only live members.
    import psutil

    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


# ---- what a previous run left behind -------------------------------------------------------


def read_state(state_file: Path) -> dict | None:
    try:
        return json.loads(state_file.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _same_process(entry: dict) -> bool:
    created = _create_time(entry["pid"])
    return created is not None and (
        entry.get("create_time") is None or abs(created - entry["create_time"]) < 1.0
    )


def running_supervisor(state_file: Path) -> int | None:
    """The pid of a supervisor from this state file that is still alive, if any."""
    state = read_state(state_file)
    if not state:
        return None
    entry = state["supervisor"]
    return entry["pid"] if entry["pid"] != os.getpid() and _same_process(entry) else None


def stop_leftovers(state_file: Path, grace_s: float = 15.0) -> list[str]:
    """Stop the process groups a dead supervisor recorded; answers what was stopped."""
    state = read_state(state_file)
    if not state:
        return []
    stopped = []
    for entry in reversed(state.get("children", [])):
        pgid = entry["pid"]
        if not _group_alive(pgid):
            continue
        # The kernel does not hand out a pid while a process group of that id exists, so a
        # live group is ours unless its leader is alive and was created at another time.
        leader_alive = _create_time(pgid) is not None
        if leader_alive and not _same_process(entry):
            continue
        _signal_group(pgid, signal.SIGTERM if entry["name"] != "postgres" else signal.SIGINT)
        deadline = time.monotonic() + grace_s
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
        stopped.append(f"{entry['name']} (pid {pgid})")
    state_file.unlink(missing_ok=True)
    return stopped
