// lambda-sim-fixture: the project's fast native test runtime. It speaks the Lambda Runtime API
// (2018-06-01) over one kept-alive HTTP/1.1 connection using only Glibc, so it starts in about a
// millisecond.
//
// Each invoke's JSON payload may carry these top-level keys (all optional; without them the payload
// is echoed back byte-for-byte as application/json):
//   "print": "text" / "stderr": "text"   write a line to stdout / stderr first
//   "forkSleep": N                        fork a child that sleeps N ms, then answer normally
//   "setsidSleep": N                      the same, the child in a session of its own (out of the group)
//   "sleepMs": N                          sleep N ms before answering
//   "touchMB": N                          allocate and write N MiB, then free them (a peak only VmHWM keeps)
//   "exit": N / "signal": N               _exit(N) / raise(N) without answering
//   "error": "Type"                       POST /error with that Lambda-Runtime-Function-Error-Type
//   "exitAfterError": N                   with "error": _exit(N) once /error was answered (a Go panic)
//   "sleepAfterResponseMs": N             sleep N ms after /response, before the next /next
//   "bytes": N                            answer N bytes of "a" (application/octet-stream)
//   "headers": true                       answer the /next response headers as a JSON object
//   "env": "NAME"                         answer {"NAME": value-or-null}
//   "remaining": true                     answer {"remainingMs": deadline - now}
//   "twice": true                         POST /response a second time; print "second-response-status: NNN"
//   "streamChunks": N                     stream the response in N chunks ("chunk 0\n"…), with "streamChunkBytes",
//                                         "streamIntervalMs", "streamSleepMs", "streamExitAfter", "streamErrorType",
//                                         "streamFunctionURL" (see Fixture.stream)
// Start-up controls: FIXTURE_TOUCH_MB_AT_INIT (allocate and write N MiB before anything else, and keep it),
// FIXTURE_PRINT_AT_INIT, FIXTURE_INIT_SLEEP_MS, FIXTURE_EXIT_AT_INIT, FIXTURE_INIT_ERROR; FIXTURE_NEW_CONNECTION=1
// opens a new Runtime API connection for every request (as curl-based runtimes do).
//
// `lambda-sim-fixture --echo-server PORT` is not a runtime: it serves the loopback floor the benchmarks compare
// with (see EchoServer.swift).

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--echo-server",
    let port = Int(CommandLine.arguments[2])
{
    EchoServer.run(port: port)
}
Fixture.run()
