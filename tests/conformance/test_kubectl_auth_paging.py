"""kubectl against the sim's authentication and its paged lists."""

from __future__ import annotations

import math
import re

import httpx

from tests.conformance.conftest import PODS_PER_WORKER, WORKERS
from tests.support.kubectl import KubectlRunner, parse_table


def test_wrong_token(k: KubectlRunner) -> None:
    done = k.run("--token", "wrong", "get", "nodes", check=False)
    assert done.returncode == 1
    # kubectl words the 401 by where it met it: its discovery (no cache yet) or the list.
    assert re.search(
        r"^error: You must be logged in to the server \((Unauthorized|the server has asked for the client "
        r"to provide credentials)\)$",
        done.stderr,
        re.MULTILINE,
    ), done.stderr
    assert done.stdout == ""


def test_chunked_list_returns_everything(k: KubectlRunner, api: httpx.Client) -> None:
    # The scenario's pods only: other tests' workloads may add or remove pods meanwhile.
    served = api.get("/api/v1/pods", params={"labelSelector": "app=load"}).json()["items"]
    assert len(served) == WORKERS * PODS_PER_WORKER
    # -v=6 logs each request: kubectl must have paged with limit=7 and continue tokens.
    done = k.run("get", "pods", "-A", "-l", "app=load", "--chunk-size=7", "-v=6")
    rows = parse_table(done.stdout)
    assert len(rows) == len(served)
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == {
        (p["metadata"]["namespace"], p["metadata"]["name"]) for p in served
    }
    # Older kubectl logs `GET https://...`, newer `"Response" verb="GET" url="https://..."`.
    requests = re.findall(r'GET(?: |" url=")https://[^/\s]+/api/v1/pods\?([^"\s]+)', done.stderr)
    assert len(requests) == math.ceil(len(served) / 7)
    assert all("limit=7" in query for query in requests)
    assert sum("continue=" in query for query in requests) == len(requests) - 1
