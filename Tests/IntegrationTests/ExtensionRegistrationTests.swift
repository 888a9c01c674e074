// Extensions API registration and its 403 catalogue, seen by real extension processes and by direct HTTP
// calls to a sandbox's Runtime API address (lambda-behaviour.md §2.1, §2.3, §2.4).

import Foundation
import SimHTTP
import Testing

@Suite("Extension registration")
struct ExtensionRegistrationTests {
    /// Registration answers 200 with a UUID `Lambda-Extension-Identifier` and exactly
    /// {functionName, functionVersion "$LATEST", handler}, plus accountId "123456789012" when the extension sends
    /// `Lambda-Extension-Accept-Feature: accountId`; only executable regular files start, and each is Ready for the
    /// events it chose.
    @Test(.timeLimit(.minutes(1)))
    func registrationResponse() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-account", [("EXT_ACCEPT_FEATURE", "accountId")])
        try folder.addPython("ext-plain", [("EXT_EVENTS", "INVOKE")])
        try folder.addPython("not-executable", executable: false)
        try FileManager.default.createDirectory(atPath: folder.directory + "/subdir", withIntermediateDirectories: true)
        try folder.writeFile(folder.directory + "/subdir/nested", "#!/bin/sh\nexit 1\n", mode: 0o755)

        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder).withOpenRuntimeAPI()], folders: [folder]
        ) { sim in
            let response = try await sim.invoke("fn", payload: #"{"hello":"ext"}"#)
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            #expect(text(response) == #"{"hello":"ext"}"#)
            let ready = sim.logs.lines.filter { $0.isPlatform && $0.text.hasPrefix("EXTENSION\t") }.map(\.text)
            // One line each, in registration order (which of the two registers first is a race).
            #expect(ready.count == 2)
            #expect(
                Set(ready) == [
                    "EXTENSION\tName: ext-account\tState: Ready\tEvents: [INVOKE,SHUTDOWN]",
                    "EXTENSION\tName: ext-plain\tState: Ready\tEvents: [INVOKE]",
                ])
        }

        let records = try folder.records()
        #expect(Set(records.map(\.ext)) == ["ext-account", "ext-plain"], "only executable regular files start")
        let account = try #require(try folder.records(of: "ext-account", kind: "register").first)
        let plain = try #require(try folder.records(of: "ext-plain", kind: "register").first)
        var identifiers: [String] = []
        for (registration, withAccount) in [(account, true), (plain, false)] {
            #expect(registration.fields["status"] as? Int == 200)
            let headers = registration.fields["headers"] as? [String: String] ?? [:]
            let identifier = headers["lambda-extension-identifier"] ?? ""
            #expect(isUUID(identifier), "identifier \(identifier)")
            identifiers.append(identifier)
            #expect(headers["content-type"] == "application/json")
            var expected = ["functionName": "fn", "functionVersion": "$LATEST", "handler": "fixture.handler"]
            if withAccount { expected["accountId"] = "123456789012" }
            let body = registration.fields["body"] as? String ?? ""
            #expect(try stringObject(Array(body.utf8)) == expected, "\(registration.ext): \(body)")
        }
        #expect(identifiers[0] != identifiers[1])
    }

    /// The Extensions API answers misuse with 403 and the agent's exact {errorMessage, errorType}: empty name,
    /// unknown event, SHUTDOWN for an internal extension, an external registering twice, an internal name taken,
    /// missing / malformed / unknown identifiers on /event/next, /init/error and /exit/error, a missing error-type
    /// header, /init/error from a Ready extension, and registration after init for an internal extension.
    @Test(.timeLimit(.minutes(1)))
    func errorCatalogue() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        // Until the test opens the gate, ext-a stays Registered (no /event/next yet) and the runtime has not asked for
        // its first event, so registration is still open.
        try folder.addPython("ext-a", [("EXT_AFTER_REGISTER", "wait-file:\(folder.gatePath)")])
        let function = TestFunctions.fixture(extensions: folder, environment: try folder.gatedRuntime())
            .withOpenRuntimeAPI()
        var heldNext: Task<HTTPResponse, any Error>?

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            async let invoke = sim.invoke("fn", payload: #"{"n":1}"#)
            _ = try #require(await sim.extensionLine("ext-a", "recorded register"))
            let api = try #require(try await sim.sandboxes(atLeast: 1).first?.runtimeAPI)
            let external = try #require(try folder.records(of: "ext-a", kind: "register").first)
            let externalID = try #require(
                (external.fields["headers"] as? [String: String])?["lambda-extension-identifier"])

            try expectForbidden(
                try await sim.registerExtension(api, name: nil, events: ["INVOKE"]),
                "Extension.InvalidExtensionName", "Empty extension name")
            try expectForbidden(
                try await sim.registerExtension(api, name: "", events: ["INVOKE"]),
                "Extension.InvalidExtensionName", "Empty extension name")
            try expectForbidden(
                try await sim.registerExtension(api, name: "internal-bad", events: ["INVOKE", "BOGUS"]),
                "Extension.InvalidEventType", "BOGUS: ErrorInvalidEventType")
            try expectForbidden(
                try await sim.registerExtension(api, name: "internal-bad", events: ["INVOKE", "SHUTDOWN"]),
                "Extension.InvalidEventType", "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension")
            try expectForbidden(
                try await sim.registerExtension(api, name: "ext-a", events: ["INVOKE"]),
                "Extension.InvalidExtensionState",
                "State transition from Registered to Registered failed for extension ext-a. "
                    + "Error: State transition is not allowed")

            let internalReply = try await sim.registerExtension(api, name: "internal-1", events: [])
            #expect(internalReply.status == 200)
            let internalID = try #require(internalReply.headers["Lambda-Extension-Identifier"])
            #expect(isUUID(internalID))
            try expectForbidden(
                try await sim.registerExtension(api, name: "internal-1", events: []),
                "Extension.InvalidExtensionState", "Extension with this name already registered")

            let unknownID = UUID().uuidString.lowercased()
            try expectForbidden(
                try await sim.extensionAPI(api, "GET", "event/next"),
                "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
            try expectForbidden(
                try await sim.extensionAPI(api, "GET", "event/next", headers: ["Lambda-Extension-Identifier": "nope"]),
                "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")
            try expectForbidden(
                try await sim.extensionAPI(
                    api, "GET", "event/next", headers: ["Lambda-Extension-Identifier": unknownID]),
                "Extension.UnknownExtensionIdentifier", "Unknown extension \(unknownID)")
            for endpoint in ["init/error", "exit/error"] {
                try expectForbidden(
                    try await sim.extensionAPI(
                        api, "POST", endpoint,
                        headers: [
                            "Lambda-Extension-Identifier": unknownID,
                            "Lambda-Extension-Function-Error-Type": "Extension.Bad",
                        ]),
                    "Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier")
                try expectForbidden(
                    try await sim.extensionAPI(api, "POST", endpoint, headers: ["Lambda-Extension-Identifier": "x"]),
                    "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")
                try expectForbidden(
                    try await sim.extensionAPI(
                        api, "POST", endpoint, headers: ["Lambda-Extension-Identifier": internalID]),
                    "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found")
            }

            try folder.openGate()
            // internal-1 must ask for its first event before init can complete; it is held until shutdown.
            heldNext = Task {
                try await sim.extensionAPI(
                    api, "GET", "event/next", headers: ["Lambda-Extension-Identifier": internalID])
            }
            let response = try await invoke
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            #expect(text(response) == #"{"n":1}"#)
            #expect(sim.logs.texts.contains("EXTENSION\tName: internal-1\tState: Ready\tEvents: []"))
            // After REPORT, ext-a has asked for its next event again: it is Ready (not Running).
            let requestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: requestID))

            try expectForbidden(
                try await sim.registerExtension(api, name: "internal-late", events: ["INVOKE"]),
                "Extension.RegistrationClosed", "Extension registration closed already")
            try expectForbidden(
                try await sim.extensionAPI(
                    api, "POST", "init/error",
                    headers: [
                        "Lambda-Extension-Identifier": externalID,
                        "Lambda-Extension-Function-Error-Type": "Extension.Late",
                    ]),
                "Extension.InvalidExtensionState",
                "State transition from Ready to InitError failed for extension \(externalID). "
                    + "Error: State transition is not allowed")
            // None of that disturbed the sandbox.
            let again = try await sim.invoke("fn", payload: #"{"n":2}"#)
            #expect(again.status == 200)
            #expect(text(again) == #"{"n":2}"#)
        }
        // Shutdown ends the held /event/next one way or another (an error status or a closed connection).
        if let held = try? await heldNext?.value { #expect(held.status != 200) }
    }

    /// An external extension that registers again after its first /event/next gets the agent's message naming its
    /// current state: "State transition from Ready to Registered failed for extension ext-a. ..." (RIE
    /// agentregister.go renders `agent.GetState().Name()`).
    @Test(
        .timeLimit(.minutes(1)))
    func registerAgainWhenReady() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder).withOpenRuntimeAPI()], folders: [folder]
        ) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            let id = try #require(response.headers["x-amzn-RequestId"])
            // After REPORT, ext-a has asked for its next event again: it is Ready.
            _ = try #require(await sim.logs.report(for: id))
            let api = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            try expectForbidden(
                try await sim.registerExtension(api, name: "ext-a", events: ["INVOKE"]),
                "Extension.InvalidExtensionState",
                "State transition from Ready to Registered failed for extension ext-a. "
                    + "Error: State transition is not allowed")
        }
    }

    /// /init/error and /exit/error check the Lambda-Extension-Function-Error-Type header before looking the
    /// identifier up (RIE agentiniterror.go, agentexiterror.go): an unknown identifier without the header gets
    /// Extension.MissingHeader.
    @Test(
        .timeLimit(.minutes(1)))
    func errorTypeHeaderCheckedFirst() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder).withOpenRuntimeAPI()], folders: [folder]
        ) { sim in
            #expect(try await sim.invoke("fn", payload: "{}").status == 200)
            let api = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            for endpoint in ["init/error", "exit/error"] {
                try expectForbidden(
                    try await sim.extensionAPI(
                        api, "POST", endpoint, headers: ["Lambda-Extension-Identifier": UUID().uuidString.lowercased()]),
                    "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found")
            }
        }
    }

    /// With eleven extension files, Lambda launches ten and fails init with Extension.LaunchError (the eleventh is
    /// never started: lambda-behaviour.md §2.4, RIE rapid/handlers.go doInitExtensions); the retried init inside the
    /// invoke fails the same way.
    @Test(
        .timeLimit(.minutes(1)))
    func elevenExtensionFiles() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        for index in 0..<11 { try folder.addPython("ext-\(index < 10 ? "0" : "")\(index)") }
        try await withExtensionSimulator(
            [TestFunctions.fixture(extensions: folder).withOpenRuntimeAPI()], folders: [folder]
        ) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            let body = try stringObject(response.body)
            #expect(body["errorType"] == "Extension.LaunchError", "\(body)")
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.contains("\tStatus: error\tError Type: Extension.LaunchError\t"), "\(report)")
        }
        let started = Set(try folder.records().filter { $0.kind == "start" }.map(\.ext))
        #expect(!started.contains("ext-10"), "the eleventh extension was started: \(started.sorted())")
    }

    /// Ten extensions register; the eleventh gets 403 Extension.TooManyExtensions "Extension limit (10) reached",
    /// and the ten take part in init.
    @Test(.timeLimit(.minutes(1)))
    func registrationLimit() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        let function = TestFunctions.fixture(extensions: folder, environment: try folder.gatedRuntime())
            .withOpenRuntimeAPI()
        var held: [Task<HTTPResponse, any Error>] = []

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            async let invoke = sim.invoke("fn", payload: "{}")
            let api = try #require(try await sim.sandboxes(atLeast: 1).first?.runtimeAPI)
            var identifiers: [String] = []
            for index in 0..<10 {
                let reply = try await sim.registerExtension(api, name: "internal-\(index)", events: ["INVOKE"])
                #expect(reply.status == 200, "internal-\(index): \(text(reply))")
                identifiers.append(reply.headers["Lambda-Extension-Identifier"] ?? "")
            }
            try expectForbidden(
                try await sim.registerExtension(api, name: "internal-10", events: ["INVOKE"]),
                "Extension.TooManyExtensions", "Extension limit (10) reached")
            try folder.openGate()
            for identifier in identifiers {
                held.append(
                    Task {
                        try await sim.extensionAPI(
                            api, "GET", "event/next", headers: ["Lambda-Extension-Identifier": identifier])
                    })
            }
            // Each internal extension gets the INVOKE, then asks for the next event (held until shutdown).
            for task in held {
                let event = try await task.value
                #expect(event.status == 200)
                #expect(try jsonObject(event.body)["eventType"] as? String == "INVOKE")
            }
            held = identifiers.map { identifier in
                Task {
                    try await sim.extensionAPI(
                        api, "GET", "event/next", headers: ["Lambda-Extension-Identifier": identifier])
                }
            }
            let response = try await invoke
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            let id = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: id))
            let ready = sim.logs.texts.filter { $0.hasPrefix("EXTENSION\tName: internal-") }
            #expect(ready.count == 10)
            #expect(!ready.contains { $0.contains("internal-10") })
        }
        for task in held {
            if let reply = try? await task.value { #expect(reply.status != 200) }
        }
    }
}
