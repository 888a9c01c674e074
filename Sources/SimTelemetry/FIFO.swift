/// A first-in first-out queue with amortised O(1) `append` and `removeFirst`.
struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    /// Elements waiting.
    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    /// The oldest element.
    var first: Element? { isEmpty ? nil : storage[head] }
    /// The newest element.
    var last: Element? { isEmpty ? nil : storage[storage.count - 1] }

    mutating func append(_ element: Element) { storage.append(element) }

    /// Puts `element` before every other.
    mutating func prepend(_ element: Element) {
        if head > 0 {
            head -= 1
            storage[head] = element
        } else {
            storage.insert(element, at: 0)
        }
    }

    /// Replaces the oldest element.
    mutating func updateFirst(_ change: (inout Element) -> Void) {
        guard !isEmpty else { return }
        change(&storage[head])
    }

    /// Replaces the newest element.
    mutating func updateLast(_ change: (inout Element) -> Void) {
        guard !isEmpty else { return }
        change(&storage[storage.count - 1])
    }

    mutating func removeFirst() -> Element {
        precondition(!isEmpty, "removeFirst on an empty FIFO")
        let element = storage[head]
        head += 1
        if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }

    /// The elements, oldest first.
    var elements: ArraySlice<Element> { storage[head...] }
}

/// A bounded ring: appending beyond `capacity` forgets the oldest element.
struct Ring<Element> {
    let capacity: Int
    private var fifo = FIFO<Element>()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { fifo.count }

    mutating func append(_ element: Element) {
        if fifo.count == capacity { _ = fifo.removeFirst() }
        fifo.append(element)
    }

    /// The elements, oldest first.
    var elements: [Element] { Array(fifo.elements) }
}
