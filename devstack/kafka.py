"""A single-node Apache Kafka (KRaft, broker and controller in one JVM) for development.

There is no Docker engine on the project's machines, so the broker runs straight from the
jars that Maven fetches once into ``.local/kafka/libs``. The node is a detached process whose
ports and PID live in its home folder, so a ``stop`` from another process (``python -m devstack
down``) finds and stops the same node that ``start`` launched.

A node is open (PLAINTEXT, no authorizer: the test session's shared broker, quick) unless it is
given ``users``. Then it is *secured* as the cluster is: a SASL/PLAIN listener (the controller's
too), Kafka's StandardAuthorizer with no access where no ACL allows it, no topic auto-creation,
one principal per user (``User:<name>``) with a password generated once into the home folder,
and ``admin`` as the only super user, which :mod:`devstack.acls` uses to create the topics and
the same ACLs as the Strimzi KafkaUsers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from devstack import procs
from devstack.ports import HOST, free_port, port_open, wait_port_closed

HERE = Path(__file__).resolve().parent
POM = HERE / "kafka-pom.xml"
LOG4J_CONFIG = HERE / "log4j2.properties"
DEFAULT_LIBS = procs.REPO_ROOT / ".local" / "kafka" / "libs"
NODE_ID = 1
#: The secured node's super user: creates topics and ACLs, and is the broker's own principal.
ADMIN = "admin"
#: The secured node's client listener (its name is also its security protocol).
SASL_LISTENER = "SASL_PLAINTEXT"


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
        users: Sequence[str] = (),
    ) -> None:
        self.home = Path(home).resolve()
        #: Principals besides ``admin`` (e.g. ``sharaka-plans``); any makes the node secured.
        self.users = tuple(users)
        self._credentials_file = self.home / "credentials.json"
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
    def secured(self) -> bool:
        return bool(self.users)

    def password(self, user: str) -> str:
        """The password of ``user`` (or ``admin``) on a secured node, generated on first use."""
        if not self.secured or (user != ADMIN and user not in self.users):
            raise KafkaError(f"{user!r} is not a user of this node")
        return self._credentials()[user]

    def client_options(self, user: str = ADMIN) -> dict[str, str]:
        """aiokafka connection options for ``user``; empty for an open node."""
        if not self.secured:
            return {}
        return {
            "security_protocol": SASL_LISTENER,
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": user,
            "sasl_plain_password": self.password(user),
        }

    def service_env(self, user: str) -> dict[str, str]:
        """A service's Kafka settings for ``user`` (without its ``<SERVICE>_`` prefix); empty
        for an open node. Topics are the admin's to create, as in the cluster."""
        if not self.secured:
            return {}
        return {
            "KAFKA_SECURITY_PROTOCOL": SASL_LISTENER,
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.password(user),
            "KAFKA_CREATE_TOPICS": "false",
        }

    def _credentials(self) -> dict[str, str]:
        """Passwords kept across restarts (the config is written again on every start), made
        for users added since; the file is readable by its owner only."""
        known: dict[str, str] = {}
        if self._credentials_file.exists():
            known = dict(json.loads(self._credentials_file.read_text(encoding="utf-8")))
        wanted = [ADMIN, *self.users]
        if any(u not in known for u in wanted):
            for user in wanted:
                known.setdefault(user, secrets.token_hex(16))
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(known, out, indent=2, sort_keys=True)
        return {u: known[u] for u in wanted}

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
                was_secured = bool(procs.read_state(self._state_file).get("secured", False))
                if was_secured != self.secured:
                    mode = "with SASL and ACLs" if was_secured else "open (no SASL)"
                    raise KafkaError(
                        f"Kafka pid {running} of {self.home} runs {mode}; stop it first "
                        "(python -m devstack down)"
                    )
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
                "secured": self.secured,
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
        if self.secured:
            settings |= self._security_settings()
        lines = ["# Written by devstack/kafka.py on every start; edits are overwritten."]
        lines += [f"{key}={_escape(value)}" for key, value in settings.items()]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _security_settings(self) -> dict[str, str]:
        """SASL/PLAIN on both listeners, the StandardAuthorizer, ``admin`` the only super user
        (also the broker's own principal towards its controller), deny where no ACL allows."""
        plain, ctrl = self._port, self._controller_port
        creds = self._credentials()
        login = "org.apache.kafka.common.security.plain.PlainLoginModule required"
        me = f'username="{ADMIN}" password="{creds[ADMIN]}"'
        everyone = " ".join(f'user_{user}="{pw}"' for user, pw in creds.items())
        return {
            "listeners": f"{SASL_LISTENER}://{HOST}:{plain},CONTROLLER://{HOST}:{ctrl}",
            "advertised.listeners": f"{SASL_LISTENER}://{HOST}:{plain},CONTROLLER://{HOST}:{ctrl}",
            "inter.broker.listener.name": SASL_LISTENER,
            "listener.security.protocol.map": f"CONTROLLER:SASL_PLAINTEXT,{SASL_LISTENER}:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            f"listener.name.{SASL_LISTENER.lower()}.plain.sasl.jaas.config": f"{login} {me} {everyone};",
            "listener.name.controller.plain.sasl.jaas.config": f'{login} {me} user_{ADMIN}="{creds[ADMIN]}";',
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN}",
            "allow.everyone.if.no.acl.found": "false",
            # As in the cluster: topics are declared (by the admin), never created by a client.
            "auto.create.topics.enable": "false",
        }

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
                login = (ADMIN, self.password(ADMIN)) if self.secured else None
                if self._port in metadata_broker_ports(HOST, self._port, sasl_plain=login):
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


def metadata_broker_ports(
    host: str, port: int, timeout: float = 2.0, *, sasl_plain: tuple[str, str] | None = None
) -> list[int]:
    """Send a Metadata v4 request and return the ports of the brokers it lists.

    A dozen lines of wire protocol avoid running an asyncio client inside ``start``, which
    may itself be called from a running event loop. v4 is the oldest version Kafka 4 still
    accepts and needs no tagged fields. ``sasl_plain`` (user, password) logs in first
    (SaslHandshake v1, SaslAuthenticate v0), as a secured listener requires.
    """
    correlation_id = 7
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        if sasl_plain is not None:
            _sasl_plain_login(sock, *sasl_plain)
        body = struct.pack(">ib", 0, 0)  # no topics, no auto-creation
        payload = _request(sock, api_key=3, version=4, correlation_id=correlation_id, body=body)
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


def _request(sock: socket.socket, *, api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    """One request with a v1 header (no tagged fields); the response, correlation id first."""
    client_id = b"sharaka-devstack"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    return _recv_exact(sock, size)


def _sasl_plain_login(sock: socket.socket, user: str, password: str) -> None:
    mechanism = b"PLAIN"
    answer = _request(sock, api_key=17, version=1, correlation_id=5,
                      body=struct.pack(">h", len(mechanism)) + mechanism)  # fmt: skip
    (error,) = struct.unpack_from(">h", answer, 4)
    if error:
        raise OSError(f"the broker refused SASL/PLAIN (error {error})")
    token = b"\0" + user.encode() + b"\0" + password.encode()
    answer = _request(
        sock, api_key=36, version=0, correlation_id=6, body=struct.pack(">i", len(token)) + token
    )
    (error,) = struct.unpack_from(">h", answer, 4)
    if error:
        raise OSError(f"SASL/PLAIN login as {user!r} failed (error {error})")


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
