// SimDomain: what the simulator decides, as pure values and state machines.
//
// May import: SimCore, the Swift standard library and swift-collections' DequeModule (a value type, no I/O) —
// nothing else (scripts/test.sh fails the build otherwise).
// May not: open sockets or files, start or signal processes, read a clock, draw random numbers or mint ids. Time
// arrives as a value (monotonic nanoseconds, epoch milliseconds) or through SimCore's `SimClock`, and ids arrive
// from the caller, so every rule here is tested with a manual clock and no processes (Tests/SimDomainTests; the
// sandbox machine's tests, which also check how SimSandbox words its decisions, are in Tests/SimSandboxTests).
//
// Holds: the one function specification and the closed-set enums it uses (`FunctionSpec`, `EnvironmentVariables`,
// `FreezeMode`, `LogFormat`, `RuntimeAPIAccess`, `InitializationType`; what the library shows is public — the
// specification is its `FunctionOptions`),
// the sandbox (`SandboxStateMachine`: one execution environment's init, invokes, extensions and shutdown, with the
// failures and refusals it decides, `PlatformFailure`, `RuntimeRejection`, `ExtensionRejection`, and Lambda's
// `Limits`; its identifiers come from an injected `IdentifierSource`),
// the pool (`PoolStateMachine`: provisioning, retries, reaping, limits), placement (`PlacementStateMachine`),
// Lambda's concurrency accounting (`ConcurrencyLimits`, `ConcurrencyUnits`, `TokenBucket`), asynchronous invokes
// (`AsyncRetryPolicy`, `AsyncInvokeStateMachine`), and the one event vocabulary (`SandboxEvent` with
// `PlatformEvent` and their records) with its bus (`EventBus`, `EventContext`, `SandboxEventSink`), which the
// sinks render. The performers that act on their decisions live in SimOrchestrator and SimSandbox.
