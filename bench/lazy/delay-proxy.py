#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay in each direction and counts bytes.

The kernel here has htb and tbf but no netem, so bench/lazy.sh shapes the rate with tc
and adds the latency with this proxy. Every chunk read from one side is queued with the
time it may be delivered (arrival + DELAY) and written to the other side at that time,
in order. Reading continues while earlier chunks wait, so the link stays pipelined (a
bandwidth-delay product of data can be in flight, as on a real path) and the proxy
itself does not limit throughput. A new connection's first client bytes are held for a
further round trip, which stands for the TCP handshake the client's connect() to a
local socket no longer pays.

Counts (bytes up = client to server, down = server to client):
- one line per closed connection on stdout: `conn N up BYTES down BYTES secs S`;
- cumulative totals from the control port: connect and read one line
  `down BYTES up BYTES conns N open M` (the connection is then closed);
- with --trace, a timeline on stdout, each line starting with the wall-clock time in
  seconds: `T conn N open`, `T conn N > GET /path range=...` when a request line leaves
  for the server (after its delay), `T conn N < HTTP/1.1 206 ...` when a response starts
  reaching the client.

Usage: delay-proxy.py --listen 127.0.0.1:PORT --upstream HOST:PORT
                      [--delay-ms 25] [--control 127.0.0.1:PORT] [--trace]
Stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal
import sys
import time

CHUNK = 256 * 1024
# Chunks waiting per direction before reading pauses: enough for far more than a
# bandwidth-delay product at 100 Mbit/s and 25 ms, so it only bounds memory when the
# receiving side stops reading.
QUEUE_CHUNKS = 4096


class Totals:
    def __init__(self):
        self.up = 0
        self.down = 0
        self.conns = 0
        self.open = 0


def split_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


async def pump(reader, writer, delay, held_until, count, trace=None):
    """Copies reader to writer, each chunk delivered `delay` seconds after it arrived, or
    after the loop time `held_until` if that is later; count(n) is called per chunk, and
    trace(data), if given, as each chunk is delivered."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue(QUEUE_CHUNKS)

    async def receive():
        try:
            while True:
                data = await reader.read(CHUNK)
                await queue.put((loop.time(), data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((loop.time(), b""))

    async def deliver():
        while True:
            arrived, data = await queue.get()
            wait = max(arrived, held_until) + delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            count(len(data))
            if trace:
                trace(data)
            await writer.drain()

    receiver = asyncio.ensure_future(receive())
    try:
        await deliver()
    except (ConnectionError, OSError):
        pass
    finally:
        receiver.cancel()


async def handle(client_reader, client_writer, args, totals):
    loop = asyncio.get_running_loop()
    started = loop.time()
    totals.conns += 1
    totals.open += 1
    number = totals.conns
    up = down = 0

    def count_up(n):
        nonlocal up
        up += n
        totals.up += n

    def count_down(n):
        nonlocal down
        down += n
        totals.down += n

    trace_up = trace_down = None
    if args.trace:
        emit(f"conn {number} open")
        trace_up = lambda data: trace_http(number, ">", data, REQUEST_START)
        trace_down = lambda data: trace_http(number, "<", data, (b"HTTP/",))

    try:
        try:
            server_reader, server_writer = await asyncio.open_connection(*args.upstream)
        except OSError as err:
            print(f"conn {number} upstream {args.upstream[0]}:{args.upstream[1]} failed: {err}",
                  flush=True)
            return
        delay = args.delay_ms / 1000.0
        # The handshake round trip: on the real path the client can send only once
        # connect() returns, one round trip after it began.
        handshake_done = started + 2 * delay
        await asyncio.gather(
            pump(client_reader, server_writer, delay, handshake_done, count_up, trace_up),
            pump(server_reader, client_writer, delay, 0.0, count_down, trace_down),
        )
        server_writer.close()
    finally:
        client_writer.close()
        totals.open -= 1
        print(f"conn {number} up {up} down {down} secs {loop.time() - started:.3f}", flush=True)


REQUEST_START = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ")


def emit(text):
    print(f"{time.time():.3f} {text}", flush=True)


def trace_http(number, arrow, data, starts):
    """Logs the first line of an HTTP message that begins this chunk, with its Range
    header if it has one. A message that starts inside a chunk is not seen; for one
    client sending one request at a time, requests and response heads start chunks."""
    if not data.startswith(starts):
        return
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    extra = [h for h in head[1:] if h.lower().startswith(("range:", "content-range:"))]
    emit(f"conn {number} {arrow} {' '.join([head[0]] + extra)}")


async def control(_reader, writer, totals):
    writer.write(
        f"down {totals.down} up {totals.up} conns {totals.conns} open {totals.open}\n".encode())
    try:
        await writer.drain()
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=split_addr, required=True)
    parser.add_argument("--upstream", type=split_addr, required=True)
    parser.add_argument("--delay-ms", type=float, default=25.0,
                        help="one-way delay added in each direction (default 25)")
    parser.add_argument("--control", type=split_addr,
                        help="address that answers with the cumulative byte counts")
    parser.add_argument("--trace", action="store_true",
                        help="print a timeline of connections and requests")
    args = parser.parse_args()

    totals = Totals()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args, totals), *args.listen, reuse_address=True)
    servers = [server]
    if args.control:
        servers.append(await asyncio.start_server(
            lambda r, w: control(r, w, totals), *args.control, reuse_address=True))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {args.listen[0]}:{args.listen[1]} -> "
          f"{args.upstream[0]}:{args.upstream[1]}, {args.delay_ms} ms each way, "
          f"started {time.strftime('%H:%M:%S')}", flush=True)
    await stop.wait()
    for s in servers:
        s.close()
    print(f"total down {totals.down} up {totals.up} conns {totals.conns}", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
