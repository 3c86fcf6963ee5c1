"""A minimal SMTP sink for benchmarks: answers 250 to everything and discards the data.

    python bench/sink.py PORT [KEEP_DIR]

Runs in its own process so that it does not share the sender's GIL. It does
as little as it can: the sender, not the sink, is what is being measured.
With KEEP_DIR, each message is also written there (NNNNNN.eml), for the
benchmarks that look at what a peer sent.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

KEEP: Path | None = None
RECEIVED = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global RECEIVED
    writer.write(b"220 sink ESMTP\r\n")
    try:
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                data = await reader.readuntil(b"\r\n.\r\n")
                if KEEP is not None:
                    RECEIVED += 1
                    (KEEP / f"{RECEIVED:06d}.eml").write_bytes(data[:-3])
                writer.write(b"250 2.0.0 ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=16 * 1024 * 1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) > 2:
        KEEP = Path(sys.argv[2])
    asyncio.run(main(int(sys.argv[1])))
