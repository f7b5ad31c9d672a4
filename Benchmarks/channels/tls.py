#!/usr/bin/env python3
"""The yardstick of Benchmarks/channels: a direct TLS 1.3 stream between the same two
namespaces, through libssl (Python's ssl), with OpenSSL's default TLS 1.3 cipher suite as
peercollabd uses it. The server takes two connections: a sink (reads to end-of-file, answers
the byte count, for each length-prefixed round) and an echo; the client sends 16 MiB
untimed into the sink (as the channel benchmark warms its channel), then times SIZE bytes,
then PINGS 64-byte round trips through the echo, and prints one JSON object.

  tls.py server PORT CERT KEY
  tls.py client HOST PORT SIZE PINGS
"""
import json, socket, ssl, sys, time


def receive_exactly(connection, count):
    """`count` bytes, or fewer when the other side ends the stream first."""
    got = b""
    while len(got) < count:
        more = connection.recv(count - len(got))
        if not more:
            break
        got += more
    return got


def server(port, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("0.0.0.0", port))
    print("listening", flush=True)
    for mode in ("sink", "echo"):
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = context.wrap_socket(raw, server_side=True)
        buffer = bytearray(256 * 1024)
        if mode == "sink":
            while True:
                header = receive_exactly(connection, 8)
                if len(header) < 8:
                    break
                expected = int.from_bytes(header, "big")
                total = 0
                while total < expected:
                    got = connection.recv_into(buffer, min(len(buffer), expected - total))
                    if got == 0:
                        break
                    total += got
                connection.sendall(total.to_bytes(8, "big"))
        else:
            while True:
                data = connection.recv(64)
                if not data:
                    break
                connection.sendall(data)
        connection.close()


def client(host, port, size, pings):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    result = {}

    def connect():
        for _ in range(200):
            try:
                raw = socket.create_connection((host, port))
                break
            except OSError:
                time.sleep(0.05)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return context.wrap_socket(raw)

    connection = connect()
    result["cipher"] = connection.cipher()[0]

    def send_round(payload):
        """The sink reads a length, then that many bytes, and answers the count."""
        view = memoryview(payload)
        connection.sendall(len(payload).to_bytes(8, "big"))
        for offset in range(0, len(payload), 1 << 20):
            connection.sendall(view[offset:offset + (1 << 20)])
        return receive_exactly(connection, 8)

    payload = bytes(range(256)) * (size // 256)
    send_round(bytes(16 * 1024 * 1024))  # warm-up, untimed
    start = time.perf_counter()
    ack = send_round(payload)
    elapsed = time.perf_counter() - start
    result["throughput"] = {"bytes": len(payload), "seconds": round(elapsed, 3),
                            "mib_per_s": round(len(payload) / 1048576 / elapsed, 3),
                            "acknowledged": int.from_bytes(ack, "big") if len(ack) == 8 else -1}
    connection.close()

    connection = connect()
    message = b"P" * 64
    times = []
    for round_ in range(pings + 50):
        t0 = time.perf_counter()
        connection.sendall(message)
        got = b""
        while len(got) < 64:
            got += connection.recv(64 - len(got))
        if round_ >= 50:
            times.append((time.perf_counter() - t0) * 1000)
    connection.close()
    times.sort()
    at = lambda q: times[min(len(times) - 1, max(0, int(len(times) * q + 0.999999) - 1))]
    result["pingpong_64b"] = {"p50_ms": round(at(0.5), 3), "p99_ms": round(at(0.99), 3), "max_ms": round(times[-1], 3), "n": len(times)}
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
