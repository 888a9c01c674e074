import SimCore
import SimDomain
import SimUV
import Testing

@testable import SimSandbox

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct PlatformFailureRenderingTests {
    /// Each failure renders as Lambda's error type and message, naming the invoke when there is one.
    @Test func messagesAreLambdas() {
        let cases: [(PlatformFailure, String, String)] = [
            (.timeout(after: 3), "Sandbox.Timedout", "Error: Task timed out after 3.00 seconds"),
            (.runtimeExit(status: .exited(2)), "Runtime.ExitError", "Error: Runtime exited with error: exit status 2"),
            (.runtimeExit(status: .exited(0)), "Runtime.ExitError", "Error: Runtime exited without providing a reason"),
            (
                .outOfMemory(status: .signaled(SIGKILL)), "Runtime.OutOfMemory",
                "Error: Runtime exited with error: signal: killed"
            ),
            (
                .extensionExit(name: "x", status: .exited(1)), "Extension.Crash",
                "Error: extension x exited: exit status 1"
            ),
            (.extensionLaunch(reason: "boom"), "Extension.LaunchError", "Error: boom"),
            (
                .extensionInitError(name: "x", reportedType: "A.B"), "Extension.InitError",
                "Error: extension x failed: A.B"
            ),
            (
                .invalidEntrypoint(program: "/b", reason: "permission denied"), "Runtime.InvalidEntrypoint",
                "Error: fork/exec /b: permission denied"
            ),
            (
                .invalidWorkingDirectory(path: "/c", cause: "not a directory"), "Runtime.InvalidWorkingDir",
                "Error: chdir /c: not a directory"
            ),
            (
                .runtimeNotStarted(systemMessage: "Too many open files"), "Sandbox.Failure",
                "Error: the simulator could not start the runtime: Too many open files"
            ),
            (.shuttingDown, "Sandbox.Failure", "Error: the simulator is shutting down"),
            (.invalidResponseMode, "Runtime.InvalidResponseModeHeader", "Error: Invalid function response mode"),
            (
                .truncatedResponse(.invokerGone), "Runtime.TruncatedResponse",
                "Error: the invoker went away before the response ended"
            ),
            (
                .truncatedResponse(.malformed), "Runtime.TruncatedResponse",
                "Error: the runtime's streamed response was malformed"
            ),
            (
                .truncatedResponse(.endedEarly), "Runtime.TruncatedResponse",
                "Error: the runtime's streamed response ended early"
            ),
        ]
        for (failure, errorType, message) in cases {
            #expect(failure.errorType == errorType)
            #expect(failure.message(requestID: nil) == message)
            #expect(failure.message(requestID: "r-1") == "RequestId: r-1 " + message)
            #expect(
                failure.outcome(requestID: "r-1")
                    == .platformError(errorType: errorType, message: "RequestId: r-1 " + message))
        }
    }

    /// Two failures have a fixed text of Lambda's that names no invoke.
    @Test func fixedMessages() {
        #expect(PlatformFailure.unknownInitError.message(requestID: "r") == "Unknown application error occurred")
        #expect(PlatformFailure.unknownInitError.errorType == "Runtime.Unknown")
        let tooLarge = PlatformFailure.responseTooLarge(bytes: 7, limit: 5)
        #expect(tooLarge.errorType == "Function.ResponseSizeTooLarge")
        #expect(
            tooLarge.message(requestID: "r")
                == "Response payload size (7 bytes) exceeded maximum allowed payload size (5 bytes).")
    }

    /// Only a runtime's exit (or its death for memory) makes a REPORT a fault; a runtime reporting its own error under
    /// those names is taken at its word.
    @Test func processExits() {
        #expect(PlatformFailure.runtimeExit(status: .exited(1)).isProcessExit)
        #expect(PlatformFailure.outOfMemory(status: .signaled(SIGKILL)).isProcessExit)
        #expect(!PlatformFailure.extensionExit(name: "x", status: .exited(1)).isProcessExit)
        #expect(!PlatformFailure.timeout(after: 1).isProcessExit)
        #expect(PlatformFailure.isProcessExit(errorType: "Runtime.ExitError"))
        #expect(!PlatformFailure.isProcessExit(errorType: "Runtime.ImportModuleError"))
    }
}
