// AWS's Python runtime client (awslambdaric) with a real external extension registered for INVOKE and SHUTDOWN
// (lambda-behaviour.md §2.2, §2.5).

import Foundation
import LambdaSim
import Testing

@Suite("Extension with awslambdaric")
struct ExtensionPythonRuntimeTests {
    /// With awslambdaric running handlers.ok, the extension's INVOKE requestId equals the invoker's x-amzn-RequestId
    /// and stop() sends SHUTDOWN `spindown`; with handlers.sleep and a 1 s timeout, a 3 s invoke times out and the
    /// extension gets SHUTDOWN `timeout`.
    @Test(.timeLimit(.minutes(1)))
    func awslambdaricWithExtension() async throws {
        let okFolder = try ExtensionFolder()
        defer { okFolder.remove() }
        let sleepFolder = try ExtensionFolder()
        defer { sleepFolder.remove() }
        try okFolder.addPython("ext-watch")
        try sleepFolder.addPython("ext-watch")
        var ok = TestFunctions.python("handlers.ok", name: "py", environment: okFolder.environment)
        ok.extensionsDirectory = okFolder.directory
        var sleep = TestFunctions.python(
            "handlers.sleep", name: "py-sleep", timeoutSeconds: 1, environment: sleepFolder.environment)
        sleep.extensionsDirectory = sleepFolder.directory
        var okRequestID = ""
        var sleepRequestID = ""

        try await withExtensionSimulator([ok, sleep], folders: [okFolder, sleepFolder]) { sim in
            let response = try await sim.invoke("py", payload: #"{"a":1}"#)
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            #expect((try jsonObject(response.body))["ok"] as? Bool == true)
            okRequestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: okRequestID))

            let timedOut = try await sim.invoke("py-sleep", payload: #"{"seconds":3}"#)
            sleepRequestID = try #require(timedOut.headers["x-amzn-RequestId"])
            #expect(timedOut.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(try jsonObject(timedOut.body)["errorType"] as? String == "Sandbox.Timedout")
            let report = try #require(await sim.logs.report(for: sleepRequestID))
            #expect(report.contains("\tStatus: timeout\t"), "\(report)")
            let shutdown = await sim.logs.first {
                $0.function == "py-sleep" && $0.extensionName == "ext-watch"
                    && $0.text == "recorded event SHUTDOWN timeout"
            }
            #expect(shutdown != nil)
        }

        let okEvents = try okFolder.records(of: "ext-watch", kind: "event")
        #expect(okEvents.map(\.eventType) == ["INVOKE", "SHUTDOWN"])
        #expect(okEvents.first?.event["requestId"] as? String == okRequestID)
        #expect(okEvents.last?.event["shutdownReason"] as? String == "spindown")
        #expect(
            okEvents.first?.event["invokedFunctionArn"] as? String
                == "arn:aws:lambda:us-east-1:123456789012:function:py")

        let sleepEvents = try sleepFolder.records(of: "ext-watch", kind: "event")
        #expect(sleepEvents.map(\.eventType) == ["INVOKE", "SHUTDOWN"])
        #expect(sleepEvents.first?.event["requestId"] as? String == sleepRequestID)
        #expect(sleepEvents.last?.event["shutdownReason"] as? String == "timeout")
        let registration = try #require(try okFolder.records(of: "ext-watch", kind: "register").first)
        let body = try stringObject(Array((registration.fields["body"] as? String ?? "").utf8))
        #expect(body == ["functionName": "py", "functionVersion": "$LATEST", "handler": "handlers.ok"])
    }
}
