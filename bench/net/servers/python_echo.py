"""Benchmark server: Python asyncio, as the tutorials write it.

TCP: asyncio streams (start_server; read, write, drain until EOF). With
--idle-timeout MS, each read stamps the time and a sweep once a second
closes connections idle that long. UDP (--udp): a DatagramProtocol that
sends each datagram back to its sender. Prints `listening on 127.0.0.1:PORT`.

Run: python3 bench/net/servers/python_echo.py [--udp] [--idle-timeout MS]
"""

import asyncio
import sys
import time


class Client:
    __slots__ = ("writer", "last")

    def __init__(self, writer):
        self.writer = writer
        self.last = time.monotonic()


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


def announce(sockname):
    print(f"listening on 127.0.0.1:{sockname[1]}", flush=True)


async def main(args):
    loop = asyncio.get_running_loop()
    if "--udp" in args:
        transport, _ = await loop.create_datagram_endpoint(
            UdpEcho, local_addr=("127.0.0.1", 0)
        )
        announce(transport.get_extra_info("sockname"))
        await asyncio.Event().wait()
        return

    idle = 0.0
    if "--idle-timeout" in args:
        idle = float(args[args.index("--idle-timeout") + 1]) / 1000
    clients = set()

    async def handle(reader, writer):
        client = Client(writer)
        clients.add(client)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if idle:
                    client.last = time.monotonic()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            clients.discard(client)
            writer.close()

    async def sweep():
        while True:
            await asyncio.sleep(1)
            now = time.monotonic()
            for client in list(clients):
                if now - client.last >= idle:
                    clients.discard(client)
                    client.writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    announce(server.sockets[0].getsockname())
    sweeper = loop.create_task(sweep()) if idle else None
    async with server:
        await server.serve_forever()
    if sweeper:
        sweeper.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass
