import SimCore
import Testing

@testable import SimDomain

@Suite struct ResponseStreamReadingTests {
    func function(bytesPerSecond: Int? = nil, maxStreamed: Int = 200 * 1024 * 1024) -> FunctionSpec {
        var function = FunctionSpec(name: "f", command: ["/bin/true"], codeDirectory: "/tmp")
        function.streamingBytesPerSecond = bytesPerSecond
        function.maxStreamedResponseBytes = maxStreamed
        return function
    }

    /// A plain Invoke gathers its body up to the 6 MB response limit; the byte past it ends the invoke with 413.
    @Test func plainInvokeGathersUpToTheResponseLimit() {
        var reading = ResponseStreamReading(function: function(maxStreamed: 10), forwards: false, contentType: "t")
        #expect(reading.limit == Limits.maxResponseBytes)
        #expect(reading.bytesReceived(Limits.maxResponseBytes, at: 0) == .gather)
        #expect(
            reading.bytesReceived(1, at: 0)
                == .endNow(
                    .payloadTooLarge, .success(body: [], contentType: "t"),
                    tooLargeBytes: Limits.maxResponseBytes + 1))
        #expect(reading.bytesReceived(5, at: 0) == .ignore)
        #expect(reading.receivedBytes == Limits.maxResponseBytes + 6)
        #expect(reading.ended(.complete(body: [], errorType: nil, errorBody: [])) == .ignore)
    }

    /// An invoker's stream is forwarded up to the function's streamed-response limit.
    @Test func streamToInvokerHasTheFunctionsLimit() {
        var reading = ResponseStreamReading(function: function(maxStreamed: 10), forwards: true, contentType: nil)
        #expect(reading.limit == 10)
        #expect(reading.bytesReceived(10, at: 0) == .forward)
        #expect(
            reading.bytesReceived(1, at: 0)
                == .endNow(.payloadTooLarge, .success(body: [], contentType: nil), tooLargeBytes: 11))
    }

    /// The first 6 MiB go at full speed; past them a chunk ahead of the bandwidth holds the reading for the time it
    /// is ahead, and chunks arriving while held are forwarded without a second hold.
    @Test func pacingAfterTheBurst() {
        let mib = 1024 * 1024
        var reading = ResponseStreamReading(function: function(bytesPerSecond: mib), forwards: true, contentType: nil)
        #expect(reading.bytesReceived(6 * mib, at: 0) == .forward)
        #expect(reading.mayResume(invokerBackedUp: false))
        // Half a MiB past the burst at 1 MiB/s is due at 500 ms.
        #expect(reading.bytesReceived(mib / 2, at: 0) == .forwardThenHold(milliseconds: 500))
        #expect(!reading.mayResume(invokerBackedUp: false))
        #expect(reading.bytesReceived(mib / 2, at: 100_000_000) == .forward)
        reading.holdEnded()
        #expect(reading.mayResume(invokerBackedUp: false))
        #expect(!reading.mayResume(invokerBackedUp: true))
        // One MiB sent since the burst: due at 1 s; at 2 s the stream is within its rate.
        #expect(reading.bytesReceived(1, at: 900_000_000) == .forwardThenHold(milliseconds: 100))
        reading.holdEnded()
        #expect(reading.bytesReceived(1, at: 2_000_000_000) == .forward)
    }

    /// Without a bandwidth, or for a plain Invoke, nothing is ever held.
    @Test func noPacingWithoutBandwidth() {
        var reading = ResponseStreamReading(function: function(), forwards: true, contentType: nil)
        #expect(reading.bytesReceived(50 * 1024 * 1024, at: 0) == .forward)
        var gathered = ResponseStreamReading(function: function(bytesPerSecond: 1), forwards: false, contentType: nil)
        #expect(gathered.bytesReceived(6 * 1024 * 1024, at: 0) == .gather)
    }

    /// A complete body is the result; with the error trailer it is a function error with the trailer's body.
    @Test func completeBodyIsTheResult() {
        var ok = ResponseStreamReading(function: function(), forwards: false, contentType: "text/plain")
        #expect(
            ok.ended(.complete(body: [1, 2], errorType: nil, errorBody: []))
                == .deliver(.success(body: [1, 2], contentType: "text/plain"), tooLargeBytes: nil))
        var failed = ResponseStreamReading(function: function(), forwards: true, contentType: "text/plain")
        #expect(
            failed.ended(.complete(body: [], errorType: "E.T", errorBody: [3]))
                == .deliver(
                    .functionError(body: [3], contentType: "application/json", errorType: "E.T"),
                    tooLargeBytes: nil))
    }

    /// Malformed framing and a gone invoker end the invoke at once; only the first end counts.
    @Test func faultsEndTheInvokeNow() {
        var malformed = ResponseStreamReading(function: function(), forwards: true, contentType: nil)
        #expect(
            malformed.ended(.malformed)
                == .endNow(.truncatedRequest, .failure(.truncatedResponse(.malformed)), tooLargeBytes: nil))
        #expect(malformed.ended(.invokerGone) == .ignore)
        var gone = ResponseStreamReading(function: function(), forwards: true, contentType: nil)
        #expect(
            gone.ended(.invokerGone) == .endNow(nil, .failure(.truncatedResponse(.invokerGone)), tooLargeBytes: nil))
        #expect(gone.bytesReceived(1, at: 0) == .ignore)
        #expect(gone.ended(.malformed) == .ignore)
    }

    /// An upload cut short is truncated after 100 ms, unless the runtime's held exit decides the invoke.
    @Test func abortedUploadWaitsForTheExit() {
        var aborted = ResponseStreamReading(function: function(), forwards: true, contentType: nil)
        #expect(aborted.ended(.aborted(runtimeExitHeld: false)) == .truncateAfter(milliseconds: 100))
        var exited = ResponseStreamReading(function: function(), forwards: true, contentType: nil)
        #expect(exited.ended(.aborted(runtimeExitHeld: true)) == .ignore)
        #expect(exited.ended(.invokerGone) == .ignore)
    }
}
