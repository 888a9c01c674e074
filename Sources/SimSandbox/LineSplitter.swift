/// Splits a byte stream into lines, bounding the length of any one line.
///
/// A line longer than `maxLineBytes` is emitted in pieces, so a runtime that floods stdout without
/// newlines cannot grow the simulator's memory.
package struct LineSplitter {
    private var pending: [UInt8] = []
    package let maxLineBytes: Int

    package init(maxLineBytes: Int = 256 * 1024) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds `bytes`; `emit` receives each complete line without its newline (and without a trailing CR).
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: ([UInt8]) -> Void) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            pending.append(contentsOf: bytes[start..<i])
            emitLine(emit)
            start = i + 1
        }
        if start < bytes.count {
            pending.append(contentsOf: bytes[start..<bytes.count])
            while pending.count >= maxLineBytes {
                emit(Array(pending[0..<maxLineBytes]))
                pending.removeFirst(maxLineBytes)
            }
        }
    }

    private mutating func emitLine(_ emit: ([UInt8]) -> Void) {
        if pending.last == 0x0D { pending.removeLast() }
        emit(pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Emits whatever is left as a final line.
    package mutating func flush(emit: ([UInt8]) -> Void) {
        if !pending.isEmpty { emitLine(emit) }
    }
}

/// The stdout and stderr line splitters of one process.
package struct ProcessOutput {
    private var out = LineSplitter()
    private var err = LineSplitter()

    package init() {}

    /// Feeds a chunk read from stdout or stderr.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, stderr: Bool, emit: ([UInt8]) -> Void) {
        if stderr { err.feed(bytes, emit: emit) } else { out.feed(bytes, emit: emit) }
    }

    /// Emits what is left of both streams.
    package mutating func flush(emit: ([UInt8]) -> Void) {
        out.flush(emit: emit)
        err.flush(emit: emit)
    }
}
