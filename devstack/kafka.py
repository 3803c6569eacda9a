"""A single-node Apache Kafka (KRaft, broker and controller in one JVM) for development.

There is no Docker engine on the project's machines, so the broker runs straight from the
jars that Maven fetches once into ``.local/kafka/libs``. The node is a detached process whose
ports and PID live in its home folder, so a ``stop`` from another process (``python -m devstack
down``) finds and stops the same node that ``start`` launched.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

from devstack import procs
from devstack.ports import HOST, free_port, port_open, wait_port_closed

HERE = Path(__file__).resolve().parent
POM = HERE / "kafka-pom.xml"
LOG4J_CONFIG = HERE / "log4j2.properties"
DEFAULT_LIBS = procs.REPO_ROOT / ".local" / "kafka" / "libs"
NODE_ID = 1


class KafkaError(RuntimeError):
    """The node could not be installed, started or stopped."""


class KafkaNode:
    """One KRaft node in ``home``: config, data, logs, state and PID file all live there.

    The jars are shared between homes (``libs_dir``, default ``<repo>/.local/kafka/libs``,
    or ``SHARAKA_KAFKA_LIBS``) so that every test session does not download them again.
    """

    def __init__(
        self,
        home: Path,
        port: int | None = None,
        heap: str = "512m",
        *,
        libs_dir: Path | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        self.heap = heap
        env_libs = os.environ.get("SHARAKA_KAFKA_LIBS")
        self.libs_dir = Path(libs_dir or env_libs or DEFAULT_LIBS).resolve()
        self.data_dir = self.home / "data"
        self.log_dir = self.home / "logs"
        self.config_file = self.home / "server.properties"
        self._state_file = self.home / "state.json"
        self._pid_file = self.home / "kafka.pid"
        self._lock_file = self.home / ".lock"
        self._explicit_port = port is not None
        state = procs.read_state(self._state_file)
        self._port: int = port or int(state.get("port") or 0) or free_port()
        self._controller_port: int = int(state.get("controller_port") or 0) or free_port()
        self._cluster_id: str = str(state.get("cluster_id") or "") or _random_cluster_id()
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self._port}"

    @property
    def pid(self) -> int | None:
        pid = procs.read_pid(self._pid_file)
        return pid if self._is_ours(pid) else None

    @property
    def log_file(self) -> Path:
        return self.log_dir / "server.log"

    # ------------------------------------------------------------------ install

    def install(self) -> None:
        """Fetch the broker jars once; a marker records which pom they came from.

        The marker holds a digest of the pom and version overrides, so editing the pom (or
        setting ``SHARAKA_KAFKA_VERSION``) fetches again instead of running stale jars.
        """
        marker = self.libs_dir / ".complete"
        digest = self._install_digest()
        with procs.file_lock(self.libs_dir.parent / ".install.lock"):
            if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest:
                return
            mvn = shutil.which("mvn")
            if mvn is None:
                raise KafkaError("Maven (mvn) is needed once to fetch the Kafka jars")
            partial = self.libs_dir.with_name(self.libs_dir.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            cmd = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ]
            version = os.environ.get("SHARAKA_KAFKA_VERSION")
            if version:
                cmd.append(f"-Dkafka.version={version}")
            result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=str(HERE))
            if result.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
                shutil.rmtree(partial, ignore_errors=True)
                raise KafkaError(
                    f"fetching the Kafka jars failed (exit {result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                )
            (partial / ".complete").write_text(digest + "\n", encoding="utf-8")
            shutil.rmtree(self.libs_dir, ignore_errors=True)
            partial.rename(self.libs_dir)

    def _install_digest(self) -> str:
        hasher = hashlib.sha256(POM.read_bytes())
        hasher.update(os.environ.get("SHARAKA_KAFKA_VERSION", "").encode())
        return hasher.hexdigest()

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 90) -> None:
        """Start the node, or do nothing when this home's node already runs.

        The first start formats the storage (KRaft needs a cluster id before it boots);
        later starts reuse the data, the ports and the cluster id recorded in the state file.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        with procs.file_lock(self._lock_file):
            running = self.pid
            if running is not None:
                if not port_open(self._port):
                    raise KafkaError(
                        f"Kafka pid {running} of {self.home} runs but does not listen on "
                        f"{self._port} (was it started with another port?)"
                    )
                self._wait_ready(running, timeout)
                return
            self._pid_file.unlink(missing_ok=True)
            self.install()
            self._pick_ports()
            self._write_config()
            self._save_state()
            if not (self.data_dir / "meta.properties").exists():
                self._format()
            self._launch()
            assert self._proc is not None
            try:
                self._wait_ready(self._proc.pid, timeout)
            except BaseException:
                procs.kill_now(self._proc.pid, self._proc)
                self._pid_file.unlink(missing_ok=True)
                raise

    def stop(self, timeout: float = 30) -> None:
        """Shut the node down cleanly, killing it if it has not exited within ``timeout``."""
        with procs.file_lock(self._lock_file):
            pid = self.pid
            if pid is not None:
                procs.terminate(pid, timeout, self._child(pid))
                wait_port_closed(self._port, 5)
            self._pid_file.unlink(missing_ok=True)
            self._proc = None

    def kill(self) -> None:
        """Kill the node without a shutdown, as a crash would, so chaos tests can restart it."""
        with procs.file_lock(self._lock_file):
            pid = self.pid
            if pid is not None:
                procs.kill_now(pid, self._child(pid))
            self._pid_file.unlink(missing_ok=True)
            self._proc = None

    def remove_data(self) -> None:
        """Stop the node and delete its topics and logs; the shared jars stay."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _is_ours(self, pid: int | None) -> bool:
        return procs.is_ours(pid, ["kafka.Kafka", str(self.config_file)])

    def _child(self, pid: int) -> subprocess.Popen[bytes] | None:
        return self._proc if self._proc is not None and self._proc.pid == pid else None

    def _pick_ports(self) -> None:
        """Keep the recorded ports; replace only those chosen automatically and now taken."""
        if port_open(self._port):
            if self._explicit_port:
                raise KafkaError(f"port {self._port} is already in use by another program")
            self._port = free_port()
        if port_open(self._controller_port) or self._controller_port == self._port:
            self._controller_port = free_port()

    def _save_state(self) -> None:
        procs.write_state(
            self._state_file,
            {
                "port": self._port,
                "controller_port": self._controller_port,
                "cluster_id": self._cluster_id,
            },
        )

    def _write_config(self) -> None:
        plain, ctrl = self._port, self._controller_port
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.bootstrap.servers": f"{HOST}:{ctrl}",
            "listeners": f"PLAINTEXT://{HOST}:{plain},CONTROLLER://{HOST}:{ctrl}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{plain},CONTROLLER://{HOST}:{ctrl}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.network.threads": "3",
            "num.io.threads": "4",
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            # One replica everywhere: there is one broker.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Fewer internal partitions make the first consumer group and transaction quick.
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.num.partitions": "10",
            # Tests start consumers and expect them to get partitions at once.
            "group.initial.rebalance.delay.ms": "0",
            # After a kill the restarted node must wait out its own old registration; a short
            # session keeps crash-and-restart tests quick (the default is 9 s).
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "4000",
            "log.retention.hours": "168",
            "log.retention.check.interval.ms": "300000",
        }
        lines = ["# Written by devstack/kafka.py on every start; edits are overwritten."]
        lines += [f"{key}={_escape(value)}" for key, value in settings.items()]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _java_base(self) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java:
            raise KafkaError("java (17 or newer) is not on PATH")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return [
            java,
            f"-Dkafka.logs.dir={self.log_dir}",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-Djava.awt.headless=true",
        ]

    def _format(self) -> None:
        cmd = [
            *self._java_base(),
            "-Xmx256m",
            "-cp",
            f"{self.libs_dir}/*",
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            self._cluster_id,
            "-c",
            str(self.config_file),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=str(self.home))
        if result.returncode != 0:
            raise KafkaError(
                f"formatting Kafka storage in {self.data_dir} failed "
                f"(exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )

    def _launch(self) -> None:
        # The same JVM options as kafka-server-start.sh, with a heap sized for a laptop or CI.
        cmd = [
            *self._java_base(),
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-server",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:MaxInlineLevel=15",
            "-XX:+ExitOnOutOfMemoryError",
            "-cp",
            f"{self.libs_dir}/*",
            "kafka.Kafka",
            str(self.config_file),
        ]
        with (self.log_dir / "kafka.out").open("ab") as out:
            # A new session keeps the broker alive after `devstack up` exits and away from
            # the terminal's Ctrl-C, which would otherwise reach it too.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(self.home),
                start_new_session=True,
            )
        self._pid_file.write_text(f"{self._proc.pid}\n", encoding="utf-8")

    def _wait_ready(self, pid: int, timeout: float) -> None:
        """Wait until the broker answers a metadata request listing itself.

        An open port is not enough: a KRaft broker accepts connections before it has caught
        up with the metadata log and been unfenced, and clients then see errors.
        """
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while True:
            if not procs.pid_alive(pid):
                raise KafkaError(
                    f"Kafka (pid {pid}) exited during start-up; last lines of {self.log_file}:"
                    f"\n{self._log_tail()}"
                )
            try:
                if self._port in metadata_broker_ports(HOST, self._port):
                    return
                last_error = "the broker does not list itself yet"
            except OSError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise KafkaError(
                    f"Kafka at {self.bootstrap} was not ready within {timeout:.0f}s "
                    f"({last_error}); last lines of {self.log_file}:\n{self._log_tail()}"
                )
            time.sleep(0.25)

    def _log_tail(self) -> str:
        out = procs.tail(self.log_dir / "kafka.out", 15)
        return f"{procs.tail(self.log_file)}\n--- kafka.out ---\n{out}"


def metadata_broker_ports(host: str, port: int, timeout: float = 2.0) -> list[int]:
    """Send a Metadata v4 request and return the ports of the brokers it lists.

    A dozen lines of wire protocol avoid running an asyncio client inside ``start``, which
    may itself be called from a running event loop. v4 is the oldest version Kafka 4 still
    accepts and needs no tagged fields.
    """
    client_id = b"sharaka-devstack"
    correlation_id = 7
    body = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body += struct.pack(">ib", 0, 0)  # no topics, no auto-creation
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    got_id, _throttle, count = struct.unpack_from(">iii", payload, 0)
    if got_id != correlation_id:
        raise OSError(f"unexpected correlation id {got_id}")
    offset = 12
    ports: list[int] = []
    for _ in range(count):
        offset += 4  # node id
        (host_len,) = struct.unpack_from(">h", payload, offset)
        offset += 2 + host_len
        (broker_port,) = struct.unpack_from(">i", payload, offset)
        offset += 4
        (rack_len,) = struct.unpack_from(">h", payload, offset)
        offset += 2 + max(rack_len, 0)
        ports.append(broker_port)
    return ports


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        chunks += chunk
    return bytes(chunks)


def _random_cluster_id() -> str:
    """Make an id in Kafka's own Uuid text form (URL-safe base64 of 16 random bytes).

    Kafka refuses ids that start with a dash, as ``StorageTool random-uuid`` would never make
    them; generating it here saves a JVM start.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _escape(value: str) -> str:
    """Escape a value for a Java .properties file (backslashes would vanish otherwise)."""
    return value.replace("\\", "\\\\")
