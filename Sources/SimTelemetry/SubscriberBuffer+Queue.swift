import DequeModule

extension SubscriberBuffer {
    /// Drop counts waiting in the queue to be reported, as `(records, bytes)`.
    package var pendingDrops: (records: Int, bytes: Int) {
        var records = 0
        var bytes = 0
        for case .dropped(let r, let b, _) in queue {
            records += r
            bytes += b
        }
        return (records, bytes)
    }

    /// Starts whatever is due, ends a finished flush and keeps the timer on the next deadline.
    mutating func step(_ now: UInt64) -> [Action] {
        var actions: [Action] = []
        if !isPaused {
            switch state {
            case .backingOff(var batch, let retryAt) where now >= retryAt:
                batch.attempt += 1
                state = .sending(batch)
                actions.append(.send(batch))
            case .idle where batchDue(now):
                let batch = cutBatch(now)
                state = .sending(batch)
                actions.append(.send(batch))
            default:
                break
            }
        }
        if let deadline = flushDeadline {
            if queue.isEmpty && state == .idle {
                flushDeadline = nil
                actions.append(.flushFinished(drained: true))
            } else if now >= deadline {
                flushDeadline = nil
                actions.append(.flushFinished(drained: false))
            }
        }
        reconcileTimer(&actions)
        return actions
    }

    /// Whether the queue holds a batch that must go now.
    private func batchDue(_ now: UInt64) -> Bool {
        guard let head = queue.first else { return false }
        return flushDeadline != nil || queue.count >= configuration.maxItems
            || queuedBytes >= configuration.maxBytes
            || now >= head.arrivedAt + UInt64(configuration.timeoutMs)
    }

    /// Takes up to `maxItems` entries and `maxBytes` bytes (at least one entry) off the queue, rendering
    /// drop markers as `platform.logsDropped`.
    private mutating func cutBatch(_ now: UInt64) -> Batch {
        var batch = Batch(id: nextBatchID)
        nextBatchID += 1
        var bytes = 0
        while let head = queue.first, batch.events.count < configuration.maxItems {
            let rendered: [UInt8]
            switch head {
            case .event(let eventBytes, _):
                rendered = eventBytes
            case .dropped(let records, let droppedBytes, _):
                rendered =
                    TelemetryRecords.logsDropped(
                        droppedRecords: records, droppedBytes: droppedBytes, at: clock.epochMilliseconds
                    ).serialized
            }
            if !batch.events.isEmpty && bytes + rendered.count > configuration.maxBytes { break }
            _ = queue.removeFirst()
            switch head {
            case .event(let eventBytes, _):
                queuedEvents -= 1
                queuedBytes -= eventBytes.count
                batch.records += 1
                batch.recordBytes += eventBytes.count
            case .dropped(let records, let droppedBytes, _):
                batch.carriedRecords += records
                batch.carriedBytes += droppedBytes
            }
            batch.events.append(rendered)
            bytes += rendered.count
        }
        return batch
    }

    /// Adds drops to the marker at the back (events refused at the cap) or front (a batch given up,
    /// which preceded everything queued), creating it when the neighbour is not a marker.
    mutating func recordDrop(records: Int, bytes: Int, now: UInt64, atFront: Bool) {
        guard records > 0 || bytes > 0 else { return }
        let neighbour = atFront ? queue.first : queue.last
        if case .dropped = neighbour {
            let merge: (inout Entry) -> Void = { entry in
                if case .dropped(let r, let b, let since) = entry {
                    entry = .dropped(records: r + records, bytes: b + bytes, since: since)
                }
            }
            merge(&queue[atFront ? queue.startIndex : queue.endIndex - 1])
        } else if atFront {
            // Not later than what it precedes, so the head's timeout still covers the events behind it.
            queue.prepend(.dropped(records: records, bytes: bytes, since: min(now, queue.first?.arrivedAt ?? now)))
        } else {
            queue.append(.dropped(records: records, bytes: bytes, since: now))
        }
    }

    /// Arms the timer for the earliest of: the flush deadline, and (unless paused) the retry time or the
    /// oldest event's timeout; emits an action only when that changes.
    private mutating func reconcileTimer(_ actions: inout [Action]) {
        var wake = flushDeadline
        if !isPaused {
            var due: UInt64?
            switch state {
            case .idle: due = queue.first.map { $0.arrivedAt + UInt64(configuration.timeoutMs) }
            case .backingOff(_, let retryAt): due = retryAt
            case .sending: due = nil
            }
            if let due { wake = min(wake ?? due, due) }
        }
        guard wake != armedTimer else { return }
        armedTimer = wake
        actions.append(wake.map { .armTimer(atMilliseconds: $0) } ?? .cancelTimer)
    }
}
