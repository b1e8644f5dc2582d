"""A real SMTP server on loopback (aiosmtpd) that keeps what arrives, for breach-notice tests."""
from __future__ import annotations

import email
import socket
import threading
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Keep:
    def __init__(self, box: list, lock: threading.Lock) -> None:
        self.box, self.lock = box, lock

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.box.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._box: list[tuple[list[str], Message]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(_Keep(self._box, self._lock), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[tuple[list[str], Message]]:
        with self._lock:
            return list(self._box)

    def to(self, address: str) -> list[Message]:
        return [msg for rcpts, msg in self.received if address in rcpts]
