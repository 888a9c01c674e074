/// A FIFO of parsed requests waiting for their turn on one connection.
///
/// Pops advance a head index instead of shifting the array; the storage is compacted once the consumed
/// prefix dominates, so both operations are amortised O(1).
struct RequestQueue {
    private var storage: [HTTPRequest?] = []
    private var head = 0

    /// Requests waiting.
    var count: Int { storage.count - head }

    /// Body bytes of the requests waiting.
    private(set) var bodyBytes = 0

    /// True when no request waits.
    var isEmpty: Bool { head == storage.count }

    /// Adds a request at the back.
    mutating func append(_ request: HTTPRequest) {
        storage.append(request)
        bodyBytes += request.body.count
    }

    /// Removes and returns the oldest request.
    mutating func popFirst() -> HTTPRequest? {
        guard head < storage.count else { return nil }
        let request = storage[head]
        storage[head] = nil
        head += 1
        bodyBytes -= request?.body.count ?? 0
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return request
    }

    /// Drops every waiting request.
    mutating func removeAll() {
        storage.removeAll()
        head = 0
        bodyBytes = 0
    }
}
