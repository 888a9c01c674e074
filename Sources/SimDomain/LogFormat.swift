/// How platform log lines are written: CloudWatch's text lines or its JSON records.
public enum LogFormat: String, Sendable, CaseIterable {
    /// CloudWatch's tab-separated text lines (`START RequestId: …`, `END`, `REPORT RequestId: …`).
    case text
    /// `{"time":…,"type":"platform.start","record":{…}}` records, as the Telemetry API shapes them; runtimes get
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`.
    case json

    /// The value of `AWS_LAMBDA_LOG_FORMAT` runtimes see.
    package var environmentValue: String { self == .json ? "JSON" : "Text" }
}
