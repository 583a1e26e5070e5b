"""moto's server in a process of its own (``python -m devstack.moto_process``).

Parsing and applying each DynamoDB request holds moto's interpreter lock for most of its time:
in the stack's own process it left the local API and the simulator waiting, and a 200-call batch
(thousands of callbacks) ran on one of the machine's cores. Its own process gives it its own.
It prints ``host:port`` once it listens, and stops when its standard input closes: with the
stack, however the stack ends.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any


def serialise_dynamodb() -> None:
    """DynamoDB applies each request to an item atomically; moto's backend does not lock, and
    its threaded server would let two workers' UpdateItems interleave inside one item. One lock
    around every DynamoDB action restores the guarantee (as tests/functional does in-process)."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def share_streams_in_transaction_backups() -> None:
    """moto backs up every table a TransactWriteItems touches with ``copy.deepcopy``, stream
    included: a table with a stream (CallsTable) grows a record per write, so each transaction
    copies every record so far, and a long run slows down and grows by gigabytes (500 calls of
    the soak: over 12 GB). The backup shares the stream instead (nothing reads it locally); a
    failed transaction may then leave stream records of writes it rolled back."""
    from moto.dynamodb.models.table import StreamShard

    def share(self: StreamShard, memo: dict[int, Any]) -> StreamShard:
        return self

    StreamShard.__deepcopy__ = share  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.moto_process")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    from moto.server import ThreadedMotoServer

    serialise_dynamodb()
    share_streams_in_transaction_backups()
    server = ThreadedMotoServer(ip_address=args.host, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"{host}:{port}", flush=True)
    sys.stdin.read()  # returns once the stack closes the pipe, or is gone
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
