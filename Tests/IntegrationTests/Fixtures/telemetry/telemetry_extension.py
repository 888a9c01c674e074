"""An external extension that subscribes to the Telemetry API or the Logs API, for the lambda-sim tests.

Started by a /bin/sh wrapper as `python telemetry_extension.py <file name>`. It registers, runs a listener
on 127.0.0.1 (the simulator maps sandbox.localdomain there), subscribes, then waits for events. Every
answer and every batch it receives is appended as one JSON object per line to $EXT_RECORD_FILE:

  {"ext", "pid", "kind", "t", ...}   kind: start, register, probe, subscribe, batch, tcp-closed,
                                     stuck-request, event, late-subscribe, next-error, exiting

It prints one line at start-up (an `extension` event) and nothing per batch, so delivery never feeds itself.

Behaviour variables (all optional):
  TEL_API           "telemetry" (default) or "logs"
  TEL_SCHEMA        schemaVersion; default "2022-12-13" for telemetry, none for logs; "-" omits it
  TEL_TYPES         comma-separated types (default "platform,function,extension")
  TEL_BUFFERING     JSON object (default {"timeoutMs": 25})
  TEL_LISTENER      http (default): answers 200 to every POST
                    tcp: a TCP listener reading NDJSON (destination {"protocol":"TCP","port":N})
                    stuck: accepts connections and reads requests but never answers
                    closed: subscribes to a port nothing listens on
                    external: subscribes over TCP to TEL_PORT, a listener outside the sandbox
  TEL_URI_PATH      path after http://sandbox.localdomain:PORT (default none)
  TEL_EVENTS        events to register for (default "INVOKE,SHUTDOWN")
  TEL_PROBES        JSON list of subscribe requests sent before the real one, each recorded as "probe":
                    {"name", "api"?, "body": object ("__PORT__" strings become the port), "noIdentifier"?}
  TEL_PROBES_AFTER  the same, sent after the real subscription
  TEL_LATE_SUBSCRIBE  "1": repeat the real subscription on the first INVOKE (recorded as "late-subscribe")
  TEL_STALL_MS      the HTTP listener holds its answers for this long after the first INVOKE
  TEL_LINGER_MS     after SHUTDOWN, wait up to this long (default 1500) for a platform.report of every
                    INVOKE event and every platform.start received before exiting
"""

import http.client
import http.server
import json
import os
import socket
import socketserver
import sys
import threading
import time

NAME = sys.argv[1]
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
RECORD_FILE = os.environ["EXT_RECORD_FILE"]
ENV = os.environ
PATHS = {"telemetry": "/2022-07-01/telemetry", "logs": "/2020-08-15/logs"}

state_lock = threading.Lock()
started_ids = set()
reported_ids = set()
stall_until = [0.0]


def now_ms():
    return int(time.time() * 1000)


def record(kind, **fields):
    """Appends one JSON line with a single write on an O_APPEND descriptor."""
    entry = {"ext": NAME, "pid": os.getpid(), "kind": kind, "t": now_ms()}
    entry.update(fields)
    data = (json.dumps(entry) + "\n").encode()
    fd = os.open(RECORD_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def note_events(events):
    """Remembers which invokes started and which were reported, for the linger after SHUTDOWN."""
    with state_lock:
        for event in events:
            record_value = event.get("record") if isinstance(event, dict) else None
            if not isinstance(record_value, dict):
                continue
            if event.get("type") == "platform.start":
                started_ids.add(record_value.get("requestId"))
            elif event.get("type") == "platform.report":
                reported_ids.add(record_value.get("requestId"))


def call(method, path, headers, body=None):
    """One request on a fresh connection, with no timeout (/event/next blocks until an event).

    Returns the status, the headers (lower-case names) and the body text."""
    host, port = API.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port))
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


class BatchHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        try:
            events = json.loads(body)
        except ValueError:
            events = None
        record(
            "batch",
            protocol="HTTP",
            method=self.command,
            path=self.path,
            contentType=self.headers.get("Content-Type"),
            body=body,
            events=events if isinstance(events, list) else [],
        )
        if isinstance(events, list):
            note_events(events)
        while time.time() < stall_until[0]:
            time.sleep(0.005)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass  # stderr lines would become `extension` events and be delivered again


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve_tcp(listener):
    """Reads NDJSON from every connection; records the complete lines of each read as one batch."""
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=read_lines, args=(connection,), daemon=True).start()


def read_lines(connection):
    pending = b""
    while True:
        data = connection.recv(65536)
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        if lines:
            texts = [line.decode() for line in lines]
            events = [parse(text) for text in texts]
            record("batch", protocol="TCP", lines=texts, events=events)
            note_events(events)
    record("tcp-closed", partial=pending.decode(errors="replace"))
    connection.close()


def parse(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def serve_stuck(listener):
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=hold, args=(connection,), daemon=True).start()


def hold(connection):
    """Reads what arrives and never answers."""
    while True:
        data = connection.recv(65536)
        if not data:
            break
        record("stuck-request", bytes=len(data), head=data.split(b"\r\n", 1)[0].decode(errors="replace"))


def start_listener(mode):
    """Starts the listener `mode` asks for; returns the destination object."""
    if mode == "http":
        server = Server(("127.0.0.1", 0), BatchHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
    elif mode in ("tcp", "stuck"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        target = serve_tcp if mode == "tcp" else serve_stuck
        threading.Thread(target=target, args=(listener,), daemon=True).start()
    elif mode == "closed":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
    elif mode == "external":
        port = int(ENV["TEL_PORT"])
    else:
        raise SystemExit(f"unknown TEL_LISTENER {mode!r}")
    if mode in ("tcp", "external"):
        return port, {"protocol": "TCP", "port": port}
    uri = f"http://sandbox.localdomain:{port}{ENV.get('TEL_URI_PATH', '')}"
    return port, {"protocol": "HTTP", "URI": uri}


def with_port(value, port):
    if value == "__PORT__":
        return port
    if isinstance(value, str):
        return value.replace("__PORT__", str(port))
    if isinstance(value, list):
        return [with_port(item, port) for item in value]
    if isinstance(value, dict):
        return {key: with_port(item, port) for key, item in value.items()}
    return value


def subscribe(api, body, identifier):
    headers = {"Content-Type": "application/json"}
    if identifier is not None:
        headers["Lambda-Extension-Identifier"] = identifier
    return call("PUT", PATHS[api], headers, json.dumps(body))


def run_probes(setting, api, port, identifier):
    for probe in json.loads(ENV.get(setting, "[]")):
        probe_api = probe.get("api", api)
        body = with_port(probe["body"], port)
        status, headers, answer = subscribe(probe_api, body, None if probe.get("noIdentifier") else identifier)
        record("probe", name=probe["name"], status=status, contentType=headers.get("content-type"), body=answer)


def linger_until_reported():
    deadline = time.time() + int(ENV.get("TEL_LINGER_MS", "1500")) / 1000
    while time.time() < deadline:
        with state_lock:
            if started_ids <= reported_ids:
                return True
        time.sleep(0.01)
    return False


def main():
    api = ENV.get("TEL_API", "telemetry")
    mode = ENV.get("TEL_LISTENER", "http")
    record("start")
    print(f"telemetry extension {NAME} starting", flush=True)

    events = [e for e in ENV.get("TEL_EVENTS", "INVOKE,SHUTDOWN").split(",") if e]
    status, headers, body = call(
        "POST", "/2020-01-01/extension/register", {"Lambda-Extension-Name": NAME}, json.dumps({"events": events})
    )
    record("register", status=status, body=body)
    if status != 200:
        sys.exit(2)
    identifier = headers["lambda-extension-identifier"]

    port, destination = start_listener(mode)
    run_probes("TEL_PROBES", api, port, identifier)
    request = {"types": [t for t in ENV.get("TEL_TYPES", "platform,function,extension").split(",") if t]}
    schema = ENV.get("TEL_SCHEMA", "2022-12-13" if api == "telemetry" else "-")
    if schema != "-":
        request["schemaVersion"] = schema
    request["buffering"] = json.loads(ENV.get("TEL_BUFFERING", '{"timeoutMs": 25}'))
    request["destination"] = destination
    status, headers, answer = subscribe(api, request, identifier)
    content_type = headers.get("content-type")
    record("subscribe", status=status, contentType=content_type, body=answer, request=request, port=port)
    run_probes("TEL_PROBES_AFTER", api, port, identifier)

    invokes = 0
    while True:
        status, _, body = call("GET", "/2020-01-01/extension/event/next", {"Lambda-Extension-Identifier": identifier})
        if status != 200:
            record("next-error", status=status, body=body)
            sys.exit(3)
        event = json.loads(body)
        record("event", event=event)
        if event["eventType"] == "INVOKE":
            with state_lock:
                started_ids.add(event["requestId"])
        if event["eventType"] == "SHUTDOWN":
            complete = linger_until_reported()
            record("exiting", complete=complete)
            sys.exit(0)
        invokes += 1
        if invokes == 1:
            if ENV.get("TEL_STALL_MS"):
                stall_until[0] = time.time() + int(ENV["TEL_STALL_MS"]) / 1000
            if ENV.get("TEL_LATE_SUBSCRIBE") == "1":
                status, headers, answer = subscribe(api, request, identifier)
                record("late-subscribe", status=status, contentType=headers.get("content-type"), body=answer)


if __name__ == "__main__":
    main()
