"""A function's hand-written twin (copied beside this file as twin.py) behind ONE of the libraries
the functions keep, named by BENCH_LIBRARY: what that library alone adds to the twin's cold start.
The rows it makes show whether 1.2x of the twin is reachable with the library on the path."""

import os

library = os.environ["BENCH_LIBRARY"]
if library == "pydantic":  # a model built and validated: pydantic_core loaded, one schema
    import pydantic

    class Report(pydantic.BaseModel):
        call_id: str
        status: str = "COMPLETED"

    Report(call_id="c0ffee")
elif library == "Tracer":  # botocore patched, as ours
    from aws_lambda_powertools import Tracer

    Tracer(patch_modules=["botocore"])
elif library == "event handler":  # Powertools' HTTP API resolver, one route
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    resolver = APIGatewayHttpResolver()
    resolver.get("/ping")(lambda: {})
elif library == "Logger and Metrics":
    from aws_lambda_powertools import Logger, Metrics

    Logger().info("ready")
    Metrics()
else:
    raise SystemExit(f"unknown BENCH_LIBRARY {library!r}")

from twin import lambda_handler  # noqa: E402, F401
