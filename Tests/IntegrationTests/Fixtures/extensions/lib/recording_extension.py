"""An external extension for the lambda-sim integration tests.

Started by a small /bin/sh wrapper as `python recording_extension.py <file name>`; the wrapper may export
EXT_* variables to choose the behaviour. Everything the extension sees (its environment, the registration
response, every event) is appended as one JSON object per line to $EXT_RECORD_FILE, and after each record
it prints `recorded <what>` on stdout (`recorded event INVOKE`, `recorded event SHUTDOWN timeout`, ...) so a
test can wait for that log line.

Behaviour variables (all optional):
  EXT_EVENTS            comma-separated events to register for (default "INVOKE,SHUTDOWN"; "" for none)
  EXT_REGISTER_NAME     Lambda-Extension-Name to send (default: the file name)
  EXT_ACCEPT_FEATURE    value of Lambda-Extension-Accept-Feature
  EXT_BEFORE_REGISTER   actions before registering: "exit:N", "sleep:MS", comma-separated ("sleep:300,exit:1")
  EXT_AFTER_REGISTER    actions after registering: "exit:N", "sleep:MS", "wait-file:PATH" (until it exists),
                        "wait-record:EXT:KIND" (until EXT wrote this generation's KIND record), "init-error:TYPE" (then exit 0)
  EXT_FORK_CHILD        "1": start a `sleep 600` child after registering (recorded as kind "child")
  EXT_INVOKE_DELAY_MS   milliseconds to work on each INVOKE before asking for the next event
  EXT_ON_INVOKE         actions after the delay: "exit:N", or "exit-once:N" only the first time ever (marker file)
  EXT_ON_SHUTDOWN       "ignore": keep sleeping after SHUTDOWN instead of exiting
"""

import http.client
import json
import os
import subprocess
import sys
import time

NAME = sys.argv[1]
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
RECORD_FILE = os.environ["EXT_RECORD_FILE"]
BASE = "/2020-01-01/extension"


def now_ms():
    return int(time.time() * 1000)


def record(kind, label=None, **fields):
    """Appends one JSON line (a single write on an O_APPEND descriptor) and announces it on stdout."""
    entry = {"ext": NAME, "pid": os.getpid(), "kind": kind, "t": now_ms()}
    entry.update(fields)
    data = (json.dumps(entry) + "\n").encode()
    fd = os.open(RECORD_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    print(f"recorded {label or kind}", flush=True)


def has_record(ext, kind):
    """True once `ext` has written as many `kind` records as this extension has started (one per generation)."""
    try:
        with open(RECORD_FILE) as records:
            entries = [json.loads(line) for line in records if line.endswith("\n")]
    except FileNotFoundError:
        return False
    starts = sum(1 for e in entries if e["ext"] == NAME and e["kind"] == "start")
    return sum(1 for e in entries if e["ext"] == ext and e["kind"] == kind) >= starts


def call(method, path, headers, body=None):
    """One request on a fresh connection, with no timeout (/event/next blocks until an event)."""
    host, port = API.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port))
    try:
        connection.request(method, BASE + path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data.decode()
    finally:
        connection.close()


def step(setting, identifier=None):
    """Carries out a setting: "action:argument" actions separated by commas, in order."""
    for action in filter(None, setting.split(",")):
        act(action, identifier)


def act(setting, identifier):
    action, _, argument = setting.partition(":")
    if action == "exit":
        sys.exit(int(argument))
    elif action == "sleep":
        time.sleep(int(argument) / 1000)
    elif action == "init-error":
        status, _, body = call(
            "POST",
            "/init/error",
            {"Lambda-Extension-Identifier": identifier, "Lambda-Extension-Function-Error-Type": argument},
            json.dumps({"errorMessage": "extension init failed", "errorType": argument}),
        )
        record("init-error", status=status, body=body)
        sys.exit(0)
    elif action == "wait-file":
        while not os.path.exists(argument):
            time.sleep(0.02)
    elif action == "wait-record":
        # "wait-record:EXT:KIND": until EXT has written its KIND record of this generation.
        ext, _, kind = argument.partition(":")
        while not has_record(ext, kind):
            time.sleep(0.02)
    elif action == "exit-once":
        marker = RECORD_FILE + "." + NAME + ".exited"
        if not os.path.exists(marker):
            open(marker, "w").close()
            record("exiting", code=int(argument))
            sys.exit(int(argument))
    else:
        raise SystemExit(f"unknown setting {setting!r}")


def main():
    env = os.environ
    record("start", env=dict(env))
    step(env.get("EXT_BEFORE_REGISTER", ""))

    headers = {"Lambda-Extension-Name": env.get("EXT_REGISTER_NAME", NAME)}
    if "EXT_ACCEPT_FEATURE" in env:
        headers["Lambda-Extension-Accept-Feature"] = env["EXT_ACCEPT_FEATURE"]
    events = [e for e in env.get("EXT_EVENTS", "INVOKE,SHUTDOWN").split(",") if e]
    status, response_headers, body = call("POST", "/register", headers, json.dumps({"events": events}))
    record("register", status=status, headers=response_headers, body=body)
    if status != 200:
        sys.exit(2)
    identifier = response_headers["lambda-extension-identifier"]
    step(env.get("EXT_AFTER_REGISTER", ""), identifier)

    if env.get("EXT_FORK_CHILD") == "1":
        child = subprocess.Popen(["sleep", "600"])
        record("child", child=child.pid)

    while True:
        status, response_headers, body = call("GET", "/event/next", {"Lambda-Extension-Identifier": identifier})
        if status != 200:
            record("next-error", status=status, body=body)
            sys.exit(3)
        event = json.loads(body)
        label = " ".join(["event", event["eventType"], event.get("shutdownReason", "")]).strip()
        record("event", label, event=event, headers=response_headers)
        if event["eventType"] == "SHUTDOWN":
            if env.get("EXT_ON_SHUTDOWN") == "ignore":
                while True:
                    time.sleep(60)
            sys.exit(0)
        time.sleep(int(env.get("EXT_INVOKE_DELAY_MS", "0")) / 1000)
        step(env.get("EXT_ON_INVOKE", ""))


if __name__ == "__main__":
    main()
