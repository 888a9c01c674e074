#!/usr/bin/env python3
"""Invoke a lambda-sim function with boto3's invoke_with_response_stream and print one JSON line per event.

Usage:
    stream_boto3.py ENDPOINT FUNCTION PAYLOAD_JSON [--tail] [--type RequestResponse|DryRun|Event]
                    [--read-delay SECONDS]

Lines, flushed as they happen (t = seconds since the call started):
    {"kind": "response", "t", "StatusCode", "ExecutedVersion", "ResponseStreamContentType"}
    {"kind": "chunk", "t", "bytes", "text" (first 200 bytes, decoded)}   one per PayloadChunk
    {"kind": "complete", "t", "ErrorCode", "ErrorDetails", "LogResult" (decoded)}
    {"kind": "error", "code", "message", "status"}                        a service error (ClientError)
--read-delay sleeps after each chunk (a slow reader).
"""

import argparse
import base64
import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def emit(record):
    print(json.dumps(record), flush=True)


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("function")
    parser.add_argument("payload")
    parser.add_argument("--tail", action="store_true")
    parser.add_argument("--type", default="RequestResponse")
    parser.add_argument("--read-delay", type=float, default=0)
    args = parser.parse_args(argv)
    client = boto3.client(
        "lambda",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "total_max_attempts": 1}, read_timeout=900),
    )
    start = time.monotonic()
    try:
        response = client.invoke_with_response_stream(
            FunctionName=args.function,
            InvocationType=args.type,
            LogType="Tail" if args.tail else "None",
            Payload=args.payload.encode("utf-8"),
        )
    except ClientError as error:
        emit(
            {
                "kind": "error",
                "code": error.response["Error"].get("Code"),
                "message": error.response["Error"].get("Message"),
                "status": error.response["ResponseMetadata"].get("HTTPStatusCode"),
            }
        )
        return 0
    emit(
        {
            "kind": "response",
            "t": time.monotonic() - start,
            "StatusCode": response.get("StatusCode"),
            "ExecutedVersion": response.get("ExecutedVersion"),
            "ResponseStreamContentType": response.get("ResponseStreamContentType"),
        }
    )
    for event in response.get("EventStream", []):
        now = time.monotonic() - start
        if "PayloadChunk" in event:
            payload = event["PayloadChunk"]["Payload"]
            emit({"kind": "chunk", "t": now, "bytes": len(payload), "text": payload[:200].decode("utf-8", "replace")})
            if args.read_delay:
                time.sleep(args.read_delay)
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
            log = complete.get("LogResult")
            emit(
                {
                    "kind": "complete",
                    "t": now,
                    "ErrorCode": complete.get("ErrorCode"),
                    "ErrorDetails": complete.get("ErrorDetails"),
                    "LogResult": base64.b64decode(log).decode("utf-8", "replace") if log else None,
                }
            )
        else:
            emit({"kind": "unknown", "t": now, "event": sorted(event.keys())})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
