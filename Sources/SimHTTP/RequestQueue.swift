import DequeModule

/// A FIFO of parsed requests waiting for their turn on one connection, with the body bytes they hold.
struct RequestQueue {
    private var storage = Deque<HTTPRequest>()

    /// Requests waiting.
    var count: Int { storage.count }

    /// Body bytes of the requests waiting.
    private(set) var bodyBytes = 0

    /// True when no request waits.
    var isEmpty: Bool { storage.isEmpty }

    /// Adds a request at the back.
    mutating func append(_ request: HTTPRequest) {
        storage.append(request)
        bodyBytes += request.body.count
    }

    /// Removes and returns the oldest request.
    mutating func popFirst() -> HTTPRequest? {
        guard let request = storage.popFirst() else { return nil }
        bodyBytes -= request.body.count
        return request
    }

    /// Drops every waiting request.
    mutating func removeAll() {
        storage.removeAll()
        bodyBytes = 0
    }
}
