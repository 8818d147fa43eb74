import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from kubernetes import client

from cenas_operator.kube import json_call

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t-a1", "namespace": "ns"},
       "status": {"phase": "Pending"}}


class FakeAPIServer(BaseHTTPRequestHandler):
    """Creates pods once: a second create of a name is 409 with a Status body, as the API server says it."""

    protocol_version = "HTTP/1.1"  # keep-alive, so that connection reuse shows
    wbufsize = 1 << 16  # headers and body in one segment (no delayed-ACK wait per reply)
    created: ClassVar[set] = set()
    peers: ClassVar[set] = set()  # (host, port) of every client connection

    def do_POST(self):
        type(self).peers.add(self.client_address)
        pod = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = pod["metadata"]["name"]
        if name in self.created:
            self.reply(409, {"kind": "Status", "status": "Failure", "reason": "AlreadyExists", "code": 409,
                             "message": f'pods "{name}" already exists'})
        else:
            self.created.add(name)
            self.reply(201, {**POD, "metadata": {**POD["metadata"], "name": name}})

    def reply(self, code: int, doc: dict) -> None:
        data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        pass


@pytest.fixture
def core():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAPIServer)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    configuration = client.Configuration(host=f"http://127.0.0.1:{server.server_port}")
    yield client.CoreV1Api(client.ApiClient(configuration))
    server.shutdown()


def test_the_answer_is_plain_json_and_errors_still_raise(core):
    for i in range(5):
        pod = json_call(core.create_namespaced_pod, "ns", {**POD, "metadata": {"name": f"p{i}"}})
        assert pod["metadata"]["name"] == f"p{i}" and pod["status"] == {"phase": "Pending"}
    with pytest.raises(client.ApiException) as raised:
        json_call(core.create_namespaced_pod, "ns", {**POD, "metadata": {"name": "p0"}})
    assert raised.value.status == 409
    json_call(core.create_namespaced_pod, "ns", {**POD, "metadata": {"name": "p5"}})
    assert len(FakeAPIServer.peers) == 1  # every call, the failed one too, gave its connection back
