import DequeModule
import SimCore
import SimDomain
import SimSandbox
import SimTelemetry
import SimUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension Simulator.LogLine {
    /// Calls `body` with each log line `event` writes.
    static func forEach(_ event: SandboxEvent, _ context: EventContext, _ body: (Simulator.LogLine) -> Void) {
        LogRendering.forEachLine(event, context) { text, source in
            var extensionName: String?
            if case .extension(let name)? = source { extensionName = name }
            body(
                Simulator.LogLine(
                    function: context.function, sandboxID: context.sandboxID, requestID: context.requestID,
                    isPlatform: source == nil, extensionName: extensionName, text: text))
        }
    }
}

/// Hands every log line to a closure, as it happens, on the loop thread.
final class LogLineSink: SandboxEventSink {
    private let body: @Sendable (Simulator.LogLine) -> Void

    init(_ body: @escaping @Sendable (Simulator.LogLine) -> Void) { self.body = body }

    func receive(_ event: SandboxEvent, _ context: EventContext) {
        Simulator.LogLine.forEach(event, context, body)
    }
}

/// Writes the log to standard output as `[function sandbox] [extension:] text` lines, batched: lines wait at
/// most `flushMilliseconds` (or until 64 KiB are waiting), so a busy simulator makes one write for many invokes
/// rather than one per line. Loop-confined.
final class StandardOutputSink: SandboxEventSink {
    private var buffer: [UInt8] = []
    private var scratch: [UInt8] = []
    private var timer: Timer?
    private var armed = false
    private static let flushBytes = 64 * 1024
    /// How long a line may wait to be written.
    static let flushMilliseconds: UInt64 = 5

    init(loop: EventLoop) {
        timer = Timer(loop: loop)
        buffer.reserveCapacity(Self.flushBytes)
    }

    func receive(_ event: SandboxEvent, _ context: EventContext) {
        LogRendering.forEachLine(event, context, scratch: &scratch) { text, source in
            buffer.append(UInt8(ascii: "["))
            buffer.append(text: context.function)
            buffer.append(UInt8(ascii: " "))
            buffer.append(text: context.sandboxID)
            buffer.append(UInt8(ascii: "]"))
            if case .extension(let name)? = source {
                buffer.append(UInt8(ascii: " "))
                buffer.append(text: name)
                buffer.append(UInt8(ascii: ":"))
            }
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: text)
            buffer.append(0x0A)
        }
        if buffer.count >= Self.flushBytes {
            flush()
        } else if !buffer.isEmpty && !armed {
            armed = true
            timer?.start(afterMilliseconds: Self.flushMilliseconds) { [unowned self] in flush() }
        }
    }

    /// Writes what is waiting.
    func flush() {
        armed = false
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(1, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and releases the loop handle.
    func close() {
        flush()
        timer?.close()
        timer = nil
    }
}

/// The recent events of every sandbox, kept for `Simulator.logLines()` and `Simulator.telemetryEvents()`: at
/// most `capacityBytes` (estimated), the oldest forgotten first. Written on the loop thread, read from any.
final class EventHistory: SandboxEventSink, Sendable {
    private struct Entry: Sendable {
        var event: SandboxEvent
        var context: EventContext
        var bytes: Int
    }

    private struct Storage {
        var entries = Deque<Entry>()
        var bytes = 0
    }

    private let storage = Mutex(Storage())
    let capacityBytes: Int

    init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    func receive(_ event: SandboxEvent, _ context: EventContext) {
        let size = event.estimatedBytes + 64
        storage.withLock { storage in
            storage.entries.append(Entry(event: event, context: context, bytes: size))
            storage.bytes += size
            while storage.bytes > capacityBytes, let oldest = storage.entries.popFirst() {
                storage.bytes -= oldest.bytes
            }
        }
    }

    private var entries: Deque<Entry> { storage.withLock { $0.entries } }

    /// Every log line the kept events wrote, oldest first.
    var lines: [Simulator.LogLine] {
        var lines: [Simulator.LogLine] = []
        for entry in entries { Simulator.LogLine.forEach(entry.event, entry.context) { lines.append($0) } }
        return lines
    }

    /// The kept events that have a Telemetry API record (or, failing that, a Logs API one), rendered as JSON
    /// objects and keyed by sandbox id.
    var telemetryBySandbox: [String: [TelemetryRecord]] {
        var result: [String: [TelemetryRecord]] = [:]
        for entry in entries {
            guard let platform = entry.event.telemetryEvent else { continue }
            let time = entry.context.epochMilliseconds
            let json = entry.context.logFormat == .json
            var rendered = platform.rendered(
                as: .telemetry(schemaVersion: "2022-12-13"), epochMilliseconds: time, jsonFunctionLogs: json)
            if rendered.isEmpty {
                rendered = platform.rendered(as: .logs(schemaVersion: "2021-03-18"), epochMilliseconds: time)
            }
            for event in rendered {
                // Every type the renderer produces is a case of `TelemetryEventType` (the vocabulary test checks).
                guard let type = TelemetryEventType(rawValue: event.type) else { continue }
                result[entry.context.sandboxID, default: []].append(
                    TelemetryRecord(
                        type: type, time: event.time, json: String(decoding: event.serialized, as: UTF8.self)))
            }
        }
        return result
    }
}

extension SandboxEvent {
    /// Roughly how many bytes the event holds, to bound what is kept of it.
    var estimatedBytes: Int {
        switch self {
        case .output(_, let text), .notice(let text): return text.utf8.count
        case .invokeError(let type, let message): return type.utf8.count + message.utf8.count
        case .platform(.functionLog(let text)), .platform(.extensionLog(_, let text)), .platform(.fault(let text)):
            return text.utf8.count
        default: return 256
        }
    }
}
