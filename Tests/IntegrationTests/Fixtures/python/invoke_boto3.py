#!/usr/bin/env python3
"""Invoke a lambda-sim function through boto3 and print exactly one JSON line describing the result.

Usage:
    invoke_boto3.py ENDPOINT FUNCTION PAYLOAD_JSON [--tail] [--type RequestResponse|Event|DryRun]
                    [--client-context B64] [--no-payload]

PAYLOAD_JSON is sent as-is; "-" reads the payload from stdin and "@PATH" from a file (for payloads
too large for a command-line argument).

Output on success:
    {"StatusCode", "FunctionError", "LogResult" (base64-decoded text), "ExecutedVersion",
     "Payload" (response body as text), "RequestId"}
Output on a service error (botocore ClientError), exit status 0:
    {"error": code, "message", "status": HTTP status, "headers": {...}}
Output when no HTTP response was obtained (connection refused, timeout, ...), exit status 1:
    {"error": exception class name, "message", "status": null, "headers": {}}
"""

import argparse
import base64
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint")
    parser.add_argument("function")
    parser.add_argument("payload")
    parser.add_argument("--tail", action="store_true", help="request the last 4 KB of logs (LogType=Tail)")
    parser.add_argument("--type", default="RequestResponse", choices=["RequestResponse", "Event", "DryRun"])
    parser.add_argument("--client-context", default=None, help="base64-encoded client context")
    parser.add_argument("--no-payload", action="store_true", help="send no Payload at all (PAYLOAD_JSON is ignored)")
    return parser.parse_args(argv)


def read_payload(spec):
    if spec == "-":
        return sys.stdin.buffer.read()
    if spec.startswith("@"):
        with open(spec[1:], "rb") as handle:
            return handle.read()
    return spec.encode("utf-8")


def make_client(endpoint):
    config = Config(
        # Exactly one attempt: a retried Invoke would run the function twice.
        retries={"max_attempts": 1, "total_max_attempts": 1},
        read_timeout=900,
        connect_timeout=10,
    )
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        aws_session_token="test",
        config=config,
    )


def invoke(args):
    request = {
        "FunctionName": args.function,
        "InvocationType": args.type,
        "LogType": "Tail" if args.tail else "None",
    }
    if not args.no_payload:
        request["Payload"] = read_payload(args.payload)
    if args.client_context is not None:
        request["ClientContext"] = args.client_context
    response = make_client(args.endpoint).invoke(**request)
    log_result = response.get("LogResult")
    if log_result is not None:
        log_result = base64.b64decode(log_result).decode("utf-8", errors="replace")
    payload = response.get("Payload")
    return {
        "StatusCode": response.get("StatusCode"),
        "FunctionError": response.get("FunctionError"),
        "LogResult": log_result,
        "ExecutedVersion": response.get("ExecutedVersion"),
        "Payload": payload.read().decode("utf-8", errors="replace") if payload is not None else None,
        "RequestId": response.get("ResponseMetadata", {}).get("RequestId"),
    }


def main(argv):
    args = parse_args(argv)
    status = 0
    try:
        result = invoke(args)
    except ClientError as error:
        error_info = error.response.get("Error", {})
        metadata = error.response.get("ResponseMetadata", {})
        result = {
            "error": error_info.get("Code"),
            "message": error_info.get("Message"),
            "status": metadata.get("HTTPStatusCode"),
            "headers": dict(metadata.get("HTTPHeaders", {})),
        }
    except BotoCoreError as error:
        result = {"error": type(error).__name__, "message": str(error), "status": None, "headers": {}}
        status = 1
    print(json.dumps(result), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
