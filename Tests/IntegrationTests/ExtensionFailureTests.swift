// Extensions that fail: crashes and /init/error during init, a crash during an invoke, an extension that
// ignores SHUTDOWN, and processes extensions fork (lambda-behaviour.md §2.5, §6.6, §6.9).

import Foundation
import LambdaSim
import Testing

@Suite("Extension failures")
struct ExtensionFailureTests {
    /// An extension that exits 1 before registering or right after registering fails init with Extension.Crash,
    /// and one that posts /init/error with Extension.InitError: the invoke (whose retried init fails again) gets
    /// 200 + Unhandled with that errorType, and the log has `INIT_REPORT … Phase: init` and `… Phase: invoke` lines
    /// with `Status: error\tError Type: <type>` and a REPORT with the same error; the other extension gets SHUTDOWN
    /// `failure` both times.
    @Test(.timeLimit(.minutes(1)))
    func failureDuringInit() async throws {
        // ext-failing fails only once ext-ok has registered, so ext-ok is always told why the environment went away.
        let afterOK = "wait-record:ext-ok:register"
        let cases: [(function: String, settings: [(String, String)], errorType: String)] = [
            ("crash-before", [("EXT_BEFORE_REGISTER", "\(afterOK),exit:1")], "Extension.Crash"),
            ("crash-after", [("EXT_BEFORE_REGISTER", afterOK), ("EXT_AFTER_REGISTER", "exit:1")], "Extension.Crash"),
            (
                "init-error",
                [("EXT_BEFORE_REGISTER", afterOK), ("EXT_AFTER_REGISTER", "init-error:Extension.ConfigInvalid")],
                "Extension.InitError"
            ),
        ]
        var folders: [ExtensionFolder] = []
        defer { for folder in folders { folder.remove() } }
        var functions: [FunctionOptions] = []
        for item in cases {
            let folder = try ExtensionFolder()
            folders.append(folder)
            try folder.addPython("ext-failing", item.settings)
            try folder.addPython("ext-ok")
            // The retried init runs under the function timeout: leave room for slow start-ups on a loaded machine.
            functions.append(TestFunctions.fixture(extensions: folder, name: item.function, timeoutSeconds: 10))
        }

        try await withExtensionSimulator(functions, folders: folders) { sim in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for item in cases {
                    group.addTask {
                        let response = try await sim.invoke(item.function, payload: "{}")
                        let id = try #require(response.headers["x-amzn-RequestId"])
                        #expect(response.status == 200)
                        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled", "\(item.function)")
                        let body = try stringObject(response.body)
                        #expect(body["errorType"] == item.errorType, "\(item.function): \(body)")
                        #expect(body["errorMessage"]?.hasPrefix("RequestId: \(id) Error: ") == true, "\(body)")
                        #expect(body["errorMessage"]?.contains("ext-failing") == true, "\(body)")

                        let report = try #require(await sim.logs.report(for: id))
                        #expect(report.contains("\tStatus: error\tError Type: \(item.errorType)\t"), "\(report)")
                        let initReports = sim.logs.lines.filter {
                            $0.function == item.function && $0.text.hasPrefix("INIT_REPORT ")
                        }.map(\.text)
                        try #require(initReports.count == 2, "\(item.function): \(initReports)")
                        #expect(initReports[0].hasSuffix("\tPhase: init\tStatus: error\tError Type: \(item.errorType)"))
                        #expect(
                            initReports[1].hasSuffix("\tPhase: invoke\tStatus: error\tError Type: \(item.errorType)"))
                    }
                }
                try await group.waitForAll()
            }
        }

        for (item, folder) in zip(cases, folders) {
            let starts = try folder.records(of: "ext-failing", kind: "start")
            #expect(Set(starts.map(\.pid)).count == 2, "\(item.function): init is retried with a fresh process")
            let registrations = try folder.records(of: "ext-failing", kind: "register")
            #expect(registrations.count == (item.function == "crash-before" ? 0 : 2), "\(item.function)")
            if item.function == "init-error" {
                let replies = try folder.records(of: "ext-failing", kind: "init-error")
                #expect(replies.map { $0.fields["status"] as? Int } == [202, 202])
                #expect(
                    replies.map { $0.fields["body"] as? String } == [
                        #"{"status":"OK"}"# + "\n", #"{"status":"OK"}"# + "\n",
                    ])
            }
            // The healthy extension is told why each environment went away.
            let reasons = try folder.records(of: "ext-ok", kind: "event").compactMap {
                $0.event["shutdownReason"] as? String
            }
            #expect(reasons == ["failure", "failure"], "\(item.function): \(reasons)")
        }
    }

    /// A runtime that cannot be started while an extension runs fails the init; the init retried inside the invoke
    /// starts only once the first extension has exited (it is told SHUTDOWN `failure`), so the invoke gets the
    /// runtime's Runtime.InvalidEntrypoint from the retry too, and each generation's extension sees its own SHUTDOWN.
    @Test(.timeLimit(.minutes(1)))
    func spawnFailureWaitsForTheExtensionsExit() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-ok")
        var function = TestFunctions.fixture(extensions: folder, timeoutSeconds: 10)
        function.command = ["/nonexistent/lambda-sim-it/bootstrap"]

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            let body = try stringObject(response.body)
            #expect(body["errorType"] == "Runtime.InvalidEntrypoint", "\(body)")
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.contains("\tStatus: error\tError Type: Runtime.InvalidEntrypoint"), "\(report)")
        }

        let starts = try folder.records(of: "ext-ok", kind: "start")
        #expect(Set(starts.map(\.pid)).count == 2, "init is retried with a fresh extension")
        let reasons = try folder.records(of: "ext-ok", kind: "event").compactMap {
            $0.event["shutdownReason"] as? String
        }
        #expect(reasons == ["failure", "failure"], "\(reasons)")
    }

    /// An extension that exits while the runtime is still working fails the invoke with Extension.Crash; the sandbox
    /// resets (the runtime and the other extension are gone, the latter told `failure`) and the next invoke
    /// succeeds with fresh processes.
    @Test(.timeLimit(.minutes(1)))
    func crashDuringInvoke() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        // ext-crash exits on its first INVOKE once the test has noted the sandbox's pids (the gate file).
        try folder.addPython("ext-crash", [("EXT_ON_INVOKE", "wait-file:\(folder.gatePath),exit-once:1")])
        try folder.addPython("ext-ok")

        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder, timeoutSeconds: 10)], folders: [folder]
        ) { sim in
            async let failing = sim.invoke("fn", payload: #"{"sleepMs":8000}"#)
            _ = try #require(await sim.extensionLine("ext-crash", "recorded event INVOKE"))
            let before = try #require(try await sim.simulator.sandboxes().first)
            #expect(before.pids.count >= 3, "runtime and two extensions: \(before.pids)")
            try folder.openGate()

            let response = try await failing
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(response.body) == [
                    "errorType": "Extension.Crash",
                    "errorMessage": "RequestId: \(id) Error: extension ext-crash exited: exit status 1",
                ])
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.contains("\tStatus: error\tError Type: Extension.Crash\t"), "\(report)")
            _ = try #require(await sim.extensionLine("ext-ok", "recorded event SHUTDOWN failure"))
            let left = await survivors(of: before.pids)
            #expect(left.isEmpty, "first generation still present: \(left.map { "\($0) \(processState($0))" })")

            let next = try await sim.invoke("fn", payload: #"{"again":1}"#)
            #expect(next.status == 200)
            #expect(!next.headers.contains("X-Amz-Function-Error"))
            #expect(text(next) == #"{"again":1}"#)
            let after = try #require(try await sim.simulator.sandboxes().first)
            #expect(after.id == before.id)
            #expect(Set(after.pids).isDisjoint(with: before.pids), "\(before.pids) → \(after.pids)")
        }

        let starts = try folder.records(of: "ext-crash", kind: "start")
        #expect(Set(starts.map(\.pid)).count == 2)
        let invokes = try folder.records(of: "ext-crash", kind: "event").filter { $0.eventType == "INVOKE" }
        #expect(invokes.count == 2)
        #expect(Set(invokes.map(\.pid)).count == 2)
    }

    /// A shell+curl extension that keeps sleeping after SHUTDOWN is SIGKILLed at the 2 s deadline: stop() takes
    /// about 2 s and afterwards neither it nor the child it forked exists.
    @Test(.timeLimit(.minutes(1)))
    func ignoredShutdownIsKilledAtDeadline() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addCurl("ext-stubborn", [("EXT_ON_SHUTDOWN", "ignore")])
        var logs: LogWatcher?
        var requestID = ""

        let stopDuration = try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder)], folders: [folder]
        ) { sim in
            logs = sim.logs
            let response = try await sim.invoke("fn", payload: #"{"x":1}"#)
            #expect(response.status == 200)
            #expect(text(response) == #"{"x":1}"#)
            requestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: requestID))
        }

        #expect(stopDuration >= .milliseconds(1_900), "stop() took \(stopDuration)")
        #expect(stopDuration < .seconds(6), "stop() took \(stopDuration)")
        #expect(
            logs?.lines.contains { $0.extensionName == "ext-stubborn" && $0.text == "ignoring SHUTDOWN" } == true,
            "the extension never saw SHUTDOWN")
        let events = try folder.records(of: "ext-stubborn", kind: "event").map(\.event)
        #expect(events.map { $0["eventType"] as? String } == ["INVOKE", "SHUTDOWN"])
        #expect(events.first?["requestId"] as? String == requestID)
        #expect(events.last?["shutdownReason"] as? String == "spindown")
        let registration = try #require(try folder.records(of: "ext-stubborn", kind: "register").first)
        #expect(registration.fields["status"] as? Int == 200)
        #expect(isUUID(registration.fields["identifier"] as? String ?? ""))
        let pids = Set(folder.recordedPIDs())
        #expect(pids.count == 2, "the extension and its child: \(pids)")
        #expect(await survivors(of: Array(pids)).isEmpty)
    }

    /// Children that extensions fork (Python and sh) are among the sandbox's pids and die with their extension's
    /// process group, both on a reset (runtime crash) and on stop().
    @Test(.timeLimit(.minutes(1)))
    func forkedChildrenDoNotOutliveTheSandbox() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-py", [("EXT_FORK_CHILD", "1")])
        try folder.addCurl("ext-sh")

        try await withExtensionSimulator([TestFunctions.fixture(extensions: folder)], folders: [folder]) { sim in
            let first = try await sim.invoke("fn", payload: "{}")
            #expect(first.status == 200)
            let sandbox = try #require(try await sim.simulator.sandboxes().first)
            let generation = folder.recordedPIDs()
            let children = try folder.records().compactMap(\.child)
            #expect(children.count == 2, "both extensions forked a child")
            #expect(Set(generation).isSubset(of: sandbox.pids), "children are the sandbox's: \(sandbox.pids)")

            let crash = try await sim.invoke("fn", payload: #"{"exit":3}"#)
            #expect(crash.headers["X-Amz-Function-Error"] == "Unhandled")
            let left = await survivors(of: sandbox.pids + generation)
            #expect(left.isEmpty, "after the reset: \(left.map { "\($0) \(processState($0))" })")

            let again = try await sim.invoke("fn", payload: #"{"n":2}"#)
            #expect(text(again) == #"{"n":2}"#)
            #expect(try folder.records().compactMap(\.child).count == 4)
        }
    }
}
