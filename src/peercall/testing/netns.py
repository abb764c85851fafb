"""A tiny routed test network of Linux network namespaces, for real-fault reconnect tests.

Why: reconnection must be tested against real faults (a link that goes down, an address
that changes, UDP that is dropped, a server that dies), not mocks. The topology is::

    host A (198.18.1.2/24) ── veth ──┐
                                     R (router, ip_forward, runs the peercall server)
    host B (198.18.2.2/24) ── veth ──┘
                                     │ veth "control" link
    the test process's own namespace (a unique /30 in 198.19.0.0/16)

Every name is unique per run (pid + sequence number) and everything is deleted by
:meth:`Topology.close` (also on failure; stale namespaces of dead runs are swept at the
next start). Only addresses of the benchmarking range 198.18.0.0/15 are used. Each host
gets a Chromium wrapper script (``exec ip netns exec NS chromium "$@"``) for Playwright's
``executable_path``. Needs root and the ``ip`` and ``iptables`` commands; without them
:class:`NetnsUnavailable` says why (tests must fail on it, not skip).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from peercall.testing.server import API_KEY, ROOT, ServerProcess

PREFIX = "pcrc"  # namespace names: pcrc-<pid>-<seq>-<role>
CONTROL_NET = ipaddress.IPv4Network("198.19.0.0/16")
CHROMIUM_BINARY = shutil.which("chromium") or "/usr/bin/chromium"
_seq = 0


class NetnsUnavailable(RuntimeError):
    """Namespaces cannot be created here (not root, no ``ip``/``iptables``, kernel refuses)."""


class CommandFailed(RuntimeError):
    """An ``ip``/``iptables`` command failed; the message carries its stderr."""


def _run(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """Run one command (bounded), raising with its stderr so setup errors are readable."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise CommandFailed(f"{' '.join(args)} → exit {result.returncode}: {result.stderr.strip()}")
    return result


def check_support() -> None:
    """Raise :class:`NetnsUnavailable` with the reason when this machine cannot run the topology."""
    if os.geteuid() != 0:
        raise NetnsUnavailable(f"network namespaces need root (running as uid {os.geteuid()})")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            raise NetnsUnavailable(f"`{tool}` not found: apt-get install iproute2 iptables (scripts/setup.sh)")
    if not Path(CHROMIUM_BINARY).exists():
        raise NetnsUnavailable(f"Chromium not found at {CHROMIUM_BINARY}: apt-get install chromium")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Delete namespaces left by runs of this harness whose process is gone (e.g. SIGKILLed)."""
    removed = []
    listing = _run("ip", "netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.strip() else ""
        match = re.fullmatch(rf"{PREFIX}-(\d+)-\d+-\w+", name)
        # Dead owner and nothing running inside (a run in another pid namespace keeps its own).
        busy = match and _run("ip", "netns", "pids", name, check=False).stdout.strip()
        if match and not busy and not _pid_alive(int(match.group(1))):
            _run("ip", "netns", "del", name, check=False)
            removed.append(name)
    return removed


def _current_addresses() -> set[ipaddress.IPv4Address]:
    out = _run("ip", "-4", "-o", "addr", "show").stdout
    return {ipaddress.IPv4Interface(word).ip for word in re.findall(r"inet (\S+)", out)}


@dataclass
class Host:
    """One endpoint namespace (a "device"): its current link to the router and addresses."""

    label: str
    netns: str
    index: int  # second octet of its first subnet: 198.18.<index>.0/24
    chromium: Path  # wrapper script for Playwright's executable_path
    ifname: str = "eth0"
    router_ifname: str = ""
    address: str = ""
    gateway: str = ""
    links: int = 0  # veth pairs created so far (moves create new ones)
    udp_blocked: bool = False
    loss_rules: list[list[str]] = field(default_factory=list)


class Topology:
    """Router namespace R, hosts A and B, a control link to the test process; see the module doc.

    Use :func:`topology` (a context manager) so that :meth:`close` always runs.
    """

    def __init__(self, workdir: Path) -> None:
        global _seq
        _seq += 1
        self.workdir = workdir
        self.tag = f"{os.getpid()}-{_seq}"
        self.router = f"{PREFIX}-{self.tag}-r"
        self.hosts: dict[str, Host] = {}
        self.control_ifname = f"pcc{os.getpid() % 10_000_000}{_seq % 10}"[:15]
        self.control_local = ""  # our side of the control link
        self.control_router = ""  # R's side: the server's public address
        self._namespaces: list[str] = []
        self._servers: list[ServerProcess] = []
        self._subnet_counter = 100  # moved hosts get 198.18.100+.0/24

    # ---- building -----------------------------------------------------------
    def create(self, host_labels: tuple[str, ...] = ("a", "b")) -> Topology:
        """Build R, the hosts and the control link; on any error undo what was built."""
        check_support()
        sweep_stale()
        try:
            self._add_netns(self.router)
            self._ns(self.router, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
            self._add_control_link()
            for number, label in enumerate(host_labels, start=1):
                self._add_host(label, number)
        except CommandFailed as exc:
            self.close()
            if "Operation not permitted" in str(exc) or "Permission denied" in str(exc):
                raise NetnsUnavailable(f"the kernel refused to create namespaces: {exc}") from exc
            raise
        except BaseException:
            self.close()
            raise
        return self

    def _add_netns(self, name: str) -> None:
        _run("ip", "netns", "add", name)
        self._namespaces.append(name)
        _run("ip", "-n", name, "link", "set", "lo", "up")

    def _ns(self, netns: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run("ip", "netns", "exec", netns, *command, check=check)

    def _add_control_link(self) -> None:
        """A veth from the test's own namespace to R, on a /30 that is free here."""
        taken = _current_addresses()
        blocks = list(CONTROL_NET.subnets(new_prefix=30))
        start = (os.getpid() * 7 + _seq * 13) % len(blocks)
        for step in range(len(blocks)):  # bounded: every /30 of the range at most once
            block = blocks[(start + step) % len(blocks)]
            local, remote = list(block.hosts())
            if local not in taken and remote not in taken:
                break
        else:
            raise CommandFailed("no free /30 in 198.19.0.0/16 for the control link")
        self.control_local, self.control_router = str(local), str(remote)
        _run("ip", "link", "add", self.control_ifname, "type", "veth", "peer", "name", "ctl0", "netns", self.router)
        _run("ip", "addr", "add", f"{local}/30", "dev", self.control_ifname)
        _run("ip", "link", "set", self.control_ifname, "up")
        _run("ip", "-n", self.router, "addr", "add", f"{remote}/30", "dev", "ctl0")
        _run("ip", "-n", self.router, "link", "set", "ctl0", "up")

    def _add_host(self, label: str, index: int) -> None:
        netns = f"{PREFIX}-{self.tag}-{label}"
        self._add_netns(netns)
        wrapper = self.workdir / f"chromium-{netns}.sh"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {netns} {CHROMIUM_BINARY} "$@"\n')
        wrapper.chmod(0o755)
        host = Host(label=label, netns=netns, index=index, chromium=wrapper)
        self.hosts[label] = host
        self._add_link(host, index)

    def _add_link(self, host: Host, subnet: int) -> None:
        """A new veth pair host↔R on 198.18.<subnet>.0/24 that becomes the host's default route."""
        number = host.links
        host.links += 1
        ifname, router_ifname = f"eth{number}", f"{host.label}{number}"
        _run(
            "ip", "link", "add", "name", ifname, "netns", host.netns,
            "type", "veth", "peer", "name", router_ifname, "netns", self.router,
        )  # fmt: skip
        gateway, address = f"198.18.{subnet}.1", f"198.18.{subnet}.2"
        _run("ip", "-n", self.router, "addr", "add", f"{gateway}/24", "dev", router_ifname)
        _run("ip", "-n", self.router, "link", "set", router_ifname, "up")
        _run("ip", "-n", host.netns, "addr", "add", f"{address}/24", "dev", ifname)
        _run("ip", "-n", host.netns, "link", "set", ifname, "up")
        _run("ip", "-n", host.netns, "route", "replace", "default", "via", gateway, "dev", ifname)
        host.ifname, host.router_ifname, host.address, host.gateway = ifname, router_ifname, address, gateway

    # ---- faults -------------------------------------------------------------
    def host(self, label: str) -> Host:
        return self.hosts[label]

    def link_down(self, label: str) -> float:
        """The host loses its network (Wi-Fi gone): interface down, routes gone. Returns when (epoch ms)."""
        host = self.hosts[label]
        _run("ip", "-n", host.netns, "link", "set", host.ifname, "down")
        return time.time() * 1000

    def link_up(self, label: str) -> float:
        """The network is back: interface up, default route restored. Returns when (epoch ms)."""
        host = self.hosts[label]
        _run("ip", "-n", host.netns, "link", "set", host.ifname, "up")
        _run("ip", "-n", host.netns, "route", "replace", "default", "via", host.gateway, "dev", host.ifname)
        return time.time() * 1000

    def move_to_new_subnet(self, label: str, *, gap_s: float = 0.0) -> float:
        """Wi-Fi → 4G: the old link goes down, a new veth on a new subnet (new address, new default
        route) comes up ``gap_s`` later. Returns when the new path exists (epoch ms); see ``host.address``."""
        host = self.hosts[label]
        _run("ip", "-n", host.netns, "link", "set", host.ifname, "down")
        if gap_s > 0:
            time.sleep(gap_s)
        self._subnet_counter += 1
        self._add_link(host, self._subnet_counter)
        return time.time() * 1000

    def _iptables(self, host: Host, *rule: str) -> None:
        self._ns(host.netns, "iptables", "-w", "5", *rule)

    def block_udp(self, label: str) -> float:
        """Drop every UDP packet in and out of the host (media dies, TCP signaling lives). Returns when."""
        host = self.hosts[label]
        if not host.udp_blocked:
            for chain in ("INPUT", "OUTPUT"):
                self._iptables(host, "-I", chain, "-p", "udp", "-j", "DROP")
            host.udp_blocked = True
        return time.time() * 1000

    def unblock_udp(self, label: str) -> float:
        """Remove the UDP block. Returns when (epoch ms)."""
        host = self.hosts[label]
        if host.udp_blocked:
            for chain in ("INPUT", "OUTPUT"):
                self._iptables(host, "-D", chain, "-p", "udp", "-j", "DROP")
            host.udp_blocked = False
        return time.time() * 1000

    def add_loss(self, label: str, probability: float, *, chains: tuple[str, ...] = ("INPUT", "OUTPUT")) -> None:
        """Random packet loss (iptables statistic; there is no tc netem in this kernel)."""
        if not 0 < probability < 1:
            raise ValueError("probability must be between 0 and 1")
        host = self.hosts[label]
        for chain in chains:
            rule = [chain, "-m", "statistic", "--mode", "random", "--probability", f"{probability:.4f}", "-j", "DROP"]
            self._iptables(host, "-A", *rule)
            host.loss_rules.append(rule)

    def clear_loss(self, label: str) -> None:
        host = self.hosts[label]
        while host.loss_rules:
            self._iptables(host, "-D", *host.loss_rules.pop())

    def cap_bandwidth(self, label: str, kbit: int, *, latency_ms: int = 300) -> None:
        """Cap the host's upload with a token bucket (tc tbf) on its interface: a slow uplink."""
        host = self.hosts[label]
        burst = max(kbit * 1000 // 8 // 50, 3000)  # ~20 ms of traffic, at least two full packets
        self._ns(
            host.netns, "tc", "qdisc", "replace", "dev", host.ifname, "root", "tbf",
            "rate", f"{kbit}kbit", "burst", str(burst), "latency", f"{latency_ms}ms",
        )  # fmt: skip

    def clear_bandwidth(self, label: str) -> None:
        host = self.hosts[label]
        self._ns(host.netns, "tc", "qdisc", "del", "dev", host.ifname, "root", check=False)

    # ---- processes ----------------------------------------------------------
    def popen_in(self, label_or_router: str, command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a process inside a namespace (``"r"`` = the router); ``ip netns exec`` execs it, same pid."""
        netns = self.router if label_or_router == "r" else self.hosts[label_or_router].netns
        return subprocess.Popen(["ip", "netns", "exec", netns, *command], **kwargs)  # type: ignore[call-overload]

    def start_server(
        self, tmp: Path, *, port: int = 8080, extra_env: dict[str, str] | None = None, timeout_s: float = 60
    ) -> ServerProcess:
        """``peercall serve`` inside R on 0.0.0.0:port; join links point at R's control address.

        Hosts reach that address through R (it is local to R), the test process directly.
        Call it again with the same ``tmp`` and ``port`` to restart on the same data.
        """
        data_dir = tmp / "data"
        log_path = tmp / "server.log"
        base = f"http://{self.control_router}:{port}"
        env = {
            **os.environ,
            "PEERCALL_API_KEY": API_KEY,
            "PEERCALL_DATA_DIR": str(data_dir),
            "PEERCALL_LOG_LEVEL": "info",
            "PEERCALL_PUBLIC_URL": base,
            **(extra_env or {}),
        }
        command = [sys.executable, "-m", "peercall.cli", "serve", "--host", "0.0.0.0", "--port", str(port)]
        log_file = open(log_path, "ab")  # noqa: SIM115 - kept open for the process lifetime; appends on restart
        process = self.popen_in("r", command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        log_file.close()
        server = ServerProcess(base, API_KEY, data_dir, process, log_path)
        self._servers.append(server)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server in {self.router} exited early:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        process.kill()
        raise RuntimeError(f"server in {self.router} did not become ready:\n{log_path.read_text()[-3000:]}")

    @staticmethod
    def kill_server(server: ServerProcess) -> None:
        """SIGKILL: no goodbye frames, sockets vanish (the crash case)."""
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)

    # ---- teardown -----------------------------------------------------------
    def close(self) -> None:
        """Stop our servers, kill what still runs in our namespaces, delete them. Idempotent."""
        for server in self._servers:
            if server.process.poll() is None:
                server.process.terminate()
                try:
                    server.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait(timeout=10)
        self._servers.clear()
        for netns in reversed(self._namespaces):
            # Leftovers we started (browsers whose launcher died): by pid, inside our namespace only.
            for pid in _run("ip", "netns", "pids", netns, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _run("ip", "netns", "del", netns, check=False)
        self._namespaces.clear()
        # Deleting R destroyed the control veth too; make sure (it lives in our namespace).
        _run("ip", "link", "del", self.control_ifname, check=False)
        for host in self.hosts.values():
            with contextlib.suppress(FileNotFoundError):
                host.chromium.unlink()

    def describe(self) -> str:
        hosts = ", ".join(f"{h.label}={h.netns} {h.address} via {h.gateway}" for h in self.hosts.values())
        return f"router={self.router} control={self.control_local}->{self.control_router} {hosts}"


@contextlib.contextmanager
def topology(workdir: Path, host_labels: tuple[str, ...] = ("a", "b")) -> Iterator[Topology]:
    """Build the test network and always tear it down (also when the body raises)."""
    topo = Topology(workdir)
    topo.create(host_labels)
    try:
        yield topo
    finally:
        topo.close()
