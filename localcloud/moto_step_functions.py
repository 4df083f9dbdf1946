"""moto's Step Functions at the speed of the workflow, not of moto's set-up work.

moto 5.2.5 does two costly things for every execution that AWS does not make a caller
wait for. Sampled on the BookNanny workflow (a GetItem and a transaction) on a 2-core
machine, an execution took about 95 ms in moto:

- it **parses the definition** again (ANTLR, then a visitor building the evaluation
  components): about 85 % of that time;
- each task then **builds a new boto3 client** for its call (``boto_client_for``):
  most of what is left once the parse is gone.

A local ``bookNanny`` would measure the emulator rather than the design (an Express
execution of two DynamoDB calls takes tens of milliseconds in AWS).
:func:`speed_up_executions` removes both, without changing what an execution does:

- **parsed programs are reused, one execution at a time.** The components hold the
  definition only (their fields are set while parsing; an execution's state lives in its
  ``Environment``). Each execution takes a program of its definition from a small pool,
  or parses one if none is free, and gives it back when it has ended. A program is not
  given back when its execution timed out or was stopped: moto's worker thread may still
  be running a state in it;
- **task clients are reused**, one per region, service, credentials and endpoint, as
  botocore clients are thread-safe.

Measured after: about 36 ms per execution with the pool, the rest mostly client set-up,
which the shared clients remove. Usage, once per process, before executions start::

    speed_up_executions()
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

__all__ = ["ProgramPool", "programs", "speed_up_executions"]

#: Idle programs kept per definition (more run at once are parsed, then dropped).
IDLE_PER_DEFINITION: Final = 8
#: Definitions remembered (least recently used forgotten first).
DEFINITIONS: Final = 64
_TAKEN: Final = "_localcloud_program"
_PARSER_PACKAGE: Final = "moto.stepfunctions.parser."


class ProgramPool:
    """Parsed programs by definition, each lent to one execution at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[str, list[Any]] = OrderedDict()
        self.parsed = 0
        """Programs parsed so far (a program reused is not parsed again)."""

    def take(self, definition: str) -> Any:
        with self._lock:
            idle = self._idle.get(definition)
            if idle:
                self._idle.move_to_end(definition)
                return idle.pop()
            self.parsed += 1
        program, _tree = AmazonStateLanguageParser.parse(definition)
        return program

    def give(self, definition: str, program: Any) -> None:
        with self._lock:
            idle = self._idle.setdefault(definition, [])
            self._idle.move_to_end(definition)
            if len(idle) < IDLE_PER_DEFINITION:
                idle.append(program)
            while len(self._idle) > DEFINITIONS:
                self._idle.popitem(last=False)

    def idle(self, definition: str) -> int:
        """Programs of ``definition`` waiting for an execution."""
        with self._lock:
            return len(self._idle.get(definition, []))


programs: Final = ProgramPool()
_install_lock: Final = threading.Lock()
_installed = False


def _shared_clients(build: Callable[..., Any]) -> Callable[..., Any]:
    """``boto_client_for``, building one client per distinct call and endpoint."""
    clients: dict[tuple[str, ...], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (
            region,
            service,
            repr(state_credentials),
            moto_server_port(),  # where the tasks' calls go
            str(botocore_stubber.enabled),
        )
        with lock:
            client = clients.get(key)
        if client is None:
            client = build(region, service, state_credentials)
            with lock:
                client = clients.setdefault(key, client)
        return client

    return client_for


def _entrypoint(worker: ExecutionWorker) -> Any:
    definition = worker._evaluation_details.state_machine_details.definition
    program = programs.take(definition)
    setattr(worker, _TAKEN, (definition, program))
    return program


def speed_up_executions() -> None:
    """Patch moto's ``ExecutionWorker`` to reuse parsed programs and its tasks to share
    clients; see the module docstring. Safe to call more than once."""
    global _installed
    with _install_lock:
        if _installed:
            return
        run_execution = ExecutionWorker._execution_logic

        def execution_logic(worker: ExecutionWorker) -> None:
            try:
                run_execution(worker)  # type: ignore[no-untyped-call]
            finally:
                taken = getattr(worker, _TAKEN, None)
                env = worker.env
                # Ended or failed: the worker thread has returned. Timed out or stopped:
                # it may still run a state, so the program is dropped.
                if (
                    taken is not None
                    and env is not None
                    and isinstance(env.program_state(), ProgramEnded | ProgramError)
                ):
                    programs.give(*taken)

        ExecutionWorker._get_evaluation_entrypoint = _entrypoint  # type: ignore[assignment]
        ExecutionWorker._execution_logic = execution_logic  # type: ignore[method-assign]

        original = boto_client.boto_client_for
        shared = _shared_clients(original)
        # Task modules import the function by name: replace it where they hold it.
        for name, module in list(sys.modules.items()):
            if (
                name.startswith(_PARSER_PACKAGE)
                and getattr(module, "boto_client_for", None) is original
            ):
                module.boto_client_for = shared  # type: ignore[attr-defined]
        _installed = True
