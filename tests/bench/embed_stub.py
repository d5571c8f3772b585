#!/usr/bin/env python3
"""A stand-in OpenAI-compatible embeddings server for benchmarks.

usage: embed_stub.py PORT [DIMENSIONS=384]

Answers POST /v1/embeddings on 127.0.0.1:PORT with deterministic vectors
(words hashed into DIMENSIONS buckets, normalised: similar texts get
similar vectors), keeping connections alive. It stands for a model server
so that ragd's own work per query can be measured without the model's:
its CPU is its own process's, not ragd's. Standard library only.
"""
import json
import math
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIMS = int(sys.argv[2]) if len(sys.argv) > 2 else 384


def embed(text):
    v = [0.0] * DIMS
    for w in text.lower().split():
        w = w.strip(".,;:!?()\"'")
        if len(w) > 2:
            v[zlib.crc32(w.encode()) % DIMS] += 1.0
    if not any(v):
        v[0] = 1.0  # a text without words still gets a unit vector
    n = math.sqrt(sum(x * x for x in v))
    return [round(x / n, 6) for x in v]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm
    # the body waited for the client's delayed ACK (about 40 ms), which
    # capped a 16-connection run at about 345 requests/s in most runs and
    # let it reach 900-1,200 in others.
    disable_nagle_algorithm = True

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        out = json.dumps({
            "object": "list",
            "model": body.get("model", "stub"),
            "data": [{"object": "embedding", "index": i, "embedding": embed(t)}
                     for i, t in enumerate(texts)],
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # ragd closes its connections to the embedder when it stops or
        # drops a question whose client left (the end of a wrk run): not
        # worth a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
