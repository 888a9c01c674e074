import DequeModule
import SimCore
import SimHTTP
import SimUV
import Synchronization

/// Where invokes go: an Invoke API on `host:port` and the function's invocations path.
package struct InvokeEndpoint: Sendable, Equatable {
    package var host: String
    package var port: Int
    /// The function's name as it goes in the URL (percent-encoded if needed).
    package var function: String

    package init(host: String, port: Int, function: String) {
        self.host = host
        self.port = port
        self.function = function
    }

    /// `/2015-03-31/functions/{function}/invocations`.
    package var path: String { "/2015-03-31/functions/\(function)/invocations" }

    /// Parses `http://host:port` (a trailing path is ignored).
    package static func parse(url: String, function: String) throws(LoadPlanError) -> InvokeEndpoint {
        var rest = Substring(url)
        guard rest.hasPrefix("http://") else {
            throw LoadPlanError("--endpoint: '\(url)' is not an http:// URL (e.g. http://127.0.0.1:9000)")
        }
        rest = rest.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(parsed) else {
                throw LoadPlanError("--endpoint: '\(url)' has no valid port")
            }
            port = parsed
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard !host.isEmpty else { throw LoadPlanError("--endpoint: '\(url)' has no host") }
        return InvokeEndpoint(host: host, port: port, function: function)
    }
}

/// An HTTP request driven instead of the Invoke API (`load --url`): a route or Function URL of the simulator's HTTP
/// front end, or any HTTP server. Its answers are classified by HTTP status (`LoadOutcome.classifyHTTP`).
package struct HTTPLoadTarget: Sendable {
    /// Where the server listens.
    package var host: String
    package var port: Int
    /// The request's method, origin-form target (path and query), header fields and body.
    package var method: String
    package var target: String
    package var headers: [(String, String)]
    package var body: [UInt8]

    package init(
        host: String, port: Int, method: String, target: String, headers: [(String, String)], body: [UInt8]
    ) {
        self.host = host
        self.port = port
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// Splits `url`: `http://host[:port]/path?query` gives all three, `/path?query` only the target (to be sent to
    /// the simulator's own front end).
    package static func parse(url: String) throws(LoadPlanError) -> (host: String?, port: Int?, target: String) {
        if url.hasPrefix("/") { return (nil, nil, url) }
        guard url.hasPrefix("http://") else {
            throw LoadPlanError("--url: '\(url)' is neither an http:// URL nor a path starting with /")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let target = rest.dropFirst(authority.count)
        var host = String(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(parsed) else {
                throw LoadPlanError("--url: '\(url)' has no valid port")
            }
            port = parsed
        }
        guard !host.isEmpty else { throw LoadPlanError("--url: '\(url)' has no host") }
        let path = target.isEmpty ? "/" : target.hasPrefix("?") ? "/" + target : String(target)
        return (host, port, path)
    }

    /// Parses a `--header` value, `Name: value`.
    package static func header(_ text: String) throws(LoadPlanError) -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon > text.startIndex else {
            throw LoadPlanError("--header: '\(text)' is not Name: value")
        }
        let name = String(text[..<colon]).trimmingSpaces
        let value = String(text[text.index(after: colon)...]).trimmingSpaces
        guard !name.isEmpty, !name.contains(" ") else { throw LoadPlanError("--header: '\(text)' has no field name") }
        return (name, value)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}

/// How one invoke went, as the generator saw it (times in nanoseconds since the run's start).
package struct InvokeAnswer: Sendable, Equatable {
    /// When it was due (open model) or started (closed model); its latency counts from here.
    package var scheduledNanoseconds: UInt64
    /// When its request was sent; nil when it never was (no connection, abandoned).
    package var sentNanoseconds: UInt64?
    package var endNanoseconds: UInt64
    /// The HTTP status; nil without an answer.
    package var status: Int?
    package var outcome: LoadOutcome
    package var requestID: String?
    /// Cold or warm, when the answer's log tail said.
    package var start: StartKind?
}

/// A moment of a run, for the live progress line.
package struct LoadProgress: Sendable {
    package var elapsedSeconds: Double
    package var plannedSeconds: Double?
    package var started: Int
    package var plannedRequests: Int?
    package var answered: Int
    /// Answers in the last second.
    package var currentRate: Double
    package var p50Ms: Double
    package var p99Ms: Double
    package var errors: Int
    package var throttled: Int
    package var sandboxes: Int?
    package var busySandboxes: Int?
    /// Invokes in flight in them (several per managed instance), when known.
    package var inFlight: Int? = nil
    /// p50 and p99 of the invokes answered in the last `RecentLatency.windowSeconds` (nil: none answered).
    package var recentP50Ms: Double? = nil
    package var recentP99Ms: Double? = nil
}

/// Drives a plan against an Invoke API from an event loop of its own: keep-alive connections (opened as needed up
/// to `maxConnections`), an open model started on a microsecond schedule with each latency measured from the
/// invoke's scheduled start (so a stall shows as latency, not as fewer requests), or a closed model of N callers.
///
/// The recorder lives on the generator's loop; cold/warm verdicts and sandbox samples from the target are handed
/// to it from any thread (`verdict`, `sandboxes`).
package final class LoadGenerator: @unchecked Sendable {
    // SAFETY: every mutable field is touched on `loop` only.
    package let loop: EventLoop
    private let plan: LoadPlan
    private let endpoint: InvokeEndpoint
    private let askTail: Bool
    private var recorder = LoadRecorder()
    private var schedule: OpenSchedule?
    private var nextDue: Double?
    private var startNanoseconds: UInt64 = 0
    private var idle: [HTTPClientConnection] = []
    private var openConnections = 0
    /// Connections opened during the run, and the most invokes started and not yet answered at once.
    private var connectionsOpened = 0
    private var peakInFlight = 0
    /// Connections being opened for waiting open-model invokes.
    private var openingForWaiting = 0
    /// Open-model invokes due while every connection was busy: their due offsets, in order.
    private var waiting = Deque<UInt64>()
    /// The start (ns since `startNanoseconds`) of the invoke on each busy connection, for the client timeout.
    private var busy: [ObjectIdentifier: (connection: HTTPClientConnection, started: UInt64)] = [:]
    private var started = 0
    private var answered = 0
    private var schedulingDone = false
    private var finished: CheckedContinuation<Double, Never>?
    private var lastAnswerNanoseconds: UInt64 = 0
    private var fineTimerToken: Int?
    /// The due time (ns since the start) the tick timer is armed for.
    private var tickArmedFor: UInt64?
    private var housekeeping: Timer?
    private var recentAnswers: [UInt64] = []
    private var recentLatency = RecentLatency()
    private var request: HTTPRequest
    /// The HTTP request driven instead of an invoke (`load --url`), if any.
    private let http: HTTPLoadTarget?
    private var latestSandboxes: (total: Int, busy: Int, inFlight: Int?)?
    /// The open model's clock for answers read after they came (nil for the closed model, or when the kernel
    /// has no epoll): the kernel's receive time of what waits on each connection, collected at each paced wake.
    private let arrivalTimes: ArrivalTimes?
    /// What `arrivalTimes` collected at the last paced wake: the monotonic arrival time by socket descriptor.
    private var arrivals: [Int32: UInt64] = [:]
    /// The longest a paced sleep lasts: an open model whose next invoke is due sooner sleeps until it is due and
    /// then takes both the answers that came meanwhile (timed by `arrivalTimes`) and the due invokes in one wake;
    /// a later due invoke is waited for with a timer, the answers read as they come.
    package static let pacedSleepLimitNanoseconds: UInt64 = 2_000_000

    /// Called on the generator's loop with every invoke as it ends (`--out`); set before `run`.
    package var onAnswer: ((InvokeAnswer) -> Void)?

    /// Connections an open model may hold at once; invokes due beyond them wait (their latency grows).
    package static let maxConnections = 4_000
    /// Invokes due while every connection is busy that may wait (16 bytes each: 1 MiB); beyond them the schedule
    /// pauses until one is sent, and resumes with the invokes due meanwhile, whose latency still counts from
    /// their due time.
    package static let maxBacklog = 65_536
    /// Whether the schedule paused on a full backlog.
    private var paused = false
    /// This generator's limits (the statics above unless a test says otherwise).
    private let connectionLimit: Int
    private let backlogLimit: Int
    /// The most invokes that waited for a connection at once.
    package private(set) var peakBacklog = 0
    /// Whether `interrupt` stopped the schedule, and whether its drain is over (what is left is abandoned).
    private var interrupted = false
    private var draining: Timer?
    private var abandoning = false
    /// Invokes abandoned at the end of an interrupt's drain (counted as other errors).
    private var abandoned = 0
    /// An interrupt that came before `run` started: its drain, applied as the run starts.
    private var pendingInterrupt: Double?
    /// Connects in progress for closed-model callers (their invoke's due time), by token, for the client timeout.
    private var connecting: [Int: (due: UInt64, closedModel: Bool)] = [:]
    private var nextConnectToken = 0
    /// The client-timeout timer and the deadline it is armed for.
    private var deadlineTimer: Timer?
    private var armedDeadline: UInt64?

    /// A generator for `plan` against `endpoint`; with `askTail` every invoke asks for its log tail
    /// (`X-Amz-Log-Type: Tail`), whose REPORT line tells a cold start from a warm one.
    package init(
        plan: LoadPlan, endpoint: InvokeEndpoint, askTail: Bool, http: HTTPLoadTarget? = nil,
        maxConnections: Int = maxConnections, maxBacklog: Int = maxBacklog
    ) throws(UVError) {
        connectionLimit = maxConnections
        backlogLimit = maxBacklog
        self.plan = plan
        self.endpoint = endpoint
        self.askTail = askTail
        let openModel: Bool
        switch plan.model {
        case .concurrency: openModel = false
        case .rate, .stages: openModel = true
        }
        arrivalTimes = openModel ? ArrivalTimes() : nil
        loop = try EventLoop(name: "lambda-sim-load", paced: arrivalTimes != nil)
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if plan.invocationType == "Event" { headers["X-Amz-Invocation-Type"] = "Event" }
        if askTail && plan.invocationType != "Event" { headers["X-Amz-Log-Type"] = "Tail" }
        request = HTTPRequest(method: "POST", target: endpoint.path, headers: headers, body: plan.payload)
        self.http = http
        if let http {
            request = HTTPRequest(
                method: http.method, target: http.target, headers: HTTPHeaders(http.headers), body: http.body)
        }
    }

    /// Runs the plan; `progress` gets a snapshot four times a second (on the generator's thread). Returns the
    /// run's duration in seconds: from the start to the last answer.
    package func run(progress: (@Sendable (LoadProgress) -> Void)?) async -> Double {
        await withCheckedContinuation { (continuation: CheckedContinuation<Double, Never>) in
            loop.submit { [self] in
                finished = continuation
                startNanoseconds = EventLoop.nanoseconds()
                startEpoch.store(SystemClock().epochMilliseconds, ordering: .releasing)
                cpuAtStart = Self.threadCPUNanoseconds()
                wakesAtStart = Self.threadWakes()
                let timer = Timer(loop: loop)
                timer.start(afterMilliseconds: 250, repeatMilliseconds: 250) { [unowned self] in
                    let now = EventLoop.nanoseconds() - startNanoseconds
                    recentAnswers.removeAll { $0 + 1_000_000_000 < now }
                    if let progress { progress(snapshot()) }
                }
                housekeeping = timer
                if let drain = pendingInterrupt {
                    // Interrupted before it began: nothing is started.
                    schedulingDone = true
                    interrupt(drainSeconds: drain)
                    return
                }
                switch plan.model {
                case .concurrency(let callers):
                    for _ in 0..<callers { startClosed() }
                case .rate, .stages:
                    schedule = OpenSchedule(plan.model)
                    nextDue = schedule?.nextTime()
                    if arrivalTimes != nil { loop.pacer = self }
                    tick()
                }
            }
        }
    }

    /// Hands a cold/warm verdict for `requestID`, reported now, to the recorder.
    package func verdict(_ kind: StartKind, requestID: String) {
        loop.submit { [self] in
            guard startNanoseconds > 0 else { return }
            recorder.verdict(kind, requestID: requestID, at: elapsed)
        }
    }

    /// The wall-clock time of the run's start, in milliseconds since 1970; 0 until the run starts. Readable from
    /// any thread, to place the simulator's events on the run's timeline.
    package var startEpochMilliseconds: Int64 { startEpoch.load(ordering: .acquiring) }
    private let startEpoch = Atomic<Int64>(0)

    /// The wall-clock time of the run's last answer, in milliseconds since 1970; 0 until the run ended.
    package var endEpochMilliseconds: Int64 { endEpoch.load(ordering: .acquiring) }
    private let endEpoch = Atomic<Int64>(0)

    /// The CPU time (user + system) the generator's thread used for the run, in seconds; 0 until it ended.
    package var cpuSeconds: Double { Double(cpuUsed.load(ordering: .acquiring)) / 1e9 }
    private let cpuUsed = Atomic<UInt64>(0)
    private var cpuAtStart: UInt64 = 0
    /// The generator thread's voluntary context switches at the start, and during the run once it ended.
    private var wakesAtStart = 0
    private var wakes: Int?

    /// The voluntary context switches (sleeps that ended in a wake) of the calling thread so far.
    private static func threadWakes() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD (1), which Swift's Glibc module does not export (it needs _GNU_SOURCE).
        getrusage(__rusage_who_t(1), &usage)
        return usage.ru_nvcsw
    }

    /// The CPU time the calling thread has used, in nanoseconds.
    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Shows the function's sandboxes on the progress line (counted elsewhere, e.g. from the simulator's
    /// events), without recording them.
    package func showSandboxes(total: Int, busy: Int, inFlight: Int? = nil) {
        loop.submit { [self] in latestSandboxes = (total, busy, inFlight) }
    }

    /// Records a sample of the function's sandboxes, now.
    package func sandboxes(total: Int, busy: Int, inFlight: Int? = nil) {
        loop.submit { [self] in
            latestSandboxes = (total, busy, inFlight)
            guard startNanoseconds > 0 else { return }
            recorder.sandboxes(at: elapsed, total: total, busy: busy, inFlight: inFlight)
        }
    }

    /// The time since the start of the run, in nanoseconds.
    private var elapsed: UInt64 { EventLoop.nanoseconds() - startNanoseconds }

    /// The run's wall-clock start, as the loop's monotonic clock.
    package var startTime: UInt64 { startNanoseconds }

    /// Ends the recording (answered invokes without a verdict count as warm) and returns it; shuts the loop.
    package func finishRecording() async -> LoadRecorder {
        let recorder = await withCheckedContinuation { (continuation: CheckedContinuation<LoadRecorder, Never>) in
            loop.submit { [self] in
                self.recorder.connectionsOpened = connectionsOpened
                self.recorder.generatorWakes = wakes
                self.recorder.peakClientInFlight = peakInFlight
                self.recorder.settle()
                continuation.resume(returning: self.recorder)
            }
        }
        await loop.shutdown()
        return recorder
    }

    // MARK: - Open model

    /// Starts every invoke that is due, then sleeps until the next one.
    private func tick() {
        fineTimerToken = nil
        tickArmedFor = nil
        guard let due = startDue() else { return }
        armTick(forDue: due)
    }

    /// Starts every invoke that is due; returns when the next one is due (ns since the start), or nil when the
    /// schedule ended or paused.
    private func startDue() -> UInt64? {
        let now = EventLoop.nanoseconds() - startNanoseconds
        while let due = nextDue {
            if idle.isEmpty && openConnections >= connectionLimit && waiting.count >= backlogLimit {
                paused = true
                return nil
            }
            let dueNanoseconds = UInt64(due * 1_000_000_000)
            if due >= plan.timeLimitSeconds {
                nextDue = nil
                break
            }
            if let requests = plan.stop.requests, started >= requests {
                nextDue = nil
                break
            }
            guard dueNanoseconds <= now else { break }
            startOpen(due: dueNanoseconds)
            nextDue = schedule?.nextTime()
        }
        guard let due = nextDue else {
            schedulingDone = true
            finishIfDone()
            return nil
        }
        return UInt64(due * 1_000_000_000)
    }

    /// Arms the timer that runs `tick` when the invoke due at `due` (ns since the start) is due, unless it is
    /// armed for it already.
    private func armTick(forDue due: UInt64) {
        guard tickArmedFor != due else { return }
        cancelTick()
        tickArmedFor = due
        let wait = due - min(due, EventLoop.nanoseconds() - startNanoseconds)
        if let timers = FineTimers.of(loop) {
            fineTimerToken = timers.schedule(afterNanoseconds: max(wait, 1_000)) { [unowned self] in tick() }
        } else {
            _ = loop.schedule(afterMilliseconds: max(1, wait / 1_000_000)) { [unowned self] in tick() }
        }
    }

    private func cancelTick() {
        if let token = fineTimerToken { FineTimers.of(loop)?.cancel(token) }
        fineTimerToken = nil
        tickArmedFor = nil
    }

    /// Starts the invoke due at `due`: on an idle connection, or it waits for the first connection to come free
    /// or be opened, whichever comes first. A connection is opened only while fewer are being opened than invokes
    /// wait, so the generator never holds more connections than it has invokes in flight.
    private func startOpen(due: UInt64) {
        started += 1
        recorder.started(due: due)
        if expiredBeforeSending(due: due) { return }
        if let connection = idle.popLast() {
            send(on: connection, due: due, closedModel: false)
            return
        }
        waiting.append(due)
        peakBacklog = max(peakBacklog, waiting.count)
        armDeadline(due + clientTimeoutNanoseconds)
        connectForWaiting()
    }

    /// Opens a connection for the waiting invokes, unless enough are being opened for them (or the cap is reached).
    /// A connection that comes after the run ended is closed.
    private func connectForWaiting() {
        guard !abandoning, openingForWaiting < waiting.count, openConnections < connectionLimit else {
            return
        }
        openingForWaiting += 1
        connect { [self] connection in
            openingForWaiting -= 1
            guard finished != nil else {
                connection?.close()
                return
            }
            if let connection {
                released(connection, reusable: true, closedModel: false)
            } else if let due = nextWaiting() {
                // The connection failed: the oldest waiting invoke ends as an other error.
                finish(due: due, outcome: .otherError, response: nil)
                connectForWaiting()
                finishIfDone()
            }
        }
    }

    /// Takes the oldest waiting invoke off the queue, ending those already past their client timeout on the way.
    private func nextWaiting() -> UInt64? {
        var next: UInt64?
        while next == nil, let candidate = waiting.popFirst() {
            if !expiredBeforeSending(due: candidate) { next = candidate }
        }
        return next
    }

    // MARK: - Closed model

    /// One caller's next invoke, unless the run is over.
    private func startClosed(on connection: HTTPClientConnection? = nil) {
        let now = EventLoop.nanoseconds() - startNanoseconds
        let overTime = Double(now) / 1e9 >= plan.timeLimitSeconds
        let overCount = plan.stop.requests.map { started >= $0 } ?? false
        guard !overTime && !overCount && !interrupted else {
            if let connection { idle.append(connection) }
            schedulingDone = true
            finishIfDone()
            return
        }
        started += 1
        recorder.started(due: now)
        if let connection {
            send(on: connection, due: now, closedModel: true)
            return
        }
        connectAndSend(due: now, closedModel: true)
    }

    // MARK: - Invokes

    private func connect(_ completion: @escaping (HTTPClientConnection?) -> Void) {
        openConnections += 1
        connectionsOpened += 1
        let address = http.map { ($0.host, $0.port) } ?? (endpoint.host, endpoint.port)
        HTTPClientConnection.connect(loop: loop, host: address.0, port: address.1) { [self] result in
            switch result {
            case .success(let connection):
                connection.onClose = { [unowned self] in openConnections -= 1 }
                if let arrivalTimes, let fd = connection.fileDescriptor { arrivalTimes.watch(fd) }
                completion(connection)
            case .failure:
                openConnections -= 1
                completion(nil)
            }
        }
    }

    private func send(on connection: HTTPClientConnection, due: UInt64, closedModel: Bool) {
        if abandoning {
            // Connected after the drain ended: the invoke is given up unsent.
            abandoned += 1
            connection.close()
            finish(due: due, outcome: .otherError, response: nil)
            finishIfDone()
            return
        }
        if expiredBeforeSending(due: due) {
            released(connection, reusable: true, closedModel: closedModel)
            return
        }
        busy[ObjectIdentifier(connection)] = (connection, due)
        peakInFlight = max(peakInFlight, started - answered)
        armDeadline(due + clientTimeoutNanoseconds)
        let sent = EventLoop.nanoseconds() - startNanoseconds
        connection.send(request) { [self] result in
            busy[ObjectIdentifier(connection)] = nil
            // Read after a paced sleep: the answer ended when its last bytes arrived, not when they were read.
            let arrived =
                arrivals.isEmpty ? nil : connection.fileDescriptor.flatMap { arrivals.removeValue(forKey: $0) }
            let response = try? result.get()
            let outcome =
                response.map {
                    http == nil
                        ? LoadOutcome.classify(
                            status: $0.status, functionError: $0.headers["X-Amz-Function-Error"] != nil)
                        : LoadOutcome.classifyHTTP(status: $0.status)
                } ?? .otherError
            finish(
                due: due, outcome: outcome, response: response, sent: sent,
                arrived: arrived.map { max(sent, $0 - min($0, startNanoseconds)) })
            released(connection, reusable: connection.isOpen, closedModel: closedModel)
        }
    }

    /// Whether an invoke due at `due` is already past its client timeout (it waited that long for a connection):
    /// then it ends as an other error unsent, as it would have a moment after being sent.
    private func expiredBeforeSending(due: UInt64) -> Bool {
        let now = EventLoop.nanoseconds() - startNanoseconds
        guard now >= due, now - due >= clientTimeoutNanoseconds else { return false }
        finish(due: due, outcome: .otherError, response: nil)
        return true
    }

    /// `connection` is free again: the closed model's caller goes on; in an open model it sends the oldest waiting
    /// invoke (skipping those already past their timeout) or waits for the next due one, and a connection that
    /// closed is replaced if invokes wait.
    private func released(_ connection: HTTPClientConnection, reusable: Bool, closedModel: Bool) {
        defer { finishIfDone() }
        if closedModel {
            startClosed(on: reusable ? connection : nil)
            return
        }
        defer {
            // A schedule paused on a full backlog resumes once the backlog has room again.
            if paused && waiting.count < backlogLimit {
                paused = false
                loop.submit { [unowned self] in tick() }
            }
        }
        guard reusable else {
            connectForWaiting()
            return
        }
        if let due = nextWaiting() {
            send(on: connection, due: due, closedModel: false)
        } else {
            idle.append(connection)
        }
    }

    /// Opens a connection for the invoke due at `due` and sends it on it. A connect that outlasts the invoke's
    /// client timeout ends the invoke then, as an other error (a closed model's caller goes on); the connection,
    /// if it comes later, serves the open model's next invoke or is closed.
    private func connectAndSend(due: UInt64, closedModel: Bool) {
        let token = nextConnectToken
        nextConnectToken += 1
        connecting[token] = (due, closedModel)
        armDeadline(due + clientTimeoutNanoseconds)
        connect { [self] connection in
            guard connecting.removeValue(forKey: token) != nil else {
                // The invoke timed out while connecting.
                if let connection {
                    if closedModel || finished == nil {
                        connection.close()
                    } else {
                        released(connection, reusable: true, closedModel: false)
                    }
                }
                return
            }
            guard let connection else {
                finish(due: due, outcome: .otherError, response: nil)
                // A caller whose connection failed tries again with a new one.
                if closedModel { startClosed() } else { finishIfDone() }
                return
            }
            send(on: connection, due: due, closedModel: closedModel)
        }
    }

    /// Records the end of the invoke due at `due`: now, or when its answer `arrived` (ns since the start) if the
    /// answer was read later.
    private func finish(
        due: UInt64, outcome: LoadOutcome, response: HTTPResponse?, sent: UInt64? = nil, arrived: UInt64? = nil
    ) {
        let now = min(arrived ?? .max, EventLoop.nanoseconds() - startNanoseconds)
        lastAnswerNanoseconds = max(lastAnswerNanoseconds, now)
        answered += 1
        recentAnswers.append(now)
        let requestID = response?.headers["x-amzn-RequestId"]
        var start: StartKind?
        if askTail, let encoded = response?.headers["X-Amz-Log-Result"] {
            start = Self.startKind(fromTail: encoded)
        }
        recorder.finished(
            due: due, outcome: outcome, nanoseconds: now - min(now, due), requestID: requestID, start: start)
        if outcome == .succeeded || outcome == .functionError { recentLatency.record(now - min(now, due), at: now) }
        onAnswer?(
            InvokeAnswer(
                scheduledNanoseconds: due, sentNanoseconds: sent, endNanoseconds: now, status: response?.status,
                outcome: outcome, requestID: requestID, start: start))
    }

    /// Cold when the tail's REPORT line has an `Init Duration`; nil when the tail has no REPORT line. Only the end
    /// of the tail is decoded (base64 decodes from any multiple of 4), where the REPORT line is.
    static func startKind(fromTail encoded: String) -> StartKind? {
        var text = encoded
        return text.withUTF8 { all -> StartKind? in
            let keep = min(all.count, 512) / 4 * 4
            let end = String(decoding: UnsafeBufferPointer(rebasing: all[(all.count - keep)...]), as: UTF8.self)
            guard let bytes = Base64.decode(end) else { return nil }
            guard let report = lastRange(of: Array("REPORT RequestId:".utf8), in: bytes[...]) else { return nil }
            return lastRange(of: Array("Init Duration:".utf8), in: bytes[report...]) != nil ? .cold : .warm
        }
    }

    /// The start of the last occurrence of `needle` in `haystack`.
    private static func lastRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.endIndex - needle.count
        while index >= haystack.startIndex {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index -= 1
        }
        return nil
    }

    private var clientTimeoutNanoseconds: UInt64 { UInt64(plan.clientTimeoutSeconds * 1e9) }

    /// Arms the client-timeout timer for `deadline` (ns since the start) unless it fires earlier already: one timer
    /// for the earliest deadline of the invokes in flight, so a timeout fires within a millisecond of it.
    private func armDeadline(_ deadline: UInt64) {
        if let armed = armedDeadline, armed <= deadline { return }
        armedDeadline = deadline
        let now = EventLoop.nanoseconds() - startNanoseconds
        let wait = deadline > now ? (deadline - now + 999_999) / 1_000_000 : 0
        if deadlineTimer == nil { deadlineTimer = Timer(loop: loop) }
        deadlineTimer?.start(afterMilliseconds: wait) { [unowned self] in
            armedDeadline = nil
            expireSlowInvokes()
            let oldestWaiting = waiting.first
            let oldest = [
                busy.values.lazy.map(\.started).min(), connecting.values.lazy.map(\.due).min(), oldestWaiting,
            ]
            .compactMap { $0 }.min()
            if let oldest { armDeadline(oldest + clientTimeoutNanoseconds) }
        }
    }

    /// Closes the connections of invokes that reach the client timeout within the next millisecond (they end as
    /// other errors): one pass over the invokes in flight (at most `maxConnections`) per millisecond at most.
    private func expireSlowInvokes() {
        let soon = EventLoop.nanoseconds() - startNanoseconds + 1_000_000
        let limit = clientTimeoutNanoseconds
        let expired = busy.values.filter { soon >= $0.started && soon - $0.started >= limit }
        for entry in expired { entry.connection.close() }
        let stuck = connecting.filter { soon >= $0.value.due && soon - $0.value.due >= limit }
        for (token, entry) in stuck {
            connecting[token] = nil
            finish(due: entry.due, outcome: .otherError, response: nil)
            if entry.closedModel { startClosed() }
        }
        // Open-model invokes still waiting for a connection, oldest first.
        var expiredWaiting = false
        while let oldest = waiting.first, soon >= oldest, soon - oldest >= limit {
            finish(due: oldest, outcome: .otherError, response: nil)
            waiting.removeFirst()
            expiredWaiting = true
        }
        if !stuck.isEmpty || expiredWaiting { finishIfDone() }
    }

    // MARK: - Interrupts

    /// Stops starting invokes (the first SIGINT or SIGTERM): invokes already due are still sent, and those without
    /// an answer `drainSeconds` later are abandoned (their connections closed) and count as other errors. Returns at
    /// once; `run` returns when the drain is over. Safe from any thread.
    package func interrupt(drainSeconds: Double) {
        loop.submit { [self] in
            guard finished != nil else {
                if startNanoseconds == 0 { pendingInterrupt = min(pendingInterrupt ?? drainSeconds, drainSeconds) }
                return
            }
            guard !interrupted else {
                if drainSeconds <= 0 { abandon() }
                return
            }
            interrupted = true
            nextDue = nil
            paused = false
            cancelTick()
            schedulingDone = true
            if drainSeconds <= 0 {
                abandon()
            } else {
                draining = loop.schedule(afterMilliseconds: UInt64(drainSeconds * 1000)) { [unowned self] in abandon() }
            }
            finishIfDone()
        }
    }

    /// How many invokes the interrupt's drain abandoned (after `run` returned).
    package func abandonedCount() async -> Int {
        await withCheckedContinuation { continuation in
            loop.submit { [self] in continuation.resume(returning: abandoned) }
        }
    }

    /// Ends the drain: invokes still waiting for a connection end unsent, those in flight are cut off.
    private func abandon() {
        guard finished != nil, !abandoning else { return }
        abandoning = true
        while let due = waiting.popFirst() {
            abandoned += 1
            finish(due: due, outcome: .otherError, response: nil)
        }
        abandoned += busy.count
        for (_, entry) in busy { entry.connection.close() }
        finishIfDone()
    }

    private func finishIfDone() {
        guard schedulingDone, busy.isEmpty, waiting.isEmpty, answered >= started,
            let continuation = finished
        else { return }
        finished = nil
        // The loop held the generator as its pacer: let go (the loop turns as usual until it shuts).
        loop.pacer = nil
        cpuUsed.store(Self.threadCPUNanoseconds() - cpuAtStart, ordering: .releasing)
        wakes = Self.threadWakes() - wakesAtStart
        let sinceLastAnswer = Int64((EventLoop.nanoseconds() - startNanoseconds - lastAnswerNanoseconds) / 1_000_000)
        endEpoch.store(SystemClock().epochMilliseconds - sinceLastAnswer, ordering: .releasing)
        draining?.close()
        draining = nil
        deadlineTimer?.close()
        deadlineTimer = nil
        cancelTick()
        housekeeping?.close()
        housekeeping = nil
        for connection in idle { connection.close() }
        idle.removeAll()
        continuation.resume(returning: Double(lastAnswerNanoseconds) / 1e9)
    }

    private func snapshot() -> LoadProgress {
        let now = EventLoop.nanoseconds() - startNanoseconds
        let errors = recorder.count(.functionError) + recorder.count(.otherError)
        let recent = recentLatency.window(at: now)
        var progress = LoadProgress(
            elapsedSeconds: Double(now) / 1e9, plannedSeconds: plan.maximumSeconds, started: started,
            plannedRequests: plan.stop.requests, answered: answered, currentRate: Double(recentAnswers.count),
            p50Ms: Double(recorder.all.percentile(0.5)) / 1e6, p99Ms: Double(recorder.all.percentile(0.99)) / 1e6,
            errors: errors, throttled: recorder.count(.throttled), sandboxes: latestSandboxes?.total,
            busySandboxes: latestSandboxes?.busy, inFlight: latestSandboxes?.inFlight)
        if recent.count > 0 {
            progress.recentP50Ms = Double(recent.percentile(0.5)) / 1e6
            progress.recentP99Ms = Double(recent.percentile(0.99)) / 1e6
        }
        return progress
    }
}

extension LoadGenerator: LoopPacer {
    /// While the open model runs and its next invoke is due within `pacedSleepLimitNanoseconds`: starts the
    /// invokes due now and sleeps until the next one (its timer, if armed, is dropped); otherwise nil, and the
    /// loop waits for answers and the timer as usual.
    package func sleepUntil() -> UInt64? {
        arrivals.removeAll(keepingCapacity: true)
        guard finished != nil, !interrupted, !paused, nextDue != nil else { return nil }
        guard let due = startDue() else {
            cancelTick()
            return nil
        }
        guard due <= EventLoop.nanoseconds() - startNanoseconds + Self.pacedSleepLimitNanoseconds else {
            armTick(forDue: due)
            return nil
        }
        cancelTick()
        return startNanoseconds + due
    }

    /// Takes the arrival times of the answers that came during the sleep, before the loop reads them.
    package func woke() {
        arrivalTimes?.collect { fd, arrived in arrivals[fd] = arrived }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
