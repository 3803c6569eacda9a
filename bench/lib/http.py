"""A minimal HTTP/1.1 keep-alive client, for open-loop load from the bench process itself."""

from __future__ import annotations

import asyncio
import time


class HttpClient:
    """A minimal HTTP/1.1 keep-alive client: far less CPU per request than a full client library,
    which matters when it shares two cores with everything it measures. A connection idle for
    longer than the server keeps it (uvicorn: 5 s) is not reused."""

    IDLE_S = 3.0

    def __init__(self, host: str, port: int, max_connections: int) -> None:
        self.host, self.port, self.max = host, port, max_connections
        #: (reader, writer, monotonic time it became idle), most recently used last.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while not self.idle and self.opened >= self.max:
                await self.freed.wait()
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < self.IDLE_S:
                    return reader, writer
                writer.close()
                self.opened -= 1
            self.opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            await self._release(None)
            raise

    async def _release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        async with self.freed:
            if conn is None:
                self.opened -= 1
            else:
                self.idle.append((*conn, time.monotonic()))
            self.freed.notify()

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, int]:
        """Status, body, and when the request was written (ns since the epoch)."""
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn = await self._acquire()
        try:
            reader, writer = conn
            sent = time.time_ns()
            writer.write(head.encode() + body)
            raw = await reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            length = 0
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            data = await reader.readexactly(length)
        except BaseException:
            conn[1].close()
            await self._release(None)
            raise
        await self._release(conn)
        return status, data, sent

    async def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()
