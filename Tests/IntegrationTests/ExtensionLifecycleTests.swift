// External extensions through the lifecycle: what INVOKE and SHUTDOWN events carry, how extensions delay the end
// of an invoke and the start of the runtime, their environment, and AWS_LAMBDA_EXEC_WRAPPER
// (lambda-behaviour.md §2.2, §2.5, §5.1).

import Foundation
import Testing

@Suite("Extension lifecycle")
struct ExtensionLifecycleTests {
    /// An INVOKE event carries exactly eventType, deadlineMs (epoch ms ≈ now + timeout), requestId (the invoker's
    /// x-amzn-RequestId), invokedFunctionArn and tracing {type "X-Amzn-Trace-Id", value Root=…}; the extension's
    /// environment lacks _HANDLER, LAMBDA_TASK_ROOT and the other withheld variables but has AWS_LAMBDA_RUNTIME_API,
    /// AWS_LAMBDA_FUNCTION_NAME and customer variables; its output is in logLines() with extensionName set.
    @Test(.timeLimit(.minutes(1)))
    func invokeEventAndEnvironment() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        let function = TestFunctions.fixture(
            extensions: folder, timeoutSeconds: 5, runtime: "python3.12", environment: [("CUSTOMER_VAR", "visible")])
        let trace = "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1"
        var requestIDs: [String] = []
        var runtimeAPI = ""

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let traced = try await sim.invoke(
                "fn", payload: #"{"env":"_HANDLER"}"#, headers: ["X-Amzn-Trace-Id": trace])
            #expect(traced.status == 200)
            #expect(text(traced) == #"{"_HANDLER":"fixture.handler"}"#, "the runtime itself has _HANDLER")
            requestIDs.append(try #require(traced.headers["x-amzn-RequestId"]))
            _ = try #require(await sim.logs.report(for: requestIDs[0]))
            let untraced = try await sim.invoke("fn", payload: #"{"env":"AWS_EXECUTION_ENV"}"#)
            #expect(text(untraced) == #"{"AWS_EXECUTION_ENV":"AWS_Lambda_python3.12"}"#)
            requestIDs.append(try #require(untraced.headers["x-amzn-RequestId"]))
            _ = try #require(await sim.logs.report(for: requestIDs[1]))
            runtimeAPI = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            // The extension's stdout is in logLines(), tagged with its name and attributed to the invoke in flight.
            let output = sim.simulator.logLines().filter { $0.extensionName == "ext-a" }
            #expect(output.contains { $0.text == "recorded start" && !$0.isPlatform })
            let invokeLines = output.filter { $0.text == "recorded event INVOKE" }
            #expect(invokeLines.map(\.requestID) == requestIDs)
        }

        let events = try folder.records(of: "ext-a", kind: "event").filter { $0.eventType == "INVOKE" }
        try #require(events.count == 2)
        for (record, requestID) in zip(events, requestIDs) {
            let event = record.event
            #expect(
                Set(event.keys) == ["eventType", "deadlineMs", "requestId", "invokedFunctionArn", "tracing"],
                "no payload or extra members: \(event)")
            #expect(event["requestId"] as? String == requestID)
            #expect(event["invokedFunctionArn"] as? String == "arn:aws:lambda:us-east-1:123456789012:function:fn")
            let deadline = Int64(event["deadlineMs"] as? Int ?? 0)
            // Received right after the invoke started, so about the 5 s timeout is left.
            #expect((3_000...5_050).contains(deadline - record.time), "deadline \(deadline) at \(record.time)")
            let headers = record.fields["headers"] as? [String: String] ?? [:]
            #expect(isUUID(headers["lambda-extension-event-identifier"] ?? ""), "\(headers)")
        }
        let tracing = try #require(events[0].event["tracing"] as? [String: String])
        #expect(tracing == ["type": "X-Amzn-Trace-Id", "value": trace])
        let generated = try #require(events[1].event["tracing"] as? [String: String])
        #expect(generated["type"] == "X-Amzn-Trace-Id")
        #expect(generated["value"]?.hasPrefix("Root=1-") == true, "\(generated)")

        let starts = try folder.records(of: "ext-a", kind: "start")
        try #require(starts.count == 1)
        let environment = starts[0].environment
        for withheld in [
            "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_XRAY_CONTEXT_MISSING",
        ] {
            #expect(environment[withheld] == nil, "\(withheld) = \(environment[withheld] ?? "")")
        }
        #expect(environment["AWS_LAMBDA_RUNTIME_API"] == runtimeAPI)
        #expect(environment["AWS_LAMBDA_FUNCTION_NAME"] == "fn")
        #expect(environment["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST")
        #expect(environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128")
        #expect(environment["AWS_REGION"] == "us-east-1")
        #expect(environment["CUSTOMER_VAR"] == "visible")
    }

    /// An extension that works 1,500 ms after each INVOKE delays END/REPORT but not the invoker's response: the
    /// response arrives before the REPORT line exists, REPORT's Duration ≥ 1,500 ms and the
    /// `EXTENSIONS … PostRuntimeExtensionsDuration` line (before END) shows ≥ 1,000 ms (counted from the runtime's
    /// next /next; the margins cover a slow runtime and test on a loaded machine).
    @Test(.timeLimit(.minutes(1)))
    func slowExtensionDelaysReportOnly() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-slow", [("EXT_INVOKE_DELAY_MS", "1500")])
        var answeredAt: Int64 = 0
        var requestID = ""

        try await withExtensionSimulator([TestFunctions.fixture(extensions: folder)], folders: [folder]) { sim in
            // A cold invoke first, so the measured one is warm.
            let cold = try await sim.invoke("fn", payload: "{}")
            let coldID = try #require(cold.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: coldID))

            let started = ContinuousClock.now
            let response = try await sim.invoke("fn", payload: #"{"warm":true}"#)
            let latency = ContinuousClock.now - started
            answeredAt = epochMilliseconds()
            requestID = try #require(response.headers["x-amzn-RequestId"])
            #expect(!sim.logs.texts.contains { $0.hasPrefix("REPORT RequestId: \(requestID)") }, "REPORT came first")
            #expect(response.status == 200)
            #expect(text(response) == #"{"warm":true}"#)
            #expect(latency < .milliseconds(1_200), "the response waited for the extension: \(latency)")

            let report = try #require(await sim.logs.report(for: requestID))
            let afterResponse = ContinuousClock.now - started - latency
            #expect(afterResponse > .milliseconds(300), "REPORT only \(afterResponse) after the response")
            #expect((milliseconds("Duration", in: report) ?? 0) >= 1_500, "\(report)")

            let lines = sim.logs.lines.filter { $0.requestID == requestID && $0.isPlatform }.map(\.text)
            let extensions = try #require(lines.firstIndex { $0.hasPrefix("EXTENSIONS RequestId: \(requestID)\t") })
            let overhead = milliseconds("PostRuntimeExtensionsDuration", in: lines[extensions]) ?? 0
            #expect(overhead >= 1_000, "\(lines[extensions])")
            let end = try #require(lines.firstIndex(of: "END RequestId: \(requestID)"))
            #expect(extensions < end)
        }

        let invoke = try #require(
            try folder.records(of: "ext-slow", kind: "event").first { $0.event["requestId"] as? String == requestID })
        #expect(answeredAt < invoke.time + 1_500, "answered at \(answeredAt), INVOKE received at \(invoke.time)")
    }

    /// SHUTDOWN reaches SHUTDOWN subscribers with shutdownReason `timeout` after an invoke outlives its 1 s timeout,
    /// `failure` after the runtime crashes mid-invoke, and `spindown` on stop(); deadlineMs is ~2 s after the event.
    @Test(.timeLimit(.minutes(1)))
    func shutdownReasons() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        try folder.addPython("ext-invoke-only", [("EXT_EVENTS", "INVOKE")])

        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder, timeoutSeconds: 1)], folders: [folder]
        ) { sim in
            let timedOut = try await sim.invoke("fn", payload: #"{"sleepMs":3000}"#)
            #expect(timedOut.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(try jsonObject(timedOut.body)["errorType"] as? String == "Sandbox.Timedout")
            _ = try #require(await sim.extensionLine("ext-a", "recorded event SHUTDOWN timeout"))

            let crashed = try await sim.invoke("fn", payload: #"{"exit":3}"#)
            #expect(crashed.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(try jsonObject(crashed.body)["errorType"] as? String == "Runtime.ExitError")
            _ = try #require(await sim.extensionLine("ext-a", "recorded event SHUTDOWN failure"))

            let fine = try await sim.invoke("fn", payload: #"{"ok":1}"#)
            #expect(fine.status == 200)
            #expect(text(fine) == #"{"ok":1}"#)
        }

        let shutdowns = try folder.records(of: "ext-a", kind: "event").filter { $0.eventType == "SHUTDOWN" }
        #expect(shutdowns.map { $0.event["shutdownReason"] as? String } == ["timeout", "failure", "spindown"])
        #expect(Set(shutdowns.map(\.pid)).count == 3, "each reset starts fresh extension processes")
        for shutdown in shutdowns {
            #expect(Set(shutdown.event.keys) == ["eventType", "deadlineMs", "shutdownReason"])
            let deadline = Int64(shutdown.event["deadlineMs"] as? Int ?? 0)
            #expect((1_000...2_050).contains(deadline - shutdown.time), "deadline \(deadline) at \(shutdown.time)")
        }
        let unsubscribed = try folder.records(of: "ext-invoke-only", kind: "event")
        #expect(!unsubscribed.contains { $0.eventType == "SHUTDOWN" }, "an INVOKE-only extension got SHUTDOWN")
        #expect(try folder.records(of: "ext-invoke-only", kind: "start").count == 3)
    }

    /// Shutdown stops the runtime first: extensions get SHUTDOWN only once the runtime has exited (or its share of
    /// the budget ran out). Here the runtime needs ~100 ms after SIGTERM, so SHUTDOWN must arrive after that
    /// (lambda-behaviour.md §2.5 "Order: runtime first, then extensions"; RIE rapid/shutdown.go shutdownRuntime
    /// before shutdownAgents).
    @Test(
        .timeLimit(.minutes(1)))
    func shutdownAfterRuntimeExit() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        let marker = folder.root + "/runtime-exited"
        let wrapper = folder.root + "/graceful.sh"
        // The runtime is this shell: on SIGTERM it takes 200 ms to clean up, notes the time and exits.
        try folder.writeFile(
            wrapper,
            """
            #!/bin/sh
            trap 'sleep 0.1; date +%s%3N > "$RUNTIME_EXIT_MARKER"; exit 0' TERM
            "$@" &
            wait

            """, mode: 0o755)
        let function = TestFunctions.fixture(
            extensions: folder, environment: [("AWS_LAMBDA_EXEC_WRAPPER", wrapper), ("RUNTIME_EXIT_MARKER", marker)])

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            #expect(response.status == 200)
        }

        let exited = try #require(
            Int64(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let shutdown = try #require(try folder.records(of: "ext-a", kind: "event").first { $0.eventType == "SHUTDOWN" })
        #expect(shutdown.event["shutdownReason"] as? String == "spindown")
        #expect(shutdown.time >= exited - 10, "SHUTDOWN at \(shutdown.time), runtime exited at \(exited)")
    }

    /// Init waits for extensions: the runtime starts only after a slow extension registered, and the first invoke
    /// is held until an extension that delays its first /event/next asks for it.
    @Test(.timeLimit(.minutes(1)))
    func initWaitsForExtensions() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-late-register", [("EXT_BEFORE_REGISTER", "sleep:700")])
        try folder.addPython("ext-late-next", [("EXT_AFTER_REGISTER", "sleep:900")])
        let marker = folder.root + "/runtime-started"
        let wrapper = folder.root + "/wrapper"
        try folder.writeFile(wrapper, "#!/bin/sh\ndate +%s%3N > \"$RUNTIME_MARKER\"\nexec \"$@\"\n", mode: 0o755)
        let function = TestFunctions.fixture(
            extensions: folder, environment: [("AWS_LAMBDA_EXEC_WRAPPER", wrapper), ("RUNTIME_MARKER", marker)])

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let started = ContinuousClock.now
            let response = try await sim.invoke("fn", payload: "{}")
            #expect(response.status == 200)
            #expect(ContinuousClock.now - started > .milliseconds(900))
        }

        let runtimeStart = try #require(
            Int64(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let launched = try #require(try folder.records(of: "ext-late-register", kind: "start").first)
        #expect(runtimeStart >= launched.time + 700, "runtime started before the extension registered")
        let lateNext = try #require(try folder.records(of: "ext-late-next", kind: "register").first)
        let invoke = try #require(try folder.records(of: "ext-late-next", kind: "event").first)
        #expect(invoke.time >= lateNext.time + 900)
    }

    /// AWS_LAMBDA_EXEC_WRAPPER starts the runtime as `wrapper <command…>`: a variable it exports reaches the
    /// runtime, while extensions are not wrapped.
    @Test(.timeLimit(.minutes(1)))
    func execWrapper() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        let wrapper = folder.root + "/wrapper.sh"
        try folder.writeFile(
            wrapper, "#!/bin/sh\necho \"wrapper args: $*\" >&2\nexport WRAPPED=by-wrapper\nexec \"$@\"\n", mode: 0o755)
        let function = TestFunctions.fixture(extensions: folder, environment: [("AWS_LAMBDA_EXEC_WRAPPER", wrapper)])

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"env":"WRAPPED"}"#)
            #expect(response.status == 200)
            #expect(text(response) == #"{"WRAPPED":"by-wrapper"}"#)
            let line = await sim.logs.first { $0.text.hasPrefix("wrapper args: ") }
            #expect(line?.text == "wrapper args: \(TestPaths.fixtureRuntime)")
            #expect(line?.isPlatform == false && line?.extensionName == nil)
        }
        let environment = try #require(try folder.records(of: "ext-a", kind: "start").first).environment
        #expect(environment["WRAPPED"] == nil, "the extension was wrapped")
        #expect(environment["AWS_LAMBDA_EXEC_WRAPPER"] == wrapper)
    }
}
