#!/usr/bin/env python3
"""A fixed amount of Teltonika traffic for profiling the gateway (callgrind counts per frame).

usage: gateway_load.py HOST:PORT CONNECTIONS FRAMES_PER_CONNECTION [INTERVAL_MS]

Each connection logs in (IMEI 35 + 13 digits), then sends the published Codec 8E wiki frame
FRAMES times, each after the previous one's 4-byte ACK (and INTERVAL_MS apart if given).
Prints frames ACKed and the elapsed time; exits non-zero if any ACK is missing or wrong.
"""
import asyncio
import struct
import sys
import time

FRAME = bytes.fromhex(
    "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100"
    "010011001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
)


async def device(host, port, n, frames, interval):
    reader, writer = await asyncio.open_connection(host, port)
    imei = b"35%013d" % (900_000 + n)
    writer.write(struct.pack(">H", len(imei)) + imei)
    if await reader.readexactly(1) != b"\x01":
        raise RuntimeError("login refused")
    for _ in range(frames):
        writer.write(FRAME)
        ack = await asyncio.wait_for(reader.readexactly(4), 60)
        if ack != b"\x00\x00\x00\x01":
            raise RuntimeError(f"unexpected ACK {ack!r}")
        if interval:
            await asyncio.sleep(interval)
    writer.close()
    return frames


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    conns, frames = int(sys.argv[2]), int(sys.argv[3])
    interval = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
    start = time.monotonic()
    done = await asyncio.gather(*(device(host, int(port), i, frames, interval) for i in range(conns)))
    print(f"{sum(done)} frames ACKed in {time.monotonic() - start:.1f} s")


asyncio.run(main())
